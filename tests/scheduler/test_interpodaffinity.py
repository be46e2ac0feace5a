"""InterPodAffinity: required (anti-)affinity filtering, existing pods' anti-affinity, preferred scoring."""

from __future__ import annotations

from typing import Any

import pytest

from kubelab.scheduler.framework import Code
from tests.scheduler.builders import framework, node, pod, run_filter, run_score

Obj = dict[str, Any]
HOST, ZONE = "kubernetes.io/hostname", "topology.kubernetes.io/zone"
REQ, PREF = "requiredDuringSchedulingIgnoredDuringExecution", "preferredDuringSchedulingIgnoredDuringExecution"
NODES = [node("n1", labels={ZONE: "a"}), node("n2", labels={ZONE: "a"}), node("n3", labels={ZONE: "b"})]
AFFINITY = "node(s) didn't match pod affinity rules"
ANTI = "node(s) didn't match pod anti-affinity rules"
EXISTING_ANTI = "node(s) didn't satisfy existing pods anti-affinity rules"


def term(labels: dict[str, str], key: str = HOST, **extra: Any) -> Obj:
    return {"labelSelector": {"matchLabels": labels}, "topologyKey": key, **extra}


def affinity(kind: str, *terms: Obj, preferred: list[tuple[int, Obj]] = ()) -> Obj:  # type: ignore[assignment]
    block: Obj = {}
    if terms:
        block[REQ] = list(terms)
    if preferred:
        block[PREF] = [{"weight": w, "podAffinityTerm": t} for w, t in preferred]
    return {kind: block}


DB_ON_N1 = pod("db", labels={"app": "db"}, node_name="n1")
WEB_ON_N1 = pod("web-0", labels={"app": "web"}, node_name="n1")

# (name, existing pods, pod, {node: expected (None = fits, or (code, reason))})
FILTER_CASES: list[tuple[str, list[Obj], Obj, dict[str, Any]]] = [
    ("no affinity anywhere: skip", [DB_ON_N1], pod("p"), {"n1": "skip"}),
    ("affinity to a pod on n1 (hostname)", [DB_ON_N1],
     pod("p", affinity=affinity("podAffinity", term({"app": "db"}))),
     {"n1": None, "n2": (Code.UNSCHEDULABLE_AND_UNRESOLVABLE, AFFINITY)}),
    ("affinity by zone", [DB_ON_N1], pod("p", affinity=affinity("podAffinity", term({"app": "db"}, ZONE))),
     {"n1": None, "n2": None, "n3": (Code.UNSCHEDULABLE_AND_UNRESOLVABLE, AFFINITY)}),
    ("first pod of a self-affine group may go anywhere", [],
     pod("p", labels={"app": "db"}, affinity=affinity("podAffinity", term({"app": "db"}))),
     {"n1": None, "n3": None}),
    ("affinity to nothing, not self-matching", [],
     pod("p", affinity=affinity("podAffinity", term({"app": "db"}))),
     {"n1": (Code.UNSCHEDULABLE_AND_UNRESOLVABLE, AFFINITY)}),
    ("affinity only in the pod's namespace", [pod("db", "other", labels={"app": "db"}, node_name="n1")],
     pod("p", affinity=affinity("podAffinity", term({"app": "db"}))),
     {"n1": (Code.UNSCHEDULABLE_AND_UNRESOLVABLE, AFFINITY)}),
    ("namespaceSelector {} spans namespaces", [pod("db", "other", labels={"app": "db"}, node_name="n1")],
     pod("p", affinity=affinity("podAffinity", term({"app": "db"}, namespaceSelector={}))),
     {"n1": None, "n2": (Code.UNSCHEDULABLE_AND_UNRESOLVABLE, AFFINITY)}),
    ("anti-affinity by hostname", [WEB_ON_N1],
     pod("p", labels={"app": "web"}, affinity=affinity("podAntiAffinity", term({"app": "web"}))),
     {"n1": (Code.UNSCHEDULABLE, ANTI), "n2": None}),
    ("anti-affinity by zone", [WEB_ON_N1],
     pod("p", labels={"app": "web"}, affinity=affinity("podAntiAffinity", term({"app": "web"}, ZONE))),
     {"n1": (Code.UNSCHEDULABLE, ANTI), "n2": (Code.UNSCHEDULABLE, ANTI), "n3": None}),
    ("existing pod's anti-affinity keeps us out",
     [pod("loner", labels={"app": "loner"}, node_name="n1",
          affinity=affinity("podAntiAffinity", term({"app": "web"})))],
     pod("p", labels={"app": "web"}), {"n1": (Code.UNSCHEDULABLE, EXISTING_ANTI), "n2": None}),
    ("node without the topology key fails affinity", [DB_ON_N1],
     pod("p", affinity=affinity("podAffinity", term({"app": "db"}, "rack"))),
     {"n1": (Code.UNSCHEDULABLE_AND_UNRESOLVABLE, AFFINITY)}),
]


@pytest.mark.parametrize(("existing", "p", "want"), [c[1:] for c in FILTER_CASES], ids=[c[0] for c in FILTER_CASES])
def test_filter(existing: list[Obj], p: Obj, want: dict[str, Any]) -> None:
    fw = framework(NODES, existing)
    for node_name, expected in want.items():
        got = run_filter(fw, "InterPodAffinity", p, node_name)
        if expected is None or expected == "skip":
            assert got == expected, (node_name, got)
        else:
            assert (got.code, got.message) == expected, (node_name, got)


SCORE_CASES: list[tuple[str, list[Obj], Obj, Any]] = [
    ("nothing to score", [DB_ON_N1], pod("p"), "skip"),
    ("preferred affinity to db's zone", [DB_ON_N1],
     pod("p", affinity=affinity("podAffinity", preferred=[(5, term({"app": "db"}, ZONE))])),
     {"n1": 100, "n2": 100, "n3": 0}),
    ("preferred anti-affinity away from web", [WEB_ON_N1],
     pod("p", affinity=affinity("podAntiAffinity", preferred=[(10, term({"app": "web"}))])),
     {"n1": 0, "n2": 100, "n3": 100}),
    ("existing pod's preferred affinity attracts us",
     [pod("fan", node_name="n3", affinity=affinity("podAffinity", preferred=[(3, term({"app": "web"}))]))],
     pod("p", labels={"app": "web"}), {"n1": 0, "n2": 0, "n3": 100}),
    ("existing pod's required affinity counts with hardPodAffinityWeight",
     [pod("fan", node_name="n2", affinity=affinity("podAffinity", term({"app": "web"}, ZONE)))],
     pod("p", labels={"app": "web"}), {"n1": 100, "n2": 100, "n3": 0}),
]


@pytest.mark.parametrize(("existing", "p", "want"), [c[1:] for c in SCORE_CASES], ids=[c[0] for c in SCORE_CASES])
def test_score(existing: list[Obj], p: Obj, want: Any) -> None:
    fw = framework(NODES, existing)
    assert run_score(fw, "InterPodAffinity", p) == want
