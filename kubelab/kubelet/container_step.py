"""One container's way through a stage table: the context the lifecycle stages read and act through.

Mirrors the container half of kuberuntime_container.go (startContainer: pull via the image manager, generate the
config with its environment, create, start; killContainer) with each step named as an action a ``Stage`` of
``kubelab.kubelet.lifecycle`` can call. Selectors read its attributes (``pull_policy``, ``image_present``,
``in_pull_backoff``, ``in_crash_backoff``, ``running``, ``will_restart``); events go out with the container's
field path. With a real runtime the container config also carries its mounts (volumes, and the pod's /etc/hosts
and /etc/resolv.conf) and its log path; the memory limit is always passed.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from kubelab.kubelet import images, lifecycle
from kubelab.kubelet.env import EnvError, container_env
from kubelab.kubelet.projection import MountError
from kubelab.kubelet.runtime import ContainerConfig, CRIError, Mount
from kubelab.kubelet.stages import EventSpec, StageError
from kubelab.kubelet.volumes import memory_limit

if TYPE_CHECKING:
    from kubelab.kubelet.pod_workers import PodWorker

Obj = dict[str, Any]


def _ms(seconds: float) -> float:
    return math.floor(seconds * 1000 + 1e-6) / 1000


class ContainerStep:
    """The stage context for one container: what the lifecycle selectors read and the actions they name."""

    def __init__(self, worker: PodWorker, spec_c: Obj, *, init: bool, attempt: int,
                 running_id: str | None = None) -> None:
        kl = worker.kl
        self.w, self.kl, self.spec_c, self.init, self.attempt = worker, kl, spec_c, init, attempt
        self.config, self.clock = kl.config, kl.clock
        self.name: str = spec_c.get("name", "")
        self.image: str = spec_c.get("image", "")
        self.pull_policy: str = spec_c.get("imagePullPolicy") or "IfNotPresent"
        self.image_present = False
        self.in_pull_backoff = False
        self.in_crash_backoff = False
        self.backoff = 0.0
        self.container_id = running_id
        self.running = running_id is not None
        self.quiet = False  # no events (the pod is already gone from the API)
        self.kill_timeout = 0.0
        self.probe = ""  # the failed probe ("liveness" | "startup") when the kill is a probe's doing
        self.will_restart = False
        self._t0 = kl.clock.monotonic()

    @property
    def pull_key(self) -> str:
        return f"{self.w.key}_{self.image}"

    @property
    def field_path(self) -> str:
        return f"spec.{'initContainers' if self.init else 'containers'}{{{self.name}}}"

    def variables(self) -> dict[str, Any]:
        return {"image": self.image, "container": self.name, "pod": self.w.name, "namespace": self.w.namespace,
                "uid": self.w.uid, "pod_full": self.w.pod_full, "backoff": lifecycle.go_duration(self.backoff),
                "probe": self.probe}

    async def perform(self, action: str) -> dict[str, Any] | None:
        rt = self.kl.runtime
        if action == "inspect_image":
            try:
                images.parse(self.image)
            except images.InvalidImageName as e:
                raise StageError(str(e)) from None
            return None
        if action == "pull_image":
            try:
                await rt.pull_image(self.image)
            except CRIError as e:
                self.kl.pull_backoff.next(self.pull_key, self.clock.now())
                raise StageError(str(e)) from None
            self.kl.pull_backoff.reset(self.pull_key)
            img = await rt.image_status(self.image)
            return {"pull_time": lifecycle.go_duration(_ms(self.config.image_pull_delay)),
                    "total_time": lifecycle.go_duration(_ms(self.clock.monotonic() - self._t0)),
                    "image_size": img.size if img else 0}
        if action == "create_container":
            return await self._create()
        if action == "start_container":
            assert self.container_id is not None
            try:
                await rt.start_container(self.container_id)
            except CRIError as e:
                raise StageError(str(e)) from None
            self.w.reasons.pop(self.name, None)
            return None
        if action == "stop_container":
            if self.container_id is not None:
                await rt.stop_container(self.container_id, self.kill_timeout)
            return None
        raise StageError(f"unknown action {action}")

    async def _create(self) -> dict[str, Any] | None:
        w = self.w
        if w.sandbox_id is None:
            raise StageError("no pod sandbox")
        try:
            env = container_env(self.kl.client, w.pod, self.spec_c, host_ip=self.kl.spec.internal_ip,
                                pod_ip=w.pod_ip)
        except EnvError as e:
            raise StageError(str(e)) from None
        mounts: list[Mount] = []
        log_path = ""
        if self.kl.real:
            try:
                mounts = self.kl.volumes.mounts(self.spec_c, w.volumes or {}, env) + self.kl.pod_file_mounts(
                    w, self.spec_c)
            except (MountError, OSError) as e:
                raise StageError(str(e)) from None
            log_path = self.kl.volumes.log_path(w.namespace, w.name, w.key, self.name, self.attempt)
        cfg = ContainerConfig(
            name=self.name, image=self.image, attempt=self.attempt, command=list(self.spec_c.get("command") or []),
            args=list(self.spec_c.get("args") or []), env=env, working_dir=self.spec_c.get("workingDir") or "",
            stdin=bool(self.spec_c.get("stdin")), stdin_once=bool(self.spec_c.get("stdinOnce")),
            tty=bool(self.spec_c.get("tty")),
            labels={"io.kubernetes.container.name": self.name, "io.kubernetes.pod.name": w.name,
                    "io.kubernetes.pod.namespace": w.namespace, "io.kubernetes.pod.uid": w.key},
            annotations={"io.kubernetes.container.restartCount": str(self.attempt)},
            mounts=mounts, memory_limit=memory_limit(self.spec_c), log_path=log_path)
        try:
            self.container_id = await self.kl.runtime.create_container(w.sandbox_id, cfg, w.sandbox_config())
        except CRIError as e:
            raise StageError(str(e)) from None
        return None

    def show_waiting(self, reason: str, message: str = "") -> None:
        self.w.reasons[self.name] = (reason, message)
        self.w.write_status()

    def record(self, event: EventSpec, message: str) -> None:
        if not self.quiet:
            self.kl.record_event(self.w.pod, event.reason, message, event.type, field_path=self.field_path)

    def trace(self, action: str, message: str) -> None:
        self.kl.emit(action, self.w.pod, message)

    def aborted(self) -> bool:
        return (not self.running) and (self.w.terminating_requested() or not self.kl.running)
