"""The CRI container log file: what containerd's CRI plugin writes and the kubelet's ReadLogs reads.

Mirrors containerd's ``pkg/cri/io/logger.go`` (one line per output line: ``<RFC3339Nano> <stream> <tag> <log>``,
tag ``F`` for a full line and ``P`` for a partial one, lines longer than ``MAX_LINE`` bytes split into partial
pieces) and kubelet's ``pkg/kubelet/kuberuntime/logs`` parser (partial pieces joined back into one entry).
Output without a trailing newline is written when the stream ends. Times come from the injected clock.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Callable
from pathlib import Path

from kubelab.clock import rfc3339_nano
from kubelab.kubelet.runtime import LogEntry

MAX_LINE = 16 * 1024  # containerd's default max_container_log_line_size


def parse_time(s: str) -> _dt.datetime:
    head, _, frac = s.rstrip("Z").partition(".")
    t = _dt.datetime.strptime(head, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=_dt.UTC)
    return t.replace(microsecond=int((frac + "000000")[:6])) if frac else t


class LogWriter:
    """Appends a container's output to its CRI log file, line by line, per stream."""

    def __init__(self, path: str | os.PathLike[str], now: Callable[[], _dt.datetime],
                 on_write: Callable[[], None] = lambda: None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._f = open(self.path, "ab")  # noqa: SIM115 (kept open for the container's life)
        self._now = now
        self._on_write = on_write
        self._pending: dict[str, bytes] = {"stdout": b"", "stderr": b""}
        self.strip_cr = False  # tty output ends lines with \r\n

    def _line(self, stream: str, tag: str, data: bytes) -> bytes:
        if self.strip_cr and data.endswith(b"\r"):
            data = data[:-1]
        return f"{rfc3339_nano(self._now())} {stream} {tag} ".encode() + data + b"\n"

    def feed(self, stream: str, data: bytes) -> None:
        buf = self._pending[stream] + data
        out: list[bytes] = []
        while True:
            nl = buf.find(b"\n")
            if nl < 0 or nl > MAX_LINE:
                if len(buf) > MAX_LINE:
                    out.append(self._line(stream, "P", buf[:MAX_LINE]))
                    buf = buf[MAX_LINE:]
                    continue
                break
            out.append(self._line(stream, "F", buf[:nl]))
            buf = buf[nl + 1:]
        self._pending[stream] = buf
        self._emit(out)

    def text(self, stream: str, text: str) -> None:
        """Whole lines written by the runtime itself (notices, in-runtime servers)."""
        self.feed(stream, (text if text.endswith("\n") else text + "\n").encode())

    def end(self, stream: str) -> None:
        rest, self._pending[stream] = self._pending[stream], b""
        if rest:
            self._emit([self._line(stream, "F", rest)])

    def _emit(self, lines: list[bytes]) -> None:
        if lines and not self._f.closed:
            self._f.write(b"".join(lines))
            self._f.flush()
            self._on_write()

    @property
    def closed(self) -> bool:
        return self._f.closed

    def close(self) -> None:
        if self._f.closed:
            return
        for s in self._pending:
            self.end(s)
        self._f.close()


class LogReader:
    """Reads entries from a CRI log file, from the start or from where it stopped last time."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.offset = 0
        self._partial: list[str] = []

    def read(self) -> list[LogEntry]:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return []
        end = data.rfind(b"\n")
        if end < 0:
            return []
        self.offset += end + 1
        out: list[LogEntry] = []
        for raw in data[:end].split(b"\n"):
            parts = raw.decode("utf-8", "replace").split(" ", 3)
            if len(parts) < 3:
                continue
            ts, stream, tag = parts[0], parts[1], parts[2]
            text = parts[3] if len(parts) > 3 else ""
            self._partial.append(text)
            if tag == "P":
                continue
            try:
                t = parse_time(ts)
            except ValueError:
                t = _dt.datetime.now(_dt.UTC)
            out.append(LogEntry(t, stream, "".join(self._partial)))
            self._partial = []
        return out
