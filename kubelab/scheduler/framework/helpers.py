"""Small pure helpers the plugins share: quantities, tolerations, node selectors, score normalization.

Mirrors pieces of ``k8s.io/component-helpers/scheduling/corev1`` (ToleratesTaint, FindMatchingUntoleratedTaint,
the nodeaffinity package's RequiredNodeAffinity) and the framework's plugins/helper (DefaultNormalizeScore).
Quantities reuse kubelab.api.validation.quantity, cached per string because the same few strings ("100m",
"128Mi") repeat across thousands of pods.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from kubelab.api.selectors import (
    DOES_NOT_EXIST,
    EXISTS,
    GREATER_THAN,
    IN,
    LESS_THAN,
    NOT_IN,
    Requirement,
)
from kubelab.api.taints import tolerates
from kubelab.api.validation.quantity import parse_quantity

Obj = dict[str, Any]
MAX_NODE_SCORE = 100

_MILLI: dict[object, int] = {}
_VALUE: dict[object, int] = {}


def milli_value(q: object) -> int:
    """Quantity.MilliValue(): thousandths, rounded up ("100m" -> 100, "2" -> 2000)."""
    try:
        return _MILLI[q]
    except (KeyError, TypeError):
        pass
    parsed = parse_quantity(q)
    v = 0 if parsed is None else math.ceil(parsed.value * 1000)
    if isinstance(q, str | int) and len(_MILLI) < 100_000:
        _MILLI[q] = v
    return v


def int_value(q: object) -> int:
    """Quantity.Value(): units, rounded up ("1Gi" -> 1073741824, "500m" -> 1)."""
    try:
        return _VALUE[q]
    except (KeyError, TypeError):
        pass
    parsed = parse_quantity(q)
    v = 0 if parsed is None else math.ceil(parsed.value)
    if isinstance(q, str | int) and len(_VALUE) < 100_000:
        _VALUE[q] = v
    return v


# ------------------------------------------------------------------------------------------ taints/tolerations
def tolerations_tolerate(tolerations: Iterable[Mapping[str, Any]], taint: Mapping[str, Any]) -> bool:
    return any(tolerates(t, taint) for t in tolerations)


def find_untolerated(taints: Iterable[Mapping[str, Any]],
                     tolerations: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """FindMatchingUntoleratedTaint over the taints given (callers pass only the effects they care about)."""
    tols = list(tolerations)
    for taint in taints:
        if not tolerations_tolerate(tols, taint):
            return taint
    return None


# ------------------------------------------------------------------------------------------ node selectors
_NODE_OPS = {"In": IN, "NotIn": NOT_IN, "Exists": EXISTS, "DoesNotExist": DOES_NOT_EXIST,
             "Gt": GREATER_THAN, "Lt": LESS_THAN}


class NodeSelectorTerm:
    """One nodeSelectorTerm: matchExpressions on labels AND matchFields (metadata.name) on fields.

    A term with neither matches no node (upstream: "an empty term matches nothing"); an invalid operator makes
    the term match nothing, as a parse error does upstream.
    """

    __slots__ = ("labels", "fields", "valid")

    def __init__(self, term: Mapping[str, Any]) -> None:
        self.valid = True
        self.labels = [self._req(e) for e in term.get("matchExpressions") or []]
        self.fields = [self._req(e) for e in term.get("matchFields") or []]
        if not self.labels and not self.fields:
            self.valid = False
        for f in term.get("matchFields") or []:
            if f.get("key") != "metadata.name" or f.get("operator") not in ("In", "NotIn"):
                self.valid = False

    def _req(self, e: Mapping[str, Any]) -> Requirement:
        op = _NODE_OPS.get(e.get("operator", ""))
        if op is None:
            self.valid = False
            op = IN
        return Requirement(str(e.get("key", "")), op, tuple(e.get("values") or ()))

    def matches(self, name: str, labels: Mapping[str, str]) -> bool:
        if not self.valid:
            return False
        for r in self.labels:
            if not r.matches(labels):
                return False
        if self.fields:
            fields = {"metadata.name": name}
            for r in self.fields:
                if not r.matches(fields):
                    return False
        return True


class RequiredNodeAffinity:
    """nodeaffinity.GetRequiredNodeAffinity: spec.nodeSelector AND any of the required nodeSelectorTerms."""

    __slots__ = ("selector", "terms")

    def __init__(self, pod: Obj) -> None:
        spec = pod.get("spec") or {}
        self.selector: dict[str, str] = dict(spec.get("nodeSelector") or {})
        na = ((spec.get("affinity") or {}).get("nodeAffinity") or {})
        req = na.get("requiredDuringSchedulingIgnoredDuringExecution")
        self.terms: list[NodeSelectorTerm] | None = None
        if req is not None:
            self.terms = [NodeSelectorTerm(t) for t in req.get("nodeSelectorTerms") or []]

    @property
    def empty(self) -> bool:
        return not self.selector and self.terms is None

    def matches(self, name: str, labels: Mapping[str, str]) -> bool:
        for k, v in self.selector.items():
            if labels.get(k) != v:
                return False
        if self.terms is None:
            return True
        return any(t.matches(name, labels) for t in self.terms)


class PreferredSchedulingTerm:
    __slots__ = ("weight", "term")

    def __init__(self, pref: Mapping[str, Any]) -> None:
        self.weight = int(pref.get("weight") or 0)
        self.term = NodeSelectorTerm(pref.get("preference") or {})


def preferred_node_affinity(pod: Obj) -> list[PreferredSchedulingTerm]:
    na = (((pod.get("spec") or {}).get("affinity") or {}).get("nodeAffinity") or {})
    return [PreferredSchedulingTerm(p) for p in na.get("preferredDuringSchedulingIgnoredDuringExecution") or []
            if p.get("weight")]


# ------------------------------------------------------------------------------------------ scores
def default_normalize_score(scores: list[int], reverse: bool = False, max_priority: int = MAX_NODE_SCORE) -> None:
    """helper.DefaultNormalizeScore, in place: scale to [0, max] by the highest score (reversed: max - that)."""
    top = max(scores, default=0)
    if top == 0:
        if reverse:
            scores[:] = [max_priority] * len(scores)
        return
    for i, s in enumerate(scores):
        v = max_priority * s // top
        scores[i] = max_priority - v if reverse else v
