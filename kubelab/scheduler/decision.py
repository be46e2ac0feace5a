"""Decision: why the scheduler put a pod where it did (or nowhere), node by node, and ``explain``.

kube-scheduler keeps no such record (its closest relatives are the FailedScheduling message and verbose logs);
kubelab keeps one per scheduling attempt so a learner can ask "why this node?" or "why Pending?":

    d = scheduler.last_decision("default", "web-1")      # the scheduler's own last attempt
    d = explain(pod, nodes, pods)                         # computed fresh, all nodes considered
    d.summary       "Scheduled on local-worker2: highest score 482 (TaintToleration 300, NodeResourcesFit 97, ...)"
    d.to_rows()     [{"node": ..., "fits": ..., "filter": ..., "reason": ..., "<Plugin>": score, "total": ...}]

Scores in rows and summaries are weighted (plugin score 0..100 times the profile weight), so they add up to the
total the scheduler compared. A node's ``reason`` is the plugin's reason as upstream reports it; ``detail``
adds what upstream only logs (the untolerated taint, the skew that was too large).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from kubelab.clock import rfc3339_micro
from kubelab.scheduler.framework.cache import Cache, StaticListers
from kubelab.scheduler.framework.interface import Handle
from kubelab.scheduler.framework.registry import Profile, default_profile
from kubelab.scheduler.framework.runtime import CycleResult, Framework
from kubelab.scheduler.framework.types import PodInfo

Obj = dict[str, Any]
_SUMMARY_NODES = 8


@dataclass
class NodeVerdict:
    node: str
    fits: bool | None  # None: not evaluated (the scheduler stopped after enough feasible nodes)
    plugin: str | None = None  # the filter (or prefilter) plugin that rejected the node
    reason: str | None = None
    detail: str = ""
    code: str | None = None
    scores: dict[str, int] = field(default_factory=dict)  # weighted, per score plugin
    total: int | None = None
    chosen: bool = False


class Decision:
    def __init__(self, result: CycleResult, at: datetime | None = None, node_names: Iterable[str] = ()) -> None:
        self.result = result
        self.pod = result.pod.key
        self.namespace, self.name = result.pod.namespace, result.pod.name
        self.node: str | None = result.node or None
        self.at = at  # when the scheduler decided (None for explain)
        self._all_nodes = list(node_names)

    @property
    def time(self) -> str:
        return rfc3339_micro(self.at) if self.at is not None else ""

    # --------------------------------------------------------------------------------------------- facts
    @property
    def scheduled(self) -> bool:
        return self.node is not None

    @property
    def message(self) -> str:
        """The event message: "Successfully assigned ns/pod to node" or the FailedScheduling text."""
        if self.node:
            return f"Successfully assigned {self.pod} to {self.node}"
        return self.result.message

    @property
    def weights(self) -> dict[str, int]:
        return dict(self.result.weights)

    @property
    def nominated_node(self) -> str | None:
        pf = self.result.post_filter
        return pf.nominated_node if pf is not None and pf.nominated_node else None

    @property
    def victims(self) -> list[str]:
        pf = self.result.post_filter
        return [v.key for v in pf.victims] if pf is not None else []

    @cached_property
    def nodes(self) -> list[NodeVerdict]:
        r = self.result
        out: list[NodeVerdict] = []
        scored = {ni.name: i for i, ni in enumerate(r.feasible)}
        names = self._all_nodes or [*scored, *r.statuses]
        for name in names:
            st = r.statuses.get(name)
            if st is not None:
                out.append(NodeVerdict(name, False, st.plugin or None, st.message, st.detail, st.code.label))
                continue
            i = scored.get(name)
            if i is None:
                out.append(NodeVerdict(name, None, reason="not evaluated"))
                continue
            scores = {p: r.weights[p] * s[i] for p, s in r.scores.items()}
            total = r.totals[i] if r.totals else None
            out.append(NodeVerdict(name, True, scores=scores, total=total, chosen=name == r.node))
        return out

    # --------------------------------------------------------------------------------------------- text
    @cached_property
    def summary(self) -> str:
        r = self.result
        if r.error:
            return f"Error: {r.error}"
        n = r.num_all_nodes
        if not self.node:
            if n == 0:
                return "Pending: no nodes available to schedule pods"
            rejected = [v for v in self.nodes if v.fits is False]
            parts = [f"{v.node}: {v.detail or v.reason}" for v in rejected[:_SUMMARY_NODES]]
            if len(rejected) > _SUMMARY_NODES:
                parts.append(f"... and {len(rejected) - _SUMMARY_NODES} more")
            text = f"Pending: 0/{n} nodes fit; " + "; ".join(parts)
            if self.nominated_node:
                text += f"; preempting {len(self.victims)} pod(s) on {self.nominated_node}"
            return text
        if r.nominated:
            return f"Scheduled on {self.node}: its nominated node (room was made by preemption)"
        if not r.totals:
            return f"Scheduled on {self.node}: the only node that fits ({len(r.feasible)}/{n} nodes fit)"
        chosen = next(v for v in self.nodes if v.chosen)
        breakdown = ", ".join(f"{p} {s}" for p, s in chosen.scores.items())
        runner_up = sorted((t for t, ni in zip(r.totals, r.feasible, strict=True) if ni.name != self.node),
                           reverse=True)
        tail = f"; next best {runner_up[0]}" if runner_up else ""
        return f"Scheduled on {self.node}: highest score {chosen.total} ({breakdown}){tail}"

    def to_rows(self) -> list[dict[str, Any]]:
        """One dict per node, ready for ``pandas.DataFrame``: node, fits, filter, reason, a column per score
        plugin (weighted score, None when not scored) and total."""
        plugins = list(self.result.weights) + [p for p in self.result.skipped_scores if p not in self.result.weights]
        rows = []
        for v in self.nodes:
            row: dict[str, Any] = {"node": v.node, "fits": v.fits, "filter": v.plugin,
                                   "reason": (v.detail or v.reason) if v.fits is not True else None}
            for p in plugins:
                row[p] = v.scores.get(p)
            row["total"] = v.total
            row["chosen"] = v.chosen
            rows.append(row)
        return rows

    def __repr__(self) -> str:
        return f"<Decision {self.pod}: {self.summary}>"

    def __str__(self) -> str:
        return self.summary


def explain(pod: Obj, nodes: list[Obj], pods: list[Obj], profile: Profile | None = None, *,
            objects: Iterable[Obj] = ()) -> Decision:
    """Where would the scheduler put ``pod`` now, and why? Pure: computes a fresh Decision over ``nodes`` and
    the assigned, non-terminal ``pods``, considering every node (no sampling) and scoring even a single
    feasible node. ``objects``: Services, ReplicaSets, StatefulSets, ReplicationControllers and Namespaces, for
    default spreading and namespace selectors. A pod that is already bound is explained as if it were not."""
    me = PodInfo(_unbound(pod))
    cache = Cache(StaticListers(objects))
    for n in nodes:
        cache.add_node(n)
    for p in pods:
        spec, status = p.get("spec") or {}, p.get("status") or {}
        if spec.get("nodeName") and status.get("phase") not in ("Succeeded", "Failed"):
            pi = PodInfo(p)
            if pi.key != me.key:
                cache.add_pod(pi)
    fw = Framework(profile or default_profile(), Handle(cache=cache))
    res = fw.schedule(me, all_nodes=True)
    return Decision(res, node_names=[ni.name for ni in cache.node_infos()])


def _unbound(pod: Obj) -> Obj:
    spec = pod.get("spec") or {}
    if not spec.get("nodeName"):
        return pod
    return {**pod, "spec": {k: v for k, v in spec.items() if k != "nodeName"}}
