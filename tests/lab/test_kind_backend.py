"""The kind backend, with stand-ins: there is no Docker here, so ``kind`` and ``docker`` are small Python scripts
put first on PATH. The stand-in ``kind`` records its argv and, for ``create cluster``, writes a kubeconfig whose
``kind-<name>`` context points at an embedded API server started by the test, as the real kind would point it
at the node container. What is checked: the exact argv kubelab runs, that the cluster is then reached through
that context, and the error (and the ``auto`` fallback) when Docker or kind is missing."""

from __future__ import annotations

import json
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import kubelab
from kubelab.lab import BackendError

KIND = """\
#!{python}
import json, os, shutil, sys
args = sys.argv[1:]
with open(os.environ["FAKE_KIND_LOG"], "a") as fh:
    fh.write(json.dumps(args) + "\\n")
if args[:2] == ["create", "cluster"]:
    shutil.copyfile(os.environ["FAKE_KIND_KUBECONFIG"], args[args.index("--kubeconfig") + 1])
"""

DOCKER = """\
#!{python}
import sys
sys.exit(int(__import__("os").environ.get("FAKE_DOCKER_RC", "0")) if sys.argv[1:2] == ["info"] else 0)
"""


def _script(directory: Path, name: str, text: str) -> None:
    path = directory / name
    path.write_text(text.format(python=sys.executable))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.fixture(scope="module")
def server() -> Iterator[object]:
    from kubelab.backends.embedded import EmbeddedServer, ServerConfig

    srv = EmbeddedServer(ServerConfig(name="demo", control_plane=False)).start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def fake_bin(tmp_path: Path, server: object, monkeypatch: pytest.MonkeyPatch) -> Path:
    from kubelab.kubeconfig import write_context

    bindir = tmp_path / "bin"
    bindir.mkdir()
    _script(bindir, "kind", KIND)
    _script(bindir, "docker", DOCKER)
    template = tmp_path / "kind-kubeconfig"
    pki = server.pki  # type: ignore[attr-defined]
    write_context(template, "kind-demo", server.url, pki.ca_cert_pem, pki.admin_cert_pem,  # type: ignore[attr-defined]
                  pki.admin_key_pem)
    monkeypatch.setenv("FAKE_KIND_LOG", str(tmp_path / "kind.log"))
    monkeypatch.setenv("FAKE_KIND_KUBECONFIG", str(template))
    return bindir


def recorded(tmp_path: Path) -> list[list[str]]:
    return [json.loads(line) for line in (tmp_path / "kind.log").read_text().splitlines()]


def test_kind_create_runs_kind_and_connects_to_its_context(fake_bin: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", f"{fake_bin}:{__import__('os').environ['PATH']}")
    cfg = tmp_path / "clusters.yml"
    cfg.write_text("kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n- role: control-plane\n")
    kc = tmp_path / "home-kubeconfig"
    c = kubelab.create_cluster(name="demo", config=str(cfg), backend="kind", kubeconfig=kc)
    assert recorded(tmp_path) == [["create", "cluster", "--name", "demo", "--config", str(cfg.resolve()),
                                   "--kubeconfig", str(kc)]]
    assert (c.name, c.backend, c.context, c.kubeconfig) == ("demo", "kind", "kind-demo", kc)
    assert c.server is None
    assert "default" in list(c.get("namespaces")["NAME"])
    assert "namespace/kube-system" in c.kubectl("get namespaces -o name")
    c.delete_cluster()
    assert recorded(tmp_path)[-1] == ["delete", "cluster", "--name", "demo", "--kubeconfig", str(kc)]


def test_kind_without_docker_says_so_and_suggests_embedded(fake_bin: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    only_kind = tmp_path / "only-kind"
    only_kind.mkdir()
    (only_kind / "kind").symlink_to(fake_bin / "kind")
    monkeypatch.setenv("PATH", str(only_kind))
    with pytest.raises(BackendError) as info:
        kubelab.create_cluster(name="nodocker", backend="kind", kubeconfig=tmp_path / "kc")
    message = str(info.value)
    assert "Docker is not installed" in message and 'backend="embedded"' in message
    assert not (tmp_path / "kind.log").exists()  # kind was never run


def test_kind_missing_or_docker_down(fake_bin: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    only_docker = tmp_path / "only-docker"
    only_docker.mkdir()
    (only_docker / "docker").symlink_to(fake_bin / "docker")
    monkeypatch.setenv("PATH", str(only_docker))
    with pytest.raises(BackendError, match="`kind` binary is not on PATH"):
        kubelab.create_cluster(name="nokind", backend="kind", kubeconfig=tmp_path / "kc")
    monkeypatch.setenv("PATH", str(fake_bin))
    monkeypatch.setenv("FAKE_DOCKER_RC", "1")
    with pytest.raises(BackendError, match="Docker daemon is not reachable"):
        kubelab.create_cluster(name="down", backend="kind", kubeconfig=tmp_path / "kc")


def test_auto_falls_back_to_embedded_without_docker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # neither docker nor kind
    c = kubelab.create_cluster(name="auto", backend="auto", kubeconfig=tmp_path / "kc")
    try:
        assert c.backend == "embedded" and c.context == "kubelab-auto"
        assert c.kubectl("get namespaces -o name").count("namespace/") >= 1
    finally:
        c.delete_cluster()


def test_unknown_backend() -> None:
    with pytest.raises(ValueError, match="unknown backend"):
        kubelab.create_cluster(name="x", backend="minikube")
