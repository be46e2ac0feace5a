"""The DaemonSet controller: one pod on every node that should run it.

Mirrors pkg/controller/daemon (daemon_controller.go, update.go, util/daemonset_util.go) as of Kubernetes
1.12+, where the default scheduler places daemon pods: for each node the controller decides whether the pod
should run there (the template's nodeName, nodeSelector and required node affinity must fit; a NoSchedule
taint the pod does not tolerate keeps a new pod off; a NoExecute one also evicts a running one), then creates
a pod from the template with ``generateName: <ds>-`` whose required node affinity is replaced by ``matchFields
metadata.name In [<node>]`` — spec.nodeName stays empty and the scheduler binds it. Every daemon pod gets the
tolerations upstream adds (node.kubernetes.io/not-ready and unreachable NoExecute with no tolerationSeconds;
disk-pressure, memory-pressure, pid-pressure and unschedulable NoSchedule; network-unavailable for hostNetwork
pods), the ``controller-revision-hash`` label of the current template, and a controller ownerReference. The
template is recorded as ControllerRevisions (``<ds>-<hash>``, data = the template patch) pruned to
revisionHistoryLimit. RollingUpdate replaces old pods at most maxUnavailable (int or percent of
desiredNumberScheduled, rounded up) at a time; OnDelete leaves them. Extra pods on a node (all but the
oldest), pods on nodes that should not run them and failed pods are deleted. status: desiredNumberScheduled,
currentNumberScheduled, numberMisscheduled, numberReady, numberAvailable (minReadySeconds), numberUnavailable,
updatedNumberScheduled, observedGeneration.

Simplified: maxSurge is not implemented (surge > 0 behaves like 0); failed pods are deleted without the
controller's per-node backoff; no adoption/release of pods or revisions that merely match the selector; the
``pod-template-generation`` label is added only when the DaemonSet carries the
``deprecated.daemonset.template.generation`` annotation (which our API server does not set yet).
"""

from __future__ import annotations

import copy
import datetime as _dt
import math
from typing import Any

from kubelab.api.errors import ApiError
from kubelab.api.selectors import label_selector_from_dict
from kubelab.api.taints import tolerates
from kubelab.client.informer import meta_key, split_key
from kubelab.clock import parse_time
from kubelab.controllers.history import (
    POD_REVISION_LABEL,
    Expectations,
    History,
    Wakeups,
    client_for,
    compute_template_hash,
    controller_of,
    controller_ref,
    revision_name,
    sort_revisions,
    template_patch,
)
from kubelab.controllers.runner import Controller

Obj = dict[str, Any]

MANAGER = "daemonset-controller"
TEMPLATE_GENERATION_ANNOTATION = "deprecated.daemonset.template.generation"
TEMPLATE_GENERATION_LABEL = "pod-template-generation"

# AddOrUpdateDaemonPodTolerations, in upstream's order
DAEMON_TOLERATIONS: tuple[Obj, ...] = (
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
)
NETWORK_UNAVAILABLE = {"key": "node.kubernetes.io/network-unavailable", "operator": "Exists",
                       "effect": "NoSchedule"}


# ------------------------------------------------------------------------------------------------------------
# placement (pure)
# ------------------------------------------------------------------------------------------------------------


def add_daemon_tolerations(spec: Obj) -> None:
    """AddOrUpdateDaemonPodTolerations: add, or replace a toleration with the same key/operator/effect."""
    tols = [t for t in spec.get("tolerations") or []]
    wanted = list(DAEMON_TOLERATIONS) + ([NETWORK_UNAVAILABLE] if spec.get("hostNetwork") else [])
    for w in wanted:
        same = [i for i, t in enumerate(tols) if t.get("key") == w["key"] and t.get("effect") == w["effect"]
                and (t.get("operator") or "Equal") == w["operator"]]
        if same:
            tols[same[0]] = dict(w)
        else:
            tols.append(dict(w))
    spec["tolerations"] = tols


def _requirement_matches(req: Obj, values: dict[str, str]) -> bool:
    key, op, vals = req.get("key", ""), req.get("operator"), list(req.get("values") or [])
    if op == "In":
        return key in values and values[key] in vals
    if op == "NotIn":
        return key not in values or values[key] not in vals
    if op == "Exists":
        return key in values
    if op == "DoesNotExist":
        return key not in values
    if op in ("Gt", "Lt") and key in values and len(vals) == 1:
        try:
            have, want = int(values[key]), int(vals[0])
        except ValueError:
            return False
        return have > want if op == "Gt" else have < want
    return False


def node_selector_matches(selector: Obj | None, node: Obj) -> bool:
    """A v1.NodeSelector: terms are ORed, a term's requirements ANDed; an empty term matches nothing."""
    if selector is None:
        return True
    labels = (node.get("metadata") or {}).get("labels") or {}
    fields = {"metadata.name": (node.get("metadata") or {}).get("name", "")}
    for term in selector.get("nodeSelectorTerms") or ():
        exprs, mfields = term.get("matchExpressions") or [], term.get("matchFields") or []
        if not exprs and not mfields:
            continue
        if all(_requirement_matches(r, labels) for r in exprs) and \
                all(_requirement_matches(r, fields) for r in mfields):
            return True
    return False


def node_should_run(node: Obj, pod_spec: Obj) -> tuple[bool, bool]:
    """NodeShouldRunDaemonPod -> (should run a new pod there, should keep a running one)."""
    name = (node.get("metadata") or {}).get("name")
    if pod_spec.get("nodeName") and pod_spec["nodeName"] != name:
        return False, False
    labels = (node.get("metadata") or {}).get("labels") or {}
    if any(labels.get(k) != v for k, v in (pod_spec.get("nodeSelector") or {}).items()):
        return False, False
    required = ((pod_spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution")
    if not node_selector_matches(required, node):
        return False, False
    tols = pod_spec.get("tolerations") or []
    should_run = True
    for taint in (node.get("spec") or {}).get("taints") or ():
        if taint.get("effect") not in ("NoSchedule", "NoExecute"):
            continue
        if not any(tolerates(t, taint) for t in tols):
            if taint.get("effect") == "NoExecute":
                return False, False
            should_run = False
    return should_run, True


def node_affinity_for(affinity: Obj | None, node_name: str) -> Obj:
    """ReplaceDaemonSetPodNodeNameNodeAffinity: the required node affinity becomes this one node."""
    out = copy.deepcopy(affinity or {})
    na = out.setdefault("nodeAffinity", {})
    req = na.setdefault("requiredDuringSchedulingIgnoredDuringExecution", {})
    req["nodeSelectorTerms"] = [{"matchFields": [
        {"key": "metadata.name", "operator": "In", "values": [node_name]}]}]
    return out


def target_node(pod: Obj) -> str | None:
    """GetTargetNodeName: spec.nodeName, else the node named by the matchFields affinity."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return str(spec["nodeName"])
    req = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution") or {}
    for term in req.get("nodeSelectorTerms") or ():
        for f in term.get("matchFields") or ():
            one = len(f.get("values") or []) == 1
            if f.get("key") == "metadata.name" and f.get("operator") == "In" and one:
                return str(f["values"][0])
    return None


def ready_since(pod: Obj) -> _dt.datetime | None:
    for c in (pod.get("status") or {}).get("conditions") or ():
        if c.get("type") == "Ready" and c.get("status") == "True":
            return parse_time(c.get("lastTransitionTime") or "1970-01-01T00:00:00Z")
    return None


def is_available(pod: Obj, min_ready: int, now: _dt.datetime) -> bool:
    """podutil.IsPodAvailable: Ready for at least minReadySeconds."""
    since = ready_since(pod)
    return since is not None and (min_ready == 0 or since + _dt.timedelta(seconds=min_ready) <= now)


def scaled_value(value: Any, total: int, round_up: bool) -> int:
    """intstr.GetScaledValueFromIntOrPercent."""
    if isinstance(value, str) and value.endswith("%"):
        v = int(value[:-1]) * total / 100
        return math.ceil(v) if round_up else math.floor(v)
    return int(value or 0)


def _creation(pod: Obj) -> tuple[str, str]:
    m = pod.get("metadata") or {}
    return (m.get("creationTimestamp") or "", m.get("name") or "")


# ------------------------------------------------------------------------------------------------------------
# the controller
# ------------------------------------------------------------------------------------------------------------


class DaemonSetController(Controller):
    name = "daemonset"
    manager = MANAGER

    def setup(self) -> None:
        self.client = client_for(self.client, MANAGER)
        self.wakeups = Wakeups(self.clock, self.requeue_after)
        self.daemonsets = self.informers.informer("daemonsets.apps")
        self.pods = self.informers.informer("pods")
        self.nodes = self.informers.informer("nodes")
        self.history = History(self.client, self.informers.informer("controllerrevisions.apps"))
        self.expectations = Expectations()
        self.daemonsets.add_handler(self.enqueue, lambda old, new: self.enqueue(new), self.enqueue)
        self.pods.add_handler(lambda p: self._pod_event(p, False),
                              lambda old, new: self._pod_event(new, False),
                              lambda p: self._pod_event(p, True))
        self.nodes.add_handler(self._enqueue_all, self._node_updated, self._enqueue_all)
        self.history.informer.add_handler(self._owner_event, lambda old, new: self._owner_event(new),
                                          self._owner_event)

    # -- handlers -------------------------------------------------------------------------------------------
    def _owner_of(self, obj: Obj) -> Obj | None:
        ref = controller_of(obj)
        if ref is None or ref.get("kind") != "DaemonSet":
            return None
        ds = self.daemonsets.get(str(ref.get("name")), (obj.get("metadata") or {}).get("namespace"))
        return ds if ds is not None and ds["metadata"].get("uid") == ref.get("uid") else None

    def _owner_event(self, obj: Obj) -> None:
        ds = self._owner_of(obj)
        if ds is not None:
            self.enqueue(ds)

    def _pod_event(self, pod: Obj, gone: bool) -> None:
        ds = self._owner_of(pod)
        if ds is None:
            return
        key, name = meta_key(ds), pod["metadata"].get("name", "")
        self.expectations.observe_creation(key, name)
        if gone or pod["metadata"].get("deletionTimestamp"):
            self.expectations.observe_deletion(key, name)
        self.enqueue_key(key)

    def _enqueue_all(self, _node: Obj) -> None:
        for ds in self.daemonsets.list():
            self.enqueue(ds)

    def _node_updated(self, old: Obj, new: Obj) -> None:
        def shape(n: Obj) -> Any:
            return ((n.get("metadata") or {}).get("labels"), (n.get("spec") or {}).get("taints"),
                    (n.get("spec") or {}).get("unschedulable"))
        if shape(old) != shape(new):
            self._enqueue_all(new)

    # -- sync -----------------------------------------------------------------------------------------------
    async def sync(self, key: str) -> None:
        ns, name = split_key(key)
        cached = self.daemonsets.get(name, ns)
        if cached is None:
            self.expectations.forget(key)
            return
        if cached["metadata"].get("deletionTimestamp"):
            return
        ds = copy.deepcopy(cached)
        sel = ds["spec"].get("selector")
        if label_selector_from_dict(sel).empty():
            self.client.event(ds, "SelectingAll", "This daemon set is selecting all pods. A non-empty "
                              "selector is required.", "Warning")
            return
        nodes = sorted(self.nodes.list(), key=lambda n: n["metadata"]["name"])
        old_revs, hash_ = self._construct_history(ds)
        if self.expectations.satisfied(key):
            self._manage(ds, nodes, hash_)
            if (ds["spec"].get("updateStrategy") or {}).get("type", "RollingUpdate") == "RollingUpdate":
                self._rolling_update(ds, nodes, hash_)
            self._cleanup_history(ds, old_revs, hash_)
        self._update_status(ds, nodes, hash_)

    def _daemon_pods(self, ds: Obj) -> dict[str, list[Obj]]:
        """getNodesToDaemonPods: this DaemonSet's live pods by target node, oldest first."""
        by_node: dict[str, list[Obj]] = {}
        uid = ds["metadata"].get("uid")
        for p in self.pods.list(ds["metadata"].get("namespace")):
            if (controller_of(p) or {}).get("uid") != uid or p["metadata"].get("deletionTimestamp"):
                continue
            node = target_node(p)
            if node:
                by_node.setdefault(node, []).append(p)
        for pods in by_node.values():
            pods.sort(key=_creation)
        return by_node

    def _pod_spec(self, ds: Obj) -> Obj:
        spec = copy.deepcopy((ds["spec"].get("template") or {}).get("spec") or {})
        add_daemon_tolerations(spec)
        return spec

    def _manage(self, ds: Obj, nodes: list[Obj], hash_: str) -> None:
        """manage: create the missing daemon pods, delete the ones that should not be there."""
        spec = self._pod_spec(ds)
        by_node = self._daemon_pods(ds)
        create: list[str] = []
        delete: list[Obj] = []
        names = set()
        for node in nodes:
            nname = node["metadata"]["name"]
            names.add(nname)
            run, keep = node_should_run(node, spec)
            pods = by_node.get(nname, [])
            if run and not pods:
                create.append(nname)
            elif keep:
                alive = []
                for p in pods:
                    if (p.get("status") or {}).get("phase") == "Failed":
                        pod_ref = f"{p['metadata']['namespace']}/{p['metadata']['name']}"
                        self.client.event(ds, "FailedDaemonPod", f"Found failed daemon pod {pod_ref} on node "
                                          f"{nname}, will try to kill it", "Warning")
                        delete.append(p)
                    else:
                        alive.append(p)
                delete.extend(alive[1:])  # keep the oldest
            else:
                delete.extend(pods)
        for nname, pods in by_node.items():  # pods waiting for a node that is gone
            if nname not in names:
                delete.extend(p for p in pods if not (p.get("spec") or {}).get("nodeName"))
        self._sync_nodes(ds, delete, create, hash_)

    def _sync_nodes(self, ds: Obj, delete: list[Obj], create: list[str], hash_: str) -> None:
        key = meta_key(ds)
        template = self._pod_template(ds, hash_)
        for nname in create:
            pod = copy.deepcopy(template)
            pod["spec"]["affinity"] = node_affinity_for(pod["spec"].get("affinity"), nname)
            try:
                out = self.client.create("pods", pod, namespace=ds["metadata"]["namespace"])
            except ApiError as e:
                self.client.event(ds, "FailedCreate", f"Error creating: {e.message}", "Warning")
                raise
            self.expectations.expect_creation(key, out["metadata"]["name"])
            self.client.event(ds, "SuccessfulCreate", f"Created pod: {out['metadata']['name']}")
            self.emit("create-pod", out, node=nname,
                      message=f"Created pod: {out['metadata']['name']} for {nname}")
        for pod in delete:
            m = pod["metadata"]
            if self.client.delete("pods", m["name"], m.get("namespace")) is not None:
                self.expectations.expect_deletion(key, m["name"])
            self.client.event(ds, "SuccessfulDelete", f"Deleted pod: {m['name']}")
            self.emit("delete-pod", pod, node=target_node(pod) or "", message=f"Deleted pod: {m['name']}")

    def _pod_template(self, ds: Obj, hash_: str) -> Obj:
        """CreatePodTemplate + GetPodFromTemplate: daemon tolerations, the revision hash label, the owner."""
        tmpl = copy.deepcopy(ds["spec"].get("template") or {})
        tmeta = tmpl.get("metadata") or {}
        labels = dict(tmeta.get("labels") or {})
        gen = (ds["metadata"].get("annotations") or {}).get(TEMPLATE_GENERATION_ANNOTATION)
        if gen is not None:
            labels[TEMPLATE_GENERATION_LABEL] = gen
        labels[POD_REVISION_LABEL] = hash_
        meta: Obj = {"generateName": f"{ds['metadata']['name']}-", "labels": labels,
                     "ownerReferences": [controller_ref(ds, "apps/v1", "DaemonSet")]}
        for k in ("annotations", "finalizers"):
            if tmeta.get(k):
                meta[k] = copy.deepcopy(tmeta[k])
        spec = tmpl.get("spec") or {}
        add_daemon_tolerations(spec)
        return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}

    def _rolling_update(self, ds: Obj, nodes: list[Obj], hash_: str) -> None:
        """rollingUpdate (maxSurge 0): delete old pods, unavailable ones first, keeping at most maxUnavailable
        nodes without an available pod."""
        spec = self._pod_spec(ds)
        now = self.clock.now()
        min_ready = int(ds["spec"].get("minReadySeconds") or 0)
        by_node = self._daemon_pods(ds)
        desired = [n for n in nodes if node_should_run(n, spec)[0]]
        ru = (ds["spec"].get("updateStrategy") or {}).get("rollingUpdate") or {}
        max_unavailable = scaled_value(ru.get("maxUnavailable", 1), len(desired), True)
        if max_unavailable == 0 and scaled_value(ru.get("maxSurge", 0), len(desired), True) == 0:
            max_unavailable = 1
        unavailable = 0
        replace_now: list[Obj] = []
        candidates: list[Obj] = []
        for node in desired:
            pods = by_node.get(node["metadata"]["name"], [])
            new = [p for p in pods if (p["metadata"].get("labels") or {}).get(POD_REVISION_LABEL) == hash_]
            old = [p for p in pods if p not in new]
            if len(pods) != 1:
                unavailable += 1  # missing or duplicated: manage sorts it out
            elif new:
                unavailable += not is_available(new[0], min_ready, now)
            elif not is_available(old[0], min_ready, now):
                replace_now.append(old[0])
            elif unavailable < max_unavailable:
                candidates.append(old[0])
        room = max(0, min(max_unavailable - unavailable, len(candidates)))
        victims = replace_now + candidates[:room]
        if victims:
            self._sync_nodes(ds, victims, [], hash_)

    # -- history --------------------------------------------------------------------------------------------
    def _construct_history(self, ds: Obj) -> tuple[list[Obj], str]:
        """constructHistory: find or create the revision of the current template -> (old revisions, hash)."""
        status = ds.setdefault("status", {})
        collisions = int(status.get("collisionCount") or 0)
        hash_ = compute_template_hash(ds["spec"].get("template") or {}, collisions)
        revs = sort_revisions(self.history.list(ds, ds["spec"].get("selector")))
        data = template_patch(ds)
        cur = [r for r in revs if (r["metadata"].get("labels") or {}).get(POD_REVISION_LABEL) == hash_
               or r["metadata"]["name"] == revision_name(ds["metadata"]["name"], hash_)]
        old = [r for r in revs if r not in cur]
        top = max((int(r.get("revision") or 0) for r in revs), default=0)
        if cur:
            current = cur[-1]
            for dup in cur[:-1]:  # dedupCurHistories
                self.history.delete(dup)
            if int(current.get("revision") or 0) < top:
                self.history.update_revision(current, top + 1)
            return old, hash_
        while True:
            name = revision_name(ds["metadata"]["name"], hash_)
            rev: Obj = {"apiVersion": "apps/v1", "kind": "ControllerRevision",
                   "metadata": {"name": name, "namespace": ds["metadata"]["namespace"],
                                "labels": {**((ds["spec"].get("template") or {}).get("metadata") or {}).get(
                                    "labels", {}), POD_REVISION_LABEL: hash_},
                                "ownerReferences": [controller_ref(ds, "apps/v1", "DaemonSet")]},
                   "data": data, "revision": top + 1}
            if ds["metadata"].get("annotations"):
                rev["metadata"]["annotations"] = dict(ds["metadata"]["annotations"])
            try:
                self.client.create("controllerrevisions.apps", rev, namespace=ds["metadata"]["namespace"])
                self.emit("create-revision", rev, message=f"revision {top + 1} of {ds['metadata']['name']}")
                return old, hash_
            except ApiError as e:
                if e.code != 409:
                    raise
                existing = self.client.get("controllerrevisions.apps", name, ds["metadata"]["namespace"])
                if existing.get("data") == data and (controller_of(existing) or {}).get("uid") == \
                        ds["metadata"].get("uid"):
                    return old, hash_
                collisions += 1  # a different template already has this name: hash again
                status["collisionCount"] = collisions
                hash_ = compute_template_hash(ds["spec"].get("template") or {}, collisions)

    def _cleanup_history(self, ds: Obj, old: list[Obj], hash_: str) -> None:
        """cleanupHistory: keep revisionHistoryLimit old revisions that no pod uses any more."""
        limit = int(ds["spec"].get("revisionHistoryLimit", 10))
        live = {(p["metadata"].get("labels") or {}).get(POD_REVISION_LABEL)
                for pods in self._daemon_pods(ds).values() for p in pods}
        unused = [r for r in old if (r["metadata"].get("labels") or {}).get(POD_REVISION_LABEL) not in live]
        for r in unused[:max(0, len(unused) - limit)]:
            self.history.delete(r)

    # -- status ---------------------------------------------------------------------------------------------
    def _update_status(self, ds: Obj, nodes: list[Obj], hash_: str) -> None:
        """updateDaemonSetStatus."""
        spec = self._pod_spec(ds)
        now = self.clock.now()
        min_ready = int(ds["spec"].get("minReadySeconds") or 0)
        by_node = self._daemon_pods(ds)
        desired = current = mis = ready = available = updated = 0
        for node in nodes:
            run, _ = node_should_run(node, spec)
            pods = by_node.get(node["metadata"]["name"], [])
            if run:
                desired += 1
                if pods:
                    current += 1
                    pod = pods[0]
                    if ready_since(pod) is not None:
                        ready += 1
                        available += is_available(pod, min_ready, now)
                    updated += (pod["metadata"].get("labels") or {}).get(POD_REVISION_LABEL) == hash_
            elif pods:
                mis += 1
        old = ds.get("status") or {}
        status: Obj = {"currentNumberScheduled": current, "numberMisscheduled": mis,
                       "desiredNumberScheduled": desired, "numberReady": ready}
        for k, v in (("observedGeneration", ds["metadata"].get("generation")),
                     ("updatedNumberScheduled", updated), ("numberAvailable", available),
                     ("numberUnavailable", desired - available),
                     ("collisionCount", old.get("collisionCount"))):
            if v:
                status[k] = v
        if min_ready and ready != available:
            self.wakeups.after(meta_key(ds), min_ready)
        cached = self.daemonsets.get(ds["metadata"]["name"], ds["metadata"]["namespace"]) or {}
        if status == (cached.get("status") or {}):
            return
        ds["status"] = status
        self.client.update_status("daemonsets.apps", ds)
        self.emit("status", ds,
                  message=f"desired={desired} current={current} ready={ready} updated={updated}")
