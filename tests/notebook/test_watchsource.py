"""The flow on a cluster without kubelab's trace bus: steps derived from watches and core/v1 Events.

The cluster here is an embedded one reached only through its kubeconfig (kubelab.connect), exactly as a kind or
AKS cluster would be: no trace bus is used.
"""

from __future__ import annotations

import time

import pytest


@pytest.fixture(scope="module")
def real_like(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    import kubelab
    from kubelab.backends.embedded import EmbeddedServer, ServerConfig
    from kubelab.kubeconfig import write_context

    d = tmp_path_factory.mktemp("watchflow")
    cfg = d / "kind.yml"
    cfg.write_text("kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n- role: control-plane\n"
                   "- role: worker\n")
    srv = EmbeddedServer(ServerConfig(name="wf", cluster_config=cfg)).start()
    kc = d / "kubeconfig"
    write_context(kc, "wf", srv.url, srv.pki.ca_cert_pem, srv.pki.admin_cert_pem, srv.pki.admin_key_pem)
    try:
        yield kubelab.connect(context="wf", kubeconfig=str(kc))
    finally:
        srv.stop()


def test_flow_from_watches_and_events(real_like) -> None:  # type: ignore[no-untyped-def]
    from kubelab.notebook.widgets import FlowModel
    from kubelab.notebook.widgets.watchsource import WatchTraceSource

    lab = real_like
    assert lab.server is None  # reached through the kubeconfig only, like a real cluster
    lab.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "flowns"}})
    source = WatchTraceSource(lab.api_client, namespace="flowns")
    try:
        assert source.wait_ready(20)  # every watch has listed: nothing after this is missed
        lab.apply({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "flowns"},
                   "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": {
                       "metadata": {"labels": {"app": "web"}},
                       "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}}}})
        lab.wait("deployment/web", condition="Available", timeout=30, namespace="flowns")
        model = FlowModel()
        deadline = time.monotonic() + 10
        labels: list[str] = []
        while time.monotonic() < deadline:
            model.extend(source.since(model.steps[-1].seq if model.steps else 0))
            labels = [s.label for s in model.steps]
            if sum("Started" in x for x in labels) >= 2:
                break
            time.sleep(0.2)
        comps = [s.component for s in model.steps]
        assert any(x.startswith("POST deployments web") for x in labels), (labels, source.since(0)[:12])
        assert "controller-manager/deployment" in comps and "controller-manager/replicaset" in comps
        assert any(s.component == "scheduler" and s.action == "bind" for s in model.steps), labels
        kubelet_actions = [s.action for s in model.steps if s.component.startswith("kubelet/")]
        assert {"pull", "create", "start"} <= set(kubelet_actions), labels
        assert "kubelet-wf-worker" in model.ids()  # the node learned from the events' source host
    finally:
        source.stop()


def test_cluster_flow_uses_watches_without_a_trace_bus(real_like) -> None:  # type: ignore[no-untyped-def]
    w = real_like.flow()
    try:
        assert w.diagram.value  # the graph rendered
    finally:
        w.close()
