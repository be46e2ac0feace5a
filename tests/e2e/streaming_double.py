"""A test double for the runtime's streaming calls: the simulated runtime, except that exec and attach run host
processes (with a pty for tty) and port_forward dials host ports the test chose. Swapped into a live kubelet's
runtime (``swap_in``) so the API server's streaming path is judged by real kubectl and the official client."""

from __future__ import annotations

import asyncio
import fcntl
import os
import pty
import struct
import termios
from typing import Any

from kubelab.kubelet.runtime import CONTAINER_RUNNING, CRIError, SimulatedRuntime


class HostSession:
    """ExecSession over a host process: pipes, or one pty for tty (stderr then None)."""

    def __init__(self, proc: asyncio.subprocess.Process, master: int | None) -> None:
        self.proc = proc
        self.master = master
        self.sizes: list[tuple[int, int]] = []
        self.stderr: asyncio.StreamReader | None = None
        if master is None:
            self.stdout = proc.stdout
            self.stderr = proc.stderr
        else:
            self.stdout = asyncio.StreamReader()
            asyncio.get_running_loop().add_reader(master, self._pty_readable)

    def _pty_readable(self) -> None:
        assert self.master is not None and self.stdout is not None
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO: every slave end is closed
            data = b""
        if data:
            self.stdout.feed_data(data)
            return
        asyncio.get_running_loop().remove_reader(self.master)
        self.stdout.feed_eof()

    async def write(self, data: bytes) -> None:
        if self.master is not None:
            os.write(self.master, data)
        elif self.proc.stdin is not None:
            self.proc.stdin.write(data)
            await self.proc.stdin.drain()

    def close_stdin(self) -> None:
        if self.master is not None:
            os.write(self.master, b"\x04")
        elif self.proc.stdin is not None:
            self.proc.stdin.close()

    def resize(self, width: int, height: int) -> None:
        self.sizes.append((width, height))
        if self.master is not None:
            fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))

    async def wait(self) -> int:
        return await self.proc.wait()

    def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()


class HostStreamingRuntime(SimulatedRuntime):
    """Class swapped onto a kubelet's SimulatedRuntime instance; per-instance settings live in ``stream_cfg``."""

    stream_cfg: dict[str, Any]

    async def _spawn(self, container_id: str, cmd: list[str], tty: bool, stdin: bool) -> HostSession:
        c = self._container(container_id)
        if c.status.state != CONTAINER_RUNNING:
            raise CRIError("NotFound", f'container "{container_id}" is not running')
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "CONTAINER": c.config.name, "PS1": "$ ",
               "HOME": "/tmp", "TERM": "xterm"}
        self.stream_cfg.setdefault("calls", []).append((c.config.name, list(cmd), tty, stdin))
        if tty:
            master, slave = pty.openpty()

            def controlling_tty() -> None:  # a new session whose controlling terminal is the pty
                os.setsid()
                fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

            proc = await asyncio.create_subprocess_exec(*cmd, stdin=slave, stdout=slave, stderr=slave, env=env,
                                                        preexec_fn=controlling_tty)
            os.close(slave)
            session = HostSession(proc, master)
        else:
            proc = await asyncio.create_subprocess_exec(
                *cmd, stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env)
            session = HostSession(proc, None)
        self.stream_cfg.setdefault("sessions", []).append(session)
        return session

    async def exec(self, container_id: str, cmd: list[str], tty: bool = False, stdin: bool = False) -> Any:
        return await self._spawn(container_id, cmd, tty, stdin)

    async def attach(self, container_id: str, tty: bool = False, stdin: bool = False) -> Any:
        # the container's "main process": greets, then echoes stdin (or says goodbye) and exits
        script = 'echo "attached to $CONTAINER"; ' + ("cat" if stdin else "sleep 0.3; echo bye")
        return await self._spawn(container_id, ["sh", "-c", script], tty, stdin)

    async def port_forward(self, sandbox_id: str,
                           port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        self._sandbox(sandbox_id)
        target = self.stream_cfg.get("ports", {}).get(port)
        if target is None:
            raise ConnectionRefusedError(111, "Connection refused")
        return await asyncio.open_connection("127.0.0.1", target)


def swap_in(runtime: SimulatedRuntime, ports: dict[int, int]) -> dict[str, Any]:
    """Make a live kubelet's simulated runtime stream through host processes; returns its settings dict."""
    runtime.__class__ = HostStreamingRuntime
    cfg: dict[str, Any] = {"ports": ports}
    runtime.stream_cfg = cfg  # type: ignore[attr-defined]
    return cfg
