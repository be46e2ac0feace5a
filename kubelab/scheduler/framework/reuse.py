"""Reusing node-local plugin results across pods that look alike (upstream's pod signatures, roughly).

A ``Verdicts`` table belongs to one pod signature (what the node-local plugins read of a pod) and one list of
node-local filters. It holds, aligned with the cache's node list, each node's filter verdict (None = fits) and
raw node-local scores. Before a cycle it is brought up to date from the cache's change log, so only nodes whose
NodeInfo changed since the last pod with this signature are filtered and scored again; the rest is looked up.
Selecting the feasible nodes in round-robin order is then done with itertools over the aligned lists.

The verdicts are exactly what the plugins would return (node-local plugins read nothing but the pod and the
node), so reuse changes speed, never results. All changes to NodeInfos must go through the Cache.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from kubelab.scheduler.framework.cache import Cache
from kubelab.scheduler.framework.status import Status
from kubelab.scheduler.framework.types import NodeInfo, PodInfo

_UNKNOWN: Any = object()
FilterFn = Callable[[Any, PodInfo, NodeInfo], Status | None]


class Verdicts:
    __slots__ = ("version", "seq", "verdicts", "fits", "scores", "score_names", "rejected")

    def __init__(self) -> None:
        self.version = -1
        self.seq = 0
        self.verdicts: list[Any] = []
        self.fits: list[bool] = []
        self.scores: list[tuple[int, ...] | None] = []
        self.score_names: tuple[str, ...] | None = None
        self.rejected: list[int] | None = []  # sorted positions with a verdict other than None; None = stale

    def sync(self, cache: Cache, nodes: list[NodeInfo], state: Any, pod: PodInfo,
             filters: list[tuple[FilterFn, str]]) -> None:
        """Bring the table up to date with the cache and fill in every unknown verdict."""
        n = len(nodes)
        changed = cache.changes_since(self.seq) if self.version == cache.version else None
        if changed is None:
            self.verdicts = [_UNKNOWN] * n
            self.fits = [False] * n
            self.scores = [None] * n
            self.rejected = None
        else:
            for name in set(changed):
                i = cache.position(name)
                if i is not None:
                    self.verdicts[i] = _UNKNOWN
                    self.scores[i] = None
        self.version, self.seq = cache.version, cache.change_seq
        verdicts = self.verdicts
        for i in [i for i, v in enumerate(verdicts) if v is _UNKNOWN] if changed is None else \
                sorted({p for p in (cache.position(x) for x in set(changed)) if p is not None}):
            st = None
            ni = nodes[i]
            for f, name in filters:
                st = f(state, pod, ni)
                if st is not None:
                    st.plugin = name
                    break
            if (st is None) != self.fits[i] or verdicts[i] is _UNKNOWN:
                self.rejected = None
            verdicts[i] = st
            self.fits[i] = st is None

    def pick(self, start: int, num_to_find: int) -> tuple[list[int], int]:
        """Positions of the first ``num_to_find`` fitting nodes from ``start`` round-robin, and how many nodes
        were passed over to find them."""
        n = len(self.fits)
        order = itertools.chain(range(start, n), range(start))
        mask = itertools.chain(itertools.islice(self.fits, start, None), itertools.islice(self.fits, start))
        chosen = list(itertools.islice(itertools.compress(order, mask), num_to_find))
        if len(chosen) < num_to_find or not chosen:
            return chosen, n
        return chosen, (chosen[-1] - start) % n + 1

    def rejected_between(self, start: int, processed: int) -> list[int]:
        """Positions of rejected nodes among the ``processed`` nodes from ``start`` (wrapping)."""
        if self.rejected is None:
            self.rejected = [i for i, ok in enumerate(self.fits) if not ok]
        n = len(self.fits)
        if processed >= n:
            return self.rejected
        end = start + processed
        if end <= n:
            return [i for i in self.rejected if start <= i < end]
        return [i for i in self.rejected if i >= start or i < end - n]

    def node_scores(self, positions: list[int], nodes: list[NodeInfo], state: Any, pod: PodInfo,
                    names: tuple[str, ...], fns: list[Callable[[Any, PodInfo, NodeInfo], int]]) -> list[list[int]]:
        """Raw node-local scores for ``positions``, one list per plugin in ``names`` order."""
        if self.score_names is not names:
            self.scores = [None] * len(self.scores)
            self.score_names = names
        scores = self.scores
        for i in [i for i in positions if scores[i] is None]:
            ni = nodes[i]
            scores[i] = tuple([f(state, pod, ni) for f in fns])
        rows = [scores[i] for i in positions]
        return [list(col) for col in zip(*rows, strict=True)] if rows else [[] for _ in names]
