"""NodeName: a pod that names its node (spec.nodeName) fits only that node.

Mirrors pkg/scheduler/framework/plugins/nodename. The scheduler never queues such pods (they are bound
already); the plugin matters for ``explain`` and for preemption's what-if runs.
"""

from __future__ import annotations

from collections.abc import Hashable

from kubelab.scheduler.framework.interface import NODE_ADD, CycleState, Plugin
from kubelab.scheduler.framework.status import SKIP, Status, unresolvable
from kubelab.scheduler.framework.types import NodeInfo, PodInfo

NAME = "NodeName"
ERR_REASON = "node(s) didn't match the requested node name"


class NodeName(Plugin):
    name = NAME
    events = frozenset({NODE_ADD})
    node_local = True

    def sign(self, pod: PodInfo) -> Hashable:
        return pod.spec.get("nodeName") or ""

    def pre_filter(self, state: CycleState, pod: PodInfo, nodes: list[NodeInfo]) -> Status | None:
        return None if pod.spec.get("nodeName") else SKIP

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status | None:
        return None if fits(pod, node) else unresolvable(ERR_REASON)


def fits(pod: PodInfo, node: NodeInfo) -> bool:
    want = pod.spec.get("nodeName")
    return not want or want == node.name
