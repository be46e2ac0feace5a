"""NodeUnschedulable: a cordoned node (spec.unschedulable) takes no new pods, unless they tolerate the
node.kubernetes.io/unschedulable:NoSchedule taint (DaemonSet pods do).

Mirrors pkg/scheduler/framework/plugins/nodeunschedulable.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from kubelab.scheduler.framework.helpers import tolerations_tolerate
from kubelab.scheduler.framework.interface import NODE_ADD, NODE_UPDATE, CycleState, Plugin
from kubelab.scheduler.framework.status import Status, unresolvable
from kubelab.scheduler.framework.types import NodeInfo, PodInfo

NAME = "NodeUnschedulable"
ERR_REASON_UNSCHEDULABLE = "node(s) were unschedulable"
UNSCHEDULABLE_TAINT = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}

Obj = dict[str, Any]


class NodeUnschedulable(Plugin):
    name = NAME
    events = frozenset({NODE_ADD, NODE_UPDATE})
    node_local = True

    def sign(self, pod: PodInfo) -> Hashable:
        return pod.tolerations_key()

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status | None:
        if not node.unschedulable or fits(pod, node):
            return None
        return unresolvable(ERR_REASON_UNSCHEDULABLE)

    def queueing_hint(self, event: str, pod: PodInfo, old: Obj | None, new: Obj | None) -> bool:
        return new is not None and not (new.get("spec") or {}).get("unschedulable")


def fits(pod: PodInfo, node: NodeInfo) -> bool:
    return not node.unschedulable or tolerations_tolerate(pod.tolerations, UNSCHEDULABLE_TAINT)
