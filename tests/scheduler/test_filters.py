"""Table tests for the filter plugins: NodeUnschedulable, NodeName, NodePorts, TaintToleration, NodeAffinity,
NodeResourcesFit (upstream's cases, reasons and status codes)."""

from __future__ import annotations

from typing import Any

import pytest

from kubelab.scheduler.framework import Code
from tests.scheduler.builders import framework, node, pod, run_filter

Obj = dict[str, Any]

REQ_AFF = "requiredDuringSchedulingIgnoredDuringExecution"


def _node_affinity(*terms: Obj) -> Obj:
    return {"nodeAffinity": {REQ_AFF: {"nodeSelectorTerms": list(terms)}}}


def expect(result: Any, want: Any) -> None:
    if want is None or want == "skip":
        assert result == want, result
    else:
        code, reasons = want
        assert result is not None and result != "skip", "expected a rejection"
        assert (result.code, result.reasons) == (code, reasons), result


UNRES, UNSCHED = Code.UNSCHEDULABLE_AND_UNRESOLVABLE, Code.UNSCHEDULABLE

# (name, plugin, node, existing pods, pod, expected)
CASES: list[tuple[str, str, Obj, list[Obj], Obj, Any]] = [
    # NodeUnschedulable
    ("schedulable node", "NodeUnschedulable", node("n"), [], pod("p"), None),
    ("cordoned node", "NodeUnschedulable", node("n", unschedulable=True), [], pod("p"),
     (UNRES, ("node(s) were unschedulable",))),
    ("cordoned node, pod tolerates", "NodeUnschedulable", node("n", unschedulable=True), [],
     pod("p", tolerations=[{"key": "node.kubernetes.io/unschedulable", "operator": "Exists",
                            "effect": "NoSchedule"}]), None),
    # NodeName
    ("no nodeName", "NodeName", node("n"), [], pod("p"), "skip"),
    ("nodeName matches", "NodeName", node("n"), [], pod("p", nodeName="n"), None),
    ("nodeName differs", "NodeName", node("n"), [], pod("p", nodeName="other"),
     (UNRES, ("node(s) didn't match the requested node name",))),
    # NodePorts
    ("no host ports", "NodePorts", node("n"), [], pod("p"), "skip"),
    ("free port", "NodePorts", node("n"), [pod("a", host_ports=[80], node_name="n")],
     pod("p", host_ports=[8080]), None),
    ("port taken", "NodePorts", node("n"), [pod("a", host_ports=[80], node_name="n")],
     pod("p", host_ports=[80]), (UNSCHED, ("node(s) didn't have free ports for the requested pod ports",))),
    # TaintToleration
    ("no taints", "TaintToleration", node("n"), [], pod("p"), None),
    ("NoSchedule taint", "TaintToleration",
     node("n", taints=[{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]), [], pod("p"),
     (UNRES, ("node(s) had untolerated taint(s)",))),
    ("NoExecute taint", "TaintToleration",
     node("n", taints=[{"key": "dedicated", "value": "gpu", "effect": "NoExecute"}]), [], pod("p"),
     (UNRES, ("node(s) had untolerated taint(s)",))),
    ("PreferNoSchedule does not filter", "TaintToleration",
     node("n", taints=[{"key": "dedicated", "value": "gpu", "effect": "PreferNoSchedule"}]), [], pod("p"), None),
    ("tolerated with Equal", "TaintToleration",
     node("n", taints=[{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]), [],
     pod("p", tolerations=[{"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}]),
     None),
    ("wrong value", "TaintToleration",
     node("n", taints=[{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]), [],
     pod("p", tolerations=[{"key": "dedicated", "operator": "Equal", "value": "cpu", "effect": "NoSchedule"}]),
     (UNRES, ("node(s) had untolerated taint(s)",))),
    ("Exists without key tolerates everything", "TaintToleration",
     node("n", taints=[{"key": "a", "effect": "NoSchedule"}, {"key": "b", "value": "c", "effect": "NoExecute"}]),
     [], pod("p", tolerations=[{"operator": "Exists"}]), None),
    ("effect must match", "TaintToleration",
     node("n", taints=[{"key": "a", "effect": "NoSchedule"}]), [],
     pod("p", tolerations=[{"key": "a", "operator": "Exists", "effect": "NoExecute"}]),
     (UNRES, ("node(s) had untolerated taint(s)",))),
    # NodeAffinity
    ("no selector", "NodeAffinity", node("n"), [], pod("p"), "skip"),
    ("nodeSelector matches", "NodeAffinity", node("n", labels={"disk": "ssd"}), [],
     pod("p", nodeSelector={"disk": "ssd"}), None),
    ("nodeSelector does not match", "NodeAffinity", node("n", labels={"disk": "hdd"}), [],
     pod("p", nodeSelector={"disk": "ssd"}), (UNRES, ("node(s) didn't match Pod's node affinity/selector",))),
    ("required affinity In", "NodeAffinity", node("n", labels={"zone": "a"}), [],
     pod("p", affinity=_node_affinity({"matchExpressions": [{"key": "zone", "operator": "In",
                                                              "values": ["a", "b"]}]})), None),
    ("required affinity NotIn", "NodeAffinity", node("n", labels={"zone": "a"}), [],
     pod("p", affinity=_node_affinity({"matchExpressions": [{"key": "zone", "operator": "NotIn",
                                                              "values": ["a"]}]})),
     (UNRES, ("node(s) didn't match Pod's node affinity/selector",))),
    ("terms are ORed", "NodeAffinity", node("n", labels={"zone": "b"}), [],
     pod("p", affinity=_node_affinity({"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]},
                                      {"matchExpressions": [{"key": "zone", "operator": "Exists"}]})), None),
    ("Gt on a number label", "NodeAffinity", node("n", labels={"cores": "16"}), [],
     pod("p", affinity=_node_affinity({"matchExpressions": [{"key": "cores", "operator": "Gt",
                                                              "values": ["8"]}]})), None),
    ("matchFields metadata.name", "NodeAffinity", node("n"), [],
     pod("p", affinity=_node_affinity({"matchFields": [{"key": "metadata.name", "operator": "In",
                                                         "values": ["other"]}]})),
     (UNRES, ("node(s) didn't match Pod's node affinity/selector",))),
    ("nodeSelector AND affinity", "NodeAffinity", node("n", labels={"zone": "a"}), [],
     pod("p", nodeSelector={"disk": "ssd"},
         affinity=_node_affinity({"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]})),
     (UNRES, ("node(s) didn't match Pod's node affinity/selector",))),
    # NodeResourcesFit
    ("fits", "NodeResourcesFit", node("n", cpu="4", memory="8Gi"), [pod("a", cpu="1", node_name="n")],
     pod("p", cpu="3", memory="1Gi"), None),
    ("insufficient cpu", "NodeResourcesFit", node("n", cpu="4"), [pod("a", cpu="2", node_name="n")],
     pod("p", cpu="3"), (UNSCHED, ("Insufficient cpu",))),
    ("insufficient cpu and memory", "NodeResourcesFit", node("n", cpu="4", memory="1Gi"),
     [pod("a", cpu="2", memory="512Mi", node_name="n")], pod("p", cpu="3", memory="1Gi"),
     (UNSCHED, ("Insufficient cpu", "Insufficient memory"))),
    ("larger than the node: unresolvable", "NodeResourcesFit", node("n", cpu="8"), [], pod("p", cpu="100"),
     (UNRES, ("Insufficient cpu",))),
    ("too many pods", "NodeResourcesFit", node("n", pods="1"), [pod("a", node_name="n")], pod("p"),
     (UNSCHED, ("Too many pods",))),
    ("best-effort pod only counts pods", "NodeResourcesFit", node("n", cpu="1"),
     [pod("a", cpu="1", node_name="n")], pod("p"), None),
    ("init container peak counts", "NodeResourcesFit", node("n", cpu="2"), [],
     pod("p", cpu="1", initContainers=[{"name": "i", "image": "x", "resources": {"requests": {"cpu": "3"}}}]),
     (UNRES, ("Insufficient cpu",))),
    ("sidecars add up", "NodeResourcesFit", node("n", cpu="2"), [pod("a", cpu="500m", node_name="n")],
     pod("p", cpu="1", initContainers=[{"name": "s", "image": "x", "restartPolicy": "Always",
                                        "resources": {"requests": {"cpu": "1"}}}]),
     (UNSCHED, ("Insufficient cpu",))),
    ("extended resource", "NodeResourcesFit", node("n"), [],
     pod("p", containers=[{"name": "c", "image": "x", "resources": {"requests": {"nvidia.com/gpu": "1"}}}]),
     (UNRES, ("Insufficient nvidia.com/gpu",))),
]


@pytest.mark.parametrize(("plugin", "n", "existing", "p", "want"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_filter(plugin: str, n: Obj, existing: list[Obj], p: Obj, want: Any) -> None:
    fw = framework([n], existing)
    expect(run_filter(fw, plugin, p, "n"), want)


def test_taint_detail_names_the_taint_for_explain() -> None:
    fw = framework([node("n", taints=[{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}])])
    st = run_filter(fw, "TaintToleration", pod("p"), "n")
    assert st.detail == "untolerated taint {node-role.kubernetes.io/control-plane: }"


def test_queueing_hints() -> None:
    from kubelab.scheduler.framework import PodInfo

    fw = framework([node("n")])
    taints, fit, aff = fw.plugin("TaintToleration"), fw.plugin("NodeResourcesFit"), fw.plugin("NodeAffinity")
    assert taints and fit and aff
    tainted = node("m", taints=[{"key": "k", "effect": "NoSchedule"}])
    clean = node("m")
    p = PodInfo(pod("p", cpu="10", nodeSelector={"disk": "ssd"}))
    assert taints.queueing_hint("NodeUpdate", p, tainted, clean)
    assert not taints.queueing_hint("NodeUpdate", p, clean, tainted)
    assert not fit.queueing_hint("NodeAdd", p, None, node("m", cpu="8"))
    assert fit.queueing_hint("NodeAdd", p, None, node("m", cpu="16"))
    assert aff.queueing_hint("NodeUpdate", p, clean, node("m", labels={"disk": "ssd"}))
    assert not aff.queueing_hint("NodeAdd", p, None, clean)
