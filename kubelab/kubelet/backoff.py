"""Per-key exponential back-off, as client-go's flowcontrol.Backoff that the kubelet uses for CrashLoopBackOff
and image pull back-off: the first failure sets the initial delay, each further failure within the window doubles
it up to the maximum, and an entry older than twice the maximum starts over. Times come from the injected clock.
"""

from __future__ import annotations

import datetime as _dt


class Backoff:
    """flowcontrol.Backoff: per-key exponential back-off, reset after 2 x max of quiet."""

    def __init__(self, initial: float, maximum: float) -> None:
        self.initial, self.max = initial, maximum
        self._entries: dict[str, tuple[float, _dt.datetime]] = {}

    def get(self, key: str) -> float:
        e = self._entries.get(key)
        return e[0] if e else 0.0

    def _expired(self, event_time: _dt.datetime, last_update: _dt.datetime) -> bool:
        return (event_time - last_update).total_seconds() > 2 * self.max

    def next(self, key: str, event_time: _dt.datetime) -> None:
        e = self._entries.get(key)
        if e is None or self._expired(event_time, e[1]):
            self._entries[key] = (self.initial, event_time)
        else:
            self._entries[key] = (min(e[0] * 2, self.max), event_time)

    def in_backoff_since(self, key: str, event_time: _dt.datetime, now: _dt.datetime) -> bool:
        e = self._entries.get(key)
        if e is None or self._expired(event_time, e[1]):
            return False
        return (now - event_time).total_seconds() < e[0]

    def in_backoff_since_update(self, key: str, now: _dt.datetime) -> bool:
        e = self._entries.get(key)
        if e is None or self._expired(now, e[1]):
            return False
        return (now - e[1]).total_seconds() < e[0]

    def remaining_since_update(self, key: str, now: _dt.datetime) -> float:
        e = self._entries.get(key)
        return max(0.0, e[0] - (now - e[1]).total_seconds()) if e else 0.0

    def reset(self, key: str) -> None:
        self._entries.pop(key, None)
