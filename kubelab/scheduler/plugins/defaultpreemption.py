"""DefaultPreemption: when no node fits, evict lower-priority pods from one node so this pod fits there.

Mirrors pkg/scheduler/framework/plugins/defaultpreemption and framework/preemption:

1. A pod with preemptionPolicy Never is "not eligible due to preemptionPolicy=Never."; a pod whose earlier
   victims are still terminating on its nominated node is "not eligible due to a terminating pod on the
   nominated node." (so one preemption does not snowball into more).
2. Nodes rejected as UnschedulableAndUnresolvable are skipped ("Preemption is not helpful for scheduling").
3. On each other node: remove every pod of lower priority; if the pod still does not fit, that filter's reason
   stands; with nothing to remove, "No preemption victims found for incoming pod". Otherwise reprieve victims
   one by one, highest priority first, keeping each whose return still leaves room.
4. Pick the node with the lowest highest-victim priority, then the smallest (offset) priority sum, then the
   fewest victims, then the latest start among the most important victims.
5. Mark the victims (DisruptionTarget condition, "Preempted" event) and delete them; the pod is nominated to
   the node and scheduled there once the victims are gone.

The message when no candidate exists is a FitError of its own, prefixed "preemption: ". Simplified: no
PodDisruptionBudgets; the what-if runs the filters on a copy of the node but reuses the cycle's PreFilter
state for inter-pod affinity and spreading (upstream updates it through PreFilterExtensions); nominated
lower-priority pods are not un-nominated.
"""

from __future__ import annotations

import logging
from typing import Any

from kubelab.api.errors import ApiError
from kubelab.clock import rfc3339
from kubelab.scheduler.framework.interface import CycleState, Plugin, PostFilterResult
from kubelab.scheduler.framework.runtime import fit_error_message
from kubelab.scheduler.framework.status import Code, Status, unresolvable, unschedulable
from kubelab.scheduler.framework.types import NodeInfo, PodInfo

log = logging.getLogger(__name__)

NAME = "DefaultPreemption"
NOT_ELIGIBLE_NEVER = "not eligible due to preemptionPolicy=Never."
NOT_ELIGIBLE_TERMINATING = "not eligible due to a terminating pod on the nominated node."
NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_VICTIMS = "No preemption victims found for incoming pod"
_OFFSET = 2**31  # upstream adds MaxInt32+1 per victim so negative priorities sum sensibly


class DefaultPreemption(Plugin):
    name = NAME

    def post_filter(self, state: CycleState, pod: PodInfo,
                    statuses: dict[str, Status]) -> tuple[PostFilterResult | None, Status]:
        if (pod.spec.get("preemptionPolicy") or "PreemptLowerPriority") == "Never":
            return None, unschedulable("preemption: " + NOT_ELIGIBLE_NEVER)
        if self.victims_still_terminating(pod, statuses):
            return None, unschedulable("preemption: " + NOT_ELIGIBLE_TERMINATING)
        nodes = self.handle.cache.node_infos()
        node_statuses: dict[str, Status] = {}
        candidates: list[tuple[NodeInfo, list[PodInfo]]] = []
        for ni in nodes:
            st = statuses.get(ni.name)
            if st is None or st.code == Code.UNSCHEDULABLE_AND_UNRESOLVABLE:
                node_statuses[ni.name] = unresolvable(NOT_HELPFUL)
                continue
            victims, why = self.select_victims(state, pod, ni)
            if why is not None:
                node_statuses[ni.name] = why
            else:
                candidates.append((ni, victims))
        if not candidates:
            msg = fit_error_message(len(nodes), node_statuses, absent=unresolvable(NOT_HELPFUL))
            return None, unschedulable("preemption: " + msg)
        node, victims = pick_one_node(candidates)
        self.prepare(pod, node, victims)
        return PostFilterResult(node.name, victims), Status(Code.SUCCESS)

    def victims_still_terminating(self, pod: PodInfo, statuses: dict[str, Status]) -> bool:
        """Upstream's PodEligibleToPreemptOthers: do not preempt again while the victims of the last preemption
        (on the pod's nominated node) are still terminating."""
        nominated = (pod.pod.get("status") or {}).get("nominatedNodeName")
        ni = self.handle.cache.get(nominated) if nominated else None
        if ni is None:
            return False
        st = statuses.get(ni.name)
        if st is not None and st.code == Code.UNSCHEDULABLE_AND_UNRESOLVABLE:
            return False
        return any(p.priority < pod.priority and p.deleting and _preempted(p) for p in ni.pods.values())

    def select_victims(self, state: CycleState, pod: PodInfo, ni: NodeInfo) -> tuple[list[PodInfo], Status | None]:
        fw = self.handle.framework
        assert fw is not None
        clone = ni.clone()
        lower = [p for p in clone.pods.values() if p.priority < pod.priority]
        if not lower:
            return [], unresolvable(NO_VICTIMS)
        for p in lower:
            clone.remove_pod(p.key)
        st = fw.run_filters(state, pod, clone)
        if st is not None:
            return [], st
        lower.sort(key=lambda p: (-p.priority, _start(p)))
        victims = []
        for p in lower:
            clone.add_pod(p)
            if fw.run_filters(state, pod, clone) is not None:
                clone.remove_pod(p.key)
                victims.append(p)
        return victims, None

    def prepare(self, pod: PodInfo, node: NodeInfo, victims: list[PodInfo]) -> None:
        client = self.handle.client
        if client is None:  # explain: only say what would happen
            return
        now = rfc3339(self.handle.clock.now()) if self.handle.clock is not None else None
        cond = {"type": "DisruptionTarget", "status": "True", "reason": "PreemptionByScheduler",
                "message": f"{self.handle.scheduler_name}: preempting to accommodate a higher priority pod",
                "lastTransitionTime": now}
        for v in victims:
            try:
                client.patch("pods", v.name, {"status": {"conditions": [cond]}}, namespace=v.namespace,
                             patch_type="strategic", subresource="status")
                client.delete("pods", v.name, namespace=v.namespace)
            except ApiError as e:
                log.info("preemption: deleting %s: %s", v.key, e.message)
                continue
            if self.handle.record_event is not None:
                self.handle.record_event(v.pod, "Preempted", f"Preempted by pod {pod.uid} on node {node.name}",
                                         "Normal", action="Preempting")


def _preempted(p: PodInfo) -> bool:
    return any(c.get("type") == "DisruptionTarget" and c.get("reason") == "PreemptionByScheduler"
               for c in (p.pod.get("status") or {}).get("conditions") or [])


def _start(p: PodInfo) -> str:
    status = p.pod.get("status") or {}
    return status.get("startTime") or (p.pod.get("metadata") or {}).get("creationTimestamp") or ""


def pick_one_node(candidates: list[tuple[NodeInfo, list[PodInfo]]]) -> tuple[NodeInfo, list[PodInfo]]:
    def key(c: tuple[NodeInfo, list[PodInfo]]) -> tuple[Any, ...]:
        victims = c[1]
        top = max(p.priority for p in victims)
        earliest_top = min(_start(p) for p in victims if p.priority == top)
        return (top, sum(p.priority + _OFFSET for p in victims), len(victims), _neg(earliest_top))

    return min(candidates, key=key)


def _neg(ts: str) -> tuple[int, ...]:
    """Sort later timestamps first (RFC 3339 strings compare like times)."""
    return tuple(-ord(ch) for ch in ts)
