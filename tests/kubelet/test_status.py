"""generate_pod_status and getPhase as pure functions (table-driven)."""

from __future__ import annotations

import datetime as _dt
from typing import Any

import pytest

from kubelab.kubelet.runtime import CONTAINER_EXITED, CONTAINER_RUNNING, ContainerStatus
from kubelab.kubelet.status import PodView, generate_pod_status
from tests.kubelet.helpers import official

NOW = _dt.datetime(2026, 1, 1, tzinfo=_dt.UTC)


def cs(state: str, exit_code: int = 0, attempt: int = 0, name: str = "c") -> ContainerStatus:
    return ContainerStatus(id=f"{name}{attempt}".ljust(64, "0"), sandbox_id="s", name=name, attempt=attempt,
                           state=state, image="docker.io/library/busybox:latest",
                           image_ref="docker.io/library/busybox@sha256:" + "a" * 64, created_at=NOW,
                           started_at=NOW, finished_at=NOW if state == CONTAINER_EXITED else None,
                           exit_code=exit_code, reason=("Completed" if exit_code == 0 else "Error")
                           if state == CONTAINER_EXITED else "")


def pod(policy: str = "Always", init: bool = False) -> dict[str, Any]:
    spec: dict[str, Any] = {"restartPolicy": policy, "containers": [{"name": "c", "image": "busybox"}]}
    if init:
        spec["initContainers"] = [{"name": "i", "image": "busybox"}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default", "uid": "u",
                                                             "generation": 1},
            "spec": spec, "status": {"phase": "Pending", "qosClass": "BestEffort", "conditions": [
                {"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                 "lastTransitionTime": "2026-01-01T00:00:00Z"}]}}


@pytest.mark.parametrize(("policy", "attempts", "reason", "terminal", "phase"), [
    ("Always", [], None, False, "Pending"),
    ("Always", [cs(CONTAINER_RUNNING)], None, False, "Running"),
    ("Always", [cs(CONTAINER_EXITED, 1)], ("CrashLoopBackOff", "back-off"), False, "Running"),
    ("Never", [cs(CONTAINER_EXITED, 0)], None, False, "Succeeded"),
    ("Never", [cs(CONTAINER_EXITED, 2)], None, False, "Failed"),
    ("OnFailure", [cs(CONTAINER_EXITED, 2)], None, False, "Running"),
    ("OnFailure", [cs(CONTAINER_EXITED, 0)], None, False, "Succeeded"),
    ("Always", [cs(CONTAINER_EXITED, 137)], None, True, "Failed"),
    ("Always", [], ("ErrImagePull", "x"), False, "Pending"),
])
def test_phase(policy: str, attempts: list[ContainerStatus], reason: tuple[str, str] | None, terminal: bool,
               phase: str) -> None:
    view = PodView(containers={"c": attempts} if attempts else {}, reasons={"c": reason} if reason else {},
                   sandbox_ready=True, pod_ip="10.244.1.2", host_ip="172.18.0.3", terminal=terminal)
    st = generate_pod_status(pod(policy), view, NOW)
    assert st["phase"] == phase
    official(dict(pod(policy), status=st), "V1Pod")


def test_crash_loop_status_shape() -> None:
    view = PodView(containers={"c": [cs(CONTAINER_EXITED, 1, attempt=3), cs(CONTAINER_EXITED, 1, attempt=2)]},
                   reasons={"c": ("CrashLoopBackOff", "back-off 4s restarting failed container=c pod=p_default(u)")},
                   sandbox_ready=True, pod_ip="10.244.1.2", host_ip="172.18.0.3")
    c = generate_pod_status(pod(), view, NOW)["containerStatuses"][0]
    assert c["state"] == {"waiting": {"reason": "CrashLoopBackOff",
                                      "message": "back-off 4s restarting failed container=c pod=p_default(u)"}}
    assert c["lastState"]["terminated"]["exitCode"] == 1 and c["restartCount"] == 3
    assert c["lastState"]["terminated"]["containerID"] == c["containerID"]


def test_init_pending_conditions_and_kept_fields() -> None:
    view = PodView(containers={"i": [cs(CONTAINER_RUNNING, name="i")]}, sandbox_ready=True, pod_ip="10.244.1.2",
                   host_ip="172.18.0.3")
    st = generate_pod_status(pod(init=True), view, NOW)
    assert st["phase"] == "Pending" and st["qosClass"] == "BestEffort"
    conds = {c["type"]: c for c in st["conditions"]}
    assert conds["Initialized"]["message"] == "containers with incomplete status: [i]"
    assert conds["PodScheduled"]["status"] == "True"
    assert [c["type"] for c in st["conditions"]] == ["PodReadyToStartContainers", "Initialized", "Ready",
                                                     "ContainersReady", "PodScheduled"]
    assert st["containerStatuses"][0]["state"] == {"waiting": {"reason": "PodInitializing"}}
