"""Tests for kubelab.kubeconfig: merging, permissions, removal, locking, and what real kubectl makes of it."""

from __future__ import annotations

import base64
import logging
import os
import shutil
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

from kubelab import kubeconfig
from kubelab.apiserver.pki import ClusterPKI


@pytest.fixture(scope="module")
def pki() -> ClusterPKI:
    return ClusterPKI.generate()


def _kubectl() -> str:
    local = Path(sys.executable).parent / "kubectl"
    if local.exists():
        return str(local)
    found = shutil.which("kubectl")
    if not found:
        pytest.skip("kubectl not installed")
    return found


def _run_kubectl(*args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    proc = subprocess.run([_kubectl(), *args], capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


FOREIGN = {
    "apiVersion": "v1",
    "kind": "Config",
    "clusters": [
        {
            "name": "kind-dev",
            "cluster": {"server": "https://127.0.0.1:6443", "insecure-skip-tls-verify": True},
        }
    ],
    "users": [{"name": "kind-dev", "user": {"token": "foreign-token"}}],
    "contexts": [
        {"name": "kind-dev", "context": {"cluster": "kind-dev", "user": "kind-dev", "namespace": "apps"}}
    ],
    "current-context": "kind-dev",
    "preferences": {"colors": True},
    "extensions": [{"name": "x", "extension": {"a": 1}}],
}


def _write_foreign(path: Path, mode: int = 0o600) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(FOREIGN))
    path.chmod(mode)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# ---------------------------------------------------------------------------- default_path / read


def test_default_path_uses_first_kubeconfig_entry(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join(["", str(tmp_path / "a"), str(tmp_path / "b")]))
    assert kubeconfig.default_path() == tmp_path / "a"


def test_default_path_falls_back_to_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert kubeconfig.default_path() == tmp_path / ".kube" / "config"


def test_read_missing_and_empty(tmp_path: Path) -> None:
    assert kubeconfig.read(tmp_path / "nope")["contexts"] == []
    (tmp_path / "empty").write_text("")
    assert kubeconfig.read(tmp_path / "empty")["kind"] == "Config"
    (tmp_path / "nulls").write_text("clusters: null\ncontexts:\nusers: []\n")
    assert kubeconfig.read(tmp_path / "nulls")["clusters"] == []


def test_unreadable_file_is_not_overwritten(tmp_path: Path, pki: ClusterPKI) -> None:
    path = tmp_path / "config"
    path.write_text("- just\n- a list\n")
    with pytest.raises(ValueError, match="not a valid kubeconfig"):
        kubeconfig.write_context(path, "kubelab-local", "https://127.0.0.1:1", pki.ca_cert_pem)
    assert path.read_text() == "- just\n- a list\n"


# ---------------------------------------------------------------------------- write_context


def test_write_creates_file_and_dir_0600(tmp_path: Path, pki: ClusterPKI) -> None:
    path = tmp_path / "new" / "dir" / "config"
    written = kubeconfig.write_context(
        path, "kubelab-local", "https://127.0.0.1:1234", pki.ca_cert_pem,
        client_cert_pem=pki.admin_cert_pem, client_key_pem=pki.admin_key_pem, namespace="demo",
    )
    assert written == path.resolve()
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700
    cfg = kubeconfig.read(path)
    assert cfg["current-context"] == "kubelab-local"
    (cluster,) = cfg["clusters"]
    assert cluster["cluster"]["server"] == "https://127.0.0.1:1234"
    assert base64.b64decode(cluster["cluster"]["certificate-authority-data"]) == pki.ca_cert_pem
    (user,) = cfg["users"]
    assert base64.b64decode(user["user"]["client-certificate-data"]) == pki.admin_cert_pem
    assert base64.b64decode(user["user"]["client-key-data"]) == pki.admin_key_pem
    assert "token" not in user["user"]
    (ctx,) = cfg["contexts"]
    assert ctx["context"] == {"cluster": "kubelab-local", "user": "kubelab-local", "namespace": "demo"}
    # No leftovers: temp files or client-go's lock file.
    assert sorted(p.name for p in path.parent.iterdir()) == [".config.kubelab-lock", "config"]


def test_merge_keeps_foreign_entries(tmp_path: Path, pki: ClusterPKI) -> None:
    path = tmp_path / "config"
    _write_foreign(path)
    kubeconfig.write_context(path, "kubelab-local", "https://127.0.0.1:1", pki.ca_cert_pem, token="t0k")
    cfg = kubeconfig.read(path)
    assert [c["name"] for c in cfg["contexts"]] == ["kind-dev", "kubelab-local"]
    assert cfg["contexts"][0] == FOREIGN["contexts"][0]  # type: ignore[index]
    assert cfg["clusters"][0] == FOREIGN["clusters"][0]  # type: ignore[index]
    assert cfg["users"][0] == FOREIGN["users"][0]  # type: ignore[index]
    assert cfg["preferences"] == {"colors": True}
    assert cfg["extensions"] == FOREIGN["extensions"]
    assert cfg["current-context"] == "kubelab-local"
    assert cfg["users"][1]["user"] == {"token": "t0k"}


def test_set_current_false_keeps_current_context(tmp_path: Path, pki: ClusterPKI) -> None:
    path = tmp_path / "config"
    _write_foreign(path)
    kubeconfig.write_context(path, "kubelab-x", "https://127.0.0.1:1", pki.ca_cert_pem, set_current=False)
    assert kubeconfig.read(path)["current-context"] == "kind-dev"


def test_rewrite_replaces_in_place(tmp_path: Path, pki: ClusterPKI) -> None:
    path = tmp_path / "config"
    _write_foreign(path)
    kubeconfig.write_context(path, "kubelab-a", "https://127.0.0.1:1", pki.ca_cert_pem)
    kubeconfig.write_context(path, "kubelab-b", "https://127.0.0.1:2", pki.ca_cert_pem)
    kubeconfig.write_context(path, "kubelab-a", "https://127.0.0.1:3", pki.ca_cert_pem)
    cfg = kubeconfig.read(path)
    assert [c["name"] for c in cfg["clusters"]] == ["kind-dev", "kubelab-a", "kubelab-b"]
    assert cfg["clusters"][1]["cluster"]["server"] == "https://127.0.0.1:3"


def test_existing_loose_mode_is_tightened(
    tmp_path: Path, pki: ClusterPKI, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "config"
    _write_foreign(path, mode=0o644)
    with caplog.at_level(logging.WARNING, logger="kubelab.kubeconfig"):
        kubeconfig.write_context(path, "kubelab-local", "https://127.0.0.1:1", pki.ca_cert_pem)
    assert _mode(path) == 0o600
    assert "0600" in caplog.text


def test_symlinked_kubeconfig_keeps_link(tmp_path: Path, pki: ClusterPKI) -> None:
    real = tmp_path / "real" / "config"
    _write_foreign(real)
    link = tmp_path / "link-config"
    link.symlink_to(real)
    kubeconfig.write_context(link, "kubelab-local", "https://127.0.0.1:1", pki.ca_cert_pem)
    assert link.is_symlink()
    assert kubeconfig.context_names(real) == ["kind-dev", "kubelab-local"]


def test_cert_without_key_is_rejected(tmp_path: Path, pki: ClusterPKI) -> None:
    with pytest.raises(ValueError):
        kubeconfig.write_context(
            tmp_path / "c", "n", "https://127.0.0.1:1", pki.ca_cert_pem, client_cert_pem=pki.admin_cert_pem
        )


def test_concurrent_writers_lose_nothing(tmp_path: Path, pki: ClusterPKI) -> None:
    path = tmp_path / "config"
    _write_foreign(path)
    errors: list[BaseException] = []

    def writer(i: int) -> None:
        try:
            kubeconfig.write_context(path, f"kubelab-{i}", f"https://127.0.0.1:{1000 + i}", pki.ca_cert_pem)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    names = kubeconfig.context_names(path)
    assert sorted(names) == sorted(["kind-dev", *(f"kubelab-{i}" for i in range(16))])


def test_concurrent_processes_lose_nothing(tmp_path: Path, pki: ClusterPKI) -> None:
    path = tmp_path / "config"
    ca = tmp_path / "ca.crt"
    ca.write_bytes(pki.ca_cert_pem)
    code = (
        "import sys; from pathlib import Path; from kubelab import kubeconfig\n"
        "for j in range(5):\n"
        "    kubeconfig.write_context(sys.argv[1], f'kubelab-{sys.argv[2]}-{j}', 'https://127.0.0.1:1',"
        " Path(sys.argv[3]).read_bytes())\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(path), str(i), str(ca)]) for i in range(4)
    ]
    for p in procs:
        assert p.wait(timeout=60) == 0
    assert len(kubeconfig.context_names(path)) == 20
    assert _mode(path) == 0o600


# ---------------------------------------------------------------------------- remove_context


def test_remove_context(tmp_path: Path, pki: ClusterPKI) -> None:
    path = tmp_path / "config"
    _write_foreign(path)
    kubeconfig.write_context(path, "kubelab-local", "https://127.0.0.1:1", pki.ca_cert_pem, token="t")
    assert kubeconfig.remove_context(path, "kubelab-local") is True
    cfg = kubeconfig.read(path)
    assert [c["name"] for c in cfg["contexts"]] == ["kind-dev"]
    assert [c["name"] for c in cfg["clusters"]] == ["kind-dev"]
    assert [c["name"] for c in cfg["users"]] == ["kind-dev"]
    assert cfg["current-context"] == ""
    assert _mode(path) == 0o600
    assert kubeconfig.remove_context(path, "kubelab-local") is False


def test_remove_keeps_unrelated_current_context(tmp_path: Path, pki: ClusterPKI) -> None:
    path = tmp_path / "config"
    _write_foreign(path)
    kubeconfig.write_context(path, "kubelab-local", "https://127.0.0.1:1", pki.ca_cert_pem, set_current=False)
    kubeconfig.remove_context(path, "kubelab-local")
    assert kubeconfig.read(path)["current-context"] == "kind-dev"


def test_remove_from_missing_file(tmp_path: Path) -> None:
    assert kubeconfig.remove_context(tmp_path / "missing", "x") is False
    assert not (tmp_path / "missing").exists()


# ---------------------------------------------------------------------------- real kubectl


def test_kubectl_get_contexts_lists_it(tmp_path: Path, pki: ClusterPKI) -> None:
    path = tmp_path / "config"
    _write_foreign(path)
    kubeconfig.write_context(
        path, "kubelab-local", "https://127.0.0.1:4321", pki.ca_cert_pem,
        client_cert_pem=pki.admin_cert_pem, client_key_pem=pki.admin_key_pem,
    )
    out = _run_kubectl("config", "get-contexts", "--kubeconfig", str(path), "-o", "name")
    assert out.split() == ["kind-dev", "kubelab-local"]
    table = _run_kubectl("config", "get-contexts", "--kubeconfig", str(path))
    current = [line for line in table.splitlines() if line.startswith("*")]
    assert len(current) == 1 and "kubelab-local" in current[0]


def test_kubectl_view_minify_raw(tmp_path: Path, pki: ClusterPKI) -> None:
    path = tmp_path / "config"
    _write_foreign(path)
    kubeconfig.write_context(
        path, "kubelab-local", "https://127.0.0.1:4321", pki.ca_cert_pem,
        client_cert_pem=pki.admin_cert_pem, client_key_pem=pki.admin_key_pem, token="abc",
    )
    out = yaml.safe_load(_run_kubectl("config", "view", "--minify", "--raw", "--kubeconfig", str(path)))
    assert out["current-context"] == "kubelab-local"
    (cluster,) = out["clusters"]
    assert cluster["cluster"]["server"] == "https://127.0.0.1:4321"
    assert base64.b64decode(cluster["cluster"]["certificate-authority-data"]) == pki.ca_cert_pem
    (user,) = out["users"]
    assert base64.b64decode(user["user"]["client-key-data"]) == pki.admin_key_pem
    assert user["user"]["token"] == "abc"


def test_kubectl_can_still_modify_after_us(tmp_path: Path, pki: ClusterPKI) -> None:
    """We leave no client-go lock file behind, so kubectl's own writes keep working."""
    path = tmp_path / "config"
    kubeconfig.write_context(path, "kubelab-local", "https://127.0.0.1:1", pki.ca_cert_pem)
    _run_kubectl("config", "set-context", "other", "--cluster", "kubelab-local", "--kubeconfig", str(path))
    kubeconfig.write_context(path, "kubelab-two", "https://127.0.0.1:2", pki.ca_cert_pem)
    assert kubeconfig.context_names(path) == ["kubelab-local", "other", "kubelab-two"]
