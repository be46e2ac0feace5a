"""TaintToleration: a node's NoSchedule/NoExecute taints keep out pods that do not tolerate them; its
PreferNoSchedule taints only lower the node's score.

Mirrors pkg/scheduler/framework/plugins/tainttoleration. Filter rejects with UnschedulableAndUnresolvable
(evicting pods cannot remove a taint). Since Kubernetes 1.35 (and 1.34.2) the reason no longer names the taint,
which may be sensitive ("node(s) had untolerated taint(s)"); upstream logs the taint instead, and kubelab keeps
it in the status ``detail`` for the explain view. Score counts the untolerated PreferNoSchedule taints and
NormalizeScore reverses it, so the node with fewest such taints gets 100.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from kubelab.scheduler.framework.helpers import (
    default_normalize_score,
    find_untolerated,
    tolerations_tolerate,
)
from kubelab.scheduler.framework.interface import NODE_ADD, NODE_UPDATE, CycleState, Plugin
from kubelab.scheduler.framework.status import Status, unresolvable
from kubelab.scheduler.framework.types import NodeInfo, PodInfo

NAME = "TaintToleration"
ERR_REASON_NOT_MATCH = "node(s) had untolerated taint(s)"

Obj = dict[str, Any]


def taint_text(taint: Obj) -> str:
    """The form upstream printed before 1.35: {key: value}."""
    return f"{{{taint.get('key', '')}: {taint.get('value') or ''}}}"


class TaintToleration(Plugin):
    name = NAME
    events = frozenset({NODE_ADD, NODE_UPDATE})
    node_local = True

    def sign(self, pod: PodInfo) -> Hashable:
        return pod.tolerations_key()

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status | None:
        if not node.hard_taints:
            return None
        taint = find_untolerated(node.hard_taints, pod.tolerations)
        if taint is None:
            return None
        return unresolvable(ERR_REASON_NOT_MATCH, detail=f"untolerated taint {taint_text(dict(taint))}")

    def pre_score(self, state: CycleState, pod: PodInfo, nodes: list[NodeInfo]) -> Status | None:
        # an empty effect tolerates every effect, PreferNoSchedule included
        state[NAME] = [t for t in pod.tolerations if (t.get("effect") or "PreferNoSchedule") == "PreferNoSchedule"]
        return None

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        if not node.prefer_taints:
            return 0
        tols = state[NAME]
        return sum(1 for t in node.prefer_taints if not tolerations_tolerate(tols, t))

    def normalize_score(self, state: CycleState, pod: PodInfo, nodes: list[NodeInfo], scores: list[int]) -> None:
        default_normalize_score(scores, reverse=True)

    def queueing_hint(self, event: str, pod: PodInfo, old: Obj | None, new: Obj | None) -> bool:
        if new is None:
            return False
        return not _untolerated(new, pod) and (old is None or _untolerated(old, pod))


def _untolerated(node: Obj, pod: PodInfo) -> bool:
    hard = [t for t in (node.get("spec") or {}).get("taints") or [] if t.get("effect") in ("NoSchedule", "NoExecute")]
    return find_untolerated(hard, pod.tolerations) is not None


def fits(pod: PodInfo, node: NodeInfo) -> bool:
    return find_untolerated(node.hard_taints, pod.tolerations) is None
