"""PodTopologySpread: keep matching pods evenly spread over topology domains (nodes, zones, ...).

Mirrors pkg/scheduler/framework/plugins/podtopologyspread:

* Constraints come from spec.topologySpreadConstraints; a pod without any gets the system defaults when
  something owns it (a Service selecting it, or its ReplicaSet/StatefulSet/ReplicationController):
  hostname maxSkew 3 and zone maxSkew 5, both ScheduleAnyway, with the owners' selectors as the selector.
* Filter (whenUnsatisfiable: DoNotSchedule): matching pods in the node's domain + 1 (if the pod matches
  itself) - the fewest in any eligible domain must not exceed maxSkew ("node(s) didn't match pod topology spread
  constraints", Unschedulable); a node without the topology label is "(missing required label)"
  (UnschedulableAndUnresolvable). Fewer eligible domains than minDomains makes the global minimum 0.
* Score (ScheduleAnyway): per constraint count * log(domains + 2) + maxSkew - 1, summed; NormalizeScore
  turns fewer matching pods into a higher score: 100 * (max + min - score) / max.

Domains are eligible per nodeAffinityPolicy (Honor: only nodes matching the pod's node selector/affinity) and
nodeTaintsPolicy (Ignore by default). Matching pods are counted through the cache's label index, skipping
terminating pods, as upstream does.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubelab.api.selectors import EQUALS, LabelSelector, Requirement, selector_from_set
from kubelab.scheduler.framework.helpers import RequiredNodeAffinity, find_untolerated
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
from kubelab.scheduler.framework.types import HOSTNAME_LABEL, ZONE_LABEL, NodeInfo, PodInfo, parse_selector

NAME = "PodTopologySpread"
ERR_REASON_CONSTRAINTS_NOT_MATCH = "node(s) didn't match pod topology spread constraints"
ERR_REASON_NODE_LABEL_NOT_MATCH = ERR_REASON_CONSTRAINTS_NOT_MATCH + " (missing required label)"
DO_NOT_SCHEDULE = "DoNotSchedule"
SCHEDULE_ANYWAY = "ScheduleAnyway"
SYSTEM_DEFAULT_CONSTRAINTS: tuple[dict[str, Any], ...] = (
    {"topologyKey": HOSTNAME_LABEL, "whenUnsatisfiable": SCHEDULE_ANYWAY, "maxSkew": 3},
    {"topologyKey": ZONE_LABEL, "whenUnsatisfiable": SCHEDULE_ANYWAY, "maxSkew": 5},
)
_PRE_SCORE = NAME + "/score"

Obj = dict[str, Any]


@dataclass(slots=True)
class Constraint:
    max_skew: int
    topology_key: str
    selector: LabelSelector
    min_domains: int = 1
    honor_affinity: bool = True  # nodeAffinityPolicy: Honor (default)
    honor_taints: bool = False  # nodeTaintsPolicy: Ignore (default)

    def includes(self, pod: PodInfo, node: NodeInfo, required: RequiredNodeAffinity) -> bool:
        if self.honor_affinity and not required.matches(node.name, node.labels):
            return False
        return not (self.honor_taints and find_untolerated(node.hard_taints, pod.tolerations) is not None)


class PodTopologySpread(Plugin):
    name = NAME
    events = frozenset({ASSIGNED_POD_ADD, ASSIGNED_POD_UPDATE, ASSIGNED_POD_DELETE, NODE_ADD, NODE_UPDATE})

    def __init__(self, handle: Any, args: dict[str, Any] | None = None) -> None:
        super().__init__(handle, args)
        self.system_defaulted = (self.args.get("defaultingType") or "System") == "System"
        self.default_constraints = (list(SYSTEM_DEFAULT_CONSTRAINTS) if self.system_defaulted
                                    else list(self.args.get("defaultConstraints") or []))

    # ------------------------------------------------------------------------------------------- helpers
    def constraints(self, pod: PodInfo, action: str) -> list[Constraint]:
        own = pod.spec.get("topologySpreadConstraints") or []
        if own:
            return _parse(own, pod.labels, action)
        cons = _parse(self.default_constraints, pod.labels, action)
        if not cons:
            return []
        sel = default_selector(pod, self.handle.cache.listers)
        if sel.empty():
            return []
        for c in cons:
            c.selector = sel
        return cons

    def _counts(self, pod: PodInfo, c: Constraint) -> dict[str, int]:
        """Matching (non-terminating) pods of the pod's namespace, per node name."""
        out: dict[str, int] = {}
        for other in self.handle.cache.pods_matching((pod.namespace,), c.selector):
            if not other.deleting and other.key != pod.key:
                out[other.node_name] = out.get(other.node_name, 0) + 1
        return out

    # ------------------------------------------------------------------------------------------- filter
    def pre_filter(self, state: CycleState, pod: PodInfo, nodes: list[NodeInfo]) -> Status | None:
        cons = self.constraints(pod, DO_NOT_SCHEDULE)
        if not cons:
            return SKIP
        required = RequiredNodeAffinity(pod.pod)
        eligible = [ni for ni in nodes if all(c.topology_key in ni.labels for c in cons)]
        domains: list[dict[str, int]] = []
        for c in cons:
            per_domain: dict[str, int] = {}
            inc = {ni.name: ni for ni in eligible if c.includes(pod, ni, required)}
            for ni in inc.values():
                per_domain.setdefault(ni.labels[c.topology_key], 0)
            for node_name, n in self._counts(pod, c).items():
                hit = inc.get(node_name)
                if hit is not None:
                    per_domain[hit.labels[c.topology_key]] += n
            domains.append(per_domain)
        state[NAME] = (cons, domains)
        return None

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status | None:
        cons, domains = state[NAME]
        for c, per_domain in zip(cons, domains, strict=True):
            v = node.labels.get(c.topology_key)
            if v is None:
                return unresolvable(ERR_REASON_NODE_LABEL_NOT_MATCH)
            min_match = 0 if len(per_domain) < c.min_domains else min(per_domain.values())
            self_match = 1 if c.selector.matches(pod.labels) else 0
            skew = per_domain.get(v, 0) + self_match - min_match
            if skew > c.max_skew:
                return unschedulable(ERR_REASON_CONSTRAINTS_NOT_MATCH,
                                     detail=f"{ERR_REASON_CONSTRAINTS_NOT_MATCH} ({c.topology_key}={v}: "
                                            f"skew {skew} > maxSkew {c.max_skew})")
        return None

    # ------------------------------------------------------------------------------------------- score
    def pre_score(self, state: CycleState, pod: PodInfo, nodes: list[NodeInfo]) -> Status | None:
        cons = self.constraints(pod, SCHEDULE_ANYWAY)
        cache = self.handle.cache
        if not cons or not cache.node_infos():
            return SKIP
        require_all = bool(pod.spec.get("topologySpreadConstraints")) or not self.system_defaulted
        keys = [c.topology_key for c in cons]
        ignored: set[str] = set()
        if require_all:
            ignored = {ni.name for ni in nodes if not all(k in ni.labels for k in keys)}
        required = RequiredNodeAffinity(pod.pod)
        prepared = []
        for c in cons:
            key, host = c.topology_key, c.topology_key == HOSTNAME_LABEL
            with_key = cache.nodes_with_label(key)
            if not with_key:
                continue  # no node has this topology key: the constraint adds nothing anywhere
            everywhere = with_key == len(cache.node_infos())
            per_value: dict[str, int] = {}
            if host:
                size = len(nodes) - len(ignored)
            else:
                for ni in nodes:
                    v = ni.labels.get(key)
                    if v is not None and ni.name not in ignored:
                        per_value[v] = 0
                size = len(per_value)
                if not size:
                    continue
            counts = self._counts(pod, c)  # matching pods per node name
            if not host:
                for node_name, n in counts.items():  # matching pods of every eligible node count for its domain
                    where = cache.get(node_name)
                    if where is None or (require_all and not all(k in where.labels for k in keys)):
                        continue
                    v = where.labels.get(key)
                    if v is not None and v in per_value and c.includes(pod, where, required):
                        per_value[v] += n
            prepared.append((key, host, math.log(size + 2), c.max_skew - 1, counts, per_value, everywhere))
        state[_PRE_SCORE] = (prepared, ignored)
        return None

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        prepared, ignored = state[_PRE_SCORE]
        if ignored and node.name in ignored:
            return 0
        labels = node.labels
        total = 0.0
        for key, host, weight, base, counts, per_value, _ in prepared:
            v = labels.get(key)
            if v is not None:
                total += (counts.get(node.name, 0) if host else per_value.get(v, 0)) * weight + base
        return round(total)

    def score_nodes(self, state: CycleState, pod: PodInfo, nodes: list[NodeInfo]) -> list[int]:
        """Score for many nodes at once (same results, one comprehension per constraint)."""
        prepared, ignored = state[_PRE_SCORE]
        totals = [0.0] * len(nodes)
        for key, host, weight, base, counts, per_value, everywhere in prepared:
            get = counts.get if host else per_value.get
            if host and everywhere:  # kind and most clusters: every node has a hostname label
                terms = [get(ni.name, 0) * weight + base for ni in nodes]
            elif host:
                terms = [get(ni.name, 0) * weight + base if key in ni.labels else 0.0 for ni in nodes]
            else:
                terms = [get(ni.labels[key], 0) * weight + base if key in ni.labels else 0.0 for ni in nodes]
            totals = list(map(operator.add, totals, terms))
        if ignored:
            return [0 if ni.name in ignored else round(t) for ni, t in zip(nodes, totals, strict=True)]
        return list(map(round, totals))

    def normalize_score(self, state: CycleState, pod: PodInfo, nodes: list[NodeInfo], scores: list[int]) -> None:
        ignored: set[str] = state[_PRE_SCORE][1]
        valid = [s for ni, s in zip(nodes, scores, strict=True) if ni.name not in ignored] if ignored else scores
        lo, hi = (min(valid), max(valid)) if valid else (0, 0)
        if hi == 0:
            out = [100] * len(scores)
        else:
            total = hi + lo
            out = [100 * (total - s) // hi for s in scores]
        if ignored:
            out = [0 if ni.name in ignored else v for ni, v in zip(nodes, out, strict=True)]
        scores[:] = out


def _parse(raw: list[Obj], pod_labels: Mapping[str, str], action: str) -> list[Constraint]:
    out = []
    for c in raw:
        if c.get("whenUnsatisfiable") != action:
            continue
        sel = parse_selector(c.get("labelSelector"))
        keys = [k for k in c.get("matchLabelKeys") or [] if k in pod_labels]
        if keys and not sel.is_nothing:
            sel = LabelSelector([*sel.requirements, *(Requirement(k, EQUALS, (pod_labels[k],)) for k in keys)])
        out.append(Constraint(
            max_skew=int(c.get("maxSkew") or 1), topology_key=c.get("topologyKey") or "", selector=sel,
            min_domains=int(c.get("minDomains") or 1),
            honor_affinity=(c.get("nodeAffinityPolicy") or "Honor") == "Honor",
            honor_taints=(c.get("nodeTaintsPolicy") or "Ignore") == "Honor"))
    return out


def default_selector(pod: PodInfo, listers: Any) -> LabelSelector:
    """helper.DefaultSelector: the selectors of the Services selecting the pod and of its controller (a
    ReplicationController, ReplicaSet or StatefulSet), merged."""
    label_set: dict[str, str] = {}
    for svc in listers.services(pod.namespace):
        sel = (svc.get("spec") or {}).get("selector") or {}
        if all(pod.labels.get(k) == v for k, v in sel.items()):
            label_set.update(sel)
    reqs = list(selector_from_set(label_set).requirements)
    if pod.controller is not None:
        api_version, kind, name, _ = pod.controller
        if kind == "ReplicationController" and api_version == "v1":
            rc = listers.get("replicationcontrollers", pod.namespace, name)
            if rc is not None:
                label_set.update((rc.get("spec") or {}).get("selector") or {})
                reqs = list(selector_from_set(label_set).requirements)
        elif kind in ("ReplicaSet", "StatefulSet") and api_version == "apps/v1":
            owner = listers.get("replicasets" if kind == "ReplicaSet" else "statefulsets", pod.namespace, name)
            if owner is not None:
                sel = parse_selector((owner.get("spec") or {}).get("selector"))
                if not sel.is_nothing:
                    reqs.extend(sel.requirements)
    return LabelSelector(reqs)
