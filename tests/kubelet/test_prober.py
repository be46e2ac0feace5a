"""Real probes (exec, httpGet, tcpSocket) on a FakeClock: readiness drives Ready and Service endpoints, liveness
restarts the container with the kubelet's events, a startup probe holds the others back."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

from kubelab.controllers.endpoints import EndpointsController
from kubelab.controllers.endpointslice import EndpointSliceController
from kubelab.kubelet.prober import resolve_port
from tests.controllers.test_replicaset import running
from tests.kubelet.helpers import scenario
from tests.kubelet.real_helpers import FIRST_POD_IP, HttpServer, RealLab, until

Obj = dict[str, Any]
POD_IP = "10.244.1.2"
CAT_FAIL = "cat: can't open '/tmp/healthy': No such file or directory"


def _app(**probes: Obj) -> Obj:
    return {"name": "app", "image": "busybox", "command": ["sleep", "infinity"],
            "ports": [{"name": "http", "containerPort": 8080}], **probes}


def _exec(cmd: str, **kw: int) -> Obj:
    return {"exec": {"command": ["sh", "-c", cmd]}, **kw}


def _run(lab: RealLab, name: str, containers: list[Obj], **spec: Any) -> None:
    lab.admin.create("pods", {"metadata": {"name": name, "labels": {"app": "web"}},
                              "spec": {"containers": containers, **spec}}, "default")
    lab.admin.bind("default", name, lab.kubelet.name)


def _restarts(lab: RealLab, name: str) -> int:
    return sum(c.get("restartCount", 0) for c in lab.status(name).get("containerStatuses") or [])


def _ready(lab: RealLab, name: str = "web") -> bool:
    conds = {c["type"]: c["status"] for c in lab.status(name).get("conditions") or []}
    return conds.get("Ready") == "True"


def test_readiness_flips_pod_ready_and_service_endpoints(tmp_path: Path) -> None:
    async def run() -> None:
        lab = RealLab(tmp_path, pod_cidr="10.244.1.0/24")  # exec probes only; Endpoints refuse loopback IPs
        state = {"ready": False}
        lab.runtime.exec_handlers["app"] = lambda cmd: (0, "") if state["ready"] else (1, "not ready")
        h = lab.h
        ctrls = (EndpointsController(h.client("endpoint-controller"), h.informers, h.config, h.trace),
                 EndpointSliceController(h.client("endpointslice-controller"), h.informers, h.config, h.trace))
        async with running(h, *ctrls):
            await lab.start()
            lab.admin.create("services", {"metadata": {"name": "web"}, "spec": {
                "selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": "http"}]}}, "default")
            _run(lab, "web", [_app(readinessProbe=_exec("test -f /tmp/ready", periodSeconds=1, failureThreshold=1))])
            await until(lab, lambda: lab.status("web").get("phase") == "Running")
            await lab.advance(2.5)
            cs = lab.container("web")
            assert cs["started"] is True and cs["ready"] is False and not _ready(lab)
            assert lab.condition("web", "ContainersReady")["message"] == "containers with unready status: [app]"
            assert "Readiness probe failed: not ready" in lab.messages("web", "Unhealthy")
            (subset,) = lab.admin.get("endpoints", "web", "default")["subsets"]
            assert [a["ip"] for a in subset["notReadyAddresses"]] == [POD_IP] and "addresses" not in subset

            state["ready"] = True
            await until(lab, lambda: _ready(lab))
            await lab.advance(0.5)
            (subset,) = lab.admin.get("endpoints", "web", "default")["subsets"]
            assert [a["ip"] for a in subset["addresses"]] == [POD_IP]

            state["ready"] = False
            await until(lab, lambda: not _ready(lab))
            await lab.advance(0.5)
            (subset,) = lab.admin.get("endpoints", "web", "default")["subsets"]
            assert "addresses" not in subset
            assert lab.container("web")["restartCount"] == 0  # readiness never restarts
            await lab.stop()

    scenario(run)


def test_liveness_failure_kills_and_restarts_the_container(tmp_path: Path) -> None:
    async def run() -> None:
        lab = RealLab(tmp_path)
        state = {"healthy": True}
        lab.runtime.exec_handlers["app"] = lambda cmd: (0, "") if state["healthy"] else (1, CAT_FAIL + "\n")
        await lab.start()
        _run(lab, "web", [_app(livenessProbe=_exec("cat /tmp/healthy", initialDelaySeconds=1, periodSeconds=2))])
        await until(lab, lambda: lab.status("web").get("phase") == "Running")
        await lab.advance(5)
        assert lab.container("web")["restartCount"] == 0 and len(lab.runtime.execs) >= 2
        state["healthy"] = False
        await until(lab, lambda: _restarts(lab, "web") == 1)
        unhealthy = [e for e in lab.events("web") if e["reason"] == "Unhealthy"]
        assert [e["message"] for e in unhealthy] == [f"Liveness probe failed: {CAT_FAIL}"]
        assert unhealthy[0]["count"] == 3 and unhealthy[0]["type"] == "Warning"
        assert unhealthy[0]["involvedObject"]["fieldPath"] == "spec.containers{app}"
        assert lab.messages("web", "Killing") == ["Container app failed liveness probe, will be restarted"]
        reasons = lab.reasons("web")
        assert reasons.index("Killing") < len(reasons) - 1 and reasons[-2:] == ["Created", "Started"]
        cs = lab.container("web")
        assert set(cs["state"]) == {"running"} and cs["lastState"]["terminated"]["exitCode"] == 137
        assert len(lab.runtime.configs) == 2  # the old container is kept, for logs --previous
        # results start over for the new container: healthy again, no further restart
        state["healthy"] = True
        await lab.advance(10)
        assert lab.container("web")["restartCount"] == 1 and lab.status("web")["phase"] == "Running"
        await lab.stop()

    scenario(run)


def test_http_liveness_500_restarts_and_sends_the_probe_headers(tmp_path: Path) -> None:
    async def run() -> None:
        async with HttpServer() as srv:
            lab = RealLab(tmp_path)
            await lab.start()
            probe = {"httpGet": {"path": "/healthz", "port": srv.port, "httpHeaders": [{"name": "X-Probe",
                                                                                        "value": "yes"}]},
                     "periodSeconds": 1, "failureThreshold": 2}
            _run(lab, "web", [_app(livenessProbe=probe)])
            await until(lab, lambda: len(srv.requests) >= 1)
            head = srv.requests[0]
            assert head.startswith("GET /healthz HTTP/1.1\r\n")
            assert f"Host: {FIRST_POD_IP}:{srv.port}\r\n" in head and "User-Agent: kube-probe/1.37\r\n" in head
            assert "X-Probe: yes\r\n" in head
            srv.status = 500
            await until(lab, lambda: _restarts(lab, "web") == 1)
            assert lab.messages("web", "Unhealthy") == ["Liveness probe failed: HTTP probe failed with statuscode: 500"]
            assert lab.messages("web", "Killing") == ["Container app failed liveness probe, will be restarted"]
            srv.status = 302  # 2xx and 3xx are successes
            await lab.advance(5)
            await asyncio.sleep(0.01)
            assert lab.container("web")["restartCount"] == 1
            await lab.stop()

    scenario(run)


def test_tcp_readiness_on_a_closed_port_reports_connection_refused(tmp_path: Path) -> None:
    async def run() -> None:
        with socket.socket() as s:
            s.bind((FIRST_POD_IP, 0))
            port = s.getsockname()[1]  # closed again below: nothing listens there
        lab = RealLab(tmp_path)
        await lab.start()
        _run(lab, "web", [_app(readinessProbe={"tcpSocket": {"port": port}, "periodSeconds": 1})])
        await until(lab, lambda: bool(lab.messages("web", "Unhealthy")))
        assert lab.messages("web", "Unhealthy") == [
            f"Readiness probe failed: dial tcp {FIRST_POD_IP}:{port}: connect: connection refused"]
        assert not _ready(lab)
        async with HttpServer("127.244.1.3") as srv:  # the next pod's address, listening on a named port: ready
            lab.run_pod("named", [_app(readinessProbe={"tcpSocket": {"port": "http"}, "periodSeconds": 1}) |
                                  {"ports": [{"name": "http", "containerPort": srv.port}]}])
            await until(lab, lambda: _ready(lab, "named"))
            assert lab.status("named")["podIP"] == "127.244.1.3" and not lab.messages("named", "Unhealthy")
        await lab.stop()

    scenario(run)


def test_startup_probe_holds_liveness_and_readiness_back_until_it_succeeds(tmp_path: Path) -> None:
    async def run() -> None:
        lab = RealLab(tmp_path)
        state = {"started": False}

        def handler(cmd: list[str]) -> tuple[int, str]:
            if "startup" in cmd[-1]:
                return (0, "") if state["started"] else (1, "starting")
            return 0, ""

        lab.runtime.exec_handlers["app"] = handler
        await lab.start()
        _run(lab, "web", [_app(startupProbe=_exec("startup", periodSeconds=1, failureThreshold=30),
                               livenessProbe=_exec("live", periodSeconds=1),
                               readinessProbe=_exec("ready", periodSeconds=1))])
        await until(lab, lambda: lab.status("web").get("phase") == "Running")
        await lab.advance(5)
        assert {" ".join(c) for _, c in lab.runtime.execs} == {"sh -c startup"}
        cs = lab.container("web")
        assert cs["started"] is False and cs["ready"] is False
        state["started"] = True
        await until(lab, lambda: _ready(lab))
        assert lab.container("web")["started"] is True
        assert {" ".join(c) for _, c in lab.runtime.execs} == {"sh -c startup", "sh -c live", "sh -c ready"}
        await lab.stop()

    scenario(run)


def test_startup_failure_restarts_and_liveness_with_restart_policy_never_fails_the_pod(tmp_path: Path) -> None:
    async def run() -> None:
        lab = RealLab(tmp_path)
        lab.runtime.exec_handlers["app"] = lambda cmd: (1, "")
        await lab.start()
        _run(lab, "slow", [_app(startupProbe=_exec("startup", periodSeconds=1, failureThreshold=2))])
        _run(lab, "once", [_app(livenessProbe=_exec("live", periodSeconds=1, failureThreshold=1))],
             restartPolicy="Never")
        await until(lab, lambda: _restarts(lab, "slow") >= 1 and
                    lab.status("once").get("phase") == "Failed")
        assert lab.messages("slow", "Killing")[0] == "Container app failed startup probe, will be restarted"
        assert lab.messages("slow", "Unhealthy")[0] == "Startup probe failed: "
        assert lab.messages("once", "Killing") == ["Container app failed liveness probe"]
        assert lab.container("once")["state"]["terminated"]["exitCode"] == 137
        await lab.stop()

    scenario(run)


def test_named_ports_resolve_from_the_containers_ports() -> None:
    c = {"name": "app", "ports": [{"name": "http", "containerPort": 8080}]}
    assert resolve_port("http", c) == 8080 and resolve_port(81, c) == 81 and resolve_port("82", c) == 82
    try:
        resolve_port("grpc", c)
    except ValueError as e:
        assert "couldn't find port: grpc" in str(e)
    else:
        raise AssertionError("no error")


def test_probes_run_once_per_period_however_often_the_pod_is_synced(tmp_path: Path) -> None:
    async def run() -> None:
        lab = RealLab(tmp_path)
        await lab.start()
        _run(lab, "web", [_app(readinessProbe=_exec("ready", periodSeconds=5))])
        await until(lab, lambda: _ready(lab))
        assert len(lab.runtime.execs) == 1
        for i in range(5):  # metadata changes wake the pod worker, which wakes the probe workers
            lab.admin.patch("pods", "web", {"metadata": {"labels": {"n": str(i)}}}, "default")
            await lab.advance(0.2)
        assert len(lab.runtime.execs) == 1
        await lab.advance(4.5)
        assert len(lab.runtime.execs) == 2
        await lab.stop()

    scenario(run)
