"""The scheduler's cache: every node with the pods bound (or assumed) to it, kept up to date incrementally.

Mirrors kube-scheduler's internal cache and Snapshot. A pod the scheduler has just decided on is *assumed* on
its node at once, so the next pod of the same burst already sees it (six replicas spread 3/3 instead of piling
onto the emptiest node); the informer's update for the bound pod later confirms it, and a failed bind forgets it.

The snapshot a cycle reads is the cache itself: cycles run synchronously on the event loop, so nothing changes
under them and nothing needs copying. Besides the NodeInfos, the cache indexes assigned pods by namespace and by
label, so spreading and inter-pod affinity count the matching pods without walking every pod of the cluster.

Simplified: no expiry of assumed pods (a bind here is one synchronous call that either lands or fails).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Protocol

from kubelab.api.selectors import DOUBLE_EQUALS, EQUALS, IN, LabelSelector
from kubelab.scheduler.framework.types import AffinityTerm, NodeInfo, PodInfo

Obj = dict[str, Any]


class Listers(Protocol):
    """Read access to the objects a few plugins look at besides pods and nodes."""

    def services(self, namespace: str) -> Iterable[Obj]: ...

    def get(self, resource: str, namespace: str, name: str) -> Obj | None:
        """``resource``: "replicasets", "statefulsets" or "replicationcontrollers"."""
        ...

    def namespace_labels(self, namespace: str) -> Mapping[str, str] | None: ...


class StaticListers:
    """Listers over a fixed list of objects (for ``explain`` and tests)."""

    def __init__(self, objects: Iterable[Obj] = ()) -> None:
        self._by_kind: dict[str, dict[tuple[str, str], Obj]] = {}
        for o in objects:
            meta = o.get("metadata") or {}
            self._by_kind.setdefault(o.get("kind", ""), {})[(meta.get("namespace") or "", meta.get("name", ""))] = o

    def services(self, namespace: str) -> Iterable[Obj]:
        return [o for (ns, _), o in self._by_kind.get("Service", {}).items() if ns == namespace]

    def get(self, resource: str, namespace: str, name: str) -> Obj | None:
        kind = {"replicasets": "ReplicaSet", "statefulsets": "StatefulSet",
                "replicationcontrollers": "ReplicationController"}.get(resource, resource)
        return self._by_kind.get(kind, {}).get((namespace, name))

    def namespace_labels(self, namespace: str) -> Mapping[str, str] | None:
        ns = self._by_kind.get("Namespace", {}).get(("", namespace))
        if ns is None:
            return {"kubernetes.io/metadata.name": namespace}
        return (ns.get("metadata") or {}).get("labels") or {}


class Cache:
    def __init__(self, listers: Listers | None = None) -> None:
        self.listers: Listers = listers or StaticListers()
        self._nodes: dict[str, NodeInfo] = {}
        self._list: list[NodeInfo] | None = None
        self._positions: dict[str, int] = {}
        self.version = 0  # bumps whenever the node list itself changes (a node added or removed)
        self._changes: list[str] = []  # names of nodes whose NodeInfo changed, in order
        self._changes_base = 0  # the sequence number of _changes[0]
        self._label_keys: dict[str, int] = {}  # label key -> how many nodes carry it
        self._pod_node: dict[str, str] = {}
        self.assumed: set[str] = set()
        self._by_ns: dict[str, dict[str, PodInfo]] = {}
        self._by_label: dict[tuple[str, str, str], dict[str, PodInfo]] = {}
        self.pods_with_affinity: dict[str, PodInfo] = {}
        self.pods_with_required_anti_affinity: dict[str, PodInfo] = {}

    # -------------------------------------------------------------------------------------------- nodes
    def add_node(self, node: Obj) -> NodeInfo:
        name = (node.get("metadata") or {}).get("name", "")
        ni = self._nodes.get(name)
        if ni is None:
            ni = self._nodes[name] = NodeInfo(node)
            self._list = None
        else:
            had_node = ni.node is not None
            if had_node:
                self._count_labels(ni.labels, -1)
            ni.set_node(node)
            if not had_node:
                self._list = None
        self._count_labels(ni.labels, 1)
        self._changed(name)
        return ni

    update_node = add_node

    def remove_node(self, name: str) -> None:
        ni = self._nodes.get(name)
        if ni is None:
            return
        if ni.node is not None:
            self._count_labels(ni.labels, -1)
        if ni.pods:  # pods still point at it: keep their accounting until they go (as upstream does)
            ni.node = None
        else:
            del self._nodes[name]
        self._list = None

    def node_infos(self) -> list[NodeInfo]:
        """Nodes that exist, in a stable order (by name): the snapshot a cycle iterates."""
        if self._list is None:
            self._list = [ni for _, ni in sorted(self._nodes.items()) if ni.node is not None]
            self._positions = {ni.name: i for i, ni in enumerate(self._list)}
            self.version += 1
        return self._list

    def nodes_with_label(self, key: str) -> int:
        """How many nodes carry the label ``key`` (spreading skips a topology no node has)."""
        return self._label_keys.get(key, 0)

    def _count_labels(self, labels: dict[str, str], by: int) -> None:
        for k in labels:
            n = self._label_keys.get(k, 0) + by
            if n:
                self._label_keys[k] = n
            else:
                self._label_keys.pop(k, None)

    def position(self, name: str) -> int | None:
        """Where ``name`` is in ``node_infos()``."""
        self.node_infos()
        return self._positions.get(name)

    # ------------------------------------------------------------------------------------------ change log
    @property
    def change_seq(self) -> int:
        return self._changes_base + len(self._changes)

    def changes_since(self, seq: int) -> list[str] | None:
        """Nodes changed after ``seq`` (possibly repeated); None when the log no longer reaches back that far."""
        if seq < self._changes_base:
            return None
        return self._changes[seq - self._changes_base:]

    def _changed(self, name: str) -> None:
        self._changes.append(name)
        if len(self._changes) > 200_000:  # keep the log bounded; readers older than this start over
            del self._changes[:100_000]
            self._changes_base += 100_000

    def get(self, name: str) -> NodeInfo | None:
        ni = self._nodes.get(name)
        return ni if ni is not None and ni.node is not None else None

    def __len__(self) -> int:
        return len(self.node_infos())

    # -------------------------------------------------------------------------------------------- pods
    def add_pod(self, pod: Obj | PodInfo) -> PodInfo:
        """An assigned pod (spec.nodeName set) seen by the informer; confirms it if we had assumed it."""
        pi = pod if isinstance(pod, PodInfo) else PodInfo(pod)
        self.remove_pod(pi.key)
        self._place(pi)
        return pi

    def update_pod(self, pod: Obj) -> PodInfo:
        return self.add_pod(pod)

    def assume_pod(self, pi: PodInfo, node_name: str) -> None:
        """Count ``pi`` on ``node_name`` now, before the binding is observed."""
        self.remove_pod(pi.key)
        pi.node_name = node_name
        self._place(pi)
        self.assumed.add(pi.key)

    def forget_pod(self, key: str) -> None:
        if key in self.assumed:
            self.remove_pod(key)

    def is_assumed(self, key: str) -> bool:
        return key in self.assumed

    def remove_pod(self, key: str) -> PodInfo | None:
        self.assumed.discard(key)
        node = self._pod_node.pop(key, None)
        if node is None:
            return None
        ni = self._nodes.get(node)
        pi = ni.remove_pod(key) if ni is not None else None
        self._changed(node)
        if ni is not None and ni.node is None and not ni.pods:
            del self._nodes[node]
        if pi is not None:
            self._unindex(pi)
        return pi

    def pod(self, key: str) -> PodInfo | None:
        node = self._pod_node.get(key)
        ni = self._nodes.get(node) if node else None
        return ni.pods.get(key) if ni is not None else None

    def _place(self, pi: PodInfo) -> None:
        ni = self._nodes.get(pi.node_name)
        if ni is None:  # the pod's node is not known (yet): account it on a placeholder
            ni = self._nodes[pi.node_name] = NodeInfo(name=pi.node_name)
        ni.add_pod(pi)
        self._changed(pi.node_name)
        self._pod_node[pi.key] = pi.node_name
        self._index(pi)

    def _index(self, pi: PodInfo) -> None:
        self._by_ns.setdefault(pi.namespace, {})[pi.key] = pi
        for k, v in pi.labels.items():
            self._by_label.setdefault((pi.namespace, k, v), {})[pi.key] = pi
        if pi.affinity:
            self.pods_with_affinity[pi.key] = pi
            if pi.required_anti_affinity:
                self.pods_with_required_anti_affinity[pi.key] = pi

    def _unindex(self, pi: PodInfo) -> None:
        bucket = self._by_ns.get(pi.namespace)
        if bucket is not None:
            bucket.pop(pi.key, None)
            if not bucket:
                del self._by_ns[pi.namespace]
        for k, v in pi.labels.items():
            lk = (pi.namespace, k, v)
            b = self._by_label.get(lk)
            if b is not None:
                b.pop(pi.key, None)
                if not b:
                    del self._by_label[lk]
        self.pods_with_affinity.pop(pi.key, None)
        self.pods_with_required_anti_affinity.pop(pi.key, None)

    @property
    def pod_count(self) -> int:
        return len(self._pod_node)

    def all_pods(self) -> Iterator[PodInfo]:
        for ni in self._nodes.values():
            yield from ni.pods.values()

    # -------------------------------------------------------------------------------------------- queries
    def namespaces(self) -> Iterable[str]:
        return self._by_ns.keys()

    def pods_matching(self, namespaces: Iterable[str] | None, selector: LabelSelector) -> Iterator[PodInfo]:
        """Assigned pods in ``namespaces`` (None: all) whose labels match ``selector``, found via the index."""
        if selector.is_nothing:
            return
        eq = [(r.key, r.values[0]) for r in selector.requirements
              if len(r.values) == 1 and r.operator in (EQUALS, DOUBLE_EQUALS, IN)]
        for ns in (list(self._by_ns) if namespaces is None else namespaces):
            if eq:
                buckets = [self._by_label.get((ns, k, v)) for k, v in eq]
                if any(b is None for b in buckets):
                    continue
                candidates = min(buckets, key=len)  # type: ignore[arg-type,type-var]
            else:
                candidates = self._by_ns.get(ns)
            if not candidates:
                continue
            for pi in candidates.values():
                if selector.matches(pi.labels):
                    yield pi

    def term_namespaces(self, term: AffinityTerm) -> set[str] | None:
        """The namespaces an affinity term covers now (its list plus those its namespaceSelector matches);
        None means every namespace."""
        if term.ns_selector is None:
            return set(term.namespaces)
        if term.ns_selector.empty():
            return None
        out = set(term.namespaces)
        for ns in list(self._by_ns):
            labels = self.listers.namespace_labels(ns)
            if labels is not None and term.ns_selector.matches(labels):
                out.add(ns)
        return out

    def pods_matching_term(self, term: AffinityTerm) -> Iterator[PodInfo]:
        return self.pods_matching(self.term_namespaces(term), term.selector)
