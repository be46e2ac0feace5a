"""PodInfo and NodeInfo: a pod and a node with everything the plugins need computed once.

Mirrors the framework's PodInfo (a pod plus its parsed affinity terms and resource requests) and NodeInfo (a node
plus the pods on it, their summed requests, used host ports and the pods with (anti-)affinity). The scheduler
updates NodeInfos incrementally as pods come and go, so a scheduling cycle never re-reads every pod.

Simplified: requests follow resourcehelper.PodRequests (containers summed, init containers' peak, sidecars,
overhead, pod-level requests) but ignore in-place resize status; ephemeral storage and extended resources are
counted; volumes, images and DRA are not modelled.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Iterable, Mapping
from typing import Any

from kubelab.api.errors import ApiError
from kubelab.api.selectors import EQUALS, NOT_IN, LabelSelector, Requirement, label_selector_from_dict
from kubelab.scheduler.framework.helpers import int_value, milli_value

Obj = dict[str, Any]

HOSTNAME_LABEL = "kubernetes.io/hostname"
ZONE_LABEL = "topology.kubernetes.io/zone"
DEFAULT_MILLI_CPU_REQUEST = 100  # schedutil.DefaultMilliCPURequest: 0.1 core for a container that asks nothing
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024  # schedutil.DefaultMemoryRequest: 200 MB
_GENERATION = itertools.count(1)  # one counter for all NodeInfos, as upstream's nextGeneration()


class Resource:
    """framework.Resource: milli-CPU, bytes of memory and ephemeral storage, allowed pods, scalar resources."""

    __slots__ = ("milli_cpu", "memory", "ephemeral", "pods", "scalars")

    def __init__(self, milli_cpu: int = 0, memory: int = 0, ephemeral: int = 0, pods: int = 0,
                 scalars: dict[str, int] | None = None) -> None:
        self.milli_cpu = milli_cpu
        self.memory = memory
        self.ephemeral = ephemeral
        self.pods = pods
        self.scalars: dict[str, int] = scalars or {}

    @classmethod
    def from_list(cls, rl: Mapping[str, Any] | None) -> Resource:
        r = cls()
        for name, q in (rl or {}).items():
            r.add_one(name, q)
        return r

    def add_one(self, name: str, q: object) -> None:
        if name == "cpu":
            self.milli_cpu += milli_value(q)
        elif name == "memory":
            self.memory += int_value(q)
        elif name == "ephemeral-storage":
            self.ephemeral += int_value(q)
        elif name == "pods":
            self.pods += int_value(q)
        else:
            self.scalars[name] = self.scalars.get(name, 0) + int_value(q)

    def add(self, other: Resource, sign: int = 1) -> None:
        self.milli_cpu += sign * other.milli_cpu
        self.memory += sign * other.memory
        self.ephemeral += sign * other.ephemeral
        for k, v in other.scalars.items():
            self.scalars[k] = self.scalars.get(k, 0) + sign * v

    def set_max(self, other: Resource) -> None:
        self.milli_cpu = max(self.milli_cpu, other.milli_cpu)
        self.memory = max(self.memory, other.memory)
        self.ephemeral = max(self.ephemeral, other.ephemeral)
        for k, v in other.scalars.items():
            self.scalars[k] = max(self.scalars.get(k, 0), v)

    def clone(self) -> Resource:
        return Resource(self.milli_cpu, self.memory, self.ephemeral, self.pods, dict(self.scalars))

    def is_zero(self) -> bool:
        return not (self.milli_cpu or self.memory or self.ephemeral or any(self.scalars.values()))

    def __repr__(self) -> str:
        extra = f", {self.scalars}" if self.scalars else ""
        return f"Resource(cpu={self.milli_cpu}m, memory={self.memory}, pods={self.pods}{extra})"


def _container_requests(c: Mapping[str, Any], non_zero: bool) -> Resource:
    req = ((c.get("resources") or {}).get("requests") or {})
    r = Resource.from_list(req)
    if non_zero:  # NonMissingContainerRequests: only a *missing* request gets the default
        if "cpu" not in req:
            r.milli_cpu = DEFAULT_MILLI_CPU_REQUEST
        if "memory" not in req:
            r.memory = DEFAULT_MEMORY_REQUEST
    return r


def pod_requests(pod: Obj, non_zero: bool = False) -> Resource:
    """resourcehelper.PodRequests: max(sum(containers) + sidecars, each init container's peak) + overhead.

    ``non_zero`` gives the scoring view: a container that does not ask for cpu/memory counts as 100m/200MB.
    """
    spec = pod.get("spec") or {}
    total = Resource()
    for c in spec.get("containers") or []:
        total.add(_container_requests(c, non_zero))
    sidecars = Resource()
    init_peak = Resource()
    for c in spec.get("initContainers") or []:
        r = _container_requests(c, non_zero)
        if c.get("restartPolicy") == "Always":  # a sidecar keeps running next to everything after it
            sidecars.add(r)
            peak = sidecars.clone()
        else:
            peak = r.clone()
            peak.add(sidecars)
        init_peak.set_max(peak)
    total.add(sidecars)
    total.set_max(init_peak)
    pod_level = ((spec.get("resources") or {}).get("requests") or {})
    if pod_level:  # PodLevelResources: pod-level cpu/memory requests replace the containers' sum
        if "cpu" in pod_level:
            total.milli_cpu = milli_value(pod_level["cpu"])
        if "memory" in pod_level:
            total.memory = int_value(pod_level["memory"])
    for name, q in (spec.get("overhead") or {}).items():
        total.add_one(name, q)
    return total


class AffinityTerm:
    """A parsed PodAffinityTerm: which pods it selects (namespaces + label selector) and the topology key.

    Namespaces: the listed ones, or the pod's own when neither namespaces nor namespaceSelector is given; a
    namespaceSelector of {} selects every namespace. matchLabelKeys/mismatchLabelKeys are merged into the label
    selector with the owning pod's values, as the API server does since Kubernetes 1.33.
    """

    __slots__ = ("namespaces", "ns_selector", "selector", "topology_key", "weight")

    def __init__(self, term: Mapping[str, Any], pod_ns: str, pod_labels: Mapping[str, str], weight: int = 0) -> None:
        self.topology_key: str = term.get("topologyKey") or ""
        self.weight = weight
        names = term.get("namespaces") or []
        ns_sel = term.get("namespaceSelector")
        self.namespaces = frozenset(names) if (names or ns_sel is not None) else frozenset((pod_ns,))
        self.ns_selector: LabelSelector | None = parse_selector(ns_sel) if ns_sel is not None else None
        sel = parse_selector(term.get("labelSelector"))
        extra = [Requirement(k, EQUALS, (pod_labels[k],)) for k in term.get("matchLabelKeys") or []
                 if k in pod_labels]
        extra += [Requirement(k, NOT_IN, (pod_labels[k],)) for k in term.get("mismatchLabelKeys") or []
                  if k in pod_labels]
        if extra and not sel.is_nothing:
            sel = LabelSelector([*sel.requirements, *extra])
        self.selector = sel

    def matches(self, pi: PodInfo, ns_labels: Mapping[str, str] | None) -> bool:
        if pi.namespace in self.namespaces or (
                self.ns_selector is not None and ns_labels is not None and self.ns_selector.matches(ns_labels)):
            return self.selector.matches(pi.labels)
        return False

    def all_namespaces(self) -> bool:
        return self.ns_selector is not None and self.ns_selector.empty()


def parse_selector(sel: Mapping[str, Any] | None) -> LabelSelector:
    """metav1.LabelSelectorAsSelector, an invalid selector matching nothing (as a parse error does upstream)."""
    try:
        return label_selector_from_dict(sel)
    except ApiError:
        return LabelSelector.nothing()


def _terms(pod: Obj, kind: str, field: str, ns: str, labels: Mapping[str, str]) -> list[AffinityTerm]:
    block = (((pod.get("spec") or {}).get("affinity") or {}).get(kind) or {})
    out: list[AffinityTerm] = []
    for t in block.get(field) or []:
        if field.startswith("preferred"):
            w = int(t.get("weight") or 0)
            if w:
                out.append(AffinityTerm(t.get("podAffinityTerm") or {}, ns, labels, w))
        else:
            out.append(AffinityTerm(t, ns, labels))
    return out


_REQ = "requiredDuringSchedulingIgnoredDuringExecution"
_PREF = "preferredDuringSchedulingIgnoredDuringExecution"


class PodInfo:
    """A pod with its requests, tolerations, host ports and affinity terms computed once."""

    __slots__ = ("pod", "key", "namespace", "name", "uid", "labels", "priority", "node_name", "requests",
                 "non_zero_cpu", "non_zero_mem", "tolerations", "host_ports", "required_affinity",
                 "required_anti_affinity", "preferred_affinity", "preferred_anti_affinity", "controller",
                 "deleting", "affinity", "_keys")

    def __init__(self, pod: Obj) -> None:
        meta = pod.get("metadata") or {}
        spec = pod.get("spec") or {}
        self.pod = pod
        self.namespace: str = meta.get("namespace") or ""
        self.name: str = meta.get("name") or ""
        self.key = f"{self.namespace}/{self.name}"
        self.uid: str = meta.get("uid") or ""
        self.labels: dict[str, str] = meta.get("labels") or {}
        self.priority: int = int(spec.get("priority") or 0)
        self.node_name: str = spec.get("nodeName") or ""
        self.deleting = bool(meta.get("deletionTimestamp"))
        self.requests = pod_requests(pod)
        nz = pod_requests(pod, non_zero=True)
        self.non_zero_cpu, self.non_zero_mem = nz.milli_cpu, nz.memory
        self.tolerations: list[Obj] = spec.get("tolerations") or []
        ports: list[tuple[str, str, int]] = []
        for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
            for p in c.get("ports") or []:
                hp = p.get("hostPort") or 0
                if hp > 0:
                    ports.append((p.get("hostIP") or "0.0.0.0", p.get("protocol") or "TCP", int(hp)))
        self.host_ports = ports
        ctrl = None
        for ref in meta.get("ownerReferences") or []:
            if ref.get("controller"):
                ctrl = (ref.get("apiVersion", ""), ref.get("kind", ""), ref.get("name", ""), ref.get("uid", ""))
                break
        self.controller: tuple[str, str, str, str] | None = ctrl
        aff = spec.get("affinity") or {}
        self.affinity = bool(aff.get("podAffinity") or aff.get("podAntiAffinity"))
        ns, labels = self.namespace, self.labels
        if self.affinity:
            self.required_affinity = _terms(pod, "podAffinity", _REQ, ns, labels)
            self.required_anti_affinity = _terms(pod, "podAntiAffinity", _REQ, ns, labels)
            self.preferred_affinity = _terms(pod, "podAffinity", _PREF, ns, labels)
            self.preferred_anti_affinity = _terms(pod, "podAntiAffinity", _PREF, ns, labels)
        else:
            self.required_affinity = self.required_anti_affinity = _EMPTY
            self.preferred_affinity = self.preferred_anti_affinity = _EMPTY
        self._keys: dict[str, Hashable] = {}

    @property
    def spec(self) -> Obj:
        return self.pod.get("spec") or {}

    # signature fragments (upstream SignPod): equal fragments mean a plugin sees two pods alike
    def resources_key(self) -> Hashable:
        k = self._keys.get("resources")
        if k is None:
            r = self.requests
            k = self._keys["resources"] = (r.milli_cpu, r.memory, r.ephemeral, tuple(sorted(r.scalars.items())),
                                           self.non_zero_cpu, self.non_zero_mem)
        return k

    def tolerations_key(self) -> Hashable:
        k = self._keys.get("tolerations")
        if k is None:
            k = self._keys["tolerations"] = repr(self.tolerations)
        return k

    def node_affinity_key(self) -> Hashable:
        k = self._keys.get("nodeAffinity")
        if k is None:
            spec = self.spec
            k = self._keys["nodeAffinity"] = (repr(spec.get("nodeSelector")),
                                              repr((spec.get("affinity") or {}).get("nodeAffinity")))
        return k

    def __repr__(self) -> str:
        return f"PodInfo({self.key}{' on ' + self.node_name if self.node_name else ''})"


_EMPTY: list[AffinityTerm] = []


class NodeInfo:
    """A node and its pods: requested resources (exact and non-zero), used host ports, pods with affinity.

    ``generation`` changes on every change (from one counter shared by all NodeInfos, so a node deleted and
    re-created never reuses a value), so callers can tell whether results cached for the node are stale.
    """

    __slots__ = ("node", "name", "labels", "taints", "hard_taints", "prefer_taints", "unschedulable",
                 "allocatable", "requested", "non_zero_cpu", "non_zero_mem", "pods", "used_ports",
                 "pods_with_affinity", "pods_with_required_anti_affinity", "generation")

    def __init__(self, node: Obj | None = None, name: str = "") -> None:
        self.pods: dict[str, PodInfo] = {}
        self.requested = Resource()
        self.non_zero_cpu = 0
        self.non_zero_mem = 0
        self.used_ports: dict[tuple[str, int], set[str]] = {}
        self.pods_with_affinity: dict[str, PodInfo] = {}
        self.pods_with_required_anti_affinity: dict[str, PodInfo] = {}
        self.generation = 0
        self.node: Obj | None = None
        self.name = name
        self.labels: dict[str, str] = {}
        self.taints: list[Obj] = []
        self.hard_taints: list[Obj] = []
        self.prefer_taints: list[Obj] = []
        self.unschedulable = False
        self.allocatable = Resource()
        if node is not None:
            self.set_node(node)

    def set_node(self, node: Obj) -> None:
        self.node = node
        meta = node.get("metadata") or {}
        spec = node.get("spec") or {}
        status = node.get("status") or {}
        self.name = meta.get("name") or self.name
        self.labels = meta.get("labels") or {}
        self.taints = spec.get("taints") or []
        self.hard_taints = [t for t in self.taints if t.get("effect") in ("NoSchedule", "NoExecute")]
        self.prefer_taints = [t for t in self.taints if t.get("effect") == "PreferNoSchedule"]
        self.unschedulable = bool(spec.get("unschedulable"))
        # Allocatable is what the kubelet offers to pods; a node that reports only capacity offers all of it.
        self.allocatable = Resource.from_list(status.get("allocatable") or status.get("capacity") or {})
        self.generation = next(_GENERATION)

    # ---------------------------------------------------------------------------------------------- pods
    def add_pod(self, pi: PodInfo) -> None:
        if pi.key in self.pods:
            self.remove_pod(pi.key)
        self.pods[pi.key] = pi
        self.requested.add(pi.requests)
        self.non_zero_cpu += pi.non_zero_cpu
        self.non_zero_mem += pi.non_zero_mem
        for ip, proto, port in pi.host_ports:
            self.used_ports.setdefault((proto, port), set()).add(ip)
        if pi.affinity:
            self.pods_with_affinity[pi.key] = pi
            if pi.required_anti_affinity:
                self.pods_with_required_anti_affinity[pi.key] = pi
        self.generation = next(_GENERATION)

    def remove_pod(self, key: str) -> PodInfo | None:
        pi = self.pods.pop(key, None)
        if pi is None:
            return None
        self.requested.add(pi.requests, -1)
        self.non_zero_cpu -= pi.non_zero_cpu
        self.non_zero_mem -= pi.non_zero_mem
        for ip, proto, port in pi.host_ports:
            ips = self.used_ports.get((proto, port))
            if ips is not None:
                ips.discard(ip)
                if not ips:
                    del self.used_ports[(proto, port)]
        self.pods_with_affinity.pop(key, None)
        self.pods_with_required_anti_affinity.pop(key, None)
        self.generation = next(_GENERATION)
        return pi

    def clone(self) -> NodeInfo:
        """A copy whose pod set can change without touching this one (preemption's what-if)."""
        c = NodeInfo(self.node, self.name) if self.node is not None else NodeInfo(name=self.name)
        for pi in self.pods.values():
            c.add_pod(pi)
        return c

    def __repr__(self) -> str:
        return f"NodeInfo({self.name}, pods={len(self.pods)}, requested={self.requested})"


def node_infos_from(nodes: Iterable[Obj]) -> list[NodeInfo]:
    return [NodeInfo(n) for n in nodes]


__all__ = ["AffinityTerm", "HOSTNAME_LABEL", "NodeInfo", "PodInfo", "Resource", "ZONE_LABEL", "pod_requests"]
