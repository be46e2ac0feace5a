"""InterPodAffinity: place pods near (affinity) or away from (anti-affinity) other pods, per topology domain.

Mirrors pkg/scheduler/framework/plugins/interpodaffinity:

* PreFilter counts, per topology pair (key=value of a node label): existing pods whose required anti-affinity
  terms match the incoming pod; existing pods matching *all* the incoming pod's required affinity terms; and
  existing pods matching each of its required anti-affinity terms. Skip when all three are empty.
* Filter: "node(s) didn't match pod affinity rules" (UnschedulableAndUnresolvable) when a required affinity
  term's domain on this node has no matching pod — unless no pod anywhere matches and the pod matches its own
  terms (the first pod of a group that wants to be together); "node(s) didn't match pod anti-affinity rules"
  and "node(s) didn't satisfy existing pods anti-affinity rules" (Unschedulable) for anti-affinity.
* Score: for each existing pod, the incoming pod's preferred terms it matches (+/- weight), and the existing
  pod's required affinity (hardPodAffinityWeight, default 1) and preferred (anti-)affinity terms the incoming
  pod matches, summed per topology domain; NormalizeScore maps min..max to 0..100.

Unlike upstream, matching pods are found through the cache's label index rather than by walking every pod of
every node, so pods without affinity terms cost nothing here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kubelab.scheduler.framework.interface import (
    ASSIGNED_POD_ADD,
    ASSIGNED_POD_DELETE,
    ASSIGNED_POD_UPDATE,
    NODE_ADD,
    NODE_UPDATE,
    CycleState,
    Plugin,
)
from kubelab.scheduler.framework.status import SKIP, Status, unresolvable, unschedulable
from kubelab.scheduler.framework.types import AffinityTerm, NodeInfo, PodInfo

NAME = "InterPodAffinity"
ERR_REASON_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules"
ERR_REASON_AFFINITY = "node(s) didn't match pod affinity rules"
ERR_REASON_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules"
_PRE_SCORE = NAME + "/score"

Pair = tuple[str, str]


@dataclass
class _FilterState:
    existing_anti: dict[Pair, int] = field(default_factory=dict)
    affinity: dict[Pair, int] = field(default_factory=dict)
    anti_affinity: dict[Pair, int] = field(default_factory=dict)


def _bump(counts: dict[Pair, int], labels: dict[str, str], key: str, by: int = 1) -> None:
    v = labels.get(key)
    if v is not None:
        counts[(key, v)] = counts.get((key, v), 0) + by


class InterPodAffinity(Plugin):
    name = NAME
    events = frozenset({ASSIGNED_POD_ADD, ASSIGNED_POD_UPDATE, ASSIGNED_POD_DELETE, NODE_ADD, NODE_UPDATE})

    def __init__(self, handle: Any, args: dict[str, Any] | None = None) -> None:
        super().__init__(handle, args)
        self.hard_pod_affinity_weight = int(self.args.get("hardPodAffinityWeight", 1))
        self.ignore_preferred_of_existing = bool(self.args.get("ignorePreferredTermsOfExistingPods", False))

    # ------------------------------------------------------------------------------------------- filter
    def pre_filter(self, state: CycleState, pod: PodInfo, nodes: list[NodeInfo]) -> Status | None:
        cache = self.handle.cache
        s = _FilterState()
        ns_labels = cache.listers.namespace_labels(pod.namespace)
        for existing in cache.pods_with_required_anti_affinity.values():
            ni = cache.get(existing.node_name)
            if ni is None:
                continue
            for t in existing.required_anti_affinity:
                if t.matches(pod, ns_labels):
                    _bump(s.existing_anti, ni.labels, t.topology_key)
        if pod.required_affinity:
            first, rest = pod.required_affinity[0], pod.required_affinity[1:]
            for existing in cache.pods_matching_term(first):
                ni = cache.get(existing.node_name)
                if ni is None or not all(_matches(t, existing, cache) for t in rest):
                    continue
                for t in pod.required_affinity:
                    _bump(s.affinity, ni.labels, t.topology_key)
        for t in pod.required_anti_affinity:
            for existing in cache.pods_matching_term(t):
                ni = cache.get(existing.node_name)
                if ni is not None:
                    _bump(s.anti_affinity, ni.labels, t.topology_key)
        if not s.existing_anti and not pod.required_affinity and not pod.required_anti_affinity:
            return SKIP
        state[NAME] = s
        return None

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status | None:
        s: _FilterState = state[NAME]
        if not satisfies_pod_affinity(s, pod, node, self.handle.cache):
            return unresolvable(ERR_REASON_AFFINITY)
        labels = node.labels
        for t in pod.required_anti_affinity:
            v = labels.get(t.topology_key)
            if v is not None and s.anti_affinity.get((t.topology_key, v), 0) > 0:
                return unschedulable(ERR_REASON_ANTI_AFFINITY)
        for (k, v), n in s.existing_anti.items():
            if n > 0 and labels.get(k) == v:
                return unschedulable(ERR_REASON_EXISTING_ANTI_AFFINITY)
        return None

    # ------------------------------------------------------------------------------------------- score
    def pre_score(self, state: CycleState, pod: PodInfo, nodes: list[NodeInfo]) -> Status | None:
        cache = self.handle.cache
        has_constraints = bool(pod.preferred_affinity or pod.preferred_anti_affinity)
        if self.ignore_preferred_of_existing and not has_constraints:
            return SKIP
        topology: dict[str, dict[str, int]] = {}

        def add(key: str, labels: dict[str, str], by: int) -> None:
            v = labels.get(key)
            if v is not None:
                per = topology.setdefault(key, {})
                per[v] = per.get(v, 0) + by

        # the incoming pod's preferred terms, over the existing pods they match
        for terms, sign in ((pod.preferred_affinity, 1), (pod.preferred_anti_affinity, -1)):
            for t in terms:
                for existing in cache.pods_matching_term(t):
                    ni = cache.get(existing.node_name)
                    if ni is not None and ni.labels and existing.key != pod.key:
                        add(t.topology_key, ni.labels, sign * t.weight)
        # existing pods' terms that the incoming pod matches
        ns_labels = cache.listers.namespace_labels(pod.namespace)
        for existing in cache.pods_with_affinity.values():
            ni = cache.get(existing.node_name)
            if ni is None or not ni.labels or existing.key == pod.key:
                continue
            if self.hard_pod_affinity_weight > 0:
                for t in existing.required_affinity:
                    if t.matches(pod, ns_labels):
                        add(t.topology_key, ni.labels, self.hard_pod_affinity_weight)
            for terms, sign in ((existing.preferred_affinity, 1), (existing.preferred_anti_affinity, -1)):
                for t in terms:
                    if t.matches(pod, ns_labels):
                        add(t.topology_key, ni.labels, sign * t.weight)
        topology = {k: v for k, v in topology.items() if any(v.values())}
        if not topology:
            return SKIP
        state[_PRE_SCORE] = topology
        return None

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        topology: dict[str, dict[str, int]] = state[_PRE_SCORE]
        total = 0
        for key, per in topology.items():
            v = node.labels.get(key)
            if v is not None:
                total += per.get(v, 0)
        return total

    def normalize_score(self, state: CycleState, pod: PodInfo, nodes: list[NodeInfo], scores: list[int]) -> None:
        if not scores:
            return
        lo, hi = min(scores), max(scores)
        diff = hi - lo
        for i, s in enumerate(scores):
            scores[i] = int(100 * (s - lo) / diff) if diff > 0 else 0


def _matches(term: AffinityTerm, pi: PodInfo, cache: Any) -> bool:
    ns = cache.term_namespaces(term)
    return (ns is None or pi.namespace in ns) and term.selector.matches(pi.labels)


def satisfies_pod_affinity(s: _FilterState, pod: PodInfo, node: NodeInfo, cache: Any) -> bool:
    pods_exist = True
    for t in pod.required_affinity:
        v = node.labels.get(t.topology_key)
        if v is None:
            return False  # every topology key must be on the node
        if s.affinity.get((t.topology_key, v), 0) <= 0:
            pods_exist = False
    if pods_exist:
        return True
    # the first pod of a group with affinity to itself: allowed when nothing else matches yet
    return not s.affinity and bool(pod.required_affinity) and all(
        _matches(t, pod, cache) for t in pod.required_affinity)
