"""Notebook widgets without a browser: the flow model played from a scripted Deployment create, the SVG
template, live updates from a fake trace bus, the topology HTML and explain_scheduling.
"""

from __future__ import annotations

import html
import re
import threading
import time
from typing import Any

import pandas as pd
import pytest

from kubelab.notebook.widgets import (
    FlowModel,
    FlowWidget,
    SvgTemplate,
    TopologyWidget,
    explain_scheduling,
    flow,
    render_benchmark,
    synthetic_events,
    topology_html,
)
from kubelab.trace import TraceBus, TraceEvent

NODE = "local-worker"
POD = "web-7d4-x2"


def ev(seq: int, component: str, action: str, kind: str = "", name: str = "", **kw: Any) -> TraceEvent:
    return TraceEvent(seq, "2026-01-01T00:00:00.000000Z", component, action, kind, "default", name, **kw)


def deployment_create() -> list[TraceEvent]:
    kl = f"kubelet/{NODE}"
    return [
        ev(1, "apiserver", "post", "Deployment", "web", message="POST deployments web"),
        ev(2, "etcd", "put", "Deployment", "web", revision=812),
        ev(3, "etcd", "put", "Lease", "local-worker", revision=813),  # heartbeat noise: no step
        ev(4, "controller-manager/deployment", "create", "ReplicaSet", "web-7d4", details={"owner": "web"}),
        ev(5, "controller-manager/replicaset", "create", "Pod", POD, details={"owner": "web-7d4"}),
        ev(6, "scheduler", "bind", "Pod", POD, node=NODE, reason="Scheduled"),
        ev(7, kl, "sandbox", "Pod", POD, node=NODE, message="pod sandbox 1234 ready"),
        ev(8, kl, "pull", "Pod", POD, node=NODE, message="pulling: nginx"),
        ev(9, kl, "create", "Pod", POD, node=NODE, message="create: nginx"),
        ev(10, kl, "start", "Pod", POD, node=NODE, message="start: nginx"),
        ev(11, kl, "status", "Pod", POD, node=NODE, message="Running: nginx=running"),
        ev(12, "apiserver", "post", "Service", "db", message="POST services db"),
    ]


EXPECTED = [
    ("POST deployments web", "e-client--apiserver"),
    ("etcd put rev 812 Deployment web", "e-apiserver--etcd"),
    ("Deployment web created replicaset web-7d4", "e-controller-manager--apiserver"),
    (f"ReplicaSet web-7d4 created pod {POD}", "e-controller-manager--apiserver"),
    (f"bind {POD} -> {NODE}", "e-scheduler--apiserver"),
    (f"sandbox for {POD} ready", "e-apiserver--kubelet-local-worker"),
    ("pull nginx", "e-kubelet-local-worker--runtime-local-worker"),
    ("create container nginx", "e-kubelet-local-worker--runtime-local-worker"),
    ("Started nginx", "e-kubelet-local-worker--runtime-local-worker"),
    (f"status {POD}: Running: nginx=running", "e-kubelet-local-worker--apiserver"),
    ("POST services db", "e-client--apiserver"),
]


@pytest.fixture
def played() -> FlowModel:
    m = FlowModel(cluster_nodes=[NODE])
    m.extend(deployment_create())
    return m


# ------------------------------------------------------------------------------------------------ model
def test_steps_labels_and_highlights_in_order(played: FlowModel) -> None:
    assert [s.label for s in played.steps] == [label for label, _ in EXPECTED]
    played.seek(0)
    for label, edge in EXPECTED:
        cur = played.current()
        assert cur is not None and cur.label == label
        hot = played.highlighted()
        assert hot[edge] == 1.0
        assert all(hot[i] == 1.0 for i in cur.nodes)
        played.step_forward()


def test_highlights_fade(played: FlowModel) -> None:
    played.seek(4)  # bind
    hot = played.highlighted()
    assert hot["e-scheduler--apiserver"] == 1.0
    assert 0 < hot["cm-replicaset"] < 1.0
    assert hot["cm-replicaset"] > hot.get("cm-deployment", 0.0) > 0
    assert "e-client--apiserver" not in hot  # more than `fade` steps ago


def test_controllers_and_nodes_become_graph_nodes() -> None:
    m = FlowModel()
    v0 = m.structure_version
    m.extend(
        [
            ev(1, "controller-manager/job", "create-pod", "Pod", "pi-abc", details={"owner": "pi"}),
            ev(2, "kubelet/n2", "pull", "Pod", "pi-abc", node="n2", message="pulling: perl"),
        ]
    )
    ids = m.ids()
    assert {"cm-job", "kubelet-n2", "runtime-n2", "e-kubelet-n2--runtime-n2"} <= set(ids)
    assert m.structure_version > v0
    assert m.steps[0].label == "Job pi created pod pi-abc"


def test_step_back_forward_seek(played: FlowModel) -> None:
    n = len(played.steps)
    assert played.cursor == n - 1 and played.live
    back = played.step_back()
    assert back is not None and back.label == EXPECTED[-2][0] and not played.live
    played.extend([ev(13, "apiserver", "delete", "Service", "db", message="DELETE services db")])
    assert played.cursor == n - 2  # paused: new events do not move the cursor
    assert played.seek(0) is not None and played.cursor == 0
    assert played.step_back() is not None and played.cursor == 0  # clamps
    played.seek(10_000)
    assert played.cursor == len(played.steps) - 1 and played.live
    assert played.step_forward() is not None and played.cursor == len(played.steps) - 1


def test_follow_object_and_children(played: FlowModel) -> None:
    steps = played.follow("deployment", "web")
    assert "POST services db" not in [s.label for s in steps]
    assert [s.label for s in steps] == [label for label, _ in EXPECTED[:-1]]
    pod_only = played.follow_text(f"pod/{POD}")
    assert all(s.name == POD for s in pod_only) and len(pod_only) == 7
    other_kind = [s.label for s in played.follow_text("service web")]  # the kind filters the exact name only
    assert "POST deployments web" not in other_kind and f"bind {POD} -> {NODE}" in other_kind
    # events arriving while following are filtered too
    played.follow("Deployment", "web")
    played.extend(
        [
            ev(20, "apiserver", "post", "ConfigMap", "other", message="POST configmaps other"),
            ev(21, "etcd", "put", "Deployment", "web", revision=900),
        ]
    )
    assert played.visible()[-1].label == "etcd put rev 900 Deployment web"
    assert len(played.follow()) == len(played.steps)


def test_events_as_dicts_and_noise(played: FlowModel) -> None:
    m = FlowModel()
    assert m.apply(deployment_create()[0].to_dict()) is not None
    assert m.apply({"seq": 2, "component": "etcd", "action": "put", "kind": "Node", "name": "n1"}) is None
    assert m.apply({"seq": 3, "component": "etcd", "action": "put", "kind": "Event", "name": "x"}) is None


# ------------------------------------------------------------------------------------------------- SVG
def _elements(svg: str) -> int:
    return len(re.findall(r"<[a-zA-Z]", svg))


def test_svg_has_every_id_and_restyling_changes_only_styles(played: FlowModel) -> None:
    widget = FlowWidget(FlowModel(cluster_nodes=[NODE]))
    cold = widget.svg()
    ids = set(re.findall(r'id="([^"]+)"', html.unescape(cold)))
    assert set(widget.model.ids()) <= ids
    widget.model.extend(deployment_create())
    hot = widget.svg()
    assert hot != cold
    assert _elements(hot) == _elements(cold)
    strip = re.compile(r'(fill|stroke|stroke-width)="[^"]*"')
    assert strip.sub("", hot) == strip.sub("", cold)
    assert SvgTemplate(hot).ids == SvgTemplate(cold).ids
    widget.close()


def test_widget_controls_move_the_cursor(played: FlowModel) -> None:
    widget = FlowWidget(played)
    assert "POST services db" in widget.caption.value
    widget.back.click()
    assert played.cursor == len(played.steps) - 2 and "Running" in widget.caption.value
    widget.slider.value = 0
    assert played.cursor == 0 and "POST deployments web" in widget.caption.value
    widget.forward.click()
    assert played.cursor == 1
    widget.filter.value = f"pod/{POD}"
    assert widget.slider.max == 6
    widget.close()


# ------------------------------------------------------------------------------------------------ live
class FakeBus:
    """Just the TraceBus reading API, counting calls."""

    def __init__(self, events: list[Any] | None = None) -> None:
        self.events = list(events or [])
        self.lock = threading.Lock()

    def since(self, seq: int = 0) -> list[Any]:
        with self.lock:
            return [e for e in self.events if (e["seq"] if isinstance(e, dict) else e.seq) > seq]

    def add(self, events: list[Any]) -> None:
        with self.lock:
            self.events.extend(events)


def wait_for(cond: Any, timeout: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return bool(cond())


def test_attach_updates_html_from_a_thread() -> None:
    bus = FakeBus()
    widget = flow(bus)
    try:
        before = widget.diagram.value
        bus.add(deployment_create()[:4])
        assert wait_for(lambda: widget.diagram.value != before)
        assert wait_for(lambda: "Deployment web created replicaset" in widget.caption.value)
    finally:
        widget.close()


def test_attach_to_a_real_trace_bus() -> None:
    bus = TraceBus()
    bus.emit("kubelet/n1", "register", kind="Node", name="n1", node="n1")  # backlog: teaches the graph only
    widget = flow(bus)
    try:
        assert "kubelet-n1" in widget.model.ids() and widget.model.steps == []
        bus.emit("apiserver", "post", kind="Pod", name="p", message="POST pods p")
        assert wait_for(lambda: "POST pods p" in widget.caption.value)
    finally:
        widget.close()


def test_a_burst_renders_once() -> None:
    bus = FakeBus()
    widget = FlowWidget(FlowModel(cluster_nodes=("local-worker", "local-worker2")))
    try:
        widget.attach(bus)
        renders = widget.render_count
        bus.add(synthetic_events(1000))
        assert wait_for(lambda: len(widget.model.steps) == 1000)
        time.sleep(0.3)  # several more polls with nothing new
        assert widget.render_count == renders + 1
    finally:
        widget.close()


def test_render_benchmark_returns_ms() -> None:
    assert render_benchmark(50) > 0


def test_thread_survives_a_failing_source() -> None:
    class Broken(FakeBus):
        calls = 0

        def since(self, seq: int = 0) -> list[Any]:
            self.calls += 1
            if self.calls > 1:
                raise RuntimeError("gone")
            return []

    bus = Broken()
    widget = flow(bus)
    try:
        assert wait_for(lambda: bus.calls > 3)
        assert widget._thread is not None and widget._thread.is_alive()
    finally:
        widget.close()
    assert not widget._thread.is_alive()


# -------------------------------------------------------------------------------------------- topology
def node(
    name: str,
    role: str = "",
    taints: list[dict[str, str]] | None = None,
    ready: bool = True,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    lab = {"kubernetes.io/hostname": name, **(labels or {})}
    if role:
        lab[f"node-role.kubernetes.io/{role}"] = ""
    return {
        "metadata": {"name": name, "labels": lab},
        "spec": {"taints": taints or []},
        "status": {
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
        },
    }


def pod(
    name: str,
    node_name: str = "",
    phase: str = "Running",
    deleting: bool = False,
    cpu: str = "100m",
    **spec: Any,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "default", "uid": f"uid-{name}"}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": {
            "containers": [{"name": "c", "image": "nginx", "resources": {"requests": {"cpu": cpu}}}],
            **({"nodeName": node_name} if node_name else {}),
            **spec,
        },
        "status": {"phase": phase},
    }


NODES = [
    node(
        "local-control-plane",
        "control-plane",
        [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}],
    ),
    node("local-worker", labels={"disk": "ssd"}),
    node("local-worker2", ready=False),
]
PODS = [
    pod("a", "local-worker", "Pending"),
    pod("b", "local-worker", "Running"),
    pod("c", "local-worker2", "Succeeded"),
    pod("d", "local-worker2", "Failed"),
    pod("e", "local-worker", deleting=True),
    pod("f", phase="Pending"),
]


def test_topology_html_shows_nodes_and_pod_phases() -> None:
    out = topology_html(NODES, PODS)
    for n in ("local-control-plane", "local-worker", "local-worker2"):
        assert f'data-node="{n}"' in out
    assert "control-plane</span>" in out and "worker</span>" in out
    assert "node-role.kubernetes.io/control-plane:NoSchedule" in out
    assert "disk=ssd" in out and "kubernetes.io/hostname" not in out
    assert 'kl-node kl-notready" data-node="local-worker2"' in out
    for name, cls in [
        ("a", "kl-pending"),
        ("b", "kl-running"),
        ("c", "kl-succeeded"),
        ("d", "kl-failed"),
        ("e", "kl-terminating"),
        ("f", "kl-pending"),
    ]:
        assert re.search(rf'class="kl-pod {cls}"[^>]*>{name}</span>', out), name
    worker = out.split('data-node="local-worker"')[1].split("data-node=")[0]
    assert ">a</span>" in worker and ">b</span>" in worker and ">c</span>" not in worker
    assert "unscheduled" in out.split(">f</span>")[0].rsplit("kl-node", 1)[1]


def test_topology_widget_refreshes_from_a_callable() -> None:
    state = {"pods": PODS[:1]}
    widget = TopologyWidget(lambda: (NODES, state["pods"]), interval=0.05)
    try:
        assert ">a</span>" in widget.html.value and ">b</span>" not in widget.html.value
        state["pods"] = PODS[:2]
        assert wait_for(lambda: ">b</span>" in widget.html.value)
    finally:
        widget.close()


# ------------------------------------------------------------------------------------- explain_scheduling
def test_explain_scheduling_rows_and_summary() -> None:
    nodes = [NODES[0], node("local-worker"), node("local-worker2")]
    nodes[2]["status"]["conditions"][0]["status"] = "True"
    busy = [pod(f"busy{i}", "local-worker", cpu="1") for i in range(3)]
    df = explain_scheduling(pod("new"), nodes, busy)
    assert isinstance(df, pd.DataFrame)
    assert sorted(df["node"]) == ["local-control-plane", "local-worker", "local-worker2"]
    summary = df.attrs["summary"]
    assert summary.startswith("Scheduled on local-worker2")
    cp = df.set_index("node").loc["local-control-plane"]
    assert not cp["fits"] and cp["filter"] == "TaintToleration"
    assert bool(df.set_index("node").loc["local-worker2", "chosen"])
    shown = df._repr_html_()
    assert html.escape(summary) in shown and "<table" in shown
    assert summary in repr(df)


def test_progress_bar_tracks_a_rollout() -> None:
    from kubelab.notebook.progress import Progress, counts

    dep = {"kind": "Deployment", "spec": {"replicas": 3}, "status": {"availableReplicas": 2}}
    assert counts(dep) == (2, 3, "2/3 ready")
    assert counts({"kind": "Job", "spec": {"completions": 3}, "status": {"succeeded": 1}}) == (1, 3, "1/3 completed")
    p = Progress("deployment/web", enabled=True)
    p.update(*counts(dep))
    assert (p._bar.value, p._bar.max, p._label.value) == (2, 3, "2/3 ready")
    p.done(True, "Available")
    assert p._bar.value == 3 and p._bar.bar_style == "success"
    silent = Progress("x", enabled=False)  # outside a kernel: no widgets, updates are no-ops
    silent.update(1, 2, "1/2")
    assert silent._bar is None
