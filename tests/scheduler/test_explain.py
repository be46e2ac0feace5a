"""explain() and Decision: summaries, rows for a DataFrame, what-if for an already bound pod."""

from __future__ import annotations

from kubelab.scheduler import explain
from tests.scheduler.builders import control_plane, node, pod

KIND = [control_plane(), node("local-worker"), node("local-worker2")]


def test_pending_pod_explained() -> None:
    d = explain(pod("big", cpu="100"), KIND, [])
    assert not d.scheduled and d.node is None
    assert d.summary == ("Pending: 0/3 nodes fit; local-control-plane: untolerated taint "
                         "{node-role.kubernetes.io/control-plane: }; local-worker: Insufficient cpu; "
                         "local-worker2: Insufficient cpu")
    assert d.message.startswith("0/3 nodes are available: 1 node(s) had untolerated taint(s), 2 Insufficient cpu.")
    rows = d.to_rows()
    assert [(r["node"], r["fits"], r["filter"], r["reason"]) for r in rows] == [
        ("local-control-plane", False, "TaintToleration", "untolerated taint {node-role.kubernetes.io/control-plane: }"),
        ("local-worker", False, "NodeResourcesFit", "Insufficient cpu"),
        ("local-worker2", False, "NodeResourcesFit", "Insufficient cpu")]
    assert all(r["total"] is None for r in rows)


def test_scheduled_pod_explained_with_weighted_scores() -> None:
    existing = [pod("a", cpu="2", memory="1Gi", node_name="local-worker")]
    d = explain(pod("p", cpu="1", memory="1Gi"), KIND, existing)
    assert d.node == "local-worker2"
    rows = {r["node"]: r for r in d.to_rows()}
    w2 = rows["local-worker2"]
    assert w2["fits"] is True and w2["chosen"] is True and w2["reason"] is None
    # weights: TaintToleration 3, NodeResourcesFit 1, BalancedAllocation 1; skipped plugins are None
    assert w2["TaintToleration"] == 300 and w2["NodeAffinity"] is None
    assert w2["total"] == w2["TaintToleration"] + w2["NodeResourcesFit"] + w2["NodeResourcesBalancedAllocation"]
    assert w2["total"] > rows["local-worker"]["total"]
    assert d.summary.startswith(f"Scheduled on local-worker2: highest score {w2['total']} (TaintToleration 300, "
                                f"NodeResourcesFit {w2['NodeResourcesFit']}, NodeResourcesBalancedAllocation ")
    assert d.summary.endswith(f"; next best {rows['local-worker']['total']}")
    assert d.message == "Successfully assigned default/p to local-worker2"


def test_bound_pod_is_explained_as_if_unbound() -> None:
    bound = pod("p", node_name="local-worker")
    d = explain(bound, KIND, [bound])
    assert d.scheduled and {r["node"] for r in d.to_rows() if r["fits"]} == {"local-worker", "local-worker2"}


def test_explain_uses_owner_objects_for_default_spreading() -> None:
    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web", "namespace": "default"},
          "spec": {"selector": {"matchLabels": {"app": "web"}}}}
    owner = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": "u", "controller": True}]

    def web(name: str, node_name: str = "") -> dict:  # type: ignore[type-arg]
        p = pod(name, labels={"app": "web"}, node_name=node_name)
        p["metadata"]["ownerReferences"] = owner
        return p

    d = explain(web("p"), KIND, [web("a", "local-worker"), web("b", "local-worker")], objects=[rs])
    rows = {r["node"]: r for r in d.to_rows()}
    assert rows["local-worker2"]["PodTopologySpread"] > rows["local-worker"]["PodTopologySpread"]
    assert d.node == "local-worker2"


def test_preemption_is_only_simulated_in_explain() -> None:
    existing = [pod("low", cpu="7", priority=-1, node_name="local-worker"),
                pod("low2", cpu="7", priority=-1, node_name="local-worker2")]
    d = explain(pod("vip", cpu="4", priority=1000), KIND, existing)
    assert d.nominated_node in ("local-worker", "local-worker2") and len(d.victims) == 1
    assert d.summary.endswith(f"; preempting 1 pod(s) on {d.nominated_node}")
