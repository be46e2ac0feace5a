"""Tests for the ``kubelab`` command line.

Three layers:
- in-process unit tests with ``FakeServer`` (parsing, state files, locks, kubeconfig, signal handling);
- subprocess tests of ``kubelab up --detach`` / ``status`` / ``down`` where the child process gets
  ``FakeServer`` through a generated ``sitecustomize`` (so the CLI's process handling is tested without the
  real backend);
- the end-to-end test against the real embedded backend with real kubectl.

``FakeServer`` is a small HTTPS server built on the cluster PKI: it answers ``/readyz`` and ``/version`` to a
client that presents a cluster client certificate or the admin bearer token, and 401 otherwise.
"""

from __future__ import annotations

import argparse
import http.server
import importlib.util
import json
import os
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import kubelab
from kubelab import cli, kubeconfig
from kubelab.apiserver.pki import ClusterPKI

REPO_ROOT = Path(kubelab.__file__).resolve().parent.parent
FAIL_MARKER = "fail-to-start"
FAKE_VERSION = {
    "major": "1", "minor": "37", "gitVersion": "v1.37.0-fake", "gitCommit": "fake", "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z", "goVersion": "none", "compiler": "none", "platform": "linux/amd64",
}

# ------------------------------------------------------------------------------------ fake backend


@dataclass
class FakeConfig:
    name: str = "local"
    host: str = "127.0.0.1"
    port: int = 0
    cluster_config: Path | None = None


class FakeServer:
    """Stands in for kubelab.backends.embedded.EmbeddedServer (same public interface)."""

    instances: list[FakeServer] = []

    def __init__(self, config: FakeConfig) -> None:
        self.config = config
        self.pki = ClusterPKI.generate()
        self.token = secrets.token_urlsafe(16)
        self.port = 0
        self.started = False
        self._stopped = threading.Event()
        self._httpd: http.server.ThreadingHTTPServer | None = None
        FakeServer.instances.append(self)

    @property
    def url(self) -> str:
        return f"https://{self.config.host}:{self.port}"

    def start(self) -> FakeServer:
        cfg = self.config.cluster_config
        if cfg is not None and FAIL_MARKER in Path(cfg).read_text():
            raise RuntimeError(f"boom: {FAIL_MARKER} requested by {cfg}")
        token = self.token

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                peer = self.connection.getpeercert()  # type: ignore[attr-defined]
                if not (ClusterPKI.identity_from_peercert(peer)
                        or self.headers.get("Authorization") == f"Bearer {token}"):
                    self.send_response(401)
                    self.end_headers()
                    return
                if self.path.startswith("/readyz"):
                    body = b"ok"
                else:
                    body = json.dumps(FAKE_VERSION).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        httpd = http.server.ThreadingHTTPServer((self.config.host, self.config.port), Handler)
        httpd.daemon_threads = True
        httpd.socket = self.pki.server_ssl_context().wrap_socket(httpd.socket, server_side=True)
        self._httpd = httpd
        self.port = httpd.server_address[1]
        threading.Thread(target=self._serve, daemon=True).start()
        self.started = True
        print(f"fake server started; cluster_config={cfg}", flush=True)
        return self

    def _serve(self) -> None:
        assert self._httpd is not None
        self._httpd.serve_forever(poll_interval=0.05)
        self._httpd.server_close()
        self._stopped.set()

    def stop(self) -> None:
        if self._httpd is not None and not self._stopped.is_set():
            self._httpd.shutdown()
            self._stopped.wait(5)
        self._stopped.set()

    def wait(self) -> None:
        self._stopped.wait()


def install_fake_backend() -> None:
    """Make ``kubelab.backends.embedded`` resolve to the fakes (called from the generated sitecustomize)."""
    mod = types.ModuleType("kubelab.backends.embedded")
    mod.EmbeddedServer = FakeServer  # type: ignore[attr-defined]
    mod.ServerConfig = FakeConfig  # type: ignore[attr-defined]
    sys.modules["kubelab.backends.embedded"] = mod


# ---------------------------------------------------------------------------------------- fixtures


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An isolated HOME, KUBECONFIG and KUBELAB_HOME."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("KUBELAB_HOME", str(tmp_path / "kubelab-home"))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kube" / "config"))
    return tmp_path


@pytest.fixture()
def fake_backend(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[FakeServer]]:
    FakeServer.instances = []
    monkeypatch.setattr(cli, "load_backend", lambda: (FakeServer, FakeConfig))
    yield FakeServer.instances
    for srv in FakeServer.instances:
        srv.stop()


def _kubectl() -> str:
    local = Path(sys.executable).parent / "kubectl"
    if local.exists():
        return str(local)
    found = shutil.which("kubectl")
    if not found:
        pytest.skip("kubectl not installed")
    return found


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# ----------------------------------------------------------------------------------------- parsing


def test_parser_defaults() -> None:
    p = cli.build_parser()
    a = p.parse_args(["up"])
    got = (a.name, a.config, a.port, a.kubeconfig, a.data_dir, a.detach)
    assert got == ("local", None, 0, None, None, False)
    a = p.parse_args(["up", "--name", "x", "--config", "c.yml", "--port", "6443", "--kubeconfig", "k",
                      "--data-dir", "d", "--detach"])
    got = (a.name, a.config, a.port, a.kubeconfig, a.data_dir, a.detach)
    assert got == ("x", "c.yml", 6443, "k", "d", True)
    assert p.parse_args(["down"]).name == "local"
    assert p.parse_args(["down", "--name", "x"]).name == "x"
    assert p.parse_args(["status"]).func is cli.cmd_status
    assert p.parse_args(["lab"]).func is cli.cmd_lab


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main([])
    assert exc.value.code == 2


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    assert kubelab.__version__ in capsys.readouterr().out


@pytest.mark.parametrize("name", ["Bad", "a/b", "../x", "-x", "x-", "", "a" * 64])
def test_invalid_names_are_rejected(home: Path, name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["up", f"--name={name}"]) == 2
    assert "invalid cluster name" in capsys.readouterr().err
    assert cli.main(["down", f"--name={name}"]) == 2


def test_missing_config_file(
    home: Path, fake_backend: list[FakeServer], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["up", "--config", str(home / "nope.yml")]) == 2
    assert "nope.yml: no such file" in capsys.readouterr().err
    assert fake_backend == []


def test_bad_port(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["up", "--port", "70000"]) == 2
    assert "--port" in capsys.readouterr().err


# ------------------------------------------------------------------------------------- state files


def _state(name: str = "alpha", pid: int | None = None) -> cli.ClusterState:
    return cli.ClusterState(name=name, pid=pid if pid is not None else os.getpid(), url="https://127.0.0.1:1",
                            kubeconfig="/tmp/kc", context=f"kubelab-{name}", started="2026-01-01T00:00:00Z",
                            ca_cert_pem="", token="secret")


def test_state_file_roundtrip_and_modes(home: Path) -> None:
    path = cli.write_state(_state())
    assert path == home / "kubelab-home" / "clusters" / "alpha.json"
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700
    assert _mode(path.parent.parent) == 0o700
    assert cli.read_state("alpha") == _state()
    assert [s.name for s in cli.list_states()] == ["alpha"]
    cli.remove_state("alpha", pid=os.getpid() + 1)  # not ours: kept
    assert cli.read_state("alpha") is not None
    cli.remove_state("alpha", pid=os.getpid())
    assert cli.read_state("alpha") is None
    assert cli.list_states() == []


def test_kubelab_home_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("KUBELAB_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cli.kubelab_home() == tmp_path / ".kubelab"


def test_corrupt_state_file_is_ignored(home: Path) -> None:
    d = cli.clusters_dir(create=True)
    (d / "broken.json").write_text("{not json")
    assert cli.read_state("broken") is None
    assert cli.list_states() == []


def test_cluster_lock(home: Path) -> None:
    assert cli.lock_held("alpha") is False
    with cli.hold_cluster_lock("alpha") as first:
        assert first is True
        assert cli.lock_held("alpha") is True
        with cli.hold_cluster_lock("alpha", wait=0.1) as second:
            assert second is False
    assert cli.lock_held("alpha") is False


# ----------------------------------------------------------------------------------- status / down


def test_status_empty(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["status"]) == 0
    assert "No kubelab clusters" in capsys.readouterr().out


def test_status_table_running_and_stale(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cli.write_state(_state("alive"))
    cli.write_state(_state("gone", pid=_dead_pid()))
    with cli.hold_cluster_lock("alive"):
        assert cli.main(["status"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "URL", "CONTEXT", "PID"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["alive"][1:4] == ["running", "https://127.0.0.1:1", "kubelab-alive"]
    assert rows["gone"][1] == "stale"


def test_down_unknown(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["down", "--name", "nothere"]) == 1
    assert "no cluster named 'nothere'" in capsys.readouterr().err


def test_down_stale_cleans_up_without_signalling(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    kc = home / "kube" / "config"
    pki = ClusterPKI.generate()
    kubeconfig.write_context(kc, "kubelab-old", "https://127.0.0.1:1", pki.ca_cert_pem)
    kubeconfig.write_context(kc, "other", "https://127.0.0.1:2", pki.ca_cert_pem, set_current=False)
    state = _state("old", pid=os.getpid())  # a live pid that is NOT a kubelab server (lock not held)
    state.kubeconfig = str(kc)
    cli.write_state(state)
    signalled: list[int] = []
    monkeypatch.setattr(cli.os, "kill", lambda pid, sig: signalled.append(sig))
    assert cli.main(["down", "--name", "old"]) == 0
    assert signal.SIGTERM not in signalled and signal.SIGKILL not in signalled
    assert "stale" in capsys.readouterr().out
    assert cli.read_state("old") is None
    assert kubeconfig.context_names(kc) == ["other"]


# ----------------------------------------------------------------------------------- foreground up


def _wait_for(predicate: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_up_foreground_until_sigterm(
    home: Path, fake_backend: list[FakeServer], capsys: pytest.CaptureFixture[str]
) -> None:
    kc = home / "kube" / "config"
    pki = ClusterPKI.generate()
    kubeconfig.write_context(kc, "kind-dev", "https://127.0.0.1:6443", pki.ca_cert_pem)
    cfg = home / "clusters.yml"
    cfg.write_text("kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\n")
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    seen: dict[str, Any] = {}

    def observer() -> None:
        if _wait_for(lambda: cli.read_state("unit") is not None):
            seen["state"] = cli.read_state("unit")
            seen["contexts"] = kubeconfig.context_names(kc)
            seen["current"] = kubeconfig.read(kc)["current-context"]
            seen["running"] = cli.is_running(seen["state"])
            seen["ready"] = cli.probe_ready(seen["state"].url, seen["state"].ca_cert_pem, seen["state"].token)
            seen["unauthenticated"] = cli.probe_ready(seen["state"].url, seen["state"].ca_cert_pem, "")
        os.kill(os.getpid(), signal.SIGTERM)

    t = threading.Thread(target=observer)
    t.start()
    rc = cli.main(["up", "--name", "unit", "--config", str(cfg), "--data-dir", str(home / "data")])
    t.join()
    assert rc == 0
    out, err = capsys.readouterr()
    assert "--data-dir holds the nodes' directories; the API state is still kept in memory" in err
    (srv,) = fake_backend
    assert srv.config.cluster_config == cfg.resolve()
    assert srv.config.host == "127.0.0.1"
    state = seen["state"]
    assert state.pid == os.getpid() and state.url == srv.url and state.context == "kubelab-unit"
    assert state.kubeconfig == str(kc) and state.token == srv.token
    assert seen["contexts"] == ["kind-dev", "kubelab-unit"] and seen["current"] == "kubelab-unit"
    assert seen["running"] and seen["ready"] and not seen["unauthenticated"]
    assert f"Cluster 'unit' is running at {srv.url}" in out
    assert "kubectl --context kubelab-unit get nodes" in out
    # Cleaned up: server stopped, context and state removed, foreign context kept, handlers restored.
    assert srv._stopped.is_set()
    assert cli.read_state("unit") is None
    assert kubeconfig.context_names(kc) == ["kind-dev"]
    assert kubeconfig.read(kc)["current-context"] == ""
    assert {sig: signal.getsignal(sig) for sig in before} == before


def test_up_foreground_writes_client_cert_context(
    home: Path, fake_backend: list[FakeServer], capsys: pytest.CaptureFixture[str]
) -> None:
    kc = home / "custom" / "kc"
    stop = threading.Event()
    users: list[dict[str, Any]] = []

    def observer() -> None:
        _wait_for(lambda: cli.read_state("local") is not None)
        users.extend(kubeconfig.read(kc)["users"])
        stop.set()

    t = threading.Thread(target=observer)
    t.start()
    args = cli.build_parser().parse_args(["up", "--kubeconfig", str(kc)])
    assert cli._check_up_args(args) is None
    assert cli._up_foreground(args, stop=stop) == 0
    t.join()
    (srv,) = fake_backend
    (user,) = users
    import base64

    assert base64.b64decode(user["user"]["client-certificate-data"]) == srv.pki.admin_cert_pem
    assert base64.b64decode(user["user"]["client-key-data"]) == srv.pki.admin_key_pem
    assert _mode(kc) == 0o600
    assert f"--kubeconfig {kc}" in capsys.readouterr().out


def test_up_returns_when_server_stops_by_itself(home: Path, fake_backend: list[FakeServer]) -> None:
    def stopper() -> None:
        _wait_for(lambda: cli.read_state("self") is not None)
        fake_backend[0].stop()

    t = threading.Thread(target=stopper)
    t.start()
    assert cli.main(["up", "--name", "self"]) == 0
    t.join()
    assert cli.read_state("self") is None
    assert "kubelab-self" not in kubeconfig.context_names(kubeconfig.default_path())


def test_up_refuses_when_already_running(
    home: Path, fake_backend: list[FakeServer], capsys: pytest.CaptureFixture[str]
) -> None:
    cli.write_state(_state("busy"))
    with cli.hold_cluster_lock("busy"):
        assert cli.main(["up", "--name", "busy"]) == 1
    assert "cluster 'busy' is already running at https://127.0.0.1:1" in capsys.readouterr().err
    assert fake_backend == []
    assert cli.read_state("busy") == _state("busy")  # untouched


def test_up_replaces_stale_state(home: Path, fake_backend: list[FakeServer]) -> None:
    cli.write_state(_state("old", pid=_dead_pid()))
    stop = threading.Event()

    def observer() -> None:
        _wait_for(lambda: (s := cli.read_state("old")) is not None and s.pid == os.getpid())
        stop.set()

    t = threading.Thread(target=observer)
    t.start()
    args = cli.build_parser().parse_args(["up", "--name", "old"])
    assert cli._check_up_args(args) is None
    assert cli._up_foreground(args, stop=stop) == 0
    t.join()
    assert cli.read_state("old") is None


def test_up_start_failure(
    home: Path, fake_backend: list[FakeServer], capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = home / "bad.yml"
    cfg.write_text(FAIL_MARKER)
    assert cli.main(["up", "--name", "broken", "--config", str(cfg)]) == 1
    assert "cluster 'broken' failed to start: boom" in capsys.readouterr().err
    assert cli.read_state("broken") is None
    assert not kubeconfig.default_path().exists()


def test_up_with_unreadable_kubeconfig(
    home: Path, fake_backend: list[FakeServer], capsys: pytest.CaptureFixture[str]
) -> None:
    kc = kubeconfig.default_path()
    kc.parent.mkdir(parents=True)
    kc.write_text("- not\n- a mapping\n")
    assert cli.main(["up"]) == 1
    assert "could not write the kubeconfig" in capsys.readouterr().err
    assert kc.read_text() == "- not\n- a mapping\n"
    assert cli.read_state("local") is None
    assert fake_backend[0]._stopped.is_set()


def test_child_argv_is_an_argv_list(home: Path) -> None:
    args = argparse.Namespace(name="x", port=0, kubeconfig="/k c/config", config="/a b/c.yml", data_dir=None)
    argv = cli._child_argv(args)
    assert argv[:4] == [sys.executable, "-m", "kubelab", "up"]
    assert "--detach" not in argv
    assert argv[argv.index("--kubeconfig") + 1] == "/k c/config"
    assert argv[argv.index("--config") + 1] == "/a b/c.yml"


def test_lab_without_jupyterlab(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(cli.importlib.util, "find_spec",
                        lambda name, *a: None if name == "jupyterlab" else real(name, *a))
    assert cli.main(["lab"]) == 1
    assert "JupyterLab is not installed" in capsys.readouterr().err


def test_lab_opens_the_first_lesson_rooted_beside_the_exercises(monkeypatch: pytest.MonkeyPatch,
                                                                 tmp_path: Path) -> None:
    if importlib.util.find_spec("jupyterlab") is None:
        pytest.skip("JupyterLab is not installed")
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "01-architecture.ipynb").write_text("{}")
    monkeypatch.chdir(tmp_path)
    calls: list[list[str]] = []

    def call(argv: list[str]) -> int:
        calls.append(argv)
        return 0

    monkeypatch.setattr(cli.subprocess, "call", call)
    assert cli.main(["lab"]) == 0
    argv = calls[0]
    assert argv[1:3] == ["-m", "jupyterlab"] and f"--ServerApp.root_dir={tmp_path}" in argv
    assert "--LabApp.default_url=/lab/tree/notebooks/01-architecture.ipynb" in argv
    assert "--ServerApp.ip=127.0.0.1" in argv


# ------------------------------------------------------------------------------------ subprocesses


def _env(home: Path, fake: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBE", "PYTHON"))}
    env.update(HOME=str(home), KUBECONFIG=str(home / ".kube" / "config"), KUBELAB_HOME=str(home / ".kubelab"))
    paths = [str(REPO_ROOT)]
    if fake:
        site = home / "fake-site"
        site.mkdir(exist_ok=True)
        (site / "sitecustomize.py").write_text(
            "import importlib.util, sys\n"
            "_spec = importlib.util.spec_from_file_location("
            f"'_kubelab_fake_backend', {str(Path(__file__))!r})\n"
            "_mod = importlib.util.module_from_spec(_spec)\n"
            "sys.modules['_kubelab_fake_backend'] = _mod\n"
            "_spec.loader.exec_module(_mod)\n"
            "_mod.install_fake_backend()\n"
        )
        paths.insert(0, str(site))
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def _kubelab(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kubelab", *args], capture_output=True, text=True, env=env,
                          timeout=timeout, cwd=env["HOME"])


def _kubectl_run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_kubectl(), *args], capture_output=True, text=True, env=env, timeout=60)


def _detach_roundtrip(home: Path, fake: bool) -> None:
    env = _env(home, fake)
    up = _kubelab(env, "up", "--detach", "--name", "test")
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        assert "Cluster 'test' is running at https://127.0.0.1:" in up.stdout
        assert "kubectl --context kubelab-test get nodes" in up.stdout
        state = json.loads((home / ".kubelab" / "clusters" / "test.json").read_text())
        assert _mode(home / ".kubelab" / "clusters" / "test.json") == 0o600
        assert _mode(home / ".kube" / "config") == 0o600

        version = _kubectl_run(env, "--context", "kubelab-test", "version", "-o", "json")
        assert version.returncode == 0, version.stderr
        assert json.loads(version.stdout)["serverVersion"]["major"] == "1"

        status = _kubelab(env, "status")
        assert status.returncode == 0
        row = [line.split() for line in status.stdout.splitlines() if line.startswith("test ")]
        assert row and row[0][1:] == ["running", state["url"], "kubelab-test", str(state["pid"])]

        again = _kubelab(env, "up", "--detach", "--name", "test")
        assert again.returncode == 1
        assert "already running" in again.stderr
    finally:
        down = _kubelab(env, "down", "--name", "test")
    assert down.returncode == 0, down.stderr
    assert "Cluster 'test' stopped." in down.stdout
    assert not cli.pid_alive(state["pid"])
    assert not (home / ".kubelab" / "clusters" / "test.json").exists()
    assert "kubelab-test" not in kubeconfig.context_names(home / ".kube" / "config")
    assert "No kubelab clusters" in _kubelab(env, "status").stdout
    assert _kubelab(env, "down", "--name", "test").returncode == 1


def test_detach_status_down_with_fake_backend(tmp_path: Path) -> None:
    _detach_roundtrip(tmp_path, fake=True)


def test_detach_reports_child_failure(tmp_path: Path) -> None:
    env = _env(tmp_path, fake=True)
    cfg = tmp_path / "bad.yml"
    cfg.write_text(FAIL_MARKER)
    up = _kubelab(env, "up", "--detach", "--name", "bad", "--config", str(cfg))
    assert up.returncode == 1
    assert "cluster 'bad' failed to start" in up.stderr
    assert "boom" in up.stderr  # the tail of the child's log
    assert not (tmp_path / ".kubelab" / "clusters" / "bad.json").exists()


@pytest.mark.skipif(importlib.util.find_spec("kubelab.backends.embedded") is None,
                    reason="kubelab.backends.embedded is not written yet")
def test_detach_kubectl_status_down_end_to_end(tmp_path: Path) -> None:
    """The real thing: kubelab up --detach, real kubectl through the written context, status, down."""
    _detach_roundtrip(tmp_path, fake=False)
