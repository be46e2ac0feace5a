"""The framework runtime: one scheduling cycle of one pod over a snapshot, through a profile's plugins.

Mirrors kube-scheduler's schedulePod (schedule_one.go) and frameworkImpl: PreFilter, then Filter node by node
starting where the last cycle stopped and stopping once ``num_feasible_nodes_to_find`` nodes fit (upstream's
percentageOfNodesToScore), PostFilter when none fits, then PreScore/Score/NormalizeScore, the weighted sum, and
the highest total (ties broken at random, from a seeded generator so runs are repeatable).

The result is a ``CycleResult`` holding what every node said, which ``Decision`` later renders; the FitError
message is built exactly as upstream's FitError.Error().

Reuse (in the spirit of upstream's pod signatures and opportunistic batching): plugins marked ``node_local``
sign the pod (the parts of it they read); for pods with equal signatures, their Filter verdicts and raw Scores
are kept per node until the cache reports that node changed (reuse.py). A burst of replicas of one template
therefore costs one full pass, then only the nodes that changed. Results are the same as without it
(``Framework(memoize=False)``); cluster-wide plugins (spreading, inter-pod affinity) always run.

Simplified: everything runs on one thread (no parallelizer); no extenders; nominated pods are not added to
nodes during Filter (upstream's two-pass RunFilterPluginsWithNominatedPods).
"""

from __future__ import annotations

import itertools
import operator
import random
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from kubelab.scheduler.framework.cache import Cache
from kubelab.scheduler.framework.interface import (
    CycleState,
    FilterPlugin,
    Handle,
    NormalizeScorePlugin,
    Plugin,
    PostFilterPlugin,
    PostFilterResult,
    PreFilterPlugin,
    PreScorePlugin,
    QueueSortPlugin,
    ScorePlugin,
    SignPlugin,
)
from kubelab.scheduler.framework.registry import Profile, Registry
from kubelab.scheduler.framework.reuse import Verdicts
from kubelab.scheduler.framework.status import Code, Status
from kubelab.scheduler.framework.types import NodeInfo, PodInfo

MIN_FEASIBLE_NODES_TO_FIND = 100
MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5
NO_NODES_AVAILABLE = "no nodes available to schedule pods"
FilterFn = Callable[[CycleState, PodInfo, NodeInfo], Status | None]


def num_feasible_nodes_to_find(num_all_nodes: int, percentage: int = 0) -> int:
    """How many feasible nodes to look for before scoring (upstream numFeasibleNodesToFind)."""
    if num_all_nodes < MIN_FEASIBLE_NODES_TO_FIND or percentage >= 100:
        return num_all_nodes
    if percentage <= 0:
        percentage = max(50 - num_all_nodes // 125, MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND)
    return max(num_all_nodes * percentage // 100, MIN_FEASIBLE_NODES_TO_FIND)


def fit_error_message(num_all_nodes: int, statuses: dict[str, Status], pre_filter_msg: str = "",
                      post_filter_msg: str = "", absent: Status | None = None) -> str:
    """FitError.Error(): "0/N nodes are available: <count reason, ...>. <PostFilter message>".

    Reasons are counted over nodes and sorted as strings ("1 node(s) ...", "2 Insufficient cpu"); nodes without
    a status count toward ``absent``'s reasons (preemption's "Preemption is not helpful for scheduling").
    """
    msg = f"0/{num_all_nodes} nodes are available:"
    if pre_filter_msg:
        msg += f" {pre_filter_msg}."
    else:
        counts: dict[str, int] = {}
        for st in statuses.values():
            for r in st.reasons:
                counts[r] = counts.get(r, 0) + 1
        if absent is not None and len(statuses) < num_all_nodes:
            for r in absent.reasons:
                counts[r] = counts.get(r, 0) + num_all_nodes - len(statuses)
        hist = sorted(f"{n} {r}" for r, n in counts.items())
        if hist:
            msg += f" {', '.join(hist)}."
    if post_filter_msg:
        msg += f" {post_filter_msg}"
    return msg


@dataclass
class CycleResult:
    """What one scheduling cycle found. ``node`` is empty when the pod did not fit."""

    pod: PodInfo
    num_all_nodes: int = 0
    node: str = ""
    evaluated: int = 0
    feasible: list[NodeInfo] = field(default_factory=list)
    statuses: dict[str, Status] = field(default_factory=dict)  # rejected nodes only
    pre_filter_status: Status | None = None
    scores: dict[str, list[int]] = field(default_factory=dict)  # plugin -> normalized scores, as feasible
    weights: dict[str, int] = field(default_factory=dict)
    skipped_scores: list[str] = field(default_factory=list)
    totals: list[int] = field(default_factory=list)
    post_filter: PostFilterResult | None = None
    post_filter_status: Status | None = None
    message: str = ""  # the FitError (or error) message when the pod did not fit
    error: str = ""  # a plugin failed (not a fit problem)
    nominated: bool = False  # chosen because it was the pod's nominated node

    @property
    def scheduled(self) -> bool:
        return bool(self.node)

    def rejectors(self) -> set[str]:
        """Plugins that rejected the pod somewhere (upstream's UnschedulablePlugins)."""
        out = {st.plugin for st in self.statuses.values() if st.plugin}
        if self.pre_filter_status is not None and self.pre_filter_status.plugin:
            out.add(self.pre_filter_status.plugin)
        return out


class Framework:
    def __init__(self, profile: Profile, handle: Handle, registry: Registry | None = None, seed: int = 0,
                 memoize: bool = True) -> None:
        if registry is None:
            from kubelab.scheduler.plugins import IN_TREE

            registry = IN_TREE
        self.profile = profile
        self.handle = handle
        self.memoize = memoize
        handle.framework = self
        self.plugins: dict[str, Plugin] = {}
        self.weights: dict[str, int] = {}
        for ref in profile.plugins:
            factory = registry.get(ref.name)
            if factory is None:
                raise ValueError(f"plugin {ref.name!r} is not registered")
            self.plugins[ref.name] = factory(handle, dict(ref.args))
        pls = list(self.plugins.values())
        self.queue_sort: QueueSortPlugin | None = next((p for p in pls if isinstance(p, QueueSortPlugin)), None)
        self.pre_filters = [p for p in pls if isinstance(p, PreFilterPlugin)]
        self.filters = [p for p in pls if isinstance(p, FilterPlugin)]
        self.post_filters = [p for p in pls if isinstance(p, PostFilterPlugin)]
        self.pre_scores = [p for p in pls if isinstance(p, PreScorePlugin)]
        self.scorers = [p for p in pls if isinstance(p, ScorePlugin)]
        for p in self.scorers:
            self.weights[p.name] = profile.weight(p.name) or 1
        self._normalizers = {p.name for p in self.scorers if isinstance(p, NormalizeScorePlugin)}
        self.next_start_node_index = 0
        self.rng = random.Random(seed)
        # what node-local plugins said, per (pod signature, filters) and node, while the node is unchanged
        self.node_local = {p.name for p in pls if getattr(p, "node_local", False)}
        self._signers = [p for p in pls if p.name in self.node_local and isinstance(p, SignPlugin)]
        if len(self._signers) != len(self.node_local):
            self.node_local = {p.name for p in self._signers}
        self._memo: OrderedDict[Hashable, Verdicts] = OrderedDict()
        self._interned: dict[tuple[str, ...], tuple[str, ...]] = {}
        self.memo_size = 256

    @property
    def cache(self) -> Cache:
        return self.handle.cache

    def plugin(self, name: str) -> Plugin | None:
        return self.plugins.get(name)

    # ------------------------------------------------------------------------------------------ points
    def run_pre_filter(self, state: CycleState, pod: PodInfo, nodes: list[NodeInfo]) -> Status | None:
        for pl in self.pre_filters:
            st = pl.pre_filter(state, pod, nodes)  # type: ignore[attr-defined]
            if st is None:
                continue
            if st.code == Code.SKIP:
                state.skip_filter.add(pl.name)
                continue
            st.plugin = pl.name
            return st
        return None

    def _active_filters(self, state: CycleState) -> list[tuple[FilterFn, str]]:
        skip = state.skip_filter
        return [(pl.filter, pl.name) for pl in self.filters if pl.name not in skip]  # type: ignore[attr-defined]

    def run_filters(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status | None:
        """The first filter that rejects ``node`` (its status, naming the plugin), or None if the pod fits."""
        for f, name in self._active_filters(state):
            st = f(state, pod, node)
            if st is not None:
                st.plugin = name
                return st
        return None

    def find_feasible(self, state: CycleState, pod: PodInfo, nodes: list[NodeInfo],
                      num_to_find: int) -> tuple[list[NodeInfo], dict[str, Status]]:
        """Filter nodes round-robin from where the last cycle stopped, until ``num_to_find`` fit.

        With a pod signature, the leading node-local filters' verdicts come from the signature's table (see
        reuse.py); the other filters always run, node by node."""
        n = len(nodes)
        start = self.next_start_node_index % n if n else 0
        filters = self._active_filters(state)
        k = 0
        while k < len(filters) and filters[k][1] in self.node_local:
            k += 1
        local, rest = filters[:k], filters[k:]
        table = None
        if state.signature is not None and n:
            table = self._table((state.signature, tuple(name for _, name in local)))
            table.sync(self.cache, nodes, state, pod, local)
            state.memo = table
        if table is not None and not rest:
            positions, processed = table.pick(start, num_to_find)
            feasible = [nodes[i] for i in positions]
            verdicts = table.verdicts
            statuses = {nodes[i].name: verdicts[i] for i in table.rejected_between(start, processed)}
            for st in statuses.values():
                if st.code == Code.ERROR:
                    raise PluginError(st)
            state.positions = positions
            self.next_start_node_index = (start + processed) % n
            return feasible, statuses
        feasible = []
        statuses = {}
        positions = []
        processed = 0
        for i in itertools.chain(range(start, n), range(start)):
            processed += 1
            ni = nodes[i]
            if table is not None:
                st = table.verdicts[i]
            else:
                st = None
                for f, name in local:
                    st = f(state, pod, ni)
                    if st is not None:
                        st.plugin = name
                        break
            if st is None:
                for f, name in rest:
                    st = f(state, pod, ni)
                    if st is not None:
                        st.plugin = name
                        break
            if st is None:
                feasible.append(ni)
                positions.append(i)
                if len(feasible) >= num_to_find:
                    break
            elif st.code == Code.ERROR:
                raise PluginError(st)
            else:
                statuses[ni.name] = st
        state.positions = positions
        if n:
            self.next_start_node_index = (start + processed) % n
        return feasible, statuses

    def _table(self, key: Hashable) -> Verdicts:
        table = self._memo.get(key)
        if table is None:
            table = self._memo[key] = Verdicts()
            if len(self._memo) > self.memo_size:
                self._memo.popitem(last=False)
        else:
            self._memo.move_to_end(key)
        return table

    def signature(self, pod: PodInfo) -> Hashable | None:
        """The pod as the node-local plugins see it; None if one of them cannot sign it (then nothing is reused)."""
        parts = []
        for pl in self._signers:
            frag = pl.sign(pod)  # type: ignore[attr-defined]
            if frag is None:
                return None
            parts.append(frag)
        return tuple(parts)

    def run_post_filter(self, state: CycleState, pod: PodInfo,
                        statuses: dict[str, Status]) -> tuple[PostFilterResult | None, Status]:
        result: PostFilterResult | None = None
        reasons: list[str] = []
        rejector = ""
        for pl in self.post_filters:
            r, st = pl.post_filter(state, pod, statuses)  # type: ignore[attr-defined]
            if st.code == Code.SUCCESS or st.code == Code.UNSCHEDULABLE_AND_UNRESOLVABLE:
                return r, st.with_plugin(pl.name)
            if not st.is_rejected():
                return None, st.with_plugin(pl.name)
            if r is not None and r.nominated_node:
                result = r
            reasons.extend(st.reasons)
            rejector = rejector or pl.name
        return result, Status(Code.UNSCHEDULABLE, *reasons, plugin=rejector)

    def prioritize(self, state: CycleState, pod: PodInfo, nodes: list[NodeInfo], res: CycleResult) -> None:
        for pre in self.pre_scores:
            st = pre.pre_score(state, pod, nodes)  # type: ignore[attr-defined]
            if st is None:
                continue
            if st.code == Code.SKIP:
                state.skip_score.add(pre.name)
            else:
                raise PluginError(st.with_plugin(pre.name))
        active = [pl for pl in self.scorers if pl.name not in state.skip_score]
        res.skipped_scores = [pl.name for pl in self.scorers if pl.name in state.skip_score]
        raw: dict[str, list[int]] = {}
        memo = state.memo
        local = [pl for pl in active if pl.name in self.node_local] if memo is not None else []
        if memo is not None and local and state.positions is not None:  # node-local: reuse unchanged nodes'
            names = tuple(pl.name for pl in local)
            names = self._interned.setdefault(names, names)  # one object per plugin set: `is` compares
            fns = [pl.score for pl in local]  # type: ignore[attr-defined]
            cols = memo.node_scores(state.positions, self.cache.node_infos(), state, pod, names, fns)
            raw = dict(zip(names, cols, strict=True))
        weighted: list[list[int]] = []
        for pl in active:
            name = pl.name
            scores = raw.get(name)
            if scores is None:
                batch = getattr(pl, "score_nodes", None)
                if batch is not None:
                    scores = batch(state, pod, nodes)
                else:
                    score = pl.score  # type: ignore[attr-defined]
                    scores = [score(state, pod, ni) for ni in nodes]
            if name in self._normalizers:
                pl.normalize_score(state, pod, nodes, scores)  # type: ignore[attr-defined]
            w = self.weights[name]
            res.scores[name] = scores
            res.weights[name] = w
            weighted.append(scores if w == 1 else list(map(operator.mul, scores, itertools.repeat(w))))
        res.totals = list(map(sum, zip(*weighted, strict=True))) if weighted else [0] * len(nodes)

    def select_host(self, totals: list[int]) -> int:
        top = max(totals)
        ties = [i for i, t in enumerate(totals) if t == top]
        return ties[0] if len(ties) == 1 else self.rng.choice(ties)

    # ------------------------------------------------------------------------------------------ the cycle
    def schedule(self, pod: PodInfo, *, all_nodes: bool = False, post_filter: bool = True) -> CycleResult:
        """One scheduling cycle (no side effects except what PostFilter plugins do through the handle)."""
        nodes = self.cache.node_infos()
        res = CycleResult(pod, num_all_nodes=len(nodes))
        state = CycleState()
        if self.memoize:
            state.signature = self.signature(pod)
        try:
            self._schedule(state, pod, nodes, res, all_nodes)
            if not res.node and not res.error and post_filter and nodes:
                res.post_filter, res.post_filter_status = self.run_post_filter(state, pod, res.statuses)
                pf_msg = res.post_filter_status.message if not res.post_filter_status.is_success() else ""
                pre_msg = res.pre_filter_status.message if res.pre_filter_status is not None else ""
                res.message = fit_error_message(len(nodes), res.statuses, pre_msg, pf_msg)
        except PluginError as e:
            res.node = ""
            res.error = res.message = e.status.message or "scheduler plugin error"
        return res

    def _schedule(self, state: CycleState, pod: PodInfo, nodes: list[NodeInfo], res: CycleResult,
                  all_nodes: bool) -> None:
        if not nodes:
            res.message = NO_NODES_AVAILABLE
            return
        st = self.run_pre_filter(state, pod, nodes)
        if st is not None:
            if st.code == Code.ERROR:
                raise PluginError(st)
            res.pre_filter_status = st
            res.statuses = dict.fromkeys((ni.name for ni in nodes), st)
            res.evaluated = len(nodes)
            res.message = fit_error_message(len(nodes), {}, st.message)
            return
        nominated = ((pod.pod.get("status") or {}).get("nominatedNodeName") or "")
        if nominated and (ni := self.cache.get(nominated)) is not None:
            if self.run_filters(state, pod, ni) is None:  # upstream evaluates the nominated node first
                res.feasible, res.node, res.evaluated, res.nominated = [ni], ni.name, 1, True
                return
        pct = 100 if all_nodes else self.profile.percentage_of_nodes_to_score
        feasible, statuses = self.find_feasible(state, pod, nodes, num_feasible_nodes_to_find(len(nodes), pct))
        res.feasible, res.statuses = feasible, statuses
        res.evaluated = len(feasible) + len(statuses)
        if not feasible:
            res.message = fit_error_message(len(nodes), statuses)
            return
        if len(feasible) == 1 and not all_nodes:  # upstream skips scoring a single candidate
            res.node = feasible[0].name
            return
        self.prioritize(state, pod, feasible, res)
        res.node = feasible[self.select_host(res.totals)].name


class PluginError(Exception):
    def __init__(self, status: Status) -> None:
        super().__init__(status.message)
        self.status = status


def sort_key_fn(fw: Framework) -> Callable[[PodInfo, float], tuple[Any, ...]]:
    if fw.queue_sort is None:
        return lambda pod, ts: (ts,)
    return fw.queue_sort.sort_key
