"""kubectl exec, attach and port-forward against the embedded API server, judged by real kubectl 1.37 and the
official Python client. The worker's runtime streams through host processes (tests/e2e/streaming_double.py);
the control-plane node keeps the plain simulated runtime, whose refusal must read clearly."""

from __future__ import annotations

import http.server
import json
import os
import socket
import socketserver
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pexpect
import pytest

from tests.conftest import KUBECTL
from tests.e2e.streaming_double import swap_in
from tests.helpers import eventually

KIND = """kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
- role: control-plane
- role: worker
"""
WORKER, CONTROL = "sx-worker", "sx-control-plane"


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"hello from the pod: " + self.path.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(65536):
            self.request.sendall(data)


@dataclass
class Lab:
    kubeconfig: Path
    server: Any
    stream_cfg: dict[str, Any]

    def argv(self, *args: str) -> list[str]:
        return [KUBECTL, "--kubeconfig", str(self.kubeconfig), "--context", "kubelab-sx", *args]

    def kubectl(self, *args: str, input: str | None = None, check: bool = True,
                timeout: float = 30) -> subprocess.CompletedProcess[str]:
        p = subprocess.run(self.argv(*args), input=input, capture_output=True, text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
        return p


def _serve(server: socketserver.BaseServer) -> None:
    threading.Thread(target=server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    from kubelab.backends.embedded import EmbeddedServer, ServerConfig
    from kubelab.kubeconfig import write_context

    web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    echo = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    echo.daemon_threads = True
    _serve(web)
    _serve(echo)
    d = tmp_path_factory.mktemp("streaming")
    (d / "kind.yaml").write_text(KIND)
    srv = EmbeddedServer(ServerConfig(name="sx", control_plane=True, cluster_config=d / "kind.yaml")).start()
    kc = d / "kubeconfig"
    write_context(kc, "kubelab-sx", srv.url, srv.pki.ca_cert_pem, srv.pki.admin_cert_pem, srv.pki.admin_key_pem)
    assert srv.control_plane is not None
    cfg = swap_in(srv.control_plane.kubelets[WORKER].runtime,
                  {80: web.server_address[1], 7777: echo.server_address[1]})
    lab = Lab(kc, srv, cfg)
    for name, node, containers in (("web", WORKER, ["main", "side"]), ("sim", CONTROL, ["main"])):
        lab.kubectl("apply", "-f", "-", input=json.dumps(_pod(name, node, containers)))
    for name in ("web", "sim"):
        eventually(lambda name=name: "Running" in lab.kubectl("get", "pod", name).stdout)  # type: ignore[misc]
    try:
        yield lab
    finally:
        srv.stop()
        web.shutdown()
        echo.shutdown()


def _pod(name: str, node: str, containers: list[str], image: str = "busybox") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {
        "nodeName": node,
        "containers": [{"name": c, "image": image, "command": ["sleep", "3600"], "stdin": True} for c in containers]}}


# ------------------------------------------------------------------------------------------------ exec
def test_exec_prints_output_and_picks_the_first_container(lab: Lab) -> None:
    p = lab.kubectl("exec", "web", "--", "sh", "-c", "echo hi; echo to-stderr >&2; echo $CONTAINER")
    assert p.stdout == "hi\nmain\n"
    assert "to-stderr" in p.stderr
    assert 'Defaulted container "main" out of: main, side' in p.stderr


def test_exec_exit_code_propagates(lab: Lab) -> None:
    p = lab.kubectl("exec", "web", "-c", "main", "--", "sh", "-c", "exit 3", check=False)
    assert p.returncode == 3
    assert "command terminated with exit code 3" in p.stderr


def test_exec_in_a_chosen_container(lab: Lab) -> None:
    assert lab.kubectl("exec", "web", "-c", "side", "--", "sh", "-c", "echo $CONTAINER").stdout == "side\n"
    assert lab.stream_cfg["calls"][-1][0] == "side"


def test_exec_with_stdin_sees_its_end(lab: Lab) -> None:
    data = "".join(f"line {i}\n" for i in range(2000))
    p = lab.kubectl("exec", "-i", "web", "-c", "main", "--", "sh", "-c", "cat; echo done", input=data)
    assert p.stdout == data + "done\n"


def test_exec_interactive_tty_with_resize(lab: Lab) -> None:
    child = pexpect.spawn(KUBECTL, lab.argv("exec", "-it", "web", "-c", "main", "--", "sh")[1:], timeout=15,
                          dimensions=(30, 100), encoding="utf-8")
    try:
        child.expect_exact("$ ")
        child.sendline("echo $((6*7))")
        child.expect_exact("42")
        child.expect_exact("$ ")
        child.sendline("stty size")
        child.expect(r"30 100")
        child.setwinsize(40, 120)  # SIGWINCH: kubectl sends a resize message on channel 4
        time.sleep(0.5)
        child.sendline("stty size")
        child.expect(r"40 120")
        child.sendline("exit 4")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 4
    session = lab.stream_cfg["sessions"][-1]
    assert (100, 30) in session.sizes and (120, 40) in session.sizes


def test_official_client_exec(lab: Lab) -> None:
    from kubernetes import client, config
    from kubernetes.stream import stream

    api = client.CoreV1Api(config.new_client_from_config(config_file=str(lab.kubeconfig), context="kubelab-sx"))
    out = stream(api.connect_get_namespaced_pod_exec, "web", "default", container="side",
                 command=["sh", "-c", "echo from $CONTAINER"], stderr=True, stdin=False, stdout=True, tty=False)
    assert out == "from side\n"
    resp = stream(api.connect_get_namespaced_pod_exec, "web", "default", container="main",
                  command=["sh", "-c", "read x; echo got $x; exit 7"], stderr=True, stdin=True, stdout=True,
                  tty=False, _preload_content=False)
    resp.write_stdin("ping\n")
    resp.run_forever(timeout=10)
    assert "got ping" in resp.read_stdout()
    assert resp.returncode == 7
    resp.close()


# ------------------------------------------------------------------------------------------------ attach
def test_attach_streams_the_container_until_it_ends(lab: Lab) -> None:
    p = lab.kubectl("attach", "web", "-c", "side")
    assert p.stdout == "attached to side\nbye\n"


def test_attach_with_stdin(lab: Lab) -> None:
    p = lab.kubectl("attach", "-i", "web", "-c", "main", input="hello\n")
    assert "attached to main\nhello\n" in p.stdout


# ------------------------------------------------------------------------------------------------ port-forward
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def forward(lab: Lab) -> Iterator[Callable[..., tuple[subprocess.Popen[str], list[int]]]]:
    procs: list[subprocess.Popen[str]] = []

    def start(target: str, *remote: int, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], list[int]]:
        local = [_free_port() for _ in remote]
        pairs = [f"{lo}:{r}" for lo, r in zip(local, remote, strict=True)]
        p = subprocess.Popen(lab.argv("port-forward", target, *pairs), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})
        procs.append(p)
        assert p.stdout is not None
        waiting = {f"Forwarding from 127.0.0.1:{lo} -> {r}" for lo, r in zip(local, remote, strict=True)}
        while waiting:  # each port's listener is up once kubectl says so (IPv4 and IPv6 lines per port)
            line = p.stdout.readline()
            assert line.startswith("Forwarding from"), line + (p.stderr.read() if p.stderr and p.poll() else "")
            waiting.discard(line.strip())
        return p, local

    yield start
    for p in procs:
        if p.poll() is None:
            p.terminate()
        p.communicate(timeout=10)


def test_port_forward_http_get(lab: Lab, forward: Callable[..., tuple[subprocess.Popen[str], list[int]]]) -> None:
    proc, (port,) = forward("pod/web", 80)
    for i in range(3):  # each connection is its own pair of SPDY streams
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/page{i}", timeout=10) as r:
            assert r.read() == f"hello from the pod: /page{i}".encode()
    assert proc.poll() is None


def test_port_forward_over_a_plain_spdy_upgrade(
        lab: Lab, forward: Callable[..., tuple[subprocess.Popen[str], list[int]]]) -> None:
    # kubectl's fallback when WebSockets are unavailable, and client-go's SPDY dialer
    _, (port,) = forward("pod/web", 80, env={"KUBECTL_PORT_FORWARD_WEBSOCKETS": "false"})
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/spdy", timeout=10) as r:
        assert r.read() == b"hello from the pod: /spdy"


def test_port_forward_echo_two_ports_at_once(lab: Lab,
                                             forward: Callable[..., tuple[subprocess.Popen[str], list[int]]]) -> None:
    _, (web_port, echo_port) = forward("pod/web", 80, 7777)
    payload = bytes(range(256)) * 1024  # 256 KiB, more than one SPDY data frame
    with socket.create_connection(("127.0.0.1", echo_port), timeout=10) as s:
        got = bytearray()

        def reader() -> None:
            while len(got) < len(payload):
                chunk = s.recv(65536)
                if not chunk:
                    return
                got.extend(chunk)

        t = threading.Thread(target=reader)
        t.start()
        s.sendall(payload)
        t.join(15)
    assert bytes(got) == payload
    with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/", timeout=10) as r:
        assert r.status == 200


def test_port_forward_to_a_closed_port_reports_and_ends(
        lab: Lab, forward: Callable[..., tuple[subprocess.Popen[str], list[int]]]) -> None:
    proc, (port,) = forward("pod/web", 81)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"anyone?")
        s.settimeout(10)
        assert s.recv(100) == b""
    # kubectl 1.37 logs the kubelet's message and, as on any forwarding error, drops the connection and exits
    _, err = proc.communicate(timeout=15)
    assert proc.returncode == 1
    assert "An error occurred forwarding" in err
    assert "error forwarding port 81 to pod" in err and "connect: connection refused" in err
    assert "lost connection to pod" in err


# ------------------------------------------------------------------------------------------------ errors
def test_errors_read_as_a_real_cluster_s(lab: Lab) -> None:
    missing = lab.kubectl("exec", "nope", "--", "true", check=False)
    assert missing.returncode == 1 and 'pods "nope" not found' in missing.stderr
    bad = lab.kubectl("exec", "web", "-c", "bad", "--", "true", check=False)
    assert bad.returncode == 1 and "container bad is not valid for pod web" in bad.stderr


def test_exec_into_an_unbound_or_waiting_pod(lab: Lab) -> None:
    pending = _pod("pending", "", ["main"])
    del pending["spec"]["nodeName"]
    pending["spec"]["nodeSelector"] = {"no-such": "node"}
    lab.kubectl("apply", "-f", "-", input=json.dumps(pending))
    p = lab.kubectl("exec", "pending", "--", "true", check=False)
    assert p.returncode == 1 and "pod pending does not have a host assigned" in p.stderr
    _waiting_pod(lab)
    p = lab.kubectl("exec", "waiting", "--", "true", check=False)
    assert p.returncode == 1
    assert 'error: Internal error occurred: unable to upgrade connection: container not found ("main")' in p.stderr


def _waiting_pod(lab: Lab) -> None:
    """A pod bound to the worker whose container never starts (its image cannot be pulled)."""
    waiting = _pod("waiting", WORKER, ["main"], image="registry.invalid/nope:1")
    lab.kubectl("apply", "-f", "-", input=json.dumps(waiting))
    eventually(lambda: "ContainerCreating" not in lab.kubectl("get", "pod", "waiting").stdout)


def test_simulated_runtime_says_what_is_needed(lab: Lab) -> None:
    p = lab.kubectl("exec", "sim", "--", "true", check=False)
    assert p.returncode == 1
    assert "Unimplemented" in p.stderr and "kubelab up --runtime process" in p.stderr
    pf = lab.kubectl("port-forward", "pod/sim", f"{_free_port()}:80", check=False, timeout=20)
    assert pf.returncode == 1
    assert "unable to upgrade connection" in pf.stderr and "kubelab up --runtime process" in pf.stderr


# ------------------------------------------------------------------------------------------------ process runtime
def _process_unavailable() -> str | None:
    try:
        from kubelab.kubelet.process import process_runtime_unavailable_reason
    except ImportError as e:
        return f"no process runtime: {e}"
    return process_runtime_unavailable_reason()


@pytest.mark.skipif(_process_unavailable() is not None, reason=str(_process_unavailable()))
def test_with_the_process_runtime(tmp_path: Path) -> None:
    from kubelab.backends.embedded import EmbeddedServer, ServerConfig
    from kubelab.kubeconfig import write_context

    srv = EmbeddedServer(ServerConfig(name="px", control_plane=True, runtime="process")).start()
    try:
        kc = tmp_path / "kubeconfig"
        write_context(kc, "kubelab-sx", srv.url, srv.pki.ca_cert_pem, srv.pki.admin_cert_pem, srv.pki.admin_key_pem)
        lab = Lab(kc, srv, {})
        node = srv.plan.nodes[0].name
        shell = _pod("shell", node, ["main"])
        nginx = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "nginx"}, "spec": {
            "nodeName": node, "containers": [{"name": "nginx", "image": "nginx:1.27"}]}}
        for obj in (shell, nginx):
            lab.kubectl("apply", "-f", "-", input=json.dumps(obj))
        for name in ("shell", "nginx"):
            eventually(lambda name=name: "Running" in lab.kubectl("get", "pod", name).stdout,  # type: ignore[misc]
                       timeout=60)
        assert lab.kubectl("exec", "shell", "--", "echo", "hi").stdout == "hi\n"
        assert lab.kubectl("exec", "shell", "--", "sh", "-c", "exit 5", check=False).returncode == 5
        assert lab.kubectl("exec", "-i", "shell", "--", "cat", input="piped\n").stdout == "piped\n"
        local = _free_port()
        pf = subprocess.Popen(lab.argv("port-forward", "pod/nginx", f"{local}:80"), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
        try:
            assert pf.stdout is not None and pf.stdout.readline().startswith("Forwarding from")
            with urllib.request.urlopen(f"http://127.0.0.1:{local}/", timeout=10) as r:
                assert b"Welcome to nginx!" in r.read()
        finally:
            pf.terminate()
            pf.communicate(timeout=10)
    finally:
        srv.stop()


def test_official_client_port_forward(lab: Lab) -> None:
    from kubernetes import client, config
    from kubernetes.stream import portforward

    api = client.CoreV1Api(config.new_client_from_config(config_file=str(lab.kubeconfig), context="kubelab-sx"))
    pf = portforward(api.connect_get_namespaced_pod_portforward, "web", "default", ports="80,7777")
    try:
        web = pf.socket(80)
        web.setblocking(True)
        web.settimeout(10)
        web.sendall(b"GET /py HTTP/1.1\r\nHost: web\r\nConnection: close\r\n\r\n")
        reply = b""
        while not reply.endswith(b"hello from the pod: /py"):  # the kubelet does not close a port's channel
            reply += web.recv(65536)
        assert reply.startswith(b"HTTP/1.0 200")
        echo = pf.socket(7777)
        echo.setblocking(True)
        echo.settimeout(10)
        echo.sendall(b"ping")
        assert echo.recv(4) == b"ping"
        assert pf.error(80) is None
    finally:
        pf.close()


def test_upgrades_are_authenticated(lab: Lab) -> None:
    import ssl

    import websocket

    url = lab.server.url.replace("https://", "wss://") + "/api/v1/namespaces/default/pods/web/exec?command=ls&stdout=1"
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        websocket.create_connection(url, sslopt={"cert_reqs": ssl.CERT_NONE}, subprotocols=["v5.channel.k8s.io"],
                                    timeout=10)
    assert e.value.status_code == 401


SPDY_ONLY = {"KUBECTL_REMOTE_COMMAND_WEBSOCKETS": "false"}  # kubectl's fallback path, client-go's SPDY executor


def _kubectl_env(lab: Lab, *args: str, input: str | None = None,
                 env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(lab.argv(*args), input=input, capture_output=True, text=True, timeout=30,
                          env={**os.environ, **(env or {})})


def test_exec_and_attach_over_a_plain_spdy_upgrade(lab: Lab) -> None:
    p = _kubectl_env(lab, "exec", "web", "-c", "side", "--", "sh", "-c", "echo $CONTAINER; echo e >&2", env=SPDY_ONLY)
    assert (p.returncode, p.stdout, p.stderr) == (0, "side\n", "e\n")
    p = _kubectl_env(lab, "exec", "web", "-c", "main", "--", "sh", "-c", "exit 6", env=SPDY_ONLY)
    assert p.returncode == 6 and "command terminated with exit code 6" in p.stderr
    data = "".join(f"row {i}\n" for i in range(3000))
    p = _kubectl_env(lab, "exec", "-i", "web", "-c", "main", "--", "cat", input=data, env=SPDY_ONLY)
    assert p.stdout == data
    p = _kubectl_env(lab, "attach", "-i", "web", "-c", "main", input="hi\n", env=SPDY_ONLY)
    assert "attached to main\nhi\n" in p.stdout
    _waiting_pod(lab)
    p = _kubectl_env(lab, "exec", "waiting", "--", "true", env=SPDY_ONLY)
    assert 'error: unable to upgrade connection: container not found ("main")' in p.stderr


def test_interactive_tty_over_a_plain_spdy_upgrade(lab: Lab) -> None:
    child = pexpect.spawn(KUBECTL, lab.argv("exec", "-it", "web", "-c", "main", "--", "sh")[1:], timeout=15,
                          dimensions=(25, 90), encoding="utf-8", env={**os.environ, **SPDY_ONLY})
    try:
        child.expect_exact("$ ")
        child.sendline("stty size")
        child.expect(r"25 90")
        child.setwinsize(33, 111)
        time.sleep(0.5)
        child.sendline("stty size")
        child.expect(r"33 111")
        child.sendline("exit")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
