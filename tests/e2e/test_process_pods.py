"""The process runtime's pods as a learner meets them, all through real kubectl on kind's three-node example
(the repository's clusters.yml): a writer and a reader sharing an emptyDir (logs, follow, timestamps, logs of a
Deployment), an interactive shell through a pty, port-forward to a pod and to a Service, a liveness probe that
restarts a container (``logs --previous``), a readiness probe that takes a pod out of a Service's endpoints and
back, configMap and secret volumes, Service environment variables, and ``kubectl run -it --rm``."""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import subprocess
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pexpect
import pytest

from tests import helpers
from tests.conftest import KUBECTL, Cluster
from tests.helpers import embedded_cluster

CLUSTERS_YML = Path(__file__).resolve().parents[2] / "clusters.yml"
Obj = dict[str, Any]


def _reason() -> str | None:
    from kubelab.backends.runtimes import process_unavailable_reason

    return process_unavailable_reason()


pytestmark = pytest.mark.skipif(_reason() is not None, reason=f"process runtime unavailable: {_reason()}")


@pytest.fixture(scope="module")
def kind3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with embedded_cluster(tmp_path_factory.mktemp("procpods"), "pp", cluster_config=CLUSTERS_YML,
                          runtime="process") as c:
        yield c


def argv(c: Cluster, *args: str) -> list[str]:
    return [KUBECTL, "--kubeconfig", str(c.kubeconfig), "--context", c.context, *args]


def kenv(c: Cluster) -> dict[str, str]:
    return {**os.environ, "KUBECACHEDIR": str(c.kubeconfig.parent / "cache")}


def wait_for(fn: Callable[[], Any], timeout: float = 60, interval: float = 0.3) -> Any:
    return helpers.wait_for(fn, timeout, interval)


def readline(f: Any, timeout: float = 30) -> str:
    """One line from a process's pipe, or AssertionError when none comes in ``timeout`` seconds."""
    box: list[str] = []
    t = threading.Thread(target=lambda: box.append(f.readline()), daemon=True)
    t.start()
    t.join(timeout)
    if not box:
        raise AssertionError(f"no output line in {timeout}s")
    return box[0]


def apply(c: Cluster, *objs: Obj) -> None:
    c.kubectl("apply", "-f", "-", input="\n---\n".join(json.dumps(o) for o in objs))


def get(c: Cluster, *what: str) -> Obj:
    return json.loads(c.kubectl("get", *what, "-o", "json").stdout)  # type: ignore[no-any-return]


def ready(c: Cluster, *pods: str, timeout: int = 60) -> None:
    c.kubectl("wait", *[f"pod/{p}" for p in pods], "--for=condition=Ready", f"--timeout={timeout}s",
              timeout=timeout + 30)


def pod(name: str, *containers: Obj, labels: dict[str, str] | None = None, **spec: Any) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels or {"run": name}},
            "spec": {"containers": list(containers), **spec}}


def busybox(name: str, script: str, **extra: Any) -> Obj:
    return {"name": name, "image": "busybox:1.36", "command": ["sh", "-c", script], **extra}


def free_port(preferred: int = 0) -> int:
    for port in ([preferred] if preferred else []) + [0]:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise AssertionError("no free port")


def http_get(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return str(r.read().decode())
    except OSError:
        return ""


WEB = [
    {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {
        "replicas": 2, "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}},
                     "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27",
                                              "ports": [{"containerPort": 80}]}]}}}},
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
     "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 80}]}},
]


@pytest.fixture(scope="module")
def web(kind3: Cluster) -> Obj:
    apply(kind3, *WEB)
    kind3.kubectl("rollout", "status", "deployment/web", "--timeout=60s", timeout=90)
    return get(kind3, "svc", "web")


# ------------------------------------------------------------------------------------------------ 1. logs
WRITER_READER = pod(
    "tail",
    busybox("writer", "i=0; while true; do i=$((i+1)); echo \"line $i\" >> /data/log; sleep 0.2; done",
            volumeMounts=[{"name": "data", "mountPath": "/data"}]),
    busybox("reader", "touch /data/log; tail -n +1 -f /data/log",
            volumeMounts=[{"name": "data", "mountPath": "/data"}]),
    volumes=[{"name": "data", "emptyDir": {}}])


@pytest.fixture(scope="module")
def tail_pod(kind3: Cluster) -> str:
    apply(kind3, WRITER_READER)
    ready(kind3, "tail")
    return "tail"


def _numbers(text: str) -> list[int]:
    return [int(m) for m in re.findall(r"^line (\d+)$", text, re.M)]


def test_reader_logs_show_the_writers_lines(kind3: Cluster, tail_pod: str) -> None:
    out = wait_for(lambda: len(_numbers(o := kind3.kubectl("logs", tail_pod, "-c", "reader").stdout)) >= 5 and o)
    nums = _numbers(out)
    assert nums[:5] == [1, 2, 3, 4, 5]
    assert nums == list(range(1, len(nums) + 1)), out  # every line once, in order
    shared = kind3.kubectl("exec", tail_pod, "-c", "reader", "--", "cat", "/data/log").stdout
    assert _numbers(shared)[: len(nums)] == nums
    # the writer writes to the file, not to its stdout: its own log is empty
    assert kind3.kubectl("logs", tail_pod, "-c", "writer").stdout == ""


def test_logs_follow_with_tail_streams_new_lines(kind3: Cluster, tail_pod: str) -> None:
    def last_line() -> int:
        nums = _numbers(kind3.kubectl("logs", tail_pod, "-c", "reader").stdout)
        return nums[-1] if nums and nums[-1] >= 3 else 0

    before = wait_for(last_line)
    p = subprocess.Popen(argv(kind3, "logs", "-f", "--tail=2", tail_pod, "-c", "reader"), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=kenv(kind3))
    try:
        assert p.stdout is not None
        lines = [readline(p.stdout) for _ in range(6)]  # bounded by the writer's pace; -f keeps the stream open
    finally:
        p.terminate()
        p.communicate(timeout=10)
    nums = _numbers("".join(lines))
    assert len(nums) == 6, lines
    assert nums == list(range(nums[0], nums[0] + 6)), lines  # the last two, then new ones as they come
    assert nums[0] >= before - 1, (before, lines)  # --tail=2: not from the start


def test_logs_with_timestamps(kind3: Cluster, tail_pod: str) -> None:
    out = kind3.kubectl("logs", "--timestamps", "--tail=3", tail_pod, "-c", "reader").stdout
    rows = out.splitlines()
    assert len(rows) == 3, out
    for row in rows:
        stamp, _, text = row.partition(" ")
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z", stamp), row
        assert re.fullmatch(r"line \d+", text), row


def test_logs_of_a_deployment(kind3: Cluster) -> None:
    apply(kind3, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "hello"}, "spec": {
        "replicas": 2, "selector": {"matchLabels": {"app": "hello"}},
        "template": {"metadata": {"labels": {"app": "hello"}}, "spec": {"containers": [
            busybox("hello", "echo hello from $HOSTNAME; sleep 3600")]}}}})
    kind3.kubectl("rollout", "status", "deployment/hello", "--timeout=60s", timeout=90)
    names = {p["metadata"]["name"] for p in get(kind3, "pods", "-l", "app=hello")["items"]}
    p = kind3.kubectl("logs", "deploy/hello")
    m = re.fullmatch(r"hello from (\S+)\n", p.stdout)
    assert m and m.group(1) in names, p.stdout
    assert "Found 2 pods, using pod/" + m.group(1) in p.stderr
    every = kind3.kubectl("logs", "-l", "app=hello", "--prefix").stdout
    assert sorted(every.splitlines()) == sorted(f"[pod/{n}/hello] hello from {n}" for n in names)


# ------------------------------------------------------------------------------------------------ 2. exec -it
def test_interactive_shell_through_a_pty(kind3: Cluster) -> None:
    apply(kind3, pod("shell", busybox("sh", "sleep 3600")))
    ready(kind3, "shell")
    child = pexpect.spawn(KUBECTL, argv(kind3, "exec", "-it", "shell", "--", "sh")[1:], timeout=20,
                          dimensions=(24, 80), encoding="utf-8", env=kenv(kind3))
    try:
        child.expect(r"[#$] ")
        child.sendline("echo $((6*7))")
        child.expect_exact("42")
        child.expect(r"[#$] ")
        child.sendline("tty; echo host=$HOSTNAME")
        child.expect(r"/dev/pts/\d+")
        child.expect_exact("host=shell")
        child.sendline("exit")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
    # a process killed by a signal after a child of its exited normally: 128+N, not the child's status
    p = kind3.kubectl("exec", "shell", "--", "sh", "-c", "true; kill -TERM $$", check=False)
    assert p.returncode == 143 and "command terminated with exit code 143" in p.stderr, p


# ------------------------------------------------------------------------------------------------ 3. port-forward
@pytest.fixture
def forward(kind3: Cluster) -> Iterator[Callable[[str, int, int], int]]:
    procs: list[subprocess.Popen[str]] = []

    def start(target: str, remote: int, preferred: int = 0) -> int:
        local = free_port(preferred)
        p = subprocess.Popen(argv(kind3, "port-forward", target, f"{local}:{remote}"), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=kenv(kind3))
        procs.append(p)
        assert p.stdout is not None
        line = readline(p.stdout)
        assert line.startswith(f"Forwarding from 127.0.0.1:{local} -> {remote}"), \
            line + (p.stderr.read() if p.stderr and p.poll() is not None else "")
        return local

    yield start
    for p in procs:
        if p.poll() is None:
            p.terminate()
        p.communicate(timeout=10)


def test_port_forward_to_an_nginx_pod(kind3: Cluster, forward: Callable[[str, int, int], int]) -> None:
    apply(kind3, pod("web", {"name": "nginx", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}))
    ready(kind3, "web")
    port = forward("pod/web", 80, 18080)
    for _ in range(2):
        page = http_get(f"http://127.0.0.1:{port}/")
        assert "Welcome to nginx!" in page
    assert "404" in urllib_status(f"http://127.0.0.1:{port}/no-such-page")
    # nginx's access log records the forwarded requests
    logs = kind3.kubectl("logs", "web").stdout
    assert logs.count('"GET / HTTP/1.1" 200') == 2, logs


def urllib_status(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return str(r.status)
    except urllib.error.HTTPError as e:
        return str(e.code)


def test_port_forward_to_a_service(kind3: Cluster, web: Obj, forward: Callable[[str, int, int], int]) -> None:
    port = forward("svc/web", 80, 0)
    assert "Welcome to nginx!" in http_get(f"http://127.0.0.1:{port}/")


# ------------------------------------------------------------------------------------------------ 4. liveness
def test_failing_liveness_probe_restarts_the_container(kind3: Cluster) -> None:
    script = ("echo run $(cat /data/runs 2>/dev/null | wc -l) started; echo x >> /data/runs; "
              "touch /tmp/healthy; sleep 2; rm /tmp/healthy; echo healthy file removed; sleep 3600")
    apply(kind3, pod("live", busybox("app", script, volumeMounts=[{"name": "data", "mountPath": "/data"}],
                                     livenessProbe={"exec": {"command": ["cat", "/tmp/healthy"]},
                                                    "periodSeconds": 1, "failureThreshold": 2}),
                     volumes=[{"name": "data", "emptyDir": {}}]))

    def restarted() -> Obj | None:
        p = get(kind3, "pod", "live")
        cs = (p["status"].get("containerStatuses") or [{}])[0]
        return p if cs.get("restartCount", 0) >= 1 and cs.get("state", {}).get("running") else None

    p = wait_for(restarted, 90)
    last = p["status"]["containerStatuses"][0]["lastState"]["terminated"]
    assert last["exitCode"] in (137, 143) and last["reason"] == "Error", last  # SIGTERM (no PID 1 here) or SIGKILL
    events = get(kind3, "events", "--field-selector", "involvedObject.name=live")["items"]
    reasons = {e["reason"]: e for e in events}
    assert "Unhealthy" in reasons and "Killing" in reasons, [e["reason"] for e in events]
    assert reasons["Unhealthy"]["type"] == "Warning"
    assert reasons["Unhealthy"]["message"].startswith("Liveness probe failed:"), reasons["Unhealthy"]
    assert reasons["Killing"]["message"] == "Container app failed liveness probe, will be restarted"
    previous = kind3.kubectl("logs", "live", "--previous").stdout
    assert previous == "run 0 started\nhealthy file removed\n", previous
    current = wait_for(lambda: kind3.kubectl("logs", "live").stdout, 30)
    assert current.startswith("run 1 started\n"), current
    described = kind3.kubectl("describe", "pod", "live").stdout
    assert re.search(r"Restart Count:\s+[1-9]", described), described


# ------------------------------------------------------------------------------------------------ 5. readiness
def _endpoints(c: Cluster) -> list[tuple[str, bool]]:
    slices = get(c, "endpointslices", "-l", "kubernetes.io/service-name=ready")["items"]
    return sorted((a, bool(ep.get("conditions", {}).get("ready")))
                  for s in slices for ep in s.get("endpoints") or [] for a in ep["addresses"])


def test_readiness_probe_moves_a_pod_out_of_the_service_and_back(kind3: Cluster) -> None:
    probe = {"exec": {"command": ["cat", "/tmp/ready"]}, "periodSeconds": 1, "failureThreshold": 1}
    apply(kind3, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "ready"},
                  "spec": {"selector": {"app": "ready"}, "ports": [{"port": 80, "targetPort": 80}]}},
          *(pod(n, busybox("app", "touch /tmp/ready; sleep 3600", readinessProbe=probe), labels={"app": "ready"})
            for n in ("ready-a", "ready-b")))
    ready(kind3, "ready-a", "ready-b")
    ip_a, ip_b = (get(kind3, "pod", n)["status"]["podIP"] for n in ("ready-a", "ready-b"))
    wait_for(lambda: _endpoints(kind3) == sorted([(ip_a, True), (ip_b, True)]))

    kind3.kubectl("exec", "ready-a", "--", "rm", "/tmp/ready")
    wait_for(lambda: _endpoints(kind3) == sorted([(ip_a, False), (ip_b, True)]))
    wait_for(lambda: kind3.kubectl("get", "pod", "ready-a").stdout.split("\n")[1].split()[1] == "0/1")
    ep = get(kind3, "endpoints", "ready")
    subset = ep["subsets"][0]
    assert [a["ip"] for a in subset["addresses"]] == [ip_b]
    assert [a["ip"] for a in subset["notReadyAddresses"]] == [ip_a]
    events = get(kind3, "events", "--field-selector", "involvedObject.name=ready-a,reason=Unhealthy")["items"]
    assert any(e["message"].startswith("Readiness probe failed:") for e in events), events

    kind3.kubectl("exec", "ready-a", "--", "touch", "/tmp/ready")
    wait_for(lambda: _endpoints(kind3) == sorted([(ip_a, True), (ip_b, True)]))
    ready(kind3, "ready-a")
    ep = get(kind3, "endpoints", "ready")
    assert sorted(a["ip"] for a in ep["subsets"][0]["addresses"]) == sorted([ip_a, ip_b])
    assert not ep["subsets"][0].get("notReadyAddresses")
    # a pod that is not ready keeps its restart count: readiness never kills
    assert get(kind3, "pod", "ready-a")["status"]["containerStatuses"][0]["restartCount"] == 0


# ------------------------------------------------------------------------------------------------ 6. volumes, env
def test_configmap_and_secret_volumes_are_files(kind3: Cluster) -> None:
    kind3.kubectl("create", "configmap", "conf", "--from-literal=key=value-from-configmap",
                  "--from-literal=other=2")
    kind3.kubectl("create", "secret", "generic", "creds", "--from-literal=password=s3cr3t")
    apply(kind3, pod("vols", busybox("app", "sleep 3600", volumeMounts=[
        {"name": "conf", "mountPath": "/etc/config"},
        {"name": "creds", "mountPath": "/etc/creds", "readOnly": True}]),
        volumes=[{"name": "conf", "configMap": {"name": "conf"}},
                 {"name": "creds", "secret": {"secretName": "creds"}}]))
    ready(kind3, "vols")
    assert kind3.kubectl("exec", "vols", "--", "cat", "/etc/config/key").stdout == "value-from-configmap"
    assert kind3.kubectl("exec", "vols", "--", "cat", "/etc/creds/password").stdout == "s3cr3t"
    listing = kind3.kubectl("exec", "vols", "--", "ls", "/etc/config").stdout.split()
    assert listing == ["key", "other"]
    # an update of the ConfigMap reaches the file (the kubelet's periodic sync)
    kind3.kubectl("patch", "configmap", "conf", "-p", json.dumps({"data": {"key": "changed"}}))
    wait_for(lambda: kind3.kubectl("exec", "vols", "--", "cat", "/etc/config/key").stdout == "changed", 120, 1)
    assert base64.b64decode(get(kind3, "secret", "creds")["data"]["password"]) == b"s3cr3t"


def test_service_env_vars_in_a_pod_created_after_the_service(kind3: Cluster, web: Obj) -> None:
    apply(kind3, pod("envpod", busybox("app", "sleep 3600")))
    ready(kind3, "envpod")
    env = dict(line.partition("=")[::2] for line in kind3.kubectl("exec", "envpod", "--", "env").stdout.splitlines())
    assert env["WEB_SERVICE_HOST"] == web["spec"]["clusterIP"]
    assert env["WEB_SERVICE_PORT"] == "80"
    assert env["WEB_PORT"] == f"tcp://{web['spec']['clusterIP']}:80"
    assert env["KUBERNETES_SERVICE_HOST"] == get(kind3, "svc", "kubernetes", "-n", "default")["spec"]["clusterIP"]
    # and they are what the pod's processes reach: the Service answers on them
    out = kind3.kubectl("exec", "envpod", "--", "sh", "-c", "wget -qO- http://$WEB_SERVICE_HOST:$WEB_SERVICE_PORT/")
    assert "Welcome to nginx!" in out.stdout


# ------------------------------------------------------------------------------------------------ 7. run -it --rm
def test_run_interactive_and_removed(kind3: Cluster) -> None:
    child = pexpect.spawn(KUBECTL, argv(kind3, "run", "oneoff", "-it", "--rm", "--restart=Never",
                                        "--image=busybox:1.36", "--", "sh")[1:],
                          timeout=60, dimensions=(24, 80), encoding="utf-8", env=kenv(kind3))
    try:
        child.expect(r"[#$] ")
        child.sendline("echo $((6*7)) from $HOSTNAME")
        child.expect_exact("42 from oneoff")
        child.sendline("exit")
        child.expect(pexpect.EOF)
        out = child.before
    finally:
        child.close()
    assert child.exitstatus == 0, out
    assert 'pod "oneoff" deleted' in out
    wait_for(lambda: kind3.kubectl("get", "pod", "oneoff", check=False).returncode == 1, 60)


def test_attach_to_a_running_container(kind3: Cluster) -> None:
    """stdin: true without stdinOnce: an attach session's end detaches it; the container reads on, for the next."""
    apply(kind3, pod("talker", busybox("app", "while read line; do echo got $line; done", stdin=True)))
    ready(kind3, "talker")
    for word in ("one", "two"):
        p = subprocess.Popen(argv(kind3, "attach", "-i", "talker"), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=kenv(kind3))
        assert p.stdin is not None and p.stdout is not None
        try:
            p.stdin.write(word + "\n")
            p.stdin.flush()
            assert readline(p.stdout) == f"got {word}\n"
            p.stdin.close()  # the end of this session's stdin: kubectl ends, the container does not
            assert p.wait(timeout=20) == 0, p.stderr.read() if p.stderr else ""
        finally:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=10)
            for f in (p.stdout, p.stderr):
                if f is not None:
                    f.close()
    st = get(kind3, "pod", "talker")["status"]["containerStatuses"][0]
    assert st["restartCount"] == 0 and "running" in st["state"], st
    assert kind3.kubectl("logs", "talker").stdout == "got one\ngot two\n"
