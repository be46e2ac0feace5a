"""Pod workers: one task per pod that keeps the runtime in line with the pod spec and reports status.

Mirrors pkg/kubelet/pod_workers.go (one serial worker per pod, woken by pod updates, runtime events and timers)
and kuberuntime_manager.go's SyncPod: create the sandbox, run init containers one at a time to completion, start
the regular containers, restart what exited as the restart policy says (with the CrashLoopBackOff back-off of
flowcontrol.Backoff), and on deletion stop the containers, write the final status and delete the pod with grace
period 0. Each container start and stop is played from the stage tables in ``kubelab.kubelet.lifecycle``;
status is computed by the pure ``kubelab.kubelet.status.generate_pod_status``.

With a real runtime (``Runtime.real``) the worker also does what kubelet.go's SyncPod does around the runtime:
it waits for the pod's volumes (``kubelab.kubelet.volumes``; FailedMount events, retried with back-off, the pod
Pending in ContainerCreating meanwhile), writes the pod's /etc/hosts and /etc/resolv.conf once the sandbox has an
IP, has the prober probe its containers (``kubelab.kubelet.prober``) and kills a container whose liveness or
startup probe failed, then restarts it as the restart policy says; a deleted pod's directory is removed.
Simplified: no admission checks (resources, node affinity), no eviction, no ephemeral containers; a failed
sandbox is retried after the lab back-off.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from kubelab.api.errors import ApiError
from kubelab.clock import rfc3339
from kubelab.kubelet import lifecycle
from kubelab.kubelet.container_step import ContainerStep
from kubelab.kubelet.runtime import (
    CONTAINER_CREATED,
    CONTAINER_EXITED,
    CONTAINER_RUNNING,
    SANDBOX_READY,
    ContainerStatus,
    CRIError,
    PodSandboxConfig,
)
from kubelab.kubelet.stages import Outcome, play
from kubelab.kubelet.status import PodView, generate_pod_status, is_restartable_init, next_probe_time
from kubelab.kubelet.volumes import FailedMount, Volume

if TYPE_CHECKING:
    from kubelab.kubelet.kubelet import Kubelet

log = logging.getLogger(__name__)
Obj = dict[str, Any]
TERMINAL = ("Succeeded", "Failed")
_EPS = 1e-3  # timers fire just after a deadline, so "now - t < backoff" is already false


class PodWorker:
    def __init__(self, kl: Kubelet, key: str, pod: Obj) -> None:
        self.kl = kl
        self.key = key  # the pod's UID (a static pod's config hash for mirror pods)
        self.pod = pod
        self.sandbox_id: str | None = None
        self.sandbox_ready = False
        self.sandbox_ip = ""
        self.reasons: dict[str, tuple[str, str]] = {}
        self.attempts: dict[str, list[ContainerStatus]] = {}
        self.deleted = False
        self.terminal = False  # final status computed as terminal (deleted pods)
        self.done = False  # finished for good: only a deletion is left to handle
        self.finished = False  # terminated and cleaned up: the worker ends
        self.start_time = ((pod.get("status") or {}).get("startTime")) or ""
        self.volumes: dict[str, Volume] | None = None  # set up (real runtimes only)
        self._dirty = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._timers: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------------------------------- identity
    @property
    def name(self) -> str:
        return str(self.pod["metadata"]["name"])

    @property
    def namespace(self) -> str:
        return str(self.pod["metadata"].get("namespace") or "default")

    @property
    def uid(self) -> str:
        return str(self.pod["metadata"].get("uid") or "")

    @property
    def pod_full(self) -> str:
        return f"{self.name}_{self.namespace}({self.uid})"

    @property
    def host_network(self) -> bool:
        return bool((self.pod.get("spec") or {}).get("hostNetwork"))

    @property
    def pod_ip(self) -> str:
        return self.kl.spec.internal_ip if self.host_network and self.sandbox_id else self.sandbox_ip

    def sandbox_config(self) -> PodSandboxConfig:
        return PodSandboxConfig(name=self.name, namespace=self.namespace, uid=self.key,
                                hostname=self.kl.spec.name if self.host_network else self.name,
                                host_network=self.host_network,
                                labels={"io.kubernetes.pod.name": self.name,
                                        "io.kubernetes.pod.namespace": self.namespace,
                                        "io.kubernetes.pod.uid": self.key})

    # ------------------------------------------------------------------------------------------- the loop
    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop(), name=f"pod-worker-{self.name}")
        self.kick()

    def stop(self) -> None:
        for t in [self._task, *self._timers]:
            if t is not None:
                t.cancel()
        self._timers.clear()

    def kick(self) -> None:
        self._dirty.set()

    def update(self, pod: Obj) -> None:
        """A newer pod from the API. Only spec or metadata changes wake the worker: status-only changes (most
        of them its own writes) are reconciled, not synced, as the kubelet's pod config source does."""
        old, self.pod = self.pod, pod
        if old.get("spec") != pod.get("spec") or _meta(old) != _meta(pod):
            self.kick()

    def gone(self) -> None:
        self.deleted = True
        self.kick()

    def requeue_after(self, seconds: float) -> None:
        async def later() -> None:
            await self.kl.clock.sleep(seconds)
            self.kick()

        t = asyncio.get_running_loop().create_task(later())
        self._timers.add(t)
        t.add_done_callback(self._timers.discard)

    async def _loop(self) -> None:
        while not self.finished:
            await self._dirty.wait()
            self._dirty.clear()
            try:
                await self.sync()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("pod worker %s/%s failed", self.namespace, self.name)
                self.requeue_after(self.kl.config.crashloop_backoff_base)
        for t in list(self._timers):
            t.cancel()
        self.kl.worker_done(self)

    def terminating_requested(self) -> bool:
        return self.deleted or bool(self.pod["metadata"].get("deletionTimestamp"))

    # ------------------------------------------------------------------------------------------- sync
    async def sync(self) -> None:
        if self.terminating_requested():
            await self.terminate()
            return
        if self.done or ((self.pod.get("status") or {}).get("phase") in TERMINAL and self.sandbox_id is None):
            self.done = True
            return
        await self.refresh()
        if self.kl.real and not await self.sync_volumes():
            return
        if self.sandbox_id is None:
            if not self.start_time:
                self.start_time = rfc3339(self.kl.clock.now())
            # one status write for "sandbox ready, containers creating" (the status manager coalesces the
            # pre-sandbox and post-sandbox states when the sandbox comes up at once)
            ready = await self.create_sandbox()
            cfg = self.kl.config
            if not ready or cfg.image_pull_delay > 0 or cfg.container_start_delay > 0:
                # the "ContainerCreating" status is only worth a write when it will last: with zero pull and
                # start delays the Running status follows at the same instant (a status manager coalesces them)
                self.write_status()
            if not ready:
                return
        if self.kl.real:
            self.kl.write_pod_files(self)
            self.kl.prober.sync_pod(self)
        if await self.sync_init_containers():
            await self.sync_containers()
        if self.terminating_requested():
            self.kick()
            return
        await self.refresh()
        status = self.compute_status()
        if status["phase"] in TERMINAL:
            self.done = True
            if self.kl.real:
                self.kl.prober.remove_pod(self.key)
            if self.sandbox_id is not None:
                await self.kl.runtime.stop_pod_sandbox(self.sandbox_id)
                await self.refresh()
        self.write_status()
        self.schedule_probe_timers()

    async def refresh(self) -> None:
        rt = self.kl.runtime
        if self.sandbox_id is None:  # after a kubelet restart: find this pod's sandbox again
            mine = [sb for sb in await rt.list_pod_sandboxes() if sb.config.uid == self.key]
            if mine:
                self.sandbox_id = max(mine, key=lambda sb: sb.created_at).id
        if self.sandbox_id is None:
            self.attempts = {}
            self.sandbox_ready, self.sandbox_ip = False, ""
            return
        try:
            sb = await rt.pod_sandbox_status(self.sandbox_id)
            self.sandbox_ready, self.sandbox_ip = sb.state == SANDBOX_READY, sb.ip
        except CRIError:
            self.sandbox_id, self.sandbox_ready, self.sandbox_ip = None, False, ""
            self.attempts = {}
            return
        by_name: dict[str, list[ContainerStatus]] = {}
        for cs in await rt.list_containers(self.sandbox_id):
            by_name.setdefault(cs.name, []).append(cs)
        for name, lst in by_name.items():
            lst.sort(key=lambda c: (c.attempt, c.created_at), reverse=True)
            for old in lst[2:]:  # container GC: keep the newest and the one before (for logs --previous)
                if old.state == CONTAINER_EXITED:
                    await rt.remove_container(old.id)
            by_name[name] = lst[:2]
        self.attempts = by_name

    async def create_sandbox(self) -> bool:
        try:
            self.sandbox_id = await self.kl.runtime.run_pod_sandbox(self.sandbox_config())
        except CRIError as e:
            self.kl.record_event(self.pod, "FailedCreatePodSandBox", f"Failed to create pod sandbox: {e}", "Warning")
            self.requeue_after(self.kl.config.crashloop_backoff_base)
            return False
        self.kl.emit("sandbox", self.pod, f"pod sandbox {self.sandbox_id[:13]} ready")
        await self.refresh()
        return True

    def _latest(self, name: str) -> ContainerStatus | None:
        lst = self.attempts.get(name)
        return lst[0] if lst else None

    def latest(self, name: str) -> ContainerStatus | None:
        """The newest attempt of container ``name``, as of the last refresh (what the prober probes)."""
        return self._latest(name)

    async def sync_volumes(self) -> bool:
        """WaitForAttachAndMount: set the volumes up (once; later syncs refresh configMap and secret contents).
        False while one cannot be set up: FailedMount, a retry after the back-off, the pod left Pending."""
        kl = self.kl
        if self.volumes is not None:
            kl.volumes.refresh(self.pod, self.key)
            return True
        try:
            self.volumes = kl.volumes.setup(self.pod, self.key)
        except (FailedMount, OSError) as e:
            message = str(e) if isinstance(e, FailedMount) else f"MountVolume.SetUp failed: {e}"
            kl.record_event(self.pod, lifecycle.FAILED_MOUNT.reason, message, lifecycle.FAILED_MOUNT.type)
            kl.mount_backoff.next(self.key, kl.clock.now())
            self.requeue_after(kl.mount_backoff.get(self.key))
            if not self.start_time:
                self.start_time = rfc3339(kl.clock.now())
            self.write_status()
            return False
        kl.mount_backoff.reset(self.key)
        return True

    async def kill_unhealthy(self, c: Obj, latest: ContainerStatus, *, init: bool) -> ContainerStatus | None:
        """A container whose liveness or startup probe failed: Killing event, stop with the grace period."""
        probe = self.kl.prober.kill_reason(self.key, c.get("name", ""), latest.id) if self.kl.real else ""
        if not probe or latest.state != CONTAINER_RUNNING:
            return latest
        spec = self.pod.get("spec") or {}
        grace = (c.get(f"{probe}Probe") or {}).get("terminationGracePeriodSeconds")
        if grace is None:
            grace = spec.get("terminationGracePeriodSeconds", 30)
        step = ContainerStep(self, c, init=init, attempt=latest.attempt, running_id=latest.id)
        step.kill_timeout = min(float(grace), lifecycle.termination_grace_cap(self.kl.config))
        step.probe = probe
        step.will_restart = init or (spec.get("restartPolicy") or "Always") != "Never"
        await play(lifecycle.CONTAINER_KILL_UNHEALTHY, step)
        await self.refresh()
        return self._latest(c.get("name", ""))

    async def sync_init_containers(self) -> bool:
        """Run init containers in order, each to completion; True once the regular containers may start."""
        spec = self.pod.get("spec") or {}
        policy = spec.get("restartPolicy") or "Always"
        for c in spec.get("initContainers") or []:
            latest = self._latest(c.get("name", ""))
            if is_restartable_init(c):  # a sidecar: started, then kept running
                if latest is not None:
                    latest = await self.kill_unhealthy(c, latest, init=True)
                if latest is None or latest.state == CONTAINER_CREATED:
                    if not await self.start_container(c, init=True, previous=latest):
                        return False
                elif latest.state == CONTAINER_EXITED:
                    await self.start_container(c, init=True, previous=latest, restart=True)
                continue
            if latest is None or latest.state == CONTAINER_CREATED:
                await self.start_container(c, init=True, previous=latest)
                return False
            if latest.state == CONTAINER_RUNNING:
                return False
            if latest.exit_code == 0:
                continue
            if policy != "Never":
                await self.start_container(c, init=True, previous=latest, restart=True)
            return False
        return True

    async def sync_containers(self) -> None:
        spec = self.pod.get("spec") or {}
        policy = spec.get("restartPolicy") or "Always"
        for c in spec.get("containers") or []:
            if self.terminating_requested():
                return
            latest = self._latest(c.get("name", ""))
            if latest is not None:
                latest = await self.kill_unhealthy(c, latest, init=False)
            if latest is None or latest.state == CONTAINER_CREATED:
                await self.start_container(c, init=False, previous=latest)
            elif latest.state == CONTAINER_EXITED:
                if policy == "Always" or (policy == "OnFailure" and latest.exit_code != 0):
                    await self.start_container(c, init=False, previous=latest, restart=True)

    async def start_container(self, c: Obj, *, init: bool, previous: ContainerStatus | None,
                              restart: bool = False) -> bool:
        """Play the container start stages; True when the container is now running."""
        rt = self.kl.runtime
        attempt = 0
        if previous is not None:
            if previous.state == CONTAINER_CREATED:  # created but never started (kubelet stopped meanwhile)
                await rt.remove_container(previous.id)
                attempt = previous.attempt
            else:
                attempt = previous.attempt + 1
        step = ContainerStep(self, c, init=init, attempt=attempt)
        step.image_present = await rt.image_status(step.image) is not None
        now = self.kl.clock.now()
        step.in_pull_backoff = self.kl.pull_backoff.in_backoff_since_update(step.pull_key, now)
        crash_key = f"{self.key}_{step.name}"
        if restart and previous is not None and previous.finished_at is not None:
            if self.kl.crash_backoff.in_backoff_since(crash_key, previous.finished_at, now):
                step.in_crash_backoff = True
                step.backoff = self.kl.crash_backoff.get(crash_key)
            else:
                self.kl.crash_backoff.next(crash_key, previous.finished_at)
        outcome = await play(lifecycle.CONTAINER_START, step)
        self._after_start(step, outcome, previous)
        await self.refresh()
        self.write_status()
        return outcome.ok

    def _after_start(self, step: ContainerStep, outcome: Outcome, previous: ContainerStatus | None) -> None:
        now = self.kl.clock.now()
        if outcome.ok:
            self.reasons.pop(step.name, None)
        elif outcome.reason == "ErrImagePull":
            b = self.kl.pull_backoff.get(step.pull_key)
            self.requeue_after(b * lifecycle.PULL_BACKOFF_SHOW_FRACTION)
            self.requeue_after(b + _EPS)
        elif outcome.reason == "ImagePullBackOff":
            self.requeue_after(self.kl.pull_backoff.remaining_since_update(step.pull_key, now) + _EPS)
        elif outcome.reason == "CrashLoopBackOff" and previous is not None and previous.finished_at is not None:
            left = step.backoff - (now - previous.finished_at).total_seconds()
            self.requeue_after(max(left, 0.0) + _EPS)
        elif outcome.reason == "Aborted":
            self.kick()
        else:  # config errors and the like: look again after the lab's base back-off
            self.requeue_after(self.kl.config.crashloop_backoff_base)

    def schedule_probe_timers(self) -> None:
        if self.kl.real:
            return  # the prober's workers kick the worker when a result changes
        now = self.kl.clock.now()
        spec = self.pod.get("spec") or {}
        for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
            t = next_probe_time(c, self._latest(c.get("name", "")), now)
            if t is not None:
                self.requeue_after(t + _EPS)

    # ------------------------------------------------------------------------------------------- termination
    async def terminate(self) -> None:
        """Stop the containers (Killing events), write the final status, delete the pod with grace period 0."""
        await self.refresh()
        if self.kl.real:
            self.kl.prober.remove_pod(self.key)
        in_api = not self.deleted
        meta, spec = self.pod["metadata"], self.pod.get("spec") or {}
        grace = meta.get("deletionGracePeriodSeconds")
        if grace is None:
            grace = spec.get("terminationGracePeriodSeconds", 30)
        timeout = min(float(grace), lifecycle.termination_grace_cap(self.kl.config)) if in_api else 0.0
        steps = []
        for init, c in [*((True, c) for c in spec.get("initContainers") or []),
                        *((False, c) for c in spec.get("containers") or [])]:
            latest = self._latest(c.get("name", ""))
            if latest is not None and latest.state in (CONTAINER_RUNNING, CONTAINER_CREATED):
                step = ContainerStep(self, c, init=init, attempt=latest.attempt, running_id=latest.id)
                step.kill_timeout, step.quiet = timeout, not in_api
                steps.append(step)
        await asyncio.gather(*(play(lifecycle.CONTAINER_KILL, s) for s in steps))
        self.reasons.clear()
        if self.sandbox_id is not None:
            await self.kl.runtime.stop_pod_sandbox(self.sandbox_id)
        await self.refresh()
        if in_api:
            self.terminal = True
            self.write_status()
            try:
                if self.kl.client.delete("pods", self.name, self.namespace, grace_period_seconds=0,
                                         preconditions={"uid": self.uid}) is not None:
                    self.kl.emit("delete", self.pod, "pod deleted after its containers stopped")
            except ApiError as e:
                log.debug("deleting pod %s: %s", self.name, e)
        if self.sandbox_id is not None:
            await self.kl.runtime.remove_pod_sandbox(self.sandbox_id)
        self.sandbox_id = None
        if self.kl.real:
            self.kl.volumes.cleanup(self.key, self.namespace, self.name)
            self.kl.mount_backoff.reset(self.key)
        self.finished = True

    # ------------------------------------------------------------------------------------------- status
    def view(self) -> PodView:
        probes = None
        if self.kl.real:
            spec = self.pod.get("spec") or {}
            probes = {c.get("name", ""): self.kl.prober.started_ready(self.key, c, self._latest(c.get("name", "")))
                      for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]}
        return PodView(containers=self.attempts, reasons=dict(self.reasons), sandbox_ready=self.sandbox_ready,
                       pod_ip=self.pod_ip, host_ip=self.kl.spec.internal_ip, terminal=self.terminal,
                       start_time=self.start_time, probes=probes)

    def compute_status(self) -> Obj:
        return generate_pod_status(self.pod, self.view(), self.kl.clock.now())

    def write_status(self) -> None:
        """Recompute and write status if it changed (reading the pod fresh, so the write never conflicts)."""
        client = self.kl.client
        try:
            fresh = client.try_get("pods", self.name, self.namespace)
        except ApiError:
            return
        if fresh is None or (fresh["metadata"].get("uid") != self.uid):
            return
        self.pod = fresh
        status = generate_pod_status(fresh, self.view(), self.kl.clock.now())
        old = fresh.get("status") or {}
        if status == old:
            return
        obj = dict(fresh, status=status)
        try:
            self.pod = client.update_status("pods", obj)
        except ApiError as e:
            if e.code == 409:
                self.requeue_after(0.01)
            return
        if status.get("phase") != old.get("phase") or _states(status) != _states(old):
            self.kl.emit("status", self.pod, f"{status.get('phase')}: {_states(status)}")


def _states(status: Obj) -> str:
    out = []
    for cs in [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]:
        state = cs.get("state") or {}
        kind = next(iter(state), "waiting")
        detail = (state.get(kind) or {}).get("reason") or ""
        out.append(f"{cs.get('name')}={kind}{'/' + detail if detail else ''}")
    return ", ".join(out)


def _meta(pod: Obj) -> Obj:
    return {k: v for k, v in (pod.get("metadata") or {}).items() if k not in ("resourceVersion", "managedFields")}
