"""NodePorts: a pod asking for a hostPort fits only nodes where no other pod holds that port.

Mirrors pkg/scheduler/framework/plugins/nodeports: a port conflicts when protocol and number are equal and the
host IPs are equal or either is 0.0.0.0 (all addresses).
"""

from __future__ import annotations

from collections.abc import Hashable

from kubelab.scheduler.framework.interface import ASSIGNED_POD_DELETE, NODE_ADD, CycleState, Plugin
from kubelab.scheduler.framework.status import SKIP, Status, unschedulable
from kubelab.scheduler.framework.types import NodeInfo, PodInfo

NAME = "NodePorts"
ERR_REASON = "node(s) didn't have free ports for the requested pod ports"
ANY_IP = "0.0.0.0"


class NodePorts(Plugin):
    name = NAME
    events = frozenset({ASSIGNED_POD_DELETE, NODE_ADD})
    node_local = True

    def sign(self, pod: PodInfo) -> Hashable:
        return tuple(pod.host_ports)

    def pre_filter(self, state: CycleState, pod: PodInfo, nodes: list[NodeInfo]) -> Status | None:
        return None if pod.host_ports else SKIP

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status | None:
        return None if fits(pod, node) else unschedulable(ERR_REASON)


def fits(pod: PodInfo, node: NodeInfo) -> bool:
    for ip, proto, port in pod.host_ports:
        used = node.used_ports.get((proto, port))
        if used and (ip == ANY_IP or ip in used or ANY_IP in used):
            return False
    return True
