"""One container process (or exec'd process): a proot process group watched from the event loop.

Mirrors the part of containerd's shim and runc that starts the container's init process, forwards its stdio
(pipes, or a pty for ``tty: true``), delivers signals and reports the exit status. Without a PID namespace the
"init" semantics are kept by hand: the main process is proot's first child, watched through a pidfd; when it
exits, the rest of the group is SIGKILLed (as the kernel does when a container's PID 1 exits). The exit code is
the main process's own: proot runs verbose with its notices on a pipe of their own (``fs.STDERR_WRAPPER``), which
say how each process ended (``pid P: exited with status S``, ``pid P: terminated with signal N``, that is
128+N); proot's own exit status would be that of the last process that exited normally. Without those notices
(no busybox), proot's status is used, and its ``terminated with signal N`` lines are read from, and removed
from, the output.
Nothing blocks the loop: fds are non-blocking and read with ``add_reader``; exits arrive on pidfds.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
from collections.abc import Callable

from kubelab.kubelet.process import fs

_PROOT_LINE = re.compile(rb"^proot (info|warning|error): (?:pid (\d+): terminated with signal (\d+))?")
_PROOT_NOTICE = re.compile(rb"^proot (info|warning|error): (?:pid (\d+): (exited with status|terminated with signal) "
                           rb"(\d+))?")
LIVE: set[int] = set()  # process group ids of every live group, across runtimes (tests assert it empties)


class _ProotFilter:
    """Drops proot's own info/warning lines from a stream, noting the signals it reports."""

    def __init__(self, signals: dict[int, int]) -> None:
        self.buf = b""
        self.signals = signals

    def feed(self, data: bytes, final: bool = False) -> bytes:
        data, self.buf = self.buf + data, b""
        out: list[bytes] = []
        start = 0
        while start < len(data):
            nl = data.find(b"\n", start)
            seg = data[start:] if nl < 0 else data[start:nl + 1]
            start += len(seg)
            head = seg[:6]
            if nl < 0 and not final and b"proot "[:len(head)] == head:
                self.buf = seg  # maybe the start of a proot line: wait for the rest of it
                break
            m = _PROOT_LINE.match(seg)
            if m and (nl >= 0 or final):
                if m.group(2):
                    self.signals[int(m.group(2))] = int(m.group(3))
                if m.group(1) != b"error":
                    continue
            out.append(seg)
        return b"".join(out)


class _Notices:
    """proot's verbose notices (its stderr of its own, see ``fs.STDERR_WRAPPER``): each tracee's exit status
    (``signal N`` as 128+N) noted by pid; its error lines (and any before the start-up banner ends, errors
    only) passed on to the container's output."""

    def __init__(self, outcomes: dict[int, int], signals: dict[int, int]) -> None:
        self.buf = b""
        self.outcomes, self.signals = outcomes, signals
        self.started = False

    def feed(self, data: bytes, final: bool = False) -> bytes:
        data, self.buf = self.buf + data, b""
        lines = data.split(b"\n")
        if not final:
            self.buf = lines.pop()
        out: list[bytes] = []
        for line in lines:
            m = _PROOT_NOTICE.match(line)
            if m and m.group(2):
                pid, code = int(m.group(2)), int(m.group(4))
                if m.group(3) == b"terminated with signal":
                    self.signals[pid] = code
                    code += 128
                self.outcomes[pid] = code
            elif m and m.group(1) == b"info" and line.startswith(b"proot info: verbose level"):
                self.started = True
            elif (m and m.group(1) == b"error") or (not m and line and (self.started or line.startswith(
                    b"fatal error"))):
                out.append(line + b"\n")
        return b"".join(out)


class Pump:
    """Reads a non-blocking fd on the loop until EOF (or EIO, a pty whose other side closed)."""

    def __init__(self, fd: int, on_data: Callable[[bytes], None], on_eof: Callable[[], None]) -> None:
        self.fd, self.on_data, self.on_eof = fd, on_data, on_eof
        self.loop = asyncio.get_running_loop()
        self.closed = False
        os.set_blocking(fd, False)
        self.loop.add_reader(fd, self._ready)

    def _ready(self) -> None:
        try:
            data = os.read(self.fd, 65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if data:
            self.on_data(data)
        else:
            self.close()
            self.on_eof()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.loop.remove_reader(self.fd)
            os.close(self.fd)


def _wake(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


async def write_all(fd: int, data: bytes) -> None:
    loop = asyncio.get_running_loop()
    view = memoryview(data)
    while view:
        try:
            n = os.write(fd, view)
            view = view[n:]
        except BlockingIOError:
            fut: asyncio.Future[None] = loop.create_future()
            loop.add_writer(fd, _wake, fut)
            try:
                await fut
            finally:
                loop.remove_writer(fd)


class ProcGroup:
    """A spawned proot group. ``on_output(stream, data)`` gets its output ("stdout" only with a tty);
    ``exit_code`` resolves when the process has exited and its output is drained."""

    def __init__(self, argv: list[str], env: dict[str, str], *, host_cwd: str, tty: bool, stdin: bool,
                 memory_limit: int | None, on_output: Callable[[str, bytes], None]) -> None:
        self.loop = asyncio.get_running_loop()
        self.tty = tty
        self.on_output = on_output
        self.signals: dict[int, int] = {}
        self.outcomes: dict[int, int] | None = None  # pid -> exit code, from proot's notices (when it gives them)
        self.main_pid = 0
        self.killed = False
        self.stdin_fd = -1
        self.master_fd = -1
        self.exit_code: asyncio.Future[int] = self.loop.create_future()
        self._open_streams = 0
        self._rc: int | None = None
        setup = fs.child_setup(memory_limit=memory_limit, tty=tty)
        notices = fs.STDERR_WRAPPER in argv
        note_r = note_w = err_r = err_w = -1
        if notices:  # proot's stderr for its notices; the container's stderr handed down on another fd
            note_r, note_w = os.pipe()
            self.outcomes = {}
        try:
            if tty:
                import pty
                master, slave = pty.openpty()
                if notices:
                    argv = [a.replace("{fd}", str(slave)) if a == fs.STDERR_WRAPPER else a for a in argv]
                try:
                    self.popen = subprocess.Popen(argv, env=env, cwd=host_cwd, stdin=slave, stdout=slave,
                                                  stderr=note_w if notices else slave, start_new_session=True,
                                                  preexec_fn=setup, close_fds=True,
                                                  pass_fds=(slave,) if notices else ())
                except BaseException:
                    os.close(master)
                    raise
                finally:
                    os.close(slave)
                self.master_fd = self.stdin_fd = master
                self._pumps = [self._pump(os.dup(master), "stdout")]
            else:
                if notices:
                    err_r, err_w = os.pipe()
                    argv = [a.replace("{fd}", str(err_w)) if a == fs.STDERR_WRAPPER else a for a in argv]
                self.popen = subprocess.Popen(argv, env=env, cwd=host_cwd,
                                              stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                              stdout=subprocess.PIPE, stderr=note_w if notices else subprocess.PIPE,
                                              start_new_session=True, preexec_fn=setup, close_fds=True,
                                              pass_fds=(err_w,) if notices else ())
        except BaseException:
            for fd in (note_r, err_r):
                if fd >= 0:
                    os.close(fd)
            raise
        finally:
            for fd in (note_w, err_w):
                if fd >= 0:
                    os.close(fd)
        if tty:
            if notices:
                self._pumps.append(self._notice_pump(note_r, "stdout"))
        else:
            if self.popen.stdin is not None:
                self.stdin_fd = os.dup(self.popen.stdin.fileno())
                os.set_blocking(self.stdin_fd, False)
                self.popen.stdin.close()
            assert self.popen.stdout is not None
            self._pumps = [self._pump(os.dup(self.popen.stdout.fileno()), "stdout")]
            self.popen.stdout.close()
            if notices:
                self._pumps += [self._pump(err_r, "stderr"), self._notice_pump(note_r, "stderr")]
            else:
                assert self.popen.stderr is not None
                self._pumps.append(self._pump(os.dup(self.popen.stderr.fileno()), "stderr"))
                self.popen.stderr.close()
        self.pid = self.popen.pid
        LIVE.add(self.pid)
        self._watch_exit()
        self._main_task = self.loop.create_task(self._watch_main())

    # -------------------------------------------------------------------------------------------- output
    def _pump(self, fd: int, stream: str) -> Pump:
        filt = _ProotFilter(self.signals)
        self._open_streams += 1

        def data(b: bytes) -> None:
            out = filt.feed(b)
            if out:
                self.on_output(stream, out)

        def eof() -> None:
            out = filt.feed(b"", final=True)
            if out:
                self.on_output(stream, out)
            self._open_streams -= 1
            self._maybe_done()

        return Pump(fd, data, eof)

    def _notice_pump(self, fd: int, stream: str) -> Pump:
        assert self.outcomes is not None
        notices = _Notices(self.outcomes, self.signals)
        self._open_streams += 1

        def data(b: bytes) -> None:
            out = notices.feed(b)
            if out:
                self.on_output(stream, out)

        def eof() -> None:
            out = notices.feed(b"", final=True)
            if out:
                self.on_output(stream, out)
            self._open_streams -= 1
            self._maybe_done()

        return Pump(fd, data, eof)

    # -------------------------------------------------------------------------------------------- exit
    def _watch_exit(self) -> None:
        try:
            self._pidfd = os.pidfd_open(self.pid)
        except (AttributeError, OSError):
            self._pidfd = -1
            self.loop.create_task(self._poll_exit())
            return
        self.loop.add_reader(self._pidfd, self._reap)

    async def _poll_exit(self) -> None:
        while self.popen.poll() is None:
            await asyncio.sleep(0.05)
        self._reap()

    def _reap(self) -> None:
        rc = self.popen.poll()
        if rc is None or self._rc is not None:
            return
        if self._pidfd >= 0:
            self.loop.remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = -1
        self._main_task.cancel()
        self._kill_group()  # anything left over (a daemonized grandchild) goes with the container
        LIVE.discard(self.pid)
        self._rc = rc
        # a process that left the group (setsid) may hold the output open: give the output a moment, not forever
        self.loop.call_later(0.5 if self.master_fd >= 0 else 2.0, self._close_pumps)
        self._maybe_done()

    def _close_pumps(self) -> None:
        for p in self._pumps:
            if not p.closed:
                p.close()
                p.on_eof()

    def _maybe_done(self) -> None:
        if self._rc is None or self._open_streams > 0 or self.exit_code.done():
            return
        rc = self._rc
        if self.killed:
            code = 137  # we SIGKILLed it (proot does not always report a tracee's SIGKILL as such)
        elif self.outcomes:  # proot's notices: the main process's own status (else the first process started)
            main = self.main_pid if self.main_pid in self.outcomes else \
                min(self.outcomes, key=lambda p: (p - self.pid) % (1 << 22))
            code = self.outcomes[main]
        elif rc < 0:
            code = 128 - rc
        elif rc == 255 and self.signals:
            # the main process's signal; when it died before it was seen, the first process proot started
            main = self.main_pid if self.main_pid in self.signals else \
                min(self.signals, key=lambda p: (p - self.pid) % (1 << 22))
            code = 128 + self.signals[main]
        else:
            code = rc
        self.close_stdin()
        self.exit_code.set_result(code)

    async def _watch_main(self) -> None:
        """Find proot's first child (the container's main process) and end the group when it exits."""
        for _ in range(400):
            kids = self._children()
            if kids is None:
                return
            if not kids and self._members(exclude=(self.pid,)):
                kids = self._children()  # (read again: proot may have forked in between)
                if not kids:
                    self._kill_group(exclude=(self.pid,))  # the main process is already gone; orphans remain
                    return
            if kids:
                self.main_pid = kids[0]
                break
            await asyncio.sleep(0.005)
        else:
            return
        try:
            pidfd = os.pidfd_open(self.main_pid)
        except ProcessLookupError:  # already gone
            self._kill_group(exclude=(self.pid,))
            return
        except (AttributeError, OSError):
            return
        gone: asyncio.Future[None] = self.loop.create_future()
        self.loop.add_reader(pidfd, _wake, gone)
        try:
            await gone
        finally:
            self.loop.remove_reader(pidfd)
            os.close(pidfd)
        self._kill_group(exclude=(self.pid, self.main_pid))

    def _children(self) -> list[int] | None:
        try:
            with open(f"/proc/{self.pid}/task/{self.pid}/children") as f:
                return [int(p) for p in f.read().split()]
        except OSError:
            return None

    def _members(self, exclude: tuple[int, ...] = ()) -> list[int]:
        out = []
        for d in os.listdir("/proc"):
            if not d.isdigit() or int(d) in exclude:
                continue
            try:
                with open(f"/proc/{d}/stat", "rb") as f:
                    fields = f.read().rsplit(b")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[2]) == self.pid:
                out.append(int(d))
        return out

    def _kill_group(self, exclude: tuple[int, ...] = ()) -> None:
        if not exclude:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except OSError:
                pass
            return
        for pid in self._members(exclude):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    # -------------------------------------------------------------------------------------------- control
    @property
    def running(self) -> bool:
        return self._rc is None

    def signal_main(self, sig: int) -> None:
        """A signal for the main process (what StopContainer's SIGTERM reaches), the group if it is unknown."""
        try:
            if self.main_pid:
                os.kill(self.main_pid, sig)
            else:
                os.killpg(self.pid, sig)
        except OSError:
            pass

    def kill(self) -> None:
        """SIGKILL every process of the group but proot, which then exits by itself and removes the mount-point
        placeholders it made (a SIGKILLed proot would leave them); proot too if it is still there in a second."""
        if self._rc is None:
            self.killed = True
            self._kill_group(exclude=(self.pid,))
            self.loop.call_later(1.0, self._kill_leader)

    def _kill_leader(self) -> None:
        if self._rc is None:
            self._kill_group()

    def reap_now(self) -> None:
        """``kill``, then wait (blocking, bounded) for proot, so no process or zombie is left behind."""
        if self.popen.returncode is None:
            self.killed = True
            self._kill_group(exclude=(self.pid,))
            try:
                self.popen.wait(timeout=1)
            except subprocess.TimeoutExpired:
                self._kill_group()
                try:
                    self.popen.wait(timeout=1)
                except subprocess.TimeoutExpired:
                    pass
        LIVE.discard(self.pid)

    async def write(self, data: bytes) -> None:
        if self.stdin_fd < 0:
            raise BrokenPipeError("stdin is closed")
        await write_all(self.stdin_fd, data)

    def close_stdin(self) -> None:
        if self.master_fd >= 0:
            if self._rc is None and self.stdin_fd >= 0:
                try:
                    os.write(self.master_fd, b"\x04")  # end of input at the terminal: ^D
                except OSError:
                    pass
            if self._rc is not None:
                os.close(self.master_fd)
                self.master_fd = self.stdin_fd = -1
            return
        if self.stdin_fd >= 0:
            os.close(self.stdin_fd)
            self.stdin_fd = -1

    def resize(self, width: int, height: int) -> None:
        if self.master_fd >= 0:
            import fcntl
            import struct
            import termios
            fcntl.ioctl(self.master_fd, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))
