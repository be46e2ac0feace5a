"""Injected time for the control plane.

Every component that needs "now" takes a ``Clock``. Production uses ``SystemClock``; tests use ``FakeClock`` and
advance it by hand, so scenarios (ages, grace periods, backoffs) are deterministic and fast.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import heapq
import itertools
import threading
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> _dt.datetime:
        """Current UTC time (timezone-aware)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a monotonic scale, for measuring intervals."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time (a fake clock waits until it is advanced that far)."""
        ...


class SystemClock:
    def now(self) -> _dt.datetime:
        return _dt.datetime.now(_dt.UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0))


class FakeClock:
    """A clock that only moves when told to. ``sleep`` waits until ``advance`` has moved it far enough, whichever
    thread advances it (sleepers are woken on their own event loop)."""

    def __init__(self, start: _dt.datetime | None = None) -> None:
        self._now = start or _dt.datetime(2026, 1, 1, tzinfo=_dt.UTC)
        self._mono = 0.0
        self._lock = threading.Lock()
        self._sleepers: list[tuple[float, int, asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    async def sleep(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if seconds <= 0:
                fut.set_result(None)
            else:
                heapq.heappush(self._sleepers, (self._mono + seconds, next(self._seq), loop, fut))
        await fut

    @property
    def sleepers(self) -> int:
        with self._lock:
            return len(self._sleepers)

    def now(self) -> _dt.datetime:
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        with self._lock:
            return self._mono

    def advance(self, seconds: float) -> None:
        due = []
        with self._lock:
            self._now += _dt.timedelta(seconds=seconds)
            self._mono += seconds
            while self._sleepers and self._sleepers[0][0] <= self._mono:
                due.append(heapq.heappop(self._sleepers))
        for _, _, loop, fut in due:
            if not loop.is_closed():
                loop.call_soon_threadsafe(_wake, fut)


def _wake(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


def rfc3339(t: _dt.datetime) -> str:
    """Kubernetes metav1.Time wire format: second precision, 'Z' suffix."""
    if t.tzinfo is not _dt.UTC:
        t = t.astimezone(_dt.UTC)
    return t.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def rfc3339_micro(t: _dt.datetime) -> str:
    """Kubernetes metav1.MicroTime wire format (isoformat: several times faster than strftime, on hot paths)."""
    if t.tzinfo is not _dt.UTC:
        t = t.astimezone(_dt.UTC)
    return t.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def rfc3339_nano(t: _dt.datetime) -> str:
    """Go's time.RFC3339Nano (trailing zeros of the fraction trimmed): log line stamps, CRI timestamps."""
    t = t.astimezone(_dt.UTC)
    frac = f"{t.microsecond:06d}".rstrip("0")
    return t.strftime("%Y-%m-%dT%H:%M:%S") + (f".{frac}" if frac else "") + "Z"


def parse_time(s: str) -> _dt.datetime:
    return _dt.datetime.fromisoformat(s.replace("Z", "+00:00"))


class ScaledClock:
    """Real time, sped up: ``ScaledClock(60)`` makes a minute pass every second (CronJobs, grace periods and
    backoffs arrive sooner), so a lesson can fast-forward without a fake clock to drive by hand."""

    def __init__(self, factor: float, start: _dt.datetime | None = None) -> None:
        if factor <= 0:
            raise ValueError("factor must be positive")
        self.factor = factor
        self._start = start or _dt.datetime.now(_dt.UTC)
        self._t0 = time.monotonic()

    def now(self) -> _dt.datetime:
        return self._start + _dt.timedelta(seconds=(time.monotonic() - self._t0) * self.factor)

    def monotonic(self) -> float:
        return (time.monotonic() - self._t0) * self.factor

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0) / self.factor)
