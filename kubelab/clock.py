"""Injected time for the control plane.

Every component that needs "now" takes a ``Clock``. Production uses ``SystemClock``; tests use ``FakeClock`` and
advance it by hand, so scenarios (ages, grace periods, backoffs) are deterministic and fast.
"""

from __future__ import annotations

import datetime as _dt
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


class SystemClock:
    def now(self) -> _dt.datetime:
        return _dt.datetime.now(_dt.UTC)

    def monotonic(self) -> float:
        return time.monotonic()


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: _dt.datetime | None = None) -> None:
        self._now = start or _dt.datetime(2026, 1, 1, tzinfo=_dt.UTC)
        self._mono = 0.0
        self._lock = threading.Lock()

    def now(self) -> _dt.datetime:
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        with self._lock:
            return self._mono

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += _dt.timedelta(seconds=seconds)
            self._mono += seconds


def rfc3339(t: _dt.datetime) -> str:
    """Kubernetes metav1.Time wire format: second precision, 'Z' suffix."""
    return t.astimezone(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc3339_micro(t: _dt.datetime) -> str:
    """Kubernetes metav1.MicroTime wire format."""
    return t.astimezone(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(s: str) -> _dt.datetime:
    return _dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
