"""Pod and node dicts for scheduler tests (wrappers in the spirit of upstream's st.MakePod()/st.MakeNode())."""

from __future__ import annotations

from typing import Any

from kubelab.scheduler.framework import Cache, CycleState, Framework, Handle, NodeInfo, PodInfo, StaticListers
from kubelab.scheduler.framework.registry import Profile, default_profile

Obj = dict[str, Any]
KIND_LABELS = {"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
               "kubernetes.io/os": "linux"}
CONTROL_PLANE_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}


def node(name: str, cpu: str = "8", memory: str = "16Gi", pods: str = "110", labels: dict[str, str] | None = None,
         taints: list[Obj] | None = None, unschedulable: bool = False) -> Obj:
    spec: Obj = {}
    if taints:
        spec["taints"] = taints
    if unschedulable:
        spec["unschedulable"] = True
    res = {"cpu": cpu, "memory": memory, "pods": pods}
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {**KIND_LABELS, "kubernetes.io/hostname": name, **(labels or {})}},
            "spec": spec, "status": {"capacity": res, "allocatable": dict(res),
                                     "conditions": [{"type": "Ready", "status": "True"}]}}


def control_plane(name: str = "local-control-plane") -> Obj:
    return node(name, labels={"node-role.kubernetes.io/control-plane": "",
                              "node.kubernetes.io/exclude-from-external-load-balancers": ""},
                taints=[CONTROL_PLANE_TAINT])


def pod(name: str, namespace: str = "default", *, cpu: str | None = None, memory: str | None = None,
        labels: dict[str, str] | None = None, node_name: str = "", priority: int = 0, **spec: Any) -> Obj:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    container: Obj = {"name": "c", "image": "nginx"}
    if requests:
        container["resources"] = {"requests": requests}
    ports = spec.pop("host_ports", None)
    if ports:
        container["ports"] = [{"containerPort": p, "hostPort": p, "protocol": "TCP"} for p in ports]
    s: Obj = {"containers": [container], "schedulerName": "default-scheduler", "priority": priority, **spec}
    if node_name:
        s["nodeName"] = node_name
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{namespace}-{name}",
                         "labels": labels or {}, "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": s, "status": {"phase": "Running" if node_name else "Pending"}}


def cache_with(nodes: list[Obj], pods: list[Obj] = (), objects: list[Obj] = ()) -> Cache:  # type: ignore[assignment]
    c = Cache(StaticListers(objects))
    for n in nodes:
        c.add_node(n)
    for p in pods:
        c.add_pod(p)
    return c


def framework(nodes: list[Obj], pods: list[Obj] = (), objects: list[Obj] = (),  # type: ignore[assignment]
              profile: Profile | None = None) -> Framework:
    return Framework(profile or default_profile(), Handle(cache=cache_with(nodes, pods, objects)))


def run_filter(fw: Framework, plugin: str, p: Obj, node_name: str) -> Any:
    """PreFilter then Filter of one plugin for one node: None (fits), "skip", or the Status."""
    pl = fw.plugin(plugin)
    assert pl is not None
    state = CycleState()
    pi = PodInfo(p)
    nodes = fw.cache.node_infos()
    if hasattr(pl, "pre_filter"):
        st = pl.pre_filter(state, pi, nodes)
        if st is not None:
            if st.is_skip():
                return "skip"
            return st
    ni = fw.cache.get(node_name)
    assert ni is not None
    return pl.filter(state, pi, ni)  # type: ignore[attr-defined]


def run_score(fw: Framework, plugin: str, p: Obj, node_names: list[str] | None = None) -> Any:
    """PreScore, Score and NormalizeScore of one plugin: {node: score}, or "skip"."""
    pl = fw.plugin(plugin)
    assert pl is not None
    state = CycleState()
    pi = PodInfo(p)
    nodes: list[NodeInfo] = [ni for ni in fw.cache.node_infos() if node_names is None or ni.name in node_names]
    if hasattr(pl, "pre_filter"):  # some scorers read PreFilter state (not the ones tested here)
        pass
    if hasattr(pl, "pre_score"):
        st = pl.pre_score(state, pi, nodes)
        if st is not None and st.is_skip():
            return "skip"
    scores = [pl.score(state, pi, ni) for ni in nodes]  # type: ignore[attr-defined]
    if hasattr(pl, "normalize_score"):
        pl.normalize_score(state, pi, nodes, scores)
    return {ni.name: s for ni, s in zip(nodes, scores, strict=True)}
