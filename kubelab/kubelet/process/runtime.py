"""ProcessRuntime: the CRI runtime whose containers are real local processes, one sandbox per pod.

Mirrors containerd's CRI plugin on top of runc, for an unprivileged user without Docker or a registry:

* a pod sandbox is a record with a loopback IP (host-local IPAM over the node's pod CIDR, which must lie in
  127.0.0.0/8: Linux routes all of it to ``lo``, so every pod gets its own address without privileges);
  there is no pause process and no network namespace;
* images are profiles (``profiles``): a catalogue image's command runs as a process under proot (``fs``:
  the CRI mounts bound over the host's root, a private /tmp and /root per container), its output goes to a
  CRI-format log file (``crilog``); server images (nginx, httpd, http-echo, whoami, pause) are served by the
  runtime itself on the pod IP (``webserver``); other images run *simulated* (the ``Program`` of the simulated
  runtime, with a first log line saying why there is no real output);
* exec, attach, port-forward and exec probes (``session``) reach the same processes and addresses.

What a learner should know (not hidden, documented): no PID namespace (the main process is not PID 1, so a
process without a SIGTERM handler exits at once on stop with 143 instead of being SIGKILLed at the end of the
grace period), no network namespace (processes that bind 0.0.0.0 or 127.0.0.1 share the host's ports, so two
replicas of such a server collide; the catalogue servers bind the pod IP; ``localhost`` in a pod is not the
pod), no UTS namespace (``hostname`` prints the host's name; $HOSTNAME is the pod's), the host's files are the
container's root filesystem (writes outside volumes, /tmp and /root reach the host), readOnly volumes are
writable, memory limits are RLIMIT_DATA per process. Ports below 1024 need
``net.ipv4.ip_unprivileged_port_start`` <= port when unprivileged; a catalogue server that cannot bind says
so in its log and stays reachable through port-forward.

Cost, measured on a loaded 2-core machine: a busybox ``sleep 3600`` pod is two processes (proot and sleep),
about 1 MiB proportional memory (PSS; 6 MiB RSS, mostly shared libraries); a served nginx/httpd/http-echo pod
is no process at all, about 10 KiB in the cluster's process. ``create_container`` + ``start_container`` take
20-50 ms (the container's rootfs directory, then fork/exec of proot); proot needs another ~50 ms before the
main process runs. A process that dies with the cluster's thread takes its main process along (PDEATHSIG on
proot, and on the main process via ``setpriv``); ``shutdown()`` kills and reaps every group synchronously.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

from kubelab.clock import Clock
from kubelab.config import LabConfig
from kubelab.kubelet import images
from kubelab.kubelet.process import fs
from kubelab.kubelet.process.container import Container, ContainerKind
from kubelab.kubelet.process.crilog import LogReader
from kubelab.kubelet.process.session import ProcessSession
from kubelab.kubelet.runtime import (
    CONTAINER_CREATED,
    CONTAINER_RUNNING,
    ContainerConfig,
    CRIError,
    ExecSession,
    LogEntry,
    PodSandboxConfig,
    RuntimeBase,
)

_LOOPBACK = ipaddress.ip_network("127.0.0.0/8")


def process_runtime_unavailable_reason() -> str | None:
    """Why the process runtime cannot run on this machine (None when it can)."""
    return fs.unavailable_reason()


class ProcessRuntime(RuntimeBase[Container]):
    """Containers as local processes; see the module docstring."""

    real = True

    def __init__(self, clock: Clock, config: LabConfig | None = None, *, name: str = "",
                 root_dir: str | os.PathLike[str], runtime_version: str = "2.1.1") -> None:
        reason = process_runtime_unavailable_reason()
        if reason is not None:
            raise RuntimeError(reason)
        super().__init__(clock, config, name=name, runtime_version=runtime_version, preload=images.PRELOADED)
        self.root = Path(root_dir).absolute()
        self.root.mkdir(parents=True, exist_ok=True)
        self.bin_dirs = fs.build_bin_dirs(self.root)

    # -------------------------------------------------------------------------------------------- sandboxes
    def _allocate_ip(self, sandbox_id: str) -> str:
        """A loopback address: the pod CIDR must lie in 127.0.0.0/8."""
        if self._ipam is not None:
            net = ipaddress.ip_network(self._ipam.cidr, strict=False)
            if not (net.version == 4 and net.subnet_of(_LOOPBACK)):  # type: ignore[arg-type]
                raise CRIError("Unknown", f'failed to setup network for sandbox "{sandbox_id}": the process runtime '
                                          f"needs a pod CIDR inside 127.0.0.0/8 (pods get loopback addresses, "
                                          f"there are no network namespaces), but this node's is {self._ipam.cidr}")
        return super()._allocate_ip(sandbox_id)

    async def _stop_sandbox_containers(self, sandbox_id: str) -> None:
        running = [c for c in self._containers.values() if c.status.sandbox_id == sandbox_id and c.running]
        await asyncio.gather(*(self.stop_container(c.status.id, 0) for c in running))

    async def remove_pod_sandbox(self, sandbox_id: str) -> None:
        await super().remove_pod_sandbox(sandbox_id)
        shutil.rmtree(self.root / "logs" / sandbox_id, ignore_errors=True)

    # -------------------------------------------------------------------------------------------- containers
    async def create_container(self, sandbox_id: str, config: ContainerConfig,
                               sandbox_config: PodSandboxConfig) -> str:
        sb, status = self._new_container_status(sandbox_id, config)
        log_path = config.log_path or str(self.root / "logs" / sandbox_id / config.name / f"{config.attempt}.log")
        return self._add_container(Container(status, config, sandbox_config, pod_ip=sb.ip or "127.0.0.1",
                                             clock=self.clock, dir=self.root / "containers" / status.id,
                                             log_path=log_path, bin_dirs=self.bin_dirs))

    async def start_container(self, container_id: str) -> None:
        c = self._created_container(container_id)
        if c.kind == ContainerKind.PROCESS and (reason := fs.unavailable_reason()):
            c.finish(128, "StartError", reason)
            self._publish(c, "CONTAINER_STOPPED_EVENT")
            raise CRIError("Unknown", f"failed to create containerd task: {reason}")
        c.on_exit = lambda: self._publish(c, "CONTAINER_STOPPED_EVENT")
        error = await c.start()
        if error:
            raise CRIError("Unknown", error)
        self._publish(c, "CONTAINER_STARTED_EVENT")

    async def stop_container(self, container_id: str, timeout: float) -> None:
        """SIGTERM to the main process, SIGKILL to the group after ``timeout`` seconds (servers exit 0 at once;
        simulated containers follow the simulated runtime's rules)."""
        c = self._container(container_id)
        if c.status.state == CONTAINER_CREATED:
            c.finish(0, "Completed")
            self._publish(c, "CONTAINER_STOPPED_EVENT")
            return
        if not c.running:
            return
        if c.terminate():
            return
        if timeout > 0:
            await self._grace_period(asyncio.shield(c.exited), timeout)
        if c.running:
            await self._kill(c)

    async def remove_container(self, container_id: str) -> None:
        c = self._containers.get(container_id)
        if c is None:
            return
        if c.running:
            await self._kill(c)
        del self._containers[container_id]
        c.remove_files()
        self._publish(c, "CONTAINER_DELETED_EVENT")

    async def _kill(self, c: Container) -> None:
        """SIGKILL to the group, then wait (5 s at most) for the main process to be reaped."""
        c.kill()
        try:
            await asyncio.wait_for(asyncio.shield(c.exited), 5)
        except TimeoutError:
            pass

    async def logs(self, container_id: str, tail: int | None = None,
                   follow: bool = False) -> AsyncIterator[LogEntry]:
        """The container's CRI log file; with ``follow``, new lines as they come until the container stops."""
        c = self._container(container_id)
        reader = LogReader(c.log_path)
        entries = reader.read()
        if tail is not None:
            entries = entries[-tail:] if tail > 0 else []
        for e in entries:
            yield e
        while follow and c.status.state in (CONTAINER_RUNNING, CONTAINER_CREATED):
            changed = asyncio.ensure_future(c.changed.wait())
            try:
                await asyncio.wait({changed}, timeout=1.0)
            finally:
                changed.cancel()
            for e in reader.read():
                yield e
        if follow:
            for e in reader.read():
                yield e

    # -------------------------------------------------------------------------------------------- streaming
    def _live(self, container_id: str, what: str) -> Container:
        c = self._container(container_id)
        if c.kind == ContainerKind.SIMULATED:
            raise CRIError("Unimplemented", f'image "{c.config.image}" is not in the process runtime\'s catalogue, '
                                            f"so its container runs simulated: there is no process to {what}")
        if c.status.state != CONTAINER_RUNNING:
            raise CRIError("FailedPrecondition", f"container is in {c.status.state} state")
        return c

    async def exec(self, container_id: str, cmd: list[str], tty: bool = False,
                   stdin: bool = False) -> ExecSession:
        c = self._live(container_id, "exec in")
        if not cmd:
            raise CRIError("InvalidArgument", "cmd must not be empty")
        argv, env = c.exec_argv(cmd, tty)
        if argv is None:
            raise CRIError("Unknown", f'failed to exec in container: failed to start exec: OCI runtime exec failed: '
                                      f'exec failed: unable to start container process: exec: "{cmd[0]}": '
                                      f"executable file not found in $PATH: unknown")
        try:
            session = ProcessSession(argv, env, host_cwd=str(self.root), tty=tty, stdin=stdin,
                                     memory_limit=c.config.memory_limit)
        except OSError as e:
            raise CRIError("Unknown", f"failed to exec in container: failed to start {fs.PROOT}: {e}") from None
        c.execs.add(session)
        session.group.exit_code.add_done_callback(lambda _: c.execs.discard(session))
        return session

    async def exec_sync(self, container_id: str, cmd: list[str], timeout: float) -> tuple[int, bytes, bytes]:
        session = await self.exec(container_id, cmd)
        assert isinstance(session, ProcessSession)

        async def run() -> tuple[int, bytes, bytes]:
            assert session.stdout is not None and session.stderr is not None
            out, err = await asyncio.gather(session.stdout.read(), session.stderr.read())
            return await session.wait(), out, err

        task = asyncio.ensure_future(run())
        if timeout > 0:
            sleeper = asyncio.ensure_future(self.clock.sleep(timeout))
            await asyncio.wait({task, sleeper}, return_when=asyncio.FIRST_COMPLETED)
            sleeper.cancel()
            if not task.done():
                session.kill()
                task.cancel()
                raise CRIError("DeadlineExceeded", f"failed to exec in container: timeout {timeout:g}s exceeded: "
                                                   "context deadline exceeded")
        return await task

    async def attach(self, container_id: str, tty: bool = False, stdin: bool = False) -> ExecSession:
        c = self._live(container_id, "attach to")
        return c.attach(stdin)

    async def port_forward(self, sandbox_id: str,
                           port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        sb = self._sandbox(sandbox_id)
        ip = sb.ip or "127.0.0.1"
        try:
            return await asyncio.open_connection(ip, port)
        except OSError as e:
            for c in self._containers.values():
                srv = c.server
                if c.status.sandbox_id == sandbox_id and c.running and srv is not None and srv.port == port:
                    return await srv.connect()  # a server that could not bind its (privileged) port
            why = "connection refused" if isinstance(e, ConnectionRefusedError) else (e.strerror or str(e)).lower()
            raise CRIError("Unknown", f'failed to connect to localhost:{port} inside namespace "{sandbox_id}", '
                                      f"IPv4: dial tcp4 {ip}:{port}: connect: {why} IPv6 dial tcp6 [::1]:{port}: "
                                      "connect: connection refused") from None

    # -------------------------------------------------------------------------------------------- for the lab
    def shutdown(self) -> None:
        """Kill every process group (SIGKILL, synchronously, reaped) and close the servers. Idempotent."""
        for c in self._containers.values():
            c.shutdown()
