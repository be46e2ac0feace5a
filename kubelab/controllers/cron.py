"""Cron schedules for the CronJob controller: parse a schedule and compute the next time it fires.

Mirrors github.com/robfig/cron/v3 as the CronJob controller uses it (``cron.ParseStandard`` and
``SpecSchedule.Next``): five fields (minute hour day-of-month month day-of-week) with lists, ranges, steps and
month/day names; the descriptors @yearly/@annually/@monthly/@weekly/@daily/@midnight/@hourly and @every
<duration>; a ``TZ=``/``CRON_TZ=`` prefix; times evaluated in the schedule's time zone (the CronJob's
spec.timeZone, else UTC). Day-of-month and day-of-week combine as cron does: when either field starts with
``*`` (or ``?``) both must match, otherwise either may.

Validation (and its exact error texts) lives in kubelab.api.validation.batch; this module reuses it.
Simplified: a wall-clock time that a DST change skips or repeats is resolved by Python's zoneinfo (fold=0)
rather than by robfig's hour-by-hour DST adjustment.
"""

from __future__ import annotations

import datetime as _dt
import re
import zoneinfo
from dataclasses import dataclass

from kubelab.api.validation.batch import parse_cron_standard

_UTC = _dt.UTC
_MONTHS = {m: i + 1 for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep",
                                             "oct", "nov", "dec"))}
_DAYS = {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
_FIELDS: tuple[tuple[int, int, dict[str, int] | None], ...] = (
    (0, 59, None), (0, 23, None), (1, 31, None), (1, 12, _MONTHS), (0, 6, _DAYS))
_DESCRIPTORS = {
    "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}
_DURATION_PART = re.compile(r"([0-9]*\.?[0-9]+)(ns|us|µs|μs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


class ScheduleError(ValueError):
    """The schedule does not parse (the message is the parser's)."""


@dataclass(frozen=True)
class Schedule:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    days_star: bool
    weekdays_star: bool
    tz: _dt.tzinfo
    every: float | None = None  # seconds, for "@every <duration>"

    def next(self, after: _dt.datetime) -> _dt.datetime | None:
        """The first time strictly after ``after`` (whole seconds, UTC), or None if there is none within five
        years (a schedule such as "0 0 30 2 *")."""
        if self.every is not None:
            base = after.astimezone(_UTC).replace(microsecond=0)
            return base + _dt.timedelta(seconds=self.every)
        local = after.astimezone(self.tz).replace(tzinfo=None)
        wall = local.replace(second=0, microsecond=0) + _dt.timedelta(minutes=1)
        limit = wall.year + 5
        while wall.year <= limit:
            if wall.month not in self.months:
                wall = _first_of_next_month(wall)
            elif not self._day_matches(wall):
                wall = _dt.datetime(wall.year, wall.month, wall.day) + _dt.timedelta(days=1)
            elif wall.hour not in self.hours:
                wall = wall.replace(minute=0) + _dt.timedelta(hours=1)
            elif wall.minute not in self.minutes:
                wall += _dt.timedelta(minutes=1)
            else:
                out = wall.replace(tzinfo=self.tz).astimezone(_UTC)
                if out > after:
                    return out
                wall += _dt.timedelta(minutes=1)  # a repeated wall-clock hour (DST ends): move on
        return None

    def _day_matches(self, wall: _dt.datetime) -> bool:
        dom = wall.day in self.days
        dow = (wall.isoweekday() % 7) in self.weekdays
        if self.days_star or self.weekdays_star:
            return dom and dow
        return dom or dow


def _first_of_next_month(t: _dt.datetime) -> _dt.datetime:
    return _dt.datetime(t.year + (t.month == 12), t.month % 12 + 1, 1)


def location(name: str | None) -> _dt.tzinfo:
    """time.LoadLocation: "" / None / "UTC" is UTC. Raises ScheduleError for an unknown zone."""
    if not name or name == "UTC":
        return _UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise ScheduleError(f"unknown time zone {name}") from None


def parse(spec: str, time_zone: str | None = None) -> Schedule:
    """cron.ParseStandard of ``spec`` (as the controller formats it: a CronJob's spec.timeZone becomes a
    ``TZ=`` prefix unless the schedule already has one). Raises ScheduleError."""
    err = parse_cron_standard(spec)
    if err is not None:
        raise ScheduleError(err)
    tz = location(time_zone)
    if spec.startswith(("TZ=", "CRON_TZ=")):
        head, _, spec = spec.partition(" ")
        tz = location(head.partition("=")[2])
        spec = spec.strip()
    if spec.startswith("@every "):
        secs = _go_duration(spec[len("@every "):])
        return Schedule(frozenset(), frozenset(), frozenset(), frozenset(), frozenset(), True, True, tz,
                        every=max(1.0, float(int(secs))))
    spec = _DESCRIPTORS.get(spec, spec)
    sets: list[frozenset[int]] = []
    stars: list[bool] = []
    for text, (lo, hi, names) in zip(spec.split(), _FIELDS, strict=True):
        values, star = _parse_field(text, lo, hi, names)
        sets.append(values)
        stars.append(star)
    return Schedule(sets[0], sets[1], sets[2], sets[3], sets[4], stars[2], stars[4], tz)


def _parse_field(text: str, lo: int, hi: int, names: dict[str, int] | None) -> tuple[frozenset[int], bool]:
    values: set[int] = set()
    star = False
    for part in (p for p in text.split(",") if p):
        rng, _, step_s = part.partition("/")
        step = int(step_s) if step_s else 1
        if rng in ("*", "?"):
            start, end = lo, hi
            star = star or step <= 1  # "*/2" restricts the field, so it is not a star for the dom/dow rule
        else:
            a, _, b = rng.partition("-")
            start = _value(a, names)
            end = _value(b, names) if b else (hi if step_s else start)
        values.update(range(start, end + 1, step))
    return frozenset(values), star


def _value(text: str, names: dict[str, int] | None) -> int:
    if names is not None and text.lower() in names:
        return names[text.lower()]
    return int(text)


def _go_duration(text: str) -> float:
    sign = -1.0 if text.startswith("-") else 1.0
    body = text.lstrip("+-")
    if body == "0":
        return 0.0
    return sign * sum(float(n) * _UNIT_SECONDS[u] for n, u in _DURATION_PART.findall(body))
