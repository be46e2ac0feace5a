"""Human-readable durations and ages, as the API server prints them in Table cells.

Mirrors k8s.io/apimachinery/pkg/util/duration (``HumanDuration``, ``ShortHumanDuration``) and the
``translateTimestampSince`` helper of kubernetes/pkg/printers/internalversion: ages are computed by the *server*
against its clock, ``<unknown>`` when the timestamp is missing, ``<invalid>`` when it lies more than a second in
the future (clock skew tolerance), ``0s`` inside that tolerance.

Simplified: durations are resolved to microseconds (Go uses nanoseconds); timestamps are parsed from their RFC 3339
wire form and cached, since the same creation timestamps are formatted again on every ``kubectl get``.
"""

from __future__ import annotations

import datetime as _dt
from functools import lru_cache

_US_PER_S = 1_000_000
_US_PER_MIN = 60 * _US_PER_S
_US_PER_H = 60 * _US_PER_MIN

UNKNOWN = "<unknown>"
INVALID = "<invalid>"


def _micros(d: _dt.timedelta | float | int) -> int:
    if isinstance(d, _dt.timedelta):
        return (d.days * 86_400 + d.seconds) * _US_PER_S + d.microseconds
    return int(d * _US_PER_S)


def _trunc_seconds(us: int) -> int:
    """Go's int(d.Seconds()): truncation toward zero."""
    return us // _US_PER_S if us >= 0 else -((-us) // _US_PER_S)


def human_duration(d: _dt.timedelta | float | int) -> str:
    """duration.HumanDuration: ~2-3 significant figures ("45s", "2m3s", "15m", "3h20m", "2d5h", "1y30d").

    ``d`` is a timedelta or a number of seconds.
    """
    return _human_us(_micros(d))


def _human_us(us: int) -> str:
    seconds = _trunc_seconds(us)
    if seconds < -1:
        return INVALID
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes = us // _US_PER_MIN
    if minutes < 10:
        s = (us // _US_PER_S) % 60
        return f"{minutes}m" if s == 0 else f"{minutes}m{s}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = us // _US_PER_H
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if dy == 0 else f"{hours // 24 // 365}y{dy}d"
    return f"{hours // 24 // 365}y"


def short_human_duration(d: _dt.timedelta | float | int) -> str:
    """duration.ShortHumanDuration: one unit only ("45s", "5m", "3h", "12d", "2y")."""
    us = _micros(d)
    seconds = _trunc_seconds(us)
    if seconds < -1:
        return INVALID
    if seconds < 0:
        return "0s"
    if seconds < 60:
        return f"{seconds}s"
    minutes = us // _US_PER_MIN
    if minutes < 60:
        return f"{minutes}m"
    hours = us // _US_PER_H
    if hours < 24:
        return f"{hours}h"
    if hours < 24 * 365:
        return f"{hours // 24}d"
    return f"{hours // 24 // 365}y"


@lru_cache(maxsize=8192)
def parse_timestamp(ts: str) -> _dt.datetime | None:
    """Parse a metav1.Time / MicroTime wire string; None when empty or malformed."""
    if not ts:
        return None
    try:
        t = _dt.datetime.fromisoformat(ts.replace("Z", "+00:00") if ts.endswith("Z") else ts)
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=_dt.UTC)
    return t


_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)


@lru_cache(maxsize=8192)
def _epoch_us(ts: str) -> int | None:
    t = parse_timestamp(ts)
    if t is None or t.year <= 1:
        return None
    return _micros(t - _EPOCH)


_last_now: tuple[_dt.datetime | None, int] = (None, 0)


def _now_us(now: _dt.datetime) -> int:
    global _last_now
    cached = _last_now
    if cached[0] is now:
        return cached[1]
    us = _micros((now if now.tzinfo is not None else now.replace(tzinfo=_dt.UTC)) - _EPOCH)
    _last_now = (now, us)
    return us


def since(ts: str | _dt.datetime | None, now: _dt.datetime) -> str:
    """translateTimestampSince: HumanDuration(now - ts), or ``<unknown>`` for a missing/zero timestamp."""
    if not ts:
        return UNKNOWN
    if isinstance(ts, str):
        t_us = _epoch_us(ts)
        if t_us is None:
            return UNKNOWN
        return _human_us(_now_us(now) - t_us)
    if ts.year <= 1:
        return UNKNOWN
    return _human_us(_micros(now - ts))


def between(start: str | None, end: str | None) -> str:
    """HumanDuration(end - start) for two wire timestamps; "" when either is missing."""
    s = parse_timestamp(start) if start else None
    e = parse_timestamp(end) if end else None
    if s is None or e is None:
        return ""
    return human_duration(e - s)
