"""The node lifecycle controller: notice nodes whose kubelet went silent, and taint nodes by their conditions.

Mirrors kube-controller-manager's NodeLifecycleController (pkg/controller/nodelifecycle, event source
``node-controller``):

* health: a kubelet proves it is alive by renewing its Lease in ``kube-node-lease`` and by posting the Ready
  condition's ``lastHeartbeatTime``. When neither moved for ``node_monitor_grace_period`` (lab 6 s, real 50 s),
  the controller sets Ready, MemoryPressure, DiskPressure and PIDPressure to ``Unknown`` (reason
  NodeStatusUnknown, "Kubelet stopped posting node status."; conditions never posted become
  NodeStatusNeverUpdated), records ``Node <n> status is now: NodeNotReady`` on the node, and marks the node's pods
  not Ready (event NodeNotReady "Node is not ready" on each pod);
* taints: Ready=False gives ``node.kubernetes.io/not-ready`` and Ready=Unknown gives
  ``node.kubernetes.io/unreachable``, each as NoSchedule (keeps new pods away) and NoExecute (the taint eviction
  controller then evicts pods that do not tolerate it), with ``timeAdded``; pressure conditions and
  ``spec.unschedulable`` give their NoSchedule taints. When the kubelet is back and Ready is True again, the taints
  go.

Simplified: upstream keeps its own "last observed" timestamps (to be immune to clock skew between kubelets and
the controller) and polls every ``node-monitor-period``; in-process everything shares one clock, so the
controller compares the Lease's ``renewTime`` and the heartbeat with now directly and wakes itself when the
grace period would run out. NoExecute tainting is not rate-limited per zone and there is no zone disruption
mode (a whole-cluster outage still taints every node).
"""

from __future__ import annotations

import copy
import datetime as _dt
from typing import Any

from kubelab.api.errors import ApiError
from kubelab.client import Client, InformerFactory
from kubelab.clock import parse_time, rfc3339
from kubelab.config import LabConfig
from kubelab.controllers.runner import Controller
from kubelab.trace import TraceBus

Obj = dict[str, Any]

NODE_LEASE_NAMESPACE = "kube-node-lease"
LEASES = "leases.coordination.k8s.io"

TAINT_NOT_READY = "node.kubernetes.io/not-ready"
TAINT_UNREACHABLE = "node.kubernetes.io/unreachable"
TAINT_UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
NO_SCHEDULE = "NoSchedule"
NO_EXECUTE = "NoExecute"

# node condition type -> {condition status -> taint key}
CONDITION_TAINTS: dict[str, dict[str, str]] = {
    "Ready": {"False": TAINT_NOT_READY, "Unknown": TAINT_UNREACHABLE},
    "MemoryPressure": {"True": "node.kubernetes.io/memory-pressure"},
    "DiskPressure": {"True": "node.kubernetes.io/disk-pressure"},
    "NetworkUnavailable": {"True": "node.kubernetes.io/network-unavailable"},
    "PIDPressure": {"True": "node.kubernetes.io/pid-pressure"},
}
CONDITION_TAINT_KEYS = frozenset(k for m in CONDITION_TAINTS.values() for k in m.values())
# the conditions the controller turns Unknown when the kubelet is silent (NetworkUnavailable is not the kubelet's)
KUBELET_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")

REASON_UNKNOWN = "NodeStatusUnknown"
MESSAGE_UNKNOWN = "Kubelet stopped posting node status."
REASON_NEVER = "NodeStatusNeverUpdated"
MESSAGE_NEVER = "Kubelet never posted node status."

_EPSILON = 0.01  # wake a hair after the grace period ends


def condition(obj: Obj, ctype: str) -> Obj | None:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if isinstance(c, dict) and c.get("type") == ctype:
            return c
    return None


def ready_status(node: Obj) -> str | None:
    c = condition(node, "Ready")
    return None if c is None else str(c.get("status"))


def _time(s: object) -> _dt.datetime | None:
    if not isinstance(s, str) or not s:
        return None
    try:
        return parse_time(s)
    except ValueError:
        return None


def desired_taints(node: Obj) -> tuple[set[str], set[str]]:
    """The NoSchedule and NoExecute taint keys the node's conditions (and spec.unschedulable) call for."""
    no_schedule: set[str] = set()
    for c in (node.get("status") or {}).get("conditions") or []:
        key = CONDITION_TAINTS.get(c.get("type"), {}).get(c.get("status"))
        if key:
            no_schedule.add(key)
    if (node.get("spec") or {}).get("unschedulable"):
        no_schedule.add(TAINT_UNSCHEDULABLE)
    no_execute = {"False": {TAINT_NOT_READY}, "Unknown": {TAINT_UNREACHABLE}}.get(ready_status(node) or "", set())
    return no_schedule, no_execute


def reconcile_taints(taints: list[Obj], no_schedule: set[str], no_execute: set[str], now: str) -> list[Obj]:
    """Keep taints the controller does not own; keep wanted ones it owns (with their timeAdded); add the
    missing wanted ones with ``timeAdded`` = now; drop the rest."""
    out: list[Obj] = []
    have: set[tuple[str, str]] = set()
    for t in taints:
        key, effect = t.get("key"), t.get("effect")
        owned = ((effect == NO_SCHEDULE and (key in CONDITION_TAINT_KEYS or key == TAINT_UNSCHEDULABLE))
                 or (effect == NO_EXECUTE and key in (TAINT_NOT_READY, TAINT_UNREACHABLE)))
        if owned:
            wanted = no_schedule if effect == NO_SCHEDULE else no_execute
            if key not in wanted or (key, effect) in have:
                continue
            have.add((str(key), str(effect)))
        out.append(t)
    for effect, keys in ((NO_SCHEDULE, no_schedule), (NO_EXECUTE, no_execute)):
        for key in sorted(keys):
            if (key, effect) not in have:
                out.append({"key": key, "effect": effect, "timeAdded": now})
    return out


class NodeLifecycleController(Controller):
    """Keys are node names. Writes and events carry the manager name ``node-controller``."""

    name = "nodelifecycle"
    manager = "node-controller"

    def __init__(self, client: Client, informers: InformerFactory, config: LabConfig,
                 trace: TraceBus | None = None) -> None:
        if client.manager != self.manager:  # events and field ownership carry this controller's name
            client = Client(client.ctx, self.manager)
        super().__init__(client, informers, config, trace)

    def setup(self) -> None:
        self.nodes = self.informers.informer("nodes")
        self.leases = self.informers.informer(LEASES, NODE_LEASE_NAMESPACE)
        self.pods = self.informers.informer("pods")
        self._known: set[str] = set()
        self.nodes.add_handler(self.enqueue, lambda old, new: self.enqueue(new), self.enqueue)
        self.leases.add_handler(self._lease_changed, lambda old, new: self._lease_changed(new), None)
        self.pods.add_handler(self._pod_changed, lambda old, new: self._pod_changed(new, old), None)

    def _lease_changed(self, lease: Obj) -> None:
        self.enqueue_key(lease["metadata"]["name"])

    def _pod_changed(self, pod: Obj, old: Obj | None = None) -> None:
        # a pod newly bound to a node that is not Ready is marked not Ready too (processPod upstream)
        node = (pod.get("spec") or {}).get("nodeName")
        if node and (old is None or (old.get("spec") or {}).get("nodeName") != node):
            n = self.nodes.get(node)
            if n is not None and ready_status(n) == "Unknown":
                self.enqueue_key(node)

    # ------------------------------------------------------------------------------------------------ sync
    async def sync(self, key: str) -> None:
        node = self.nodes.get(key)
        if node is None:
            if key in self._known:
                self._known.discard(key)
                self.client.event({"kind": "Node", "apiVersion": "v1", "name": key}, "RemovingNode",
                                  f"Node {key} event: Removing Node {key} from Controller")
            return
        if key not in self._known:
            self._known.add(key)
            self.client.event(node, "RegisteredNode", f"Node {key} event: Registered Node {key} in Controller")
        node = self.update_health(node)
        node = self.update_taints(node)
        if ready_status(node) == "Unknown":
            self.mark_pods_not_ready(node)

    def last_heartbeat(self, node: Obj) -> tuple[_dt.datetime, float]:
        """(time of the newest sign of life, grace period it is entitled to)."""
        ready = condition(node, "Ready")
        grace = float(self.config.node_monitor_grace_period)
        if ready is None:
            probe = _time(node["metadata"].get("creationTimestamp")) or self.clock.now()
            grace = float(self.config.extra.get("node_startup_grace_period", grace))  # type: ignore[arg-type]
        else:
            probe = _time(ready.get("lastHeartbeatTime")) or _time(node["metadata"].get("creationTimestamp")) \
                or self.clock.now()
        lease = self.leases.get(node["metadata"]["name"], NODE_LEASE_NAMESPACE)
        renewed = _time(((lease or {}).get("spec") or {}).get("renewTime"))
        if renewed is not None and renewed > probe:
            probe = renewed
        return probe, grace

    def update_health(self, node: Obj) -> Obj:
        """tryUpdateNodeHealth: past the grace period, the kubelet's conditions become Unknown."""
        name = node["metadata"]["name"]
        now = self.clock.now()
        probe, grace = self.last_heartbeat(node)
        silent = (now - probe).total_seconds()
        if silent <= grace:
            self.requeue_after(name, grace - silent + _EPSILON)
            return node
        new = copy.deepcopy(node)
        status = new.setdefault("status", {})
        conds: list[Obj] = status.setdefault("conditions", [])
        stamp = rfc3339(now)
        changed = False
        for ctype in KUBELET_CONDITIONS:
            c = next((c for c in conds if c.get("type") == ctype), None)
            if c is None:
                conds.append({"type": ctype, "status": "Unknown", "reason": REASON_NEVER, "message": MESSAGE_NEVER,
                              "lastHeartbeatTime": node["metadata"].get("creationTimestamp"),
                              "lastTransitionTime": stamp})
                changed = True
            elif c.get("status") != "Unknown":
                c.update(status="Unknown", reason=REASON_UNKNOWN, message=MESSAGE_UNKNOWN, lastTransitionTime=stamp)
                changed = True
        if not changed:
            return node
        was = ready_status(node)
        out = self.client.update_status("nodes", new)
        self.emit("node-unknown", out, reason=REASON_UNKNOWN,
                  message=f"no heartbeat for {silent:.1f}s (grace {grace:g}s)")
        if was == "True":
            self.client.event(out, "NodeNotReady", f"Node {name} status is now: NodeNotReady")
        return out

    def update_taints(self, node: Obj) -> Obj:
        """doNoScheduleTaintingPass + doNoExecuteTaintingPass + markNodeAsReachable."""
        no_schedule, no_execute = desired_taints(node)
        taints = list((node.get("spec") or {}).get("taints") or [])
        wanted = reconcile_taints(taints, no_schedule, no_execute, rfc3339(self.clock.now()))
        if wanted == taints:
            return node
        new = copy.deepcopy(node)
        spec = new.setdefault("spec", {})
        if wanted:
            spec["taints"] = wanted
        else:
            spec.pop("taints", None)
        out = self.client.update("nodes", new)
        added = [f"{t['key']}:{t['effect']}" for t in wanted if t not in taints]
        removed = [f"{t.get('key')}:{t.get('effect')}" for t in taints if t not in wanted]
        self.emit("taint", out, message=f"added {added or '[]'}, removed {removed or '[]'}",
                  added=added, removed=removed)
        return out

    def mark_pods_not_ready(self, node: Obj) -> None:
        """MarkPodsNotReady: the node's pods stop being Ready (Services stop sending them traffic)."""
        name = node["metadata"]["name"]
        stamp = rfc3339(self.clock.now())
        for pod in self.pods.list():
            if (pod.get("spec") or {}).get("nodeName") != name:
                continue
            ready = condition(pod, "Ready")
            if ready is None or ready.get("status") == "False":
                continue
            new = copy.deepcopy(pod)
            for c in new["status"]["conditions"]:
                if c.get("type") == "Ready":
                    c.update(status="False", lastTransitionTime=stamp)
            try:
                out = self.client.update_status("pods", new)
            except ApiError:  # gone or changed meanwhile: the next pass sees the new state
                continue
            self.client.event(out, "NodeNotReady", "Node is not ready", "Warning")
