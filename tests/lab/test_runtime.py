"""Runtimes through the lab layer: ``create_cluster(runtime=...)``, ``Cluster.runtime``, ``Cluster.crictl``, the
default with its note, and clean-up: ``delete_cluster()``, ``kubelab down``, interpreter exit and SIGTERM leave
no process of a process cluster behind (found by the cluster's marker: the nodes' directory)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import kubelab
from kubelab.backends import runtimes
from kubelab.backends.processes import find
from kubelab.lab import Cluster
from tests.helpers import wait_for

REPO = Path(kubelab.__file__).resolve().parent.parent
KUBECTL = str(Path(sys.executable).with_name("kubectl"))
SLEEPER = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "sleeper"},
           "spec": {"containers": [{"name": "c", "image": "busybox:1.36", "command": ["sleep", "3600"]}]}}
needs_process = pytest.mark.skipif(runtimes.process_unavailable_reason() is not None,
                                   reason=f"process runtime unavailable: {runtimes.process_unavailable_reason()}")


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    kc = tmp_path_factory.mktemp("sim") / "kubeconfig"
    c = kubelab.create_cluster(name="simrt", kubeconfig=kc, runtime="simulated")
    try:
        yield c
    finally:
        c.delete_cluster()


def test_runtime_property_and_crictl_on_a_simulated_cluster(simulated: Cluster) -> None:
    assert simulated.runtime == "simulated"
    out = wait_for(lambda: (o := simulated.crictl("simrt-control-plane", "ps")).count("\n") >= 5 and o, 30)
    names = {line.split()[-2] for line in out.splitlines()[1:]}
    assert {"etcd-simrt-control-plane", "kube-apiserver-simrt-control-plane"} <= names
    assert simulated.crictl("simrt-control-plane", "pods -q").count("\n") >= 5  # one string, split like a shell
    with pytest.raises(ValueError, match="no node named 'nope'"):
        simulated.crictl("nope", "ps")
    nodes = json.loads(simulated.kubectl("get nodes -o json"))["items"]
    assert nodes[0]["status"]["addresses"][0]["address"] == "172.18.0.2"  # kind's addresses when simulated


def test_crictl_on_a_connected_cluster_is_a_clear_error(simulated: Cluster) -> None:
    other = kubelab.connect(context=simulated.context, kubeconfig=simulated.kubeconfig)
    assert other.runtime is None
    with pytest.raises(NotImplementedError, match="cannot get onto its nodes"):
        other.crictl("simrt-control-plane", "ps")


def test_default_without_process_runtime_notes_why(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("KUBELAB_RUNTIME", raising=False)
    monkeypatch.setattr(runtimes, "process_unavailable_reason", lambda: "proot is missing")
    c = kubelab.create_cluster(name="noterun", kubeconfig=tmp_path / "kubeconfig")
    try:
        assert c.runtime == "simulated"
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "proot is missing" in err
    finally:
        c.delete_cluster()


@needs_process
def test_delete_cluster_ends_every_process(tmp_path: Path) -> None:
    c = kubelab.create_cluster(name="procrt", kubeconfig=tmp_path / "kubeconfig", runtime="process")
    try:
        assert c.runtime == "process"
        c.apply(SLEEPER)
        c.wait("pod/sleeper", timeout=60)
        marker = c.server.control_plane.marker
        assert wait_for(lambda: find(marker), 30)
        assert "sleeper" in c.crictl("procrt-control-plane", "ps")  # one node, untainted: the pod runs there
    finally:
        c.delete_cluster()
    assert find(marker) == []


SCRIPT = """
import sys, time
import kubelab
c = kubelab.create_cluster(name="exiting", kubeconfig=sys.argv[1], runtime="process")
c.apply({pod!r})
c.wait("pod/sleeper", timeout=60)
print(c.server.control_plane.marker, flush=True)
if sys.argv[2] == "wait":
    time.sleep(600)
sys.stdin.readline()  # "exit": end once the test has seen the processes
"""


@needs_process
@pytest.mark.parametrize("how", ["exit", "sigterm"])
def test_interpreter_exit_and_sigterm_end_every_process(tmp_path: Path, how: str) -> None:
    script = textwrap.dedent(SCRIPT.format(pod=SLEEPER))
    proc = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "kubeconfig"),
                             "wait" if how == "sigterm" else "exit"], stdout=subprocess.PIPE, text=True,
                            stdin=subprocess.PIPE, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.stdout is not None
    marker = proc.stdout.readline().strip()
    try:
        assert marker and find(marker)
        if how == "sigterm":
            proc.send_signal(signal.SIGTERM)
        else:
            assert proc.stdin is not None
            proc.stdin.write("\n")
            proc.stdin.flush()
        assert proc.wait(60) in (0, -signal.SIGTERM)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert wait_for(lambda: find(marker) == [], 30), find(marker)


@needs_process
def test_kubelab_down_ends_every_process(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBE", "PYTHON"))}
    env.update(HOME=str(tmp_path), KUBECONFIG=str(tmp_path / ".kube" / "config"),
               KUBELAB_HOME=str(tmp_path / ".kubelab"), PYTHONPATH=str(REPO))

    def kubelab_cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "kubelab", *args], capture_output=True, text=True, env=env,
                              timeout=90, cwd=tmp_path)

    up = kubelab_cli("up", "--detach", "--name", "downrt", "--runtime", "process")
    assert up.returncode == 0, up.stderr
    try:
        state = json.loads((tmp_path / ".kubelab" / "clusters" / "downrt.json").read_text())
        assert state["runtime"] == "process" and state["marker"]
        run = subprocess.run([KUBECTL, "--context", "kubelab-downrt", "run", "sleeper", "--image=busybox:1.36",
                              "--", "sleep", "3600"], capture_output=True, text=True, env=env, timeout=60)
        assert run.returncode == 0, run.stderr
        assert wait_for(lambda: find(state["marker"]), 60)
    finally:
        down = kubelab_cli("down", "--name", "downrt")
    assert down.returncode == 0, down.stderr
    assert find(state["marker"]) == []
