"""PodTopologySpread: DoNotSchedule filtering (skew, minDomains, node inclusion), ScheduleAnyway scoring and the
system default constraints for pods owned by a ReplicaSet or selected by a Service."""

from __future__ import annotations

from typing import Any

import pytest

from kubelab.scheduler.framework import Code
from tests.scheduler.builders import framework, node, pod, run_filter, run_score

Obj = dict[str, Any]
HOST, ZONE = "kubernetes.io/hostname", "topology.kubernetes.io/zone"
ZONED = [node("n1", labels={ZONE: "a"}), node("n2", labels={ZONE: "a"}), node("n3", labels={ZONE: "b"}),
         node("n4")]
NOT_MATCH = "node(s) didn't match pod topology spread constraints"


def spread(key: str, skew: int = 1, when: str = "DoNotSchedule", labels: dict[str, str] | None = None,
           **extra: Any) -> Obj:
    return {"maxSkew": skew, "topologyKey": key, "whenUnsatisfiable": when,
            "labelSelector": {"matchLabels": labels or {"app": "web"}}, **extra}


def web(name: str, node_name: str) -> Obj:
    return pod(name, labels={"app": "web"}, node_name=node_name)


TWO_IN_A = [web("w1", "n1"), web("w2", "n2")]

FILTER_CASES: list[tuple[str, list[Obj], Obj, dict[str, Any]]] = [
    ("no constraints: skip", TWO_IN_A, pod("p"), {"n1": "skip"}),
    ("zone skew", TWO_IN_A, pod("p", labels={"app": "web"}, topologySpreadConstraints=[spread(ZONE)]),
     {"n1": (Code.UNSCHEDULABLE, NOT_MATCH), "n3": None}),
    ("missing topology label", TWO_IN_A, pod("p", labels={"app": "web"}, topologySpreadConstraints=[spread(ZONE)]),
     {"n4": (Code.UNSCHEDULABLE_AND_UNRESOLVABLE, NOT_MATCH + " (missing required label)")}),
    ("maxSkew 3 allows it", TWO_IN_A,
     pod("p", labels={"app": "web"}, topologySpreadConstraints=[spread(ZONE, skew=3)]), {"n1": None}),
    ("a pod not matching its own selector adds nothing", TWO_IN_A,
     pod("p", labels={"app": "other"}, topologySpreadConstraints=[spread(ZONE, skew=2)]), {"n1": None}),
    ("minDomains above the domain count makes the minimum 0", [web("w1", "n3")],
     pod("p", labels={"app": "web"}, topologySpreadConstraints=[spread(ZONE, minDomains=3)]),
     {"n3": (Code.UNSCHEDULABLE, NOT_MATCH), "n1": None}),
    ("nodeAffinityPolicy Honor: excluded nodes form no domain", [web("w1", "n3")],
     pod("p", labels={"app": "web"}, nodeSelector={ZONE: "b"}, topologySpreadConstraints=[spread(ZONE)]),
     {"n3": None}),
    ("nodeAffinityPolicy Ignore: zone a counts as an empty domain", [web("w1", "n3")],
     pod("p", labels={"app": "web"}, nodeSelector={ZONE: "b"},
         topologySpreadConstraints=[spread(ZONE, nodeAffinityPolicy="Ignore")]),
     {"n3": (Code.UNSCHEDULABLE, NOT_MATCH)}),
    ("hostname spreading", [web("w1", "n1")],
     pod("p", labels={"app": "web"}, topologySpreadConstraints=[spread(HOST)]),
     {"n1": (Code.UNSCHEDULABLE, NOT_MATCH), "n2": None}),
    ("terminating pods do not count", [{**web("w1", "n1"), "metadata": {
        **web("w1", "n1")["metadata"], "deletionTimestamp": "2026-01-01T00:00:00Z"}}],
     pod("p", labels={"app": "web"}, topologySpreadConstraints=[spread(HOST)]), {"n1": None}),
]


@pytest.mark.parametrize(("existing", "p", "want"), [c[1:] for c in FILTER_CASES], ids=[c[0] for c in FILTER_CASES])
def test_filter(existing: list[Obj], p: Obj, want: dict[str, Any]) -> None:
    fw = framework(ZONED, existing)
    for node_name, expected in want.items():
        got = run_filter(fw, "PodTopologySpread", p, node_name)
        if expected is None or expected == "skip":
            assert got == expected, (node_name, got)
        else:
            assert (got.code, got.message) == expected, (node_name, got)


RS = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web-abc", "namespace": "default"},
      "spec": {"selector": {"matchLabels": {"app": "web"}}}}
SVC = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
       "spec": {"selector": {"app": "web"}}}


def owned(name: str, node_name: str = "") -> Obj:
    p = pod(name, labels={"app": "web"}, node_name=node_name)
    p["metadata"]["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-abc",
                                         "uid": "rs-uid", "controller": True}]
    return p


HOSTS = [node("n1"), node("n2"), node("n3")]


def test_score_hostname_schedule_anyway() -> None:
    fw = framework(HOSTS, [web("a", "n1"), web("b", "n1"), web("c", "n2")])
    p = pod("p", labels={"app": "web"}, topologySpreadConstraints=[spread(HOST, when="ScheduleAnyway")])
    # raw: count * ln(3 + 2) + maxSkew - 1 -> n1 3, n2 2, n3 0; normalized 100 * (max + min - s) / max
    assert run_score(fw, "PodTopologySpread", p) == {"n1": 0, "n2": 33, "n3": 100}


def test_score_system_default_for_replicaset_pods() -> None:
    fw = framework(HOSTS, [owned("a", "n1"), owned("b", "n1")], objects=[RS])
    # hostname maxSkew 3: n1 2*ln5+2 = 5, others 2; nodes without a zone label just skip the zone constraint
    assert run_score(fw, "PodTopologySpread", owned("p")) == {"n1": 40, "n2": 100, "n3": 100}


def test_score_system_default_needs_an_owner() -> None:
    fw = framework(HOSTS, [web("a", "n1")], objects=[RS])
    assert run_score(fw, "PodTopologySpread", pod("p", labels={"app": "web"})) == "skip"
    fw = framework(HOSTS, [web("a", "n1")], objects=[SVC])  # a Service selecting the pod is an owner too
    assert run_score(fw, "PodTopologySpread", pod("p", labels={"app": "web"})) == {"n1": 50, "n2": 100,
                                                                                   "n3": 100}


def test_system_defaults_never_filter() -> None:
    fw = framework(HOSTS, [owned(f"w{i}", "n1") for i in range(10)], objects=[RS])
    assert run_filter(fw, "PodTopologySpread", owned("p"), "n1") == "skip"


def test_batch_score_equals_per_node_score() -> None:
    from kubelab.scheduler.framework import CycleState, PodInfo

    nodes = [node(f"n{i}", labels={ZONE: f"z{i % 3}"} if i % 4 else {}) for i in range(12)]
    existing = [web(f"w{i}", f"n{i % 5}") for i in range(9)]
    for p in (pod("p", labels={"app": "web"}, topologySpreadConstraints=[
                  spread(HOST, when="ScheduleAnyway", skew=2), spread(ZONE, when="ScheduleAnyway")]),
              owned("q")):
        fw = framework(nodes, existing, objects=[RS])
        pl = fw.plugin("PodTopologySpread")
        assert pl is not None
        state, pi, infos = CycleState(), PodInfo(p), fw.cache.node_infos()
        assert pl.pre_score(state, pi, infos) is None  # type: ignore[attr-defined]
        assert pl.score_nodes(state, pi, infos) == [pl.score(state, pi, ni) for ni in infos]  # type: ignore[attr-defined]
