"""NodeResourcesFit: a pod fits a node when its requests fit in what the node's pods have not requested yet;
among the nodes that fit, LeastAllocated scores the emptiest highest.

Mirrors pkg/scheduler/framework/plugins/noderesources (fit.go, least_allocated.go, most_allocated.go):

* Filter: "Too many pods" when the node's pod count is at allocatable pods; "Insufficient <resource>" for every
  requested resource larger than allocatable minus requested. The status is Unschedulable (preemption might
  free room), or UnschedulableAndUnresolvable when a request is larger than the whole node.
* Score (LeastAllocated, the default strategy): per resource (capacity - requested) * 100 / capacity, where
  requested counts the pod and every pod on the node with a container asking nothing as 100m cpu / 200MB; the
  weighted average over cpu and memory (weight 1 each). ``scoringStrategy: {type: MostAllocated}`` favours
  full nodes instead (bin packing).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from kubelab.scheduler.framework.interface import (
    ASSIGNED_POD_DELETE,
    NODE_ADD,
    NODE_UPDATE,
    CycleState,
    Plugin,
)
from kubelab.scheduler.framework.status import Code, Status
from kubelab.scheduler.framework.types import NodeInfo, PodInfo, Resource

NAME = "NodeResourcesFit"
LEAST_ALLOCATED = "LeastAllocated"
MOST_ALLOCATED = "MostAllocated"
DEFAULT_RESOURCES: tuple[dict[str, Any], ...] = ({"name": "cpu", "weight": 1}, {"name": "memory", "weight": 1})

Obj = dict[str, Any]


@dataclass(frozen=True, slots=True)
class InsufficientResource:
    resource: str
    reason: str
    requested: int
    used: int
    capacity: int
    unresolvable: bool


class NodeResourcesFit(Plugin):
    name = NAME
    events = frozenset({ASSIGNED_POD_DELETE, NODE_ADD, NODE_UPDATE})
    node_local = True

    def __init__(self, handle: Any, args: dict[str, Any] | None = None) -> None:
        super().__init__(handle, args)
        strategy: dict[str, Any] = self.args.get("scoringStrategy") or {}
        self.strategy = strategy.get("type") or LEAST_ALLOCATED
        if self.strategy not in (LEAST_ALLOCATED, MOST_ALLOCATED):
            raise ValueError(f"scoring strategy {self.strategy} is not supported")
        resources: list[dict[str, Any]] = strategy.get("resources") or list(DEFAULT_RESOURCES)
        self.resources = [(str(r["name"]), int(r.get("weight", 1))) for r in resources]
        self.default_resources = self.resources == [("cpu", 1), ("memory", 1)]

    def sign(self, pod: PodInfo) -> Hashable:
        return pod.resources_key()

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status | None:
        req = pod.requests
        alloc, used = node.allocatable, node.requested
        # fast path: the common case fits with room to spare
        if (len(node.pods) < alloc.pods and req.milli_cpu <= alloc.milli_cpu - used.milli_cpu
                and req.memory <= alloc.memory - used.memory and not req.ephemeral and not req.scalars):
            return None
        missing = fits_request(req, node)
        if not missing:
            return None
        code = Code.UNSCHEDULABLE_AND_UNRESOLVABLE if any(m.unresolvable for m in missing) else Code.UNSCHEDULABLE
        return Status(code, *(m.reason for m in missing))

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        least = self.strategy == LEAST_ALLOCATED
        if least and self.default_resources:  # the common case, unrolled: this runs for every feasible node
            cap_cpu, cap_mem = node.allocatable.milli_cpu, node.allocatable.memory
            if cap_cpu and cap_mem:
                cpu = node.non_zero_cpu + pod.non_zero_cpu
                mem = node.non_zero_mem + pod.non_zero_mem
                s_cpu = 0 if cpu > cap_cpu else (cap_cpu - cpu) * 100 // cap_cpu
                s_mem = 0 if mem > cap_mem else (cap_mem - mem) * 100 // cap_mem
                return (s_cpu + s_mem) // 2
        total = weights = 0
        for name, weight in self.resources:
            capacity, requested = _allocatable_and_requested(node, pod, name)
            if capacity == 0:
                continue
            if least:
                s = 0 if requested > capacity else (capacity - requested) * 100 // capacity
            else:
                s = 100 if requested > capacity else requested * 100 // capacity
            total += s * weight
            weights += weight
        return total // weights if weights else 0

    def queueing_hint(self, event: str, pod: PodInfo, old: Obj | None, new: Obj | None) -> bool:
        if event == ASSIGNED_POD_DELETE:
            return True
        if new is None:
            return False
        return not fits_request(pod.requests, NodeInfo(new))  # would fit when empty: worth a try


def _allocatable_and_requested(node: NodeInfo, pod: PodInfo, name: str) -> tuple[int, int]:
    if name == "cpu":
        return node.allocatable.milli_cpu, node.non_zero_cpu + pod.non_zero_cpu
    if name == "memory":
        return node.allocatable.memory, node.non_zero_mem + pod.non_zero_mem
    if name == "ephemeral-storage":
        return node.allocatable.ephemeral, node.requested.ephemeral + pod.requests.ephemeral
    want = pod.requests.scalars.get(name, 0)
    if not want:
        return 0, 0
    return node.allocatable.scalars.get(name, 0), node.requested.scalars.get(name, 0) + want


def fits_request(req: Resource, node: NodeInfo) -> list[InsufficientResource]:
    """What does not fit (empty: the pod fits), in upstream's order: pods, cpu, memory, ephemeral, scalars."""
    out: list[InsufficientResource] = []
    alloc, used = node.allocatable, node.requested
    if len(node.pods) + 1 > alloc.pods:
        out.append(InsufficientResource("pods", "Too many pods", 1, len(node.pods), alloc.pods, alloc.pods < 1))
    if req.is_zero():
        return out
    for name, want, have, cap in (("cpu", req.milli_cpu, used.milli_cpu, alloc.milli_cpu),
                                  ("memory", req.memory, used.memory, alloc.memory),
                                  ("ephemeral-storage", req.ephemeral, used.ephemeral, alloc.ephemeral)):
        if want > 0 and want > cap - have:
            out.append(InsufficientResource(name, f"Insufficient {name}", want, have, cap, want > cap))
    for name, want in sorted(req.scalars.items()):
        if want == 0:
            continue
        have, cap = used.scalars.get(name, 0), alloc.scalars.get(name, 0)
        if want > cap - have:
            out.append(InsufficientResource(name, f"Insufficient {name}", want, have, cap, want > cap))
    return out


def fits(pod: PodInfo, node: NodeInfo) -> bool:
    return not fits_request(pod.requests, node)
