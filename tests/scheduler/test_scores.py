"""Table tests for the score plugins: NodeResourcesFit (LeastAllocated/MostAllocated), BalancedAllocation,
TaintToleration, NodeAffinity. Expected scores follow upstream's formulas (integer arithmetic included)."""

from __future__ import annotations

from typing import Any

import pytest

from kubelab.scheduler.framework.registry import default_profile
from kubelab.scheduler.plugins.balancedallocation import balanced_score
from tests.scheduler.builders import framework, node, pod, run_score

Obj = dict[str, Any]


def two_containers(name: str, cpu: tuple[str, str], memory: tuple[str, str], node_name: str = "") -> Obj:
    p = pod(name, node_name=node_name)
    p["spec"]["containers"] = [
        {"name": f"c{i}", "image": "x", "resources": {"requests": {"cpu": cpu[i], "memory": memory[i]}}}
        for i in range(2)]
    return p


N1 = node("n1", cpu="4", memory="10000")
N2 = node("n2", cpu="6", memory="10000")
BIG = two_containers("p", ("1", "2"), ("2000", "3000"))  # 3000m cpu, 5000 bytes

# (name, plugin, nodes, existing pods, pod, expected {node: score} or "skip")
CASES: list[tuple[str, str, list[Obj], list[Obj], Obj, Any]] = [
    # LeastAllocated: ((cap - req) * 100 / cap) averaged over cpu and memory
    ("least: differently sized nodes", "NodeResourcesFit", [N1, N2], [], BIG, {"n1": 37, "n2": 50}),
    ("least: best-effort pod counts 100m/200MB", "NodeResourcesFit",
     [node("n1", cpu="1", memory="1000Mi")], [], pod("p"), {"n1": 85}),  # cpu 90, memory 80
    ("least: existing pods count", "NodeResourcesFit", [N1, N2],
     [two_containers("a", ("1", "0"), ("0", "2000"), node_name="n1")], BIG, {"n1": 15, "n2": 50}),  # cpu full: 0, memory 30
    # BalancedAllocation: (1 - |cpu% - mem%| / 2) * 100, exact requests
    ("balanced: differently sized nodes", "NodeResourcesBalancedAllocation", [N1, N2], [], BIG,
     {"n1": 87, "n2": 100}),
    ("balanced: best-effort pods are skipped", "NodeResourcesBalancedAllocation", [N1], [], pod("p"), "skip"),
    ("balanced: capped at 1", "NodeResourcesBalancedAllocation", [node("n1", cpu="2", memory="10000")], [],
     BIG, {"n1": 75}),
    # TaintToleration: fewer untolerated PreferNoSchedule taints is better (reversed)
    ("taint: prefer-no-schedule", "TaintToleration",
     [node("n1"), node("n2", taints=[{"key": "a", "effect": "PreferNoSchedule"}]),
      node("n3", taints=[{"key": "a", "effect": "PreferNoSchedule"}, {"key": "b", "effect": "PreferNoSchedule"}])],
     [], pod("p"), {"n1": 100, "n2": 50, "n3": 0}),
    ("taint: tolerated prefer-no-schedule", "TaintToleration",
     [node("n1"), node("n2", taints=[{"key": "a", "effect": "PreferNoSchedule"}])], [],
     pod("p", tolerations=[{"key": "a", "operator": "Exists"}]), {"n1": 100, "n2": 100}),
    # NodeAffinity: sum of matching preferred weights, scaled to the best node
    ("affinity: preferred terms", "NodeAffinity",
     [node("n1", labels={"zone": "a"}), node("n2", labels={"zone": "b", "disk": "ssd"}), node("n3")], [],
     pod("p", affinity={"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
         {"weight": 2, "preference": {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}},
         {"weight": 5, "preference": {"matchExpressions": [{"key": "disk", "operator": "Exists"}]}}]}}),
     {"n1": 40, "n2": 100, "n3": 0}),
    ("affinity: none preferred", "NodeAffinity", [node("n1")], [], pod("p"), "skip"),
]


@pytest.mark.parametrize(("plugin", "nodes", "existing", "p", "want"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_score(plugin: str, nodes: list[Obj], existing: list[Obj], p: Obj, want: Any) -> None:
    fw = framework(nodes, existing)
    assert run_score(fw, plugin, p) == want


def test_most_allocated_strategy() -> None:
    profile = default_profile().with_args("NodeResourcesFit", scoringStrategy={"type": "MostAllocated"})
    fw = framework([N1, N2], profile=profile)
    assert run_score(fw, "NodeResourcesFit", BIG) == {"n1": 62, "n2": 50}  # (75 + 50) / 2, (50 + 50) / 2


@pytest.mark.parametrize(("fractions", "want"), [([0.5, 0.5], 100), ([0.75, 0.5], 87), ([1.0, 0.0], 50),
                                                 ([0.2, 0.2, 0.8], 71), ([], 100)])
def test_balanced_score(fractions: list[float], want: int) -> None:
    assert balanced_score(fractions) == want
