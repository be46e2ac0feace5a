"""The container runtime interface (CRI) the kubelet talks to, and a simulated runtime that implements it.

Mirrors the CRI's two services (k8s.io/cri-api runtime/v1): RuntimeService (pod sandboxes, containers, logs,
exec, port-forward, container events) and ImageService (pull, status, list). Calls are coroutines, as a real
runtime is reached over gRPC. Errors read like a gRPC status (``rpc error: code = NotFound desc = ...``), as
the kubelet relays them into events and container statuses.

``SimulatedRuntime`` runs no processes: a container is a record that plays its ``Program`` (from
``kubelab.kubelet.programs``) on the injected clock: output lines, sleeps, an exit code. It also does the
sandbox's networking (a host-local style IP allocator over the node's pod CIDR, given to it by the kubelet's
``update_runtime_config``, as CRI's UpdateRuntimeConfig does). Pulls record the image; their duration belongs
to the lifecycle stages (``LabConfig.image_pull_delay``), not to the runtime. ``exec``, ``attach`` and
``port_forward`` answer Unimplemented here; ``kubelab.kubelet.process.ProcessRuntime`` implements the same
protocol with real processes.

Both runtimes build on what this module shares: ``RuntimeBase`` (the sandbox and container stores, ids, pod
IPAM, container events, as containerd's CRI plugin keeps them), ``ImageService`` (the image store) and
``play_steps`` (how a ``Program`` plays; the process runtime plays non-catalogue images with it).
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import hashlib
import ipaddress
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from kubelab.clock import Clock
from kubelab.config import LabConfig
from kubelab.kubelet import images
from kubelab.kubelet.programs import DATE_MARK, Program, Step, program_for

SANDBOX_READY, SANDBOX_NOTREADY = "SANDBOX_READY", "SANDBOX_NOTREADY"
CONTAINER_CREATED, CONTAINER_RUNNING, CONTAINER_EXITED = "CONTAINER_CREATED", "CONTAINER_RUNNING", "CONTAINER_EXITED"


class CRIError(Exception):
    """A failed runtime call, shaped like a gRPC status."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"rpc error: code = {code} desc = {message}")
        self.code = code
        self.desc = message


# ------------------------------------------------------------------------------------------------ messages
@dataclass
class PodSandboxConfig:
    name: str
    namespace: str
    uid: str
    attempt: int = 0
    hostname: str = ""
    host_network: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass
class PodSandboxStatus:
    id: str
    config: PodSandboxConfig
    state: str
    created_at: _dt.datetime
    ip: str = ""


@dataclass(frozen=True)
class Mount:
    """CRI's Mount: a host path the container sees at ``container_path`` (the kubelet prepares the host side:
    volume directories, configMap/secret files, the pod's /etc/hosts and /etc/resolv.conf)."""

    container_path: str
    host_path: str
    readonly: bool = False


@dataclass
class ContainerConfig:
    name: str
    image: str  # as the pod spec wrote it
    attempt: int = 0
    command: list[str] = field(default_factory=list)
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    working_dir: str = ""
    stdin: bool = False
    stdin_once: bool = False  # CRI's StdinOnce: the first attach session that ends closes the container's stdin
    tty: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    mounts: list[Mount] = field(default_factory=list)
    memory_limit: int | None = None  # bytes, from resources.limits.memory
    log_path: str = ""  # where the runtime writes the CRI-format log (the kubelet's pods/<ns>_<pod>_<uid>/<c>/N.log)


@dataclass
class ContainerStatus:
    id: str
    sandbox_id: str
    name: str
    attempt: int
    state: str
    image: str  # fully qualified, tagged: docker.io/library/nginx:1.27
    image_ref: str  # repo digest: docker.io/library/nginx@sha256:...
    created_at: _dt.datetime
    started_at: _dt.datetime | None = None
    finished_at: _dt.datetime | None = None
    exit_code: int = 0
    reason: str = ""
    message: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass
class Image:
    id: str
    repo_tags: list[str]
    repo_digests: list[str]
    size: int


@dataclass(frozen=True)
class LogEntry:
    time: _dt.datetime
    stream: str  # "stdout" | "stderr"
    line: str


@dataclass(frozen=True)
class ContainerEvent:
    """GetContainerEvents' message: what happened to which container (the kubelet's evented PLEG reads it)."""

    container_id: str
    sandbox_id: str
    type: str  # CONTAINER_CREATED_EVENT | CONTAINER_STARTED_EVENT | CONTAINER_STOPPED_EVENT | CONTAINER_DELETED_EVENT


class ExecSession(Protocol):
    """A process started by ``exec`` (or a container reached by ``attach``): the streaming server's end of it.

    With ``tty`` the terminal's output comes on ``stdout`` and ``stderr`` is None. ``wait`` returns the exit code
    (for attach: the container's, when it exits)."""

    stdout: asyncio.StreamReader | None
    stderr: asyncio.StreamReader | None

    async def write(self, data: bytes) -> None: ...

    def close_stdin(self) -> None: ...

    def resize(self, width: int, height: int) -> None: ...

    async def wait(self) -> int: ...

    def kill(self) -> None: ...


class Runtime(Protocol):
    """CRI RuntimeService + ImageService, as coroutines.

    ``real`` is True for a runtime whose containers are processes (probes then really run, volumes are
    prepared on disk); the simulated runtime plays programs on the clock instead."""

    runtime_name: str
    runtime_version: str
    real: bool

    def update_runtime_config(self, pod_cidr: str) -> None: ...

    # sandboxes
    async def run_pod_sandbox(self, config: PodSandboxConfig) -> str: ...

    async def stop_pod_sandbox(self, sandbox_id: str) -> None: ...

    async def remove_pod_sandbox(self, sandbox_id: str) -> None: ...

    async def pod_sandbox_status(self, sandbox_id: str) -> PodSandboxStatus: ...

    async def list_pod_sandboxes(self) -> list[PodSandboxStatus]: ...

    # images
    async def pull_image(self, image: str) -> str: ...

    async def image_status(self, image: str) -> Image | None: ...

    async def list_images(self) -> list[Image]: ...

    # containers
    async def create_container(self, sandbox_id: str, config: ContainerConfig,
                               sandbox_config: PodSandboxConfig) -> str: ...

    async def start_container(self, container_id: str) -> None: ...

    async def stop_container(self, container_id: str, timeout: float) -> None: ...

    async def remove_container(self, container_id: str) -> None: ...

    async def container_status(self, container_id: str) -> ContainerStatus: ...

    async def list_containers(self, sandbox_id: str | None = None) -> list[ContainerStatus]: ...

    def logs(self, container_id: str, tail: int | None = None, follow: bool = False) -> AsyncIterator[LogEntry]: ...

    async def exec(self, container_id: str, cmd: list[str], tty: bool = False,
                   stdin: bool = False) -> ExecSession: ...

    async def exec_sync(self, container_id: str, cmd: list[str], timeout: float) -> tuple[int, bytes, bytes]: ...

    async def attach(self, container_id: str, tty: bool = False, stdin: bool = False) -> ExecSession: ...

    async def port_forward(self, sandbox_id: str,
                           port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]: ...

    def shutdown(self) -> None: ...

    def subscribe(self, callback: Callable[[ContainerEvent], None]) -> Callable[[], None]: ...


# ------------------------------------------------------------------------------------------------ shared
class HostLocalIPAM:
    """The CNI host-local plugin's allocation: addresses handed out in order from the last one given, .1 left
    for the gateway."""

    def __init__(self, cidr: str) -> None:
        self.cidr = cidr
        net = ipaddress.ip_network(cidr, strict=False)
        self.pool = [str(h) for h in itertools.islice(net.hosts(), 1, None)]
        self.owner: dict[str, str] = {}
        self.last = -1

    def allocate(self, owner: str) -> str:
        for k in range(len(self.pool)):
            i = (self.last + 1 + k) % len(self.pool)
            ip = self.pool[i]
            if ip not in self.owner:
                self.owner[ip] = owner
                self.last = i
                return ip
        first, last = self.pool[0] if self.pool else "", self.pool[-1] if self.pool else ""
        raise CRIError("Unknown", f'failed to setup network for sandbox "{owner}": plugin type="ptp" failed (add): '
                                  f"failed to allocate for range 0: no IP addresses available in range set: "
                                  f"{first}-{last}")

    def release(self, owner: str) -> None:
        for ip, o in list(self.owner.items()):
            if o == owner:
                del self.owner[ip]


async def play_steps(clock: Clock, steps: tuple[Step, ...], write: Callable[[str], None]) -> tuple[str, int]:
    """Play a Program's steps on the clock: ("exit", code), ("forever", 0) for a program that now runs until
    stopped, or ("end", 0) when the steps ran out. Shared by the runtimes that simulate containers."""
    for st in steps:
        if st.op == "out":
            write(st.text)
        elif st.op == "sleep":
            await clock.sleep(st.seconds)
        elif st.op == "exit":
            return "exit", st.code
        elif st.op == "forever":
            return "forever", 0
        elif st.op == "loop":
            if not any(s.op == "sleep" for s in st.body):
                await play_steps(clock, st.body, write)  # one pass: a loop that never sleeps would only spin
                return "forever", 0
            while True:
                outcome, code = await play_steps(clock, st.body, write)
                if outcome != "end":
                    return outcome, code
    return "end", 0


class ImageService:
    """CRI's ImageService (PullImage, ImageStatus, ListImages) over an image store like containerd's: images
    by their fully qualified tagged name. A pull checks the name against the lab's rules (``images.check_pull``:
    what a registry would refuse) and records the image; how long a pull takes is the kubelet's business
    (``LabConfig.image_pull_delay``). Both runtimes keep their images here."""

    def __init__(self, config: LabConfig, preload: Iterable[str] = tuple(images.PRELOADED)) -> None:
        self.config = config
        self._images: dict[str, Image] = {}
        for image in preload:
            self._record(images.parse(image))

    def _record(self, ref: images.ImageRef) -> Image:
        img = self._images.get(ref.tagged)
        if img is None:
            img = self._images[ref.tagged] = Image(images.image_id(ref.tagged), [ref.tagged], [ref.repo_digest],
                                                   images.image_size(ref))
        return img

    def get(self, ref: images.ImageRef) -> Image | None:
        """The stored image for ``ref``, None when it is not on the node."""
        return self._images.get(ref.tagged)

    async def pull_image(self, image: str) -> str:
        try:
            ref = images.check_pull(image, tuple(self.config.unpullable_images))
        except images.InvalidImageName as e:
            raise CRIError("InvalidArgument", str(e)) from None
        except images.PullError as e:
            raise CRIError(e.code, str(e)) from None
        return self._record(ref).repo_digests[0]

    async def image_status(self, image: str) -> Image | None:
        try:
            return self.get(images.parse(image))
        except images.InvalidImageName:
            return None

    async def list_images(self) -> list[Image]:
        return list(self._images.values())


class _HasStatus(Protocol):
    """What a runtime keeps for a container: anything with the container's CRI status."""

    status: ContainerStatus


C = TypeVar("C", bound=_HasStatus)  # what a runtime keeps for a container
T = TypeVar("T")


def _find(store: dict[str, T], kind: str, id_: str) -> T:
    """A sandbox or container by id, or containerd's NotFound."""
    found = store.get(id_)
    if found is None:
        raise CRIError("NotFound", f'an error occurred when try to find {kind} "{id_}": not found')
    return found


class RuntimeBase(Generic[C]):
    """The bookkeeping both runtimes share, as containerd's CRI plugin keeps it whatever runs the containers:
    the sandbox and container stores (a lookup that misses fails with containerd's NotFound), ids, pod IPs
    (host-local IPAM over the pod CIDR that UpdateRuntimeConfig gives), the ``ImageService`` and the
    subscribers of GetContainerEvents. A runtime adds what a container is (``C``, with a ``status``), how a
    stopping sandbox stops what still runs in it, and the container calls."""

    runtime_name = "containerd"

    def __init__(self, clock: Clock, config: LabConfig | None, *, name: str, runtime_version: str,
                 preload: Iterable[str]) -> None:
        self.clock = clock
        self.config = config or LabConfig()
        self.runtime_version = runtime_version
        self.image_service = ImageService(self.config, preload)
        self._salt = name
        self._ids = itertools.count(1)
        self._sandboxes: dict[str, PodSandboxStatus] = {}
        self._containers: dict[str, C] = {}
        self._ipam: HostLocalIPAM | None = None
        self._subscribers: list[Callable[[ContainerEvent], None]] = []

    # -------------------------------------------------------------------------------------------- plumbing
    def _new_id(self, *parts: str) -> str:
        return hashlib.sha256("/".join((self._salt, str(next(self._ids)), *parts)).encode()).hexdigest()

    def subscribe(self, callback: Callable[[ContainerEvent], None]) -> Callable[[], None]:
        """GetContainerEvents: ``callback`` gets every container event until the returned function is called."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers else None

    def _publish(self, c: C, type_: str) -> None:
        ev = ContainerEvent(c.status.id, c.status.sandbox_id, type_)
        for cb in list(self._subscribers):
            cb(ev)

    def update_runtime_config(self, pod_cidr: str) -> None:
        if self._ipam is None or self._ipam.cidr != pod_cidr:
            self._ipam = HostLocalIPAM(pod_cidr)

    def _sandbox(self, sandbox_id: str) -> PodSandboxStatus:
        return _find(self._sandboxes, "sandbox", sandbox_id)

    def _container(self, container_id: str) -> C:
        return _find(self._containers, "container", container_id)

    # -------------------------------------------------------------------------------------------- sandboxes
    async def run_pod_sandbox(self, config: PodSandboxConfig) -> str:
        sid = self._new_id("sandbox", config.namespace, config.name, config.uid)
        ip = "" if config.host_network else self._allocate_ip(sid)
        self._sandboxes[sid] = PodSandboxStatus(sid, config, SANDBOX_READY, self.clock.now(), ip)
        return sid

    def _allocate_ip(self, sandbox_id: str) -> str:
        """The sandbox's IP, as the CNI plugin would give it."""
        if self._ipam is None:
            raise CRIError("Unknown", "failed to setup network for sandbox: no pod CIDR configured")
        return self._ipam.allocate(sandbox_id)

    async def stop_pod_sandbox(self, sandbox_id: str) -> None:
        sb = self._sandboxes.get(sandbox_id)
        if sb is None:
            return
        await self._stop_sandbox_containers(sandbox_id)
        sb.state = SANDBOX_NOTREADY
        if self._ipam is not None:
            self._ipam.release(sandbox_id)

    async def _stop_sandbox_containers(self, sandbox_id: str) -> None:
        """StopPodSandbox forcibly stops what still runs in the sandbox (each runtime its own way)."""
        raise NotImplementedError

    async def remove_pod_sandbox(self, sandbox_id: str) -> None:
        await self.stop_pod_sandbox(sandbox_id)
        for cid, c in list(self._containers.items()):
            if c.status.sandbox_id == sandbox_id:
                await self.remove_container(cid)
        self._sandboxes.pop(sandbox_id, None)

    async def remove_container(self, container_id: str) -> None:
        raise NotImplementedError

    async def pod_sandbox_status(self, sandbox_id: str) -> PodSandboxStatus:
        return self._sandbox(sandbox_id)

    async def list_pod_sandboxes(self) -> list[PodSandboxStatus]:
        return list(self._sandboxes.values())

    # -------------------------------------------------------------------------------------------- images
    async def pull_image(self, image: str) -> str:
        return await self.image_service.pull_image(image)

    async def image_status(self, image: str) -> Image | None:
        return await self.image_service.image_status(image)

    async def list_images(self) -> list[Image]:
        return await self.image_service.list_images()

    # -------------------------------------------------------------------------------------------- containers
    def _new_container_status(self, sandbox_id: str, config: ContainerConfig) -> tuple[PodSandboxStatus,
                                                                                         ContainerStatus]:
        """CreateContainer's checks (the sandbox is ready, the image is on the node), then the new container's
        status (CONTAINER_CREATED, a fresh id) and its sandbox's."""
        sb = self._sandbox(sandbox_id)
        if sb.state != SANDBOX_READY:
            raise CRIError("Unknown", f'failed to create containerd container: sandbox "{sandbox_id}" is not ready')
        ref = images.parse(config.image)
        img = self.image_service.get(ref)
        if img is None:
            raise CRIError("NotFound", f'failed to create containerd container: image "{ref.tagged}": not found')
        cid = self._new_id("container", sandbox_id, config.name, str(config.attempt))
        status = ContainerStatus(cid, sandbox_id, config.name, config.attempt, CONTAINER_CREATED, ref.tagged,
                                 img.repo_digests[0], self.clock.now(), labels=dict(config.labels),
                                 annotations=dict(config.annotations))
        return sb, status

    def _add_container(self, c: C) -> str:
        self._containers[c.status.id] = c
        self._publish(c, "CONTAINER_CREATED_EVENT")
        return c.status.id

    async def _grace_period(self, exited: Awaitable[object], timeout: float) -> None:
        """StopContainer's wait between SIGTERM and SIGKILL: until ``exited`` or ``timeout`` seconds on the clock."""
        waiter = asyncio.ensure_future(exited)
        sleeper = asyncio.ensure_future(self.clock.sleep(timeout))
        try:
            await asyncio.wait({waiter, sleeper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            sleeper.cancel()

    def _created_container(self, container_id: str) -> C:
        """StartContainer's precondition: the container exists and was created, not yet started."""
        c = self._container(container_id)
        if c.status.state != CONTAINER_CREATED:
            raise CRIError("Unknown", f"container {container_id} is not in created state")
        return c

    async def container_status(self, container_id: str) -> ContainerStatus:
        return self._container(container_id).status

    async def list_containers(self, sandbox_id: str | None = None) -> list[ContainerStatus]:
        return [c.status for c in self._containers.values() if sandbox_id is None or c.status.sandbox_id == sandbox_id]


# ------------------------------------------------------------------------------------------------ simulation
@dataclass
class _Container:
    status: ContainerStatus
    config: ContainerConfig
    program: Program
    logs: list[LogEntry] = field(default_factory=list)
    task: asyncio.Task[None] | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)
    changed: asyncio.Event = field(default_factory=asyncio.Event)


class SimulatedRuntime(RuntimeBase[_Container]):
    """Containers as records driven by the clock; see the module docstring."""

    real = False

    def __init__(self, clock: Clock, config: LabConfig | None = None, *, name: str = "",
                 preload: Iterable[str] = tuple(images.PRELOADED), runtime_version: str = "2.1.1") -> None:
        super().__init__(clock, config, name=name, runtime_version=runtime_version, preload=preload)

    def _now(self) -> _dt.datetime:
        return self.clock.now()

    async def _stop_sandbox_containers(self, sandbox_id: str) -> None:
        for c in list(self._containers.values()):
            if c.status.sandbox_id == sandbox_id and c.status.state == CONTAINER_RUNNING:
                self._finish(c, 137, "Error")

    # -------------------------------------------------------------------------------------------- containers
    async def create_container(self, sandbox_id: str, config: ContainerConfig,
                               sandbox_config: PodSandboxConfig) -> str:
        _, status = self._new_container_status(sandbox_id, config)
        program = program_for(config.image, config.command, config.args, config.env, stdin=config.stdin,
                              hostname=sandbox_config.hostname or sandbox_config.name)
        return self._add_container(_Container(status, config, program))

    async def start_container(self, container_id: str) -> None:
        c = self._created_container(container_id)
        c.status.state = CONTAINER_RUNNING
        c.status.started_at = self._now()
        if c.program.notice:
            self._write(c, c.program.notice)
        c.task = asyncio.get_running_loop().create_task(self._run(c), name=f"container-{c.config.name}")
        self._publish(c, "CONTAINER_STARTED_EVENT")

    async def _run(self, c: _Container) -> None:
        outcome, code = await self._play(c, c.program.steps)
        if outcome != "forever" and c.status.state == CONTAINER_RUNNING:
            self._finish(c, code)

    async def _play(self, c: _Container, steps: tuple[Step, ...]) -> tuple[str, int]:
        return await play_steps(self.clock, steps, lambda text: self._write(c, text))

    def _write(self, c: _Container, text: str) -> None:
        now = self._now()
        if DATE_MARK in text:
            text = text.replace(DATE_MARK, now.strftime("%a %b %e %H:%M:%S UTC %Y"))
        for line in text.split("\n"):
            c.logs.append(LogEntry(now, "stdout", line))
        self._changed(c)

    def _changed(self, c: _Container) -> None:
        ev, c.changed = c.changed, asyncio.Event()
        ev.set()

    def _finish(self, c: _Container, code: int, reason: str = "") -> None:
        if c.status.state == CONTAINER_EXITED:
            return
        c.status.state = CONTAINER_EXITED
        c.status.exit_code = code
        c.status.reason = reason or ("Completed" if code == 0 else "Error")
        c.status.finished_at = self._now()
        if c.status.started_at is None:
            c.status.started_at = c.status.finished_at
        task, c.task = c.task, None
        if task is not None and task is not asyncio.current_task() and not task.done():
            task.cancel()
        c.done.set()
        self._changed(c)
        self._publish(c, "CONTAINER_STOPPED_EVENT")

    async def stop_container(self, container_id: str, timeout: float) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds. Servers exit 0 at once; PID 1 processes that do
        not handle SIGTERM are killed at the end (exit 137)."""
        c = self._container(container_id)
        if c.status.state == CONTAINER_CREATED:
            self._finish(c, 0, "Completed")
            return
        if c.status.state != CONTAINER_RUNNING:
            return
        if c.program.handles_sigterm:
            self._finish(c, 0, "Completed")
            return
        if timeout > 0:
            await self._grace_period(c.done.wait(), timeout)
        self._finish(c, 137, "Error")

    async def remove_container(self, container_id: str) -> None:
        c = self._containers.get(container_id)
        if c is None:
            return
        if c.status.state == CONTAINER_RUNNING:
            self._finish(c, 137, "Error")
        del self._containers[container_id]
        self._publish(c, "CONTAINER_DELETED_EVENT")

    async def logs(self, container_id: str, tail: int | None = None,
                   follow: bool = False) -> AsyncIterator[LogEntry]:
        """The container's output; with ``follow``, new lines as they come until the container stops."""
        c = self._container(container_id)
        entries = list(c.logs)
        if tail is not None:
            entries = entries[-tail:] if tail > 0 else []
        for e in entries:
            yield e
        seen = len(c.logs)
        while follow and c.status.state in (CONTAINER_RUNNING, CONTAINER_CREATED):
            await c.changed.wait()
            fresh, seen = c.logs[seen:], len(c.logs)
            for e in fresh:
                yield e

    async def exec(self, container_id: str, cmd: list[str], tty: bool = False,
                   stdin: bool = False) -> ExecSession:
        self._container(container_id)
        raise CRIError("Unimplemented", "the simulated runtime runs no processes: exec needs the process runtime "
                                        "(kubelab up --runtime process)")

    async def exec_sync(self, container_id: str, cmd: list[str], timeout: float) -> tuple[int, bytes, bytes]:
        await self.exec(container_id, cmd)
        raise AssertionError("unreachable")

    async def attach(self, container_id: str, tty: bool = False, stdin: bool = False) -> ExecSession:
        self._container(container_id)
        raise CRIError("Unimplemented", "the simulated runtime runs no processes: attach needs the process "
                                        "runtime (kubelab up --runtime process)")

    async def port_forward(self, sandbox_id: str,
                           port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        self._sandbox(sandbox_id)
        raise CRIError("Unimplemented", "the simulated runtime runs no processes: port-forward needs the process "
                                        "runtime (kubelab up --runtime process)")

    # -------------------------------------------------------------------------------------------- for the lab
    def shutdown(self) -> None:
        """Cancel the containers' clock tasks (the node's processes vanish with it)."""
        for c in self._containers.values():
            if c.task is not None:
                c.task.cancel()
