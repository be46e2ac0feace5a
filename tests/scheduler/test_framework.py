"""The runtime: FitError messages as upstream prints them, node sampling, host selection, preemption."""

from __future__ import annotations

from typing import Any

import pytest

from kubelab.scheduler.framework import (
    CycleState,
    Framework,
    Handle,
    Plugin,
    PluginRef,
    PodInfo,
    Registry,
    Status,
    fit_error_message,
    num_feasible_nodes_to_find,
)
from kubelab.scheduler.framework.registry import default_profile
from kubelab.scheduler.framework.status import unresolvable, unschedulable
from kubelab.scheduler.plugins import IN_TREE
from tests.scheduler.builders import cache_with, control_plane, framework, node, pod

Obj = dict[str, Any]
KIND = [control_plane(), node("local-worker"), node("local-worker2")]


@pytest.mark.parametrize(("nodes", "want"), [(0, 0), (50, 50), (99, 99), (100, 100), (500, 230), (1000, 420),
                                             (5000, 500), (10000, 500), (20000, 1000)])
def test_num_feasible_nodes_to_find(nodes: int, want: int) -> None:
    assert num_feasible_nodes_to_find(nodes) == want
    assert num_feasible_nodes_to_find(nodes, 100) == nodes


def test_fit_error_message_sorts_reason_counts_as_strings() -> None:
    statuses = {"a": unresolvable("node(s) had untolerated taint(s)"),
                "b": unschedulable("Insufficient cpu", "Insufficient memory"),
                "c": unschedulable("Insufficient cpu")}
    assert fit_error_message(3, statuses, post_filter_msg="preemption: x.") == (
        "0/3 nodes are available: 1 Insufficient memory, 1 node(s) had untolerated taint(s), 2 Insufficient cpu."
        " preemption: x.")
    assert fit_error_message(12, {}, absent=unresolvable("Preemption is not helpful for scheduling")) == (
        "0/12 nodes are available: 12 Preemption is not helpful for scheduling.")


def test_pod_larger_than_any_node_gets_the_upstream_message() -> None:
    fw = framework(KIND)
    res = fw.schedule(PodInfo(pod("big", cpu="100")))
    assert not res.scheduled
    assert res.message == (
        "0/3 nodes are available: 1 node(s) had untolerated taint(s), 2 Insufficient cpu. "
        "no new claims to deallocate, preemption: 0/3 nodes are available: 3 Preemption is not helpful "
        "for scheduling.")
    assert res.rejectors() == {"TaintToleration", "NodeResourcesFit"}


def test_full_nodes_say_no_preemption_victims_found() -> None:
    fw = framework(KIND, [pod("a", cpu="7", node_name="local-worker"), pod("b", cpu="7", node_name="local-worker2")])
    res = fw.schedule(PodInfo(pod("p", cpu="2")))
    assert res.message == (
        "0/3 nodes are available: 1 node(s) had untolerated taint(s), 2 Insufficient cpu. "
        "no new claims to deallocate, preemption: 0/3 nodes are available: 1 Preemption is not helpful for "
        "scheduling, 2 No preemption victims found for incoming pod.")


def test_without_dynamic_resources_the_message_has_no_claims_note() -> None:
    fw = framework(KIND, profile=default_profile().without("DynamicResources"))
    res = fw.schedule(PodInfo(pod("big", cpu="100")))
    assert res.message.endswith("2 Insufficient cpu. preemption: 0/3 nodes are available: 3 Preemption is not "
                                "helpful for scheduling.")


def test_preemption_policy_never() -> None:
    fw = framework(KIND, [pod("a", cpu="7", node_name="local-worker", priority=-5)])
    res = fw.schedule(PodInfo(pod("p", cpu="2", priority=100, preemptionPolicy="Never",
                                  nodeSelector={"kubernetes.io/hostname": "local-worker"})))
    assert res.message.endswith("no new claims to deallocate, preemption: not eligible due to "
                                "preemptionPolicy=Never.")


def test_preemption_picks_the_node_with_the_least_important_victims() -> None:
    existing = [pod("low-1", cpu="3", priority=1, node_name="local-worker"),
                pod("low-2", cpu="3", priority=1, node_name="local-worker"),
                pod("mid", cpu="6", priority=50, node_name="local-worker2"),
                pod("same", cpu="1", priority=100, node_name="local-worker2")]
    fw = framework(KIND, existing)
    res = fw.schedule(PodInfo(pod("p", cpu="4", priority=100)))
    assert not res.scheduled and res.post_filter is not None
    assert res.post_filter_status is not None and res.post_filter_status.is_success()
    # worker: evicting one priority-1 pod frees enough (the other is reprieved); worker2 would lose priority 50
    assert res.post_filter.nominated_node == "local-worker"
    assert [v.name for v in res.post_filter.victims] == ["low-2"] or \
        [v.name for v in res.post_filter.victims] == ["low-1"]
    assert res.message == "0/3 nodes are available: 1 node(s) had untolerated taint(s), 2 Insufficient cpu."


def test_preemption_reports_the_filter_reason_when_victims_do_not_help() -> None:
    existing = [pod("low", cpu="1", priority=1, node_name="local-worker"),
                pod("peer", cpu="6", priority=100, node_name="local-worker")]
    fw = framework([node("local-worker")], existing)
    res = fw.schedule(PodInfo(pod("p", cpu="4", priority=100)))
    assert res.message == ("0/1 nodes are available: 1 Insufficient cpu. no new claims to deallocate, preemption: "
                           "0/1 nodes are available: 1 Insufficient cpu.")


def test_nominated_node_is_tried_first() -> None:
    fw = framework(KIND)
    p = pod("p")
    p["status"]["nominatedNodeName"] = "local-worker2"
    res = fw.schedule(PodInfo(p))
    assert res.node == "local-worker2" and res.nominated


def test_sampling_stops_after_enough_feasible_nodes_and_rotates() -> None:
    nodes = [node(f"n{i:04d}") for i in range(1000)]
    fw = framework(nodes)
    res = fw.schedule(PodInfo(pod("p")))
    assert res.scheduled and res.evaluated == 420 and len(res.feasible) == 420
    assert fw.next_start_node_index == 420
    res2 = fw.schedule(PodInfo(pod("q")))
    assert res2.feasible[0].name == "n0420"
    full = fw.schedule(PodInfo(pod("r")), all_nodes=True)
    assert len(full.feasible) == 1000


def test_ties_are_broken_by_the_seeded_generator() -> None:
    def pick(seed: int) -> list[str]:
        fw = Framework(default_profile(), Handle(cache=cache_with([node(f"n{i}") for i in range(5)])), seed=seed)
        return [fw.schedule(PodInfo(pod(f"p{i}"))).node for i in range(5)]

    assert pick(1) == pick(1)
    assert len(set(pick(1))) > 1


def test_no_nodes() -> None:
    res = framework([]).schedule(PodInfo(pod("p")))
    assert res.message == "no nodes available to schedule pods" and not res.scheduled


class OnlyEvenNodes(Plugin):
    """An out-of-tree filter: the registry/profile are the extension point."""

    name = "OnlyEvenNodes"

    def filter(self, state: CycleState, pod: PodInfo, node: Any) -> Status | None:
        return None if int(node.name[1:]) % 2 == 0 else unresolvable("node(s) are odd")


def test_custom_plugin_through_registry_and_profile() -> None:
    registry = IN_TREE.merged(Registry({"OnlyEvenNodes": OnlyEvenNodes}))
    profile = default_profile().with_plugins([PluginRef("OnlyEvenNodes")])
    fw = Framework(profile, Handle(cache=cache_with([node("n1"), node("n2"), node("n3")])), registry)
    res = fw.schedule(PodInfo(pod("p")))
    assert res.node == "n2"
    assert res.statuses["n1"].plugin == "OnlyEvenNodes"
    with pytest.raises(ValueError, match="not registered"):
        Framework(profile, Handle(cache=cache_with([])))


def test_a_failing_plugin_is_an_error_not_a_fit_problem() -> None:
    class Broken(Plugin):
        name = "Broken"

        def filter(self, state: CycleState, pod: PodInfo, node: Any) -> Status | None:
            return Status(__import__("kubelab.scheduler.framework", fromlist=["Code"]).Code.ERROR, "boom")

    fw = Framework(default_profile().with_plugins([PluginRef("Broken")]), Handle(cache=cache_with([node("n1")])),
                   IN_TREE.merged(Registry({"Broken": Broken})))
    res = fw.schedule(PodInfo(pod("p")))
    assert res.error == "boom" and not res.scheduled


def test_memoized_results_equal_fresh_ones() -> None:
    """Reusing node-local verdicts for same-signature pods must not change any decision."""
    import random

    rng = random.Random(7)
    nodes = []
    for i in range(150):
        taints = [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}] if i % 7 == 0 else []
        if i % 5 == 0:
            taints.append({"key": "spot", "effect": "PreferNoSchedule"})
        nodes.append(node(f"n{i:02d}", cpu=rng.choice(["1", "2", "3"]), memory=rng.choice(["2Gi", "4Gi"]),
                          labels={"zone": f"z{i % 3}", "disk": rng.choice(["ssd", "hdd"])}, taints=taints))
    templates = [
        {"cpu": "500m", "memory": "256Mi"},
        {"cpu": "1", "memory": "1Gi", "nodeSelector": {"disk": "ssd"}},
        {"cpu": "250m", "tolerations": [{"key": "dedicated", "operator": "Exists"}]},
        {"memory": "512Mi", "affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 10, "preference": {"matchExpressions": [{"key": "zone", "operator": "In",
                                                                "values": ["z1"]}]}}]}}},
        {"cpu": "3", "host_ports": [8080]},
    ]
    picks = [rng.randrange(len(templates)) for _ in range(400)]
    outcomes = []
    for memoize in (True, False):
        fw = Framework(default_profile(), Handle(cache=cache_with(nodes)), seed=3, memoize=memoize)
        out = []
        for i, k in enumerate(picks):
            pi = PodInfo(pod(f"p{i}", labels={"app": f"a{i % 3}"}, **templates[k]))
            res = fw.schedule(pi)
            out.append((res.node, res.message, tuple(res.totals)))
            if res.node:
                fw.cache.assume_pod(pi, res.node)
            if i % 40 == 39:  # something changes on a node now and then
                fw.cache.update_node(node(f"n{i % 60:02d}", cpu="16", memory="32Gi", labels={"zone": "z1"}))
            if i % 70 == 69:  # and nodes come and go
                fw.cache.remove_node(f"n{i % 50 + 100:02d}")
                fw.cache.add_node(node(f"x{i}", cpu="1", memory="1Gi"))
        outcomes.append(out)
    assert outcomes[0] == outcomes[1]
    assert sum(1 for n, _, _ in outcomes[0] if n) > 200
    assert sum(1 for n, _, _ in outcomes[0] if not n) > 10
