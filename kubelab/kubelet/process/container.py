"""One container of the process runtime: a process, a served image, or a simulated program.

Mirrors containerd's container + task pair: the container's spec (environment, mounts, working directory, the
command its image profile resolves to) is fixed at create; start runs it (the task), its output goes to the
CRI log and to attached sessions, and its exit is recorded once (``finish``) whatever ended it.
"""

from __future__ import annotations

import asyncio
import enum
import os
import shutil
import signal
from collections.abc import Callable
from pathlib import Path

from kubelab.clock import Clock
from kubelab.kubelet.process import fs, profiles
from kubelab.kubelet.process.crilog import LogWriter
from kubelab.kubelet.process.proc import ProcGroup
from kubelab.kubelet.process.session import AttachSession, ProcessSession
from kubelab.kubelet.process.webserver import DEFAULT_PAGES, Server
from kubelab.kubelet.programs import Program, program_for
from kubelab.kubelet.runtime import (
    CONTAINER_EXITED,
    CONTAINER_RUNNING,
    ContainerConfig,
    ContainerStatus,
    Mount,
    PodSandboxConfig,
    play_steps,
)

NOT_IN_CATALOGUE = ('kubelab: image "{image}" is not in the process runtime\'s catalogue ({names}): it runs '
                    "simulated, so there is no real output")


class ContainerKind(enum.Enum):
    PROCESS = "process"
    SERVER = "server"
    SIMULATED = "simulated"


class Container:
    def __init__(self, status: ContainerStatus, config: ContainerConfig, sandbox: PodSandboxConfig, *,
                 pod_ip: str, clock: Clock, dir: Path, log_path: str, bin_dirs: dict[str, str]) -> None:
        self.status, self.config, self.sandbox, self.pod_ip, self.clock = status, config, sandbox, pod_ip, clock
        self.dir, self.log_path = dir, log_path
        self.loop = asyncio.get_running_loop()
        self.exited: asyncio.Future[int] = self.loop.create_future()
        self.changed = asyncio.Event()
        self.on_exit: Callable[[], None] = lambda: None
        self.listeners: list[AttachSession] = []
        self.execs: set[ProcessSession] = set()  # exec'd processes end with the container, as in its PID namespace
        self.group: ProcGroup | None = None
        self.server: Server | None = None
        self.task: asyncio.Task[None] | None = None
        self.writer: LogWriter | None = None
        self.program: Program | None = None
        self.hostname = sandbox.hostname or sandbox.name
        self.profile = profiles.profile_for(config.image)
        if self.profile is None:
            self.kind = ContainerKind.SIMULATED
            self.program = program_for(config.image, config.command, config.args, config.env, stdin=config.stdin,
                                       hostname=self.hostname)
            self.argv: list[str] = []
            return
        p = self.profile
        self.bin_dir = bin_dirs.get(p.tools, "")
        self.env = {"PATH": profiles.path_env(p), "HOSTNAME": self.hostname, "HOME": "/root", **dict(p.env),
                    **config.env}
        if config.tty:
            self.env.setdefault("TERM", "xterm")
        launch = profiles.launch(p, config.command, config.args, self.env)
        self.argv = launch.argv
        self.kind = ContainerKind.SERVER if launch.server else ContainerKind.PROCESS
        self.cwd = config.working_dir or p.working_dir
        self.rootfs = self.dir / "rootfs"
        rootfs_dirs = fs.make_rootfs(self.rootfs)  # its own /tmp and /root
        self.mounts = list(config.mounts)
        private: dict[str, str] = {}
        if p.docroot and fs.to_host(self.mounts, p.docroot) == os.path.normpath(p.docroot):
            private[p.docroot] = "docroot"  # the image's files at its document root
        cwd_host = fs.to_host([*self.mounts, *rootfs_dirs], self.cwd)
        if not os.path.isdir(cwd_host):  # runc creates a missing working directory
            if cwd_host == os.path.normpath(self.cwd):
                private[self.cwd] = "workdir"  # (not on the host: a directory of the container's own)
            else:
                os.makedirs(cwd_host, exist_ok=True)  # in a volume, or the container's /tmp or /root
        for cpath, name in private.items():
            host = self.dir / name
            host.mkdir(parents=True, exist_ok=True)
            self.mounts.append(Mount(cpath, str(host)))
        self.view = [*self.mounts, *rootfs_dirs]  # container path -> host path, for which() and the servers
        fs.make_mount_points(self.rootfs, [*self.mounts, *([Mount(fs.BIN_MOUNT, self.bin_dir)] if self.bin_dir
                                                          else [])])
        if "docroot" in private.values() and p.server in DEFAULT_PAGES:
            for fname, text in DEFAULT_PAGES[p.server].items():
                (self.dir / "docroot" / fname).write_text(text)

    @property
    def running(self) -> bool:
        return self.status.state == CONTAINER_RUNNING

    # -------------------------------------------------------------------------------------------- output
    def _changed(self) -> None:
        ev, self.changed = self.changed, asyncio.Event()
        ev.set()

    def emit(self, stream: str, data: bytes) -> None:
        if self.writer is not None:
            self.writer.feed(stream, data)
        for s in list(self.listeners):
            s.feed(stream, data)

    def line(self, stream: str, text: str) -> None:
        self.emit(stream, (text + "\n").encode())

    # -------------------------------------------------------------------------------------------- lifecycle
    async def start(self) -> str | None:
        """Run it; an error message (the container then exited with StartError) when it cannot start."""
        self.writer = LogWriter(self.log_path, self.clock.now, self._changed)
        self.writer.strip_cr = self.config.tty
        self.status.state = CONTAINER_RUNNING
        self.status.started_at = self.clock.now()
        if self.kind == ContainerKind.SIMULATED:
            assert self.program is not None
            self.line("stdout", NOT_IN_CATALOGUE.format(image=self.config.image,
                                                        names=", ".join(profiles.catalogue_names())))
            self.task = self.loop.create_task(self._play(self.program), name=f"container-{self.config.name}")
            return None
        if self.kind == ContainerKind.SERVER:
            assert self.profile is not None
            docroot = self.profile.docroot or "/"
            self.server = Server(self.profile.server, self.argv[1:], pod_ip=self.pod_ip, hostname=self.hostname,
                                 env=self.env, resolve=lambda path: fs.to_host(self.view, docroot + path),
                                 log=self.line, now=self.clock.now)
            code = await self.server.start()
            if code is not None:
                self.loop.call_soon(self.finish, code)  # after the STARTED event, as a process that exits at once
            return None
        exe = fs.which(self.argv[0], self.env.get("PATH", ""), self.view, self.bin_dir) if self.argv else None
        if exe is None:
            msg = (f"failed to create containerd task: failed to create shim task: OCI runtime create failed: "
                   f"runc create failed: unable to start container process: exec: "
                   f'"{self.argv[0] if self.argv else ""}": executable file not found in $PATH: unknown')
            self.finish(128, "StartError", msg)
            return msg
        argv = fs.proot_argv(self.mounts, self.cwd, [exe, *self.argv[1:]], rootfs=str(self.rootfs),
                             bin_dir=self.bin_dir)
        try:
            self.group = ProcGroup(argv, self.env, host_cwd=str(self.dir.parent), tty=self.config.tty,
                                   stdin=self.config.stdin, memory_limit=self.config.memory_limit,
                                   on_output=self.emit)
        except OSError as e:
            msg = f"failed to create containerd task: failed to start {fs.PROOT}: {e}"
            self.finish(128, "StartError", msg)
            return msg
        self.group.exit_code.add_done_callback(lambda f: self.finish(f.result()) if not f.cancelled() else None)
        return None

    async def _play(self, program: Program) -> None:
        outcome, code = await play_steps(self.clock, program.steps, lambda text: self.line("stdout", text))
        if outcome != "forever" and self.running:
            self.finish(code)

    def finish(self, code: int, reason: str = "", message: str = "") -> None:
        if self.status.state == CONTAINER_EXITED:
            return
        self.status.state = CONTAINER_EXITED
        self.status.exit_code = code
        self.status.reason = reason or ("Completed" if code == 0 else "Error")
        self.status.message = message
        self.status.finished_at = self.clock.now()
        if self.status.started_at is None:
            self.status.started_at = self.status.finished_at
        if self.task is not None and self.task is not asyncio.current_task():
            self.task.cancel()
        if self.server is not None:
            self.server.stop()
        if self.writer is not None:
            self.writer.close()
            self._changed()
        for s in self.listeners:
            s.eof()
        self.listeners.clear()
        for e in list(self.execs):
            e.kill()
        if not self.exited.done():
            self.exited.set_result(code)
        self.on_exit()

    def terminate(self) -> bool:
        """StopContainer's SIGTERM; True when the container has already exited because of it."""
        if self.kind == ContainerKind.SERVER:
            self.finish(0)
            return True
        if self.kind == ContainerKind.SIMULATED:
            if self.program is not None and self.program.handles_sigterm:
                self.finish(0)
                return True
            return False
        if self.group is not None:
            self.group.signal_main(signal.SIGTERM)
        return False

    def kill(self) -> None:
        if self.group is not None:
            self.group.kill()
        else:
            self.finish(137)

    # -------------------------------------------------------------------------------------------- streaming
    def exec_argv(self, cmd: list[str], tty: bool) -> tuple[list[str] | None, dict[str, str]]:
        env = dict(self.env)
        if tty:
            env.setdefault("TERM", "xterm")
        exe = fs.which(cmd[0], env.get("PATH", ""), self.view, self.bin_dir)
        if exe is None:
            return None, env
        return fs.proot_argv(self.mounts, self.cwd, [exe, *cmd[1:]], rootfs=str(self.rootfs),
                             bin_dir=self.bin_dir), env

    def attach(self, stdin: bool) -> AttachSession:
        if self.group is None:  # a served image: its log lines, no stdin
            group = None
            stdin = False
        else:
            group = self.group
            stdin = stdin and self.config.stdin
        s = AttachSession(group, self.exited, tty=self.config.tty, stdin=stdin, detach=self._detach,
                          stdin_once=self.config.stdin_once)
        self.listeners.append(s)
        return s

    def _detach(self, s: AttachSession) -> None:
        if s in self.listeners:  # (gone already when the container exited)
            self.listeners.remove(s)

    # -------------------------------------------------------------------------------------------- cleanup
    def shutdown(self) -> None:
        """Kill and reap the processes (from any thread); the loop's side (tasks, sockets) on the loop."""
        for e in list(self.execs):
            e.group.reap_now()
        if self.group is not None:
            self.group.reap_now()
        if self.loop.is_closed():
            return
        try:
            on_loop = asyncio.get_running_loop() is self.loop
        except RuntimeError:
            on_loop = False
        if on_loop or not self.loop.is_running():
            self._stop_loop_side()
        else:
            self.loop.call_soon_threadsafe(self._stop_loop_side)

    def _stop_loop_side(self) -> None:
        if self.task is not None:
            self.task.cancel()
        if self.server is not None:
            self.server.stop()

    def remove_files(self) -> None:
        if self.writer is not None:
            self.writer.close()
        try:
            os.unlink(self.log_path)
        except OSError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)
