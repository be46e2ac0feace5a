"""The kubelet driving the process runtime (real processes under proot, SystemClock): a shared emptyDir, the
pod's /etc/hosts, exit codes that drive the restart policy, a liveness restart. Skipped where the process runtime
cannot run (or is not there yet)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kubelab.clock import SystemClock
from kubelab.config import LabConfig
from kubelab.controllers.job import JobController
from kubelab.kubelet import Kubelet, NodeSpec
from tests.controllers.test_replicaset import running
from tests.harness import Harness

process = pytest.importorskip("kubelab.kubelet.process")
_reason = process.process_runtime_unavailable_reason()
pytestmark = pytest.mark.skipif(_reason is not None, reason=str(_reason))

Obj = dict[str, Any]
NODE = "proc-node"


class ProcLab:
    def __init__(self, tmp: Path) -> None:
        self.h = Harness(config=LabConfig(), clock=SystemClock())  # type: ignore[arg-type]
        self.admin = self.h.client("admin")
        spec = NodeSpec(NODE, pod_cidr="127.244.7.0/24", internal_ip="127.0.0.1")
        self.runtime = process.ProcessRuntime(SystemClock(), self.h.config, name=NODE, root_dir=tmp / "runtime")
        self.kubelet = Kubelet(self.h.client("kubelet"), spec, self.h.config, trace=self.h.trace,
                               runtime=self.runtime, root_dir=tmp / "kubelet")
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> ProcLab:
        self.task = asyncio.create_task(self.kubelet.run())
        await self.until(self.kubelet.registered.is_set)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for p in self.admin.list("pods", "default"):
            self.admin.delete("pods", p["metadata"]["name"], "default")
        await self.until(lambda: not self.admin.list("pods", "default"))
        self.kubelet.close()
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        self.runtime.shutdown()

    def run_pod(self, name: str, containers: list[Obj], **spec: Any) -> None:
        self.admin.create("pods", {"metadata": {"name": name}, "spec": {"containers": containers, **spec}},
                          "default")
        self.admin.bind("default", name, NODE)

    def status(self, name: str) -> Obj:
        pod = self.admin.try_get("pods", name, "default")
        return (pod or {}).get("status") or {}

    def container(self, name: str, index: int = 0) -> Obj:
        return (self.status(name).get("containerStatuses") or [{}] * (index + 1))[index]

    async def until(self, cond: Callable[[], bool], timeout: float = 30.0) -> None:
        async def loop() -> None:
            while not cond():
                await asyncio.sleep(0.05)
        await asyncio.wait_for(loop(), timeout)

    async def logs(self, pod: str, container: str) -> list[str]:
        cid = self.container_id(pod, container)
        return [e.line async for e in self.runtime.logs(cid)]

    def container_id(self, pod: str, container: str) -> str:
        cs = next(c for c in self.status(pod).get("containerStatuses") or [] if c["name"] == container)
        return str(cs["containerID"]).split("://", 1)[1]


def test_two_containers_share_an_empty_dir_and_see_the_pods_hosts_file(tmp_path: Path) -> None:
    async def main() -> None:
        async with ProcLab(tmp_path) as lab:
            mounts = [{"name": "shared", "mountPath": "/data"}]
            lab.run_pod("pair", [
                {"name": "writer", "image": "busybox", "volumeMounts": mounts,
                 "command": ["sh", "-c", "echo from-writer > /data/msg; sleep 3600"]},
                {"name": "reader", "image": "busybox", "volumeMounts": mounts,
                 "command": ["sh", "-c", "until [ -f /data/msg ]; do sleep 0.05; done; cat /data/msg; "
                                         "grep pair /etc/hosts; sleep 3600"]}],
                volumes=[{"name": "shared", "emptyDir": {}}])
            await lab.until(lambda: lab.status("pair").get("phase") == "Running")

            async def read() -> list[str]:
                return await lab.logs("pair", "reader")
            for _ in range(200):
                if len(await read()) >= 2:
                    break
                await asyncio.sleep(0.05)
            ip = lab.status("pair")["podIP"]
            assert await read() == ["from-writer", f"{ip}\tpair"]
            uid = lab.admin.get("pods", "pair", "default")["metadata"]["uid"]
            pod_dir = tmp_path / "kubelet" / "pods" / uid
            assert (pod_dir / "volumes" / "kubernetes.io~empty-dir" / "shared" / "msg").read_text() == "from-writer\n"
            lab.admin.delete("pods", "pair", "default")
            await lab.until(lambda: lab.admin.try_get("pods", "pair", "default") is None)
            assert not pod_dir.exists()

    asyncio.run(main())


def test_real_exit_codes_drive_the_restart_policy(tmp_path: Path) -> None:
    async def main() -> None:
        async with ProcLab(tmp_path) as lab:
            lab.run_pod("fails", [{"name": "c", "image": "busybox", "command": ["sh", "-c", "exit 3"]}],
                        restartPolicy="Never")
            lab.run_pod("done", [{"name": "c", "image": "busybox", "command": ["sh", "-c", "true"]}],
                        restartPolicy="OnFailure")
            lab.run_pod("crash", [{"name": "c", "image": "busybox", "command": ["sh", "-c", "exit 1"]}])
            await lab.until(lambda: lab.status("fails").get("phase") == "Failed" and
                            lab.status("done").get("phase") == "Succeeded" and
                            lab.container("crash").get("restartCount", 0) >= 1)
            assert lab.container("fails")["state"]["terminated"]["exitCode"] == 3
            assert lab.container("done")["state"]["terminated"]["reason"] == "Completed"
            await lab.until(lambda: (lab.container("crash").get("state") or {}).get("waiting", {}).get("reason")
                            == "CrashLoopBackOff")
            assert lab.container("crash")["lastState"]["terminated"]["exitCode"] == 1

    asyncio.run(main())


def test_failing_liveness_exec_probe_restarts_the_process(tmp_path: Path) -> None:
    async def main() -> None:
        async with ProcLab(tmp_path) as lab:
            lab.run_pod("live", [{"name": "app", "image": "busybox", "command": ["sh", "-c", "sleep 3600"],
                                  "volumeMounts": [{"name": "state", "mountPath": "/state"}],
                                  "livenessProbe": {"exec": {"command": ["cat", "/state/healthy"]},
                                                    "periodSeconds": 1, "failureThreshold": 1}}],
                        volumes=[{"name": "state", "emptyDir": {}}])
            await lab.until(lambda: lab.container("live").get("restartCount", 0) >= 1)
            evs = lab.admin.list("events", "default", field_selector="involvedObject.name=live")
            msgs = {(e["reason"], e["message"]) for e in evs}
            assert ("Killing", "Container app failed liveness probe, will be restarted") in msgs
            unhealthy = [m for r, m in msgs if r == "Unhealthy"]
            assert unhealthy and all(m.startswith("Liveness probe failed: ") and "/state/healthy" in m
                                     for m in unhealthy)

    asyncio.run(main())


def test_jobs_complete_or_fail_by_the_real_exit_codes(tmp_path: Path) -> None:
    def job(name: str, script: str) -> Obj:
        return {"metadata": {"name": name}, "spec": {"backoffLimit": 0, "template": {"spec": {
            "nodeName": NODE, "restartPolicy": "Never",
            "containers": [{"name": "c", "image": "busybox", "command": ["sh", "-c", script]}]}}}}

    def condition(lab: ProcLab, name: str) -> str:
        j = lab.admin.get("jobs.batch", name, "default")
        return next((c["type"] for c in (j.get("status") or {}).get("conditions") or []
                     if c["type"] in ("Complete", "Failed") and c["status"] == "True"), "")

    async def main() -> None:
        async with ProcLab(tmp_path) as lab:
            h = lab.h
            async with running(h, JobController(h.client("job-controller"), h.informers, h.config, h.trace)):
                lab.admin.create("jobs.batch", job("ok", "echo done"), "default")
                lab.admin.create("jobs.batch", job("bad", "exit 2"), "default")
                await lab.until(lambda: condition(lab, "ok") == "Complete" and condition(lab, "bad") == "Failed")
                for name in ("ok", "bad"):
                    lab.admin.delete("jobs.batch", name, "default", propagation_policy="Background")

    asyncio.run(main())
