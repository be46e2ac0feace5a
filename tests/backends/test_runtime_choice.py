"""Choosing a cluster's runtime and what follows from it: loopback addressing for the process runtime (kind's
10.244/10.96/172.18 kept for the simulated one), refusal to serve a process cluster beyond loopback, and the
lab default with its note. The addresses are judged by real kubectl against a bare API server."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator

import pytest
from cryptography import x509

from kubelab.backends import kindconfig, runtimes
from kubelab.backends.embedded import EmbeddedServer, ServerConfig
from tests.conftest import Cluster

THREE = {"kind": "Cluster", "apiVersion": "kind.x-k8s.io/v1alpha4",
         "nodes": [{"role": "control-plane"}, {"role": "worker"}, {"role": "worker"}]}


def test_process_plan_lives_in_loopback() -> None:
    plan = kindconfig.plan(THREE, "local", runtime="process")
    assert [(n.name, n.internal_ip, n.pod_cidr) for n in plan.nodes] == [
        ("local-control-plane", "127.18.0.2", "127.244.0.0/24"), ("local-worker", "127.18.0.3", "127.244.1.0/24"),
        ("local-worker2", "127.18.0.4", "127.244.2.0/24")]
    assert (plan.pod_subnet, plan.service_subnet, plan.runtime) == ("127.244.0.0/16", "127.96.0.0/16", "process")
    assert (plan.service_ip(1), plan.service_ip(10)) == ("127.96.0.1", "127.96.0.10")


def test_simulated_plan_keeps_kinds_addresses() -> None:
    plan = kindconfig.plan(THREE, "local")
    assert [n.internal_ip for n in plan.nodes] == ["172.18.0.2", "172.18.0.3", "172.18.0.4"]
    assert (plan.pod_subnet, plan.service_subnet, plan.service_ip(1)) == ("10.244.0.0/16", "10.96.0.0/16",
                                                                          "10.96.0.1")


def test_process_plan_takes_loopback_subnets_and_refuses_others() -> None:
    doc = dict(THREE, networking={"podSubnet": "127.50.0.0/16", "serviceSubnet": "127.60.0.0/20"})
    plan = kindconfig.plan(doc, "x", runtime="process")
    assert plan.nodes[1].pod_cidr == "127.50.1.0/24" and plan.service_ip(1) == "127.60.0.1"
    with pytest.raises(kindconfig.ConfigError, match=r"networking.podSubnet 10.244.0.0/16 is outside 127.0.0.0/8"):
        kindconfig.plan(dict(THREE, networking={"podSubnet": "10.244.0.0/16"}), "x", runtime="process")
    with pytest.raises(kindconfig.ConfigError, match="unknown runtime 'docker'"):
        kindconfig.plan(THREE, "x", runtime="docker")


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::"])
def test_process_runtime_refuses_to_serve_beyond_loopback(host: str) -> None:
    with pytest.raises(ValueError, match="the process runtime needs the API server on a loopback address"):
        EmbeddedServer(ServerConfig(host=host, runtime="process"))
    EmbeddedServer(ServerConfig(host=host, runtime="simulated", control_plane=False))  # fine when simulated


def test_choose_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    notes: list[str] = []
    monkeypatch.delenv("KUBELAB_RUNTIME", raising=False)
    monkeypatch.setattr(runtimes, "process_unavailable_reason", lambda: "proot is not installed (apt install proot)")
    assert runtimes.choose_runtime(None, notes.append) == "simulated"
    assert len(notes) == 1 and "proot is not installed (apt install proot)" in notes[0] and "\n" not in notes[0]
    assert runtimes.choose_runtime("simulated", notes.append) == "simulated" and len(notes) == 1
    with pytest.raises(ValueError, match="the process runtime cannot run here: proot is not installed"):
        runtimes.choose_runtime("process")
    with pytest.raises(ValueError, match="unknown runtime 'vm'"):
        runtimes.choose_runtime("vm")
    monkeypatch.setenv("KUBELAB_RUNTIME", "simulated")
    assert runtimes.choose_runtime(None, notes.append) == "simulated" and len(notes) == 1
    monkeypatch.delenv("KUBELAB_RUNTIME")
    monkeypatch.setattr(runtimes, "process_unavailable_reason", lambda: None)
    assert runtimes.choose_runtime(None, notes.append) == "process" and len(notes) == 1


@pytest.fixture(scope="module")
def loopback_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A bare API server planned for the process runtime (no kubelets: the addresses are the point here)."""
    from kubelab.kubeconfig import write_context

    d = tmp_path_factory.mktemp("loopback")
    srv = EmbeddedServer(ServerConfig(name="lo", runtime="process", control_plane=False)).start()
    kc = d / "kubeconfig"
    write_context(kc, "kubelab-lo", srv.url, srv.pki.ca_cert_pem, srv.pki.admin_cert_pem, srv.pki.admin_key_pem)
    try:
        yield Cluster(srv, kc, "kubelab-lo")
    finally:
        srv.stop()


def test_services_get_loopback_cluster_ips(loopback_api: Cluster) -> None:
    get = json.loads(loopback_api.kubectl("get", "svc", "-A", "-o", "json").stdout)
    ips = {(s["metadata"]["namespace"], s["metadata"]["name"]): s["spec"]["clusterIP"] for s in get["items"]}
    assert ips[("default", "kubernetes")] == "127.96.0.1"
    assert ips[("kube-system", "kube-dns")] == "127.96.0.10"
    loopback_api.kubectl("create", "service", "clusterip", "web", "--tcp=80:8080")
    web = json.loads(loopback_api.kubectl("get", "svc", "web", "-o", "json").stdout)
    assert web["spec"]["clusterIP"].startswith("127.96.")
    bad = loopback_api.kubectl("create", "service", "clusterip", "odd", "--tcp=80:8080", "--clusterip=10.96.0.50",
                               check=False)
    assert bad.returncode != 0 and "the provided network does not match the current range" in bad.stderr


def test_serving_certificate_names_the_kubernetes_service_ip(loopback_api: Cluster) -> None:
    srv = loopback_api.server
    cert = x509.load_pem_x509_certificate(srv.pki.server_cert_pem)  # type: ignore[attr-defined]
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "127.96.0.1" in [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)]
    assert isinstance(srv.pki.server_ssl_context(), ssl.SSLContext)  # type: ignore[attr-defined]
