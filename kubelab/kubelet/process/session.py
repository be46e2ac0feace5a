"""The streaming server's end of ``kubectl exec`` and ``kubectl attach``: the runtime's ``ExecSession``s.

Mirrors containerd's CRI streaming handlers (``execInternal``, ``attachContainer``): exec starts a new process
in the container's view (same binds, working directory and environment, a pty when ``tty``), attach joins the
live stdio of the container's main process (its output fans out to the log file and to every attached
session; stdin reaches the process while the container was created with ``stdin: true``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from kubelab.kubelet.process.proc import ProcGroup

_LIMIT = 1 << 20


class ProcessSession:
    """``exec``: a process of its own, killed with ``kill`` (its whole process group)."""

    def __init__(self, argv: list[str], env: dict[str, str], *, host_cwd: str, tty: bool, stdin: bool,
                 memory_limit: int | None = None) -> None:
        self.stdout: asyncio.StreamReader | None = asyncio.StreamReader(limit=_LIMIT)
        self.stderr: asyncio.StreamReader | None = None if tty else asyncio.StreamReader(limit=_LIMIT)
        self.group = ProcGroup(argv, env, host_cwd=host_cwd, tty=tty, stdin=stdin, memory_limit=memory_limit,
                               on_output=self._out)
        self.group.exit_code.add_done_callback(lambda _: self._eof())

    def _out(self, stream: str, data: bytes) -> None:
        reader = self.stderr if stream == "stderr" and self.stderr is not None else self.stdout
        if reader is not None:
            reader.feed_data(data)

    def _eof(self) -> None:
        for r in (self.stdout, self.stderr):
            if r is not None:
                r.feed_eof()

    async def write(self, data: bytes) -> None:
        await self.group.write(data)

    def close_stdin(self) -> None:
        self.group.close_stdin()

    def resize(self, width: int, height: int) -> None:
        self.group.resize(width, height)

    async def wait(self) -> int:
        return await asyncio.shield(self.group.exit_code)

    def kill(self) -> None:
        self.group.kill()


class AttachSession:
    """``attach``: a window onto a running container's stdio. ``kill`` only detaches (the container runs on);
    ``wait`` returns the container's exit code when it exits (0 once detached). As containerd's attach, the end of
    the session's stdin closes the container's stdin with ``stdinOnce`` and no tty (the session then lasts until
    the container exits); else it detaches the session, and the container reads on, for the next attach."""

    def __init__(self, group: ProcGroup | None, exited: asyncio.Future[int], *, tty: bool, stdin: bool,
                 detach: Callable[[AttachSession], None], stdin_once: bool = True) -> None:
        self.group, self._exited, self._stdin, self._detach = group, exited, stdin, detach
        self._stdin_once = stdin_once
        self._tty = tty
        self._gone: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.stdout: asyncio.StreamReader | None = asyncio.StreamReader(limit=_LIMIT)
        self.stderr: asyncio.StreamReader | None = None if tty else asyncio.StreamReader(limit=_LIMIT)
        self.detached = False

    def feed(self, stream: str, data: bytes) -> None:
        reader = self.stderr if stream == "stderr" and self.stderr is not None else self.stdout
        if reader is not None and not self.detached:
            reader.feed_data(data)

    def eof(self) -> None:
        for r in (self.stdout, self.stderr):
            if r is not None and not r.at_eof():
                r.feed_eof()

    async def write(self, data: bytes) -> None:
        if not self._stdin or self.group is None:
            raise BrokenPipeError("attach without stdin")
        await self.group.write(data)

    def close_stdin(self) -> None:
        if not self._stdin or self.group is None:
            return
        if self._stdin_once and not self._tty:
            self.group.close_stdin()
        else:
            self.kill()

    def resize(self, width: int, height: int) -> None:
        if self.group is not None:
            self.group.resize(width, height)

    async def wait(self) -> int:
        exited = asyncio.ensure_future(asyncio.shield(self._exited))
        try:
            await asyncio.wait({exited, self._gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not exited.done():
                exited.cancel()
        return exited.result() if exited.done() and not exited.cancelled() else 0

    def kill(self) -> None:
        if not self.detached:
            self.detached = True
            self._detach(self)
            self.eof()
            if not self._gone.done():
                self._gone.set_result(0)
