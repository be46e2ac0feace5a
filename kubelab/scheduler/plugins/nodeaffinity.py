"""NodeAffinity: spec.nodeSelector and requiredDuringScheduling node affinity filter nodes; preferred node
affinity terms score them (the sum of the weights of the terms a node matches, scaled to 0..100).

Mirrors pkg/scheduler/framework/plugins/nodeaffinity. The filter rejects with UnschedulableAndUnresolvable;
PreFilter and PreScore Skip for pods without selector/required terms or preferred terms.

Simplified: no scheduler-enforced addedAffinity argument; no PreFilterResult narrowing the nodes by name.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from kubelab.scheduler.framework.helpers import (
    PreferredSchedulingTerm,
    RequiredNodeAffinity,
    default_normalize_score,
    preferred_node_affinity,
)
from kubelab.scheduler.framework.interface import NODE_ADD, NODE_UPDATE, CycleState, Plugin
from kubelab.scheduler.framework.status import SKIP, Status, unresolvable
from kubelab.scheduler.framework.types import NodeInfo, PodInfo

NAME = "NodeAffinity"
ERR_REASON_POD = "node(s) didn't match Pod's node affinity/selector"
_PRE_FILTER = NAME + "/required"
_PRE_SCORE = NAME + "/preferred"

Obj = dict[str, Any]


class NodeAffinity(Plugin):
    name = NAME
    events = frozenset({NODE_ADD, NODE_UPDATE})
    node_local = True

    def sign(self, pod: PodInfo) -> Hashable:
        return pod.node_affinity_key()

    def pre_filter(self, state: CycleState, pod: PodInfo, nodes: list[NodeInfo]) -> Status | None:
        req = RequiredNodeAffinity(pod.pod)
        if req.empty:
            return SKIP
        state[_PRE_FILTER] = req
        return None

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status | None:
        req: RequiredNodeAffinity = state[_PRE_FILTER]
        if req.matches(node.name, node.labels):
            return None
        return unresolvable(ERR_REASON_POD)

    def pre_score(self, state: CycleState, pod: PodInfo, nodes: list[NodeInfo]) -> Status | None:
        terms = preferred_node_affinity(pod.pod)
        if not terms:
            return SKIP
        state[_PRE_SCORE] = terms
        return None

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        terms: list[PreferredSchedulingTerm] = state[_PRE_SCORE]
        return sum(t.weight for t in terms if t.term.matches(node.name, node.labels))

    def normalize_score(self, state: CycleState, pod: PodInfo, nodes: list[NodeInfo], scores: list[int]) -> None:
        default_normalize_score(scores)

    def queueing_hint(self, event: str, pod: PodInfo, old: Obj | None, new: Obj | None) -> bool:
        if new is None:
            return False
        req = RequiredNodeAffinity(pod.pod)
        return _matches(req, new) and (old is None or not _matches(req, old))


def _matches(req: RequiredNodeAffinity, node: Obj) -> bool:
    meta = node.get("metadata") or {}
    return req.matches(meta.get("name", ""), meta.get("labels") or {})


def fits(pod: PodInfo, node: NodeInfo) -> bool:
    return RequiredNodeAffinity(pod.pod).matches(node.name, node.labels)
