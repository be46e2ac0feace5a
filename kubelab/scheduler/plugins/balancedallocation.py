"""NodeResourcesBalancedAllocation: prefer nodes whose cpu and memory would be used in equal proportion.

Mirrors pkg/scheduler/framework/plugins/noderesources/balanced_allocation.go: for each resource the fraction
(requested on the node + the pod's request) / allocatable, capped at 1; the score is (1 - std) * 100 where std is
|cpu - memory| / 2 for two resources (the standard deviation for more). Requests are the exact ones (no 100m /
200MB defaults), and best-effort pods (no requests) are skipped so they do not all pile onto one node.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from typing import Any

from kubelab.scheduler.framework.interface import CycleState, Plugin
from kubelab.scheduler.framework.status import SKIP, Status
from kubelab.scheduler.framework.types import NodeInfo, PodInfo

NAME = "NodeResourcesBalancedAllocation"
DEFAULT_RESOURCES = ("cpu", "memory")


class BalancedAllocation(Plugin):
    name = NAME
    node_local = True

    def __init__(self, handle: Any, args: dict[str, Any] | None = None) -> None:
        super().__init__(handle, args)
        self.resources = [r["name"] for r in self.args.get("resources") or ()] or list(DEFAULT_RESOURCES)
        self.default_resources = tuple(self.resources) == DEFAULT_RESOURCES

    def sign(self, pod: PodInfo) -> Hashable:
        return pod.resources_key()

    def pre_score(self, state: CycleState, pod: PodInfo, nodes: list[NodeInfo]) -> Status | None:
        if all(_pod_request(pod, r) == 0 for r in self.resources):
            return SKIP
        return None

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        if self.default_resources:  # the common case, unrolled: this runs for every feasible node
            a, u, r = node.allocatable, node.requested, pod.requests
            if a.milli_cpu and a.memory:
                cpu = (u.milli_cpu + r.milli_cpu) / a.milli_cpu
                mem = (u.memory + r.memory) / a.memory
                return int((1 - abs((cpu if cpu < 1 else 1.0) - (mem if mem < 1 else 1.0)) / 2) * 100)
        fractions = []
        for r in self.resources:
            alloc, used = _node_values(node, r)
            if alloc == 0:
                continue
            fractions.append(min((used + _pod_request(pod, r)) / alloc, 1.0))
        return balanced_score(fractions)


def balanced_score(fractions: list[float]) -> int:
    std = 0.0
    if len(fractions) == 2:
        std = abs(fractions[0] - fractions[1]) / 2
    elif len(fractions) > 2:
        mean = sum(fractions) / len(fractions)
        std = math.sqrt(sum((f - mean) ** 2 for f in fractions) / len(fractions))
    return int((1 - std) * 100)


def _pod_request(pod: PodInfo, r: str) -> int:
    req = pod.requests
    if r == "cpu":
        return req.milli_cpu
    if r == "memory":
        return req.memory
    if r == "ephemeral-storage":
        return req.ephemeral
    return req.scalars.get(r, 0)


def _node_values(node: NodeInfo, r: str) -> tuple[int, int]:
    a, u = node.allocatable, node.requested
    if r == "cpu":
        return a.milli_cpu, u.milli_cpu
    if r == "memory":
        return a.memory, u.memory
    if r == "ephemeral-storage":
        return a.ephemeral, u.ephemeral
    return a.scalars.get(r, 0), u.scalars.get(r, 0)
