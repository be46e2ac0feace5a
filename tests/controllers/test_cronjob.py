"""The CronJob controller on a fake clock (it starts at 2026-01-01T00:00:00Z), with the Job controller and a
fake kubelet where a scenario needs Jobs to finish; and the cron schedule arithmetic, table-driven.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from kubelab.controllers import cron
from kubelab.controllers.cronjob import CronJobController, go_rfc3339, job_name
from kubelab.controllers.job import JobController
from tests.controllers.test_job import (
    active_pods,
    conditions,
    events,
    finish_pod,
    job_manifest,
    run_pod,
    start,
    stop,
)
from tests.harness import Harness

Obj = dict[str, Any]
CRONJOBS, JOBS = "cronjobs.batch", "jobs.batch"
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def cronjob(name: str, schedule: str = "*/1 * * * *", **spec: Any) -> Obj:
    return {"metadata": {"name": name}, "spec": {
        "schedule": schedule,
        "jobTemplate": {"metadata": {"labels": {"app": name}}, "spec": job_manifest("x")["spec"]}, **spec}}


def jobs_of(c: Any, cj: str) -> list[Obj]:
    return sorted((j for j in c.list(JOBS, "default")
                   if any(r["name"] == cj for r in j["metadata"].get("ownerReferences") or [])),
                  key=lambda j: j["metadata"]["name"])


def minute(n: int) -> int:
    return int((T0 + dt.timedelta(minutes=n)).timestamp()) // 60


# ------------------------------------------------------------------------------------------------ scenarios
def test_every_minute_creates_a_job_when_the_clock_passes_the_minute() -> None:
    async def scenario() -> None:
        h = Harness()
        c = h.client("kubectl")
        ctrl = CronJobController(h.client("x"), h.informers, h.config, h.trace)
        tasks = await start(h, ctrl)
        cj = c.create(CRONJOBS, cronjob("tick"), "default")
        await h.advance(59.5, step=0.5)
        assert jobs_of(c, "tick") == []
        await h.advance(1, step=0.5)
        jobs = jobs_of(c, "tick")
        assert [j["metadata"]["name"] for j in jobs] == [f"tick-{minute(1)}"]
        job = jobs[0]
        assert job["metadata"]["annotations"] == {
            "batch.kubernetes.io/cronjob-scheduled-timestamp": "2026-01-01T00:01:00Z"}
        assert job["metadata"]["labels"]["app"] == "tick"
        assert job["metadata"]["ownerReferences"] == [{
            "apiVersion": "batch/v1", "kind": "CronJob", "name": "tick", "uid": cj["metadata"]["uid"],
            "controller": True, "blockOwnerDeletion": True}]
        st = c.get(CRONJOBS, "tick", "default")["status"]
        assert st["lastScheduleTime"] == "2026-01-01T00:01:00Z"
        assert [(a["kind"], a["name"], a["uid"]) for a in st["active"]] == [
            ("Job", job["metadata"]["name"], job["metadata"]["uid"])]
        ev = events(c, "SuccessfulCreate")
        assert [(e["message"], e["source"]["component"]) for e in ev] == [
            (f"Created job tick-{minute(1)}", "cronjob-controller")]
        await h.advance(60, step=0.5)
        assert len(jobs_of(c, "tick")) == 2  # Allow: the first one still runs
        await stop(h, (ctrl,), tasks)

    asyncio.run(scenario())


def test_history_limits_prune_finished_jobs_and_status_follows() -> None:
    async def scenario() -> None:
        h = Harness()
        c = h.client("kubelet")
        ctrls = (CronJobController(h.client("x"), h.informers, h.config, h.trace),
                 JobController(h.client("x"), h.informers, h.config, h.trace))
        tasks = await start(h, *ctrls)
        cj = cronjob("hist", successfulJobsHistoryLimit=2, failedJobsHistoryLimit=1)
        cj["spec"]["jobTemplate"]["spec"]["backoffLimit"] = 0
        c.create(CRONJOBS, cj, "default")
        for n in range(1, 6):
            await h.advance(60, step=0.5)
            name = f"hist-{minute(n)}"
            pod = active_pods(c, name)[0]
            run_pod(c, pod["metadata"]["name"])
            await h.advance(0.5, step=0.5)  # (Client.event names events <object>.<ns time>: keep them apart)
            finish_pod(c, pod["metadata"]["name"], ok=n != 3)  # the third run fails
            await h.advance(1, step=0.5)
            assert conditions(c.get(JOBS, name, "default"))[-1][0] == ("Failed" if n == 3 else "Complete")
        await h.advance(1, step=0.5)
        names = [j["metadata"]["name"] for j in jobs_of(c, "hist")]
        assert names == [f"hist-{minute(n)}" for n in (3, 4, 5)]  # 2 successful + 1 failed kept
        st = c.get(CRONJOBS, "hist", "default")["status"]
        assert "active" not in st
        assert st["lastScheduleTime"] == "2026-01-01T00:05:00Z"
        last = c.get(JOBS, f"hist-{minute(5)}", "default")
        assert st["lastSuccessfulTime"] == last["status"]["completionTime"]
        deleted = sorted(e["message"] for e in events(c, "SuccessfulDelete")
                         if e["involvedObject"]["kind"] == "CronJob")
        assert deleted == [f"Deleted job hist-{minute(1)}", f"Deleted job hist-{minute(2)}"]
        saw = [e["message"] for e in events(c, "SawCompletedJob")]
        assert f"Saw completed job: hist-{minute(1)}, condition: Complete" in saw
        assert f"Saw completed job: hist-{minute(3)}, condition: Failed" in saw
        await stop(h, ctrls, tasks)

    asyncio.run(scenario())


def test_forbid_skips_while_a_job_runs_and_replace_swaps_it() -> None:
    async def scenario() -> None:
        h = Harness()
        c = h.client("kubectl")
        ctrl = CronJobController(h.client("x"), h.informers, h.config, h.trace)
        tasks = await start(h, ctrl)
        c.create(CRONJOBS, cronjob("solo", concurrencyPolicy="Forbid"), "default")
        c.create(CRONJOBS, cronjob("swap", concurrencyPolicy="Replace"), "default")
        await h.advance(60.5, step=0.5)
        assert [j["metadata"]["name"] for j in jobs_of(c, "solo")] == [f"solo-{minute(1)}"]
        await h.advance(120, step=0.5)  # nobody runs the Job's pods: it stays active
        assert [j["metadata"]["name"] for j in jobs_of(c, "solo")] == [f"solo-{minute(1)}"]
        skipped = [e for e in events(c, "JobAlreadyActive") if e["involvedObject"]["name"] == "solo"]
        assert skipped[0]["message"] == ("Not starting job because prior execution is running and "
                                         "concurrency policy is Forbid")
        assert c.get(CRONJOBS, "solo", "default")["status"]["lastScheduleTime"] == "2026-01-01T00:01:00Z"
        assert [j["metadata"]["name"] for j in jobs_of(c, "swap")] == [f"swap-{minute(3)}"]
        active = c.get(CRONJOBS, "swap", "default")["status"]["active"]
        assert [a["name"] for a in active] == [f"swap-{minute(3)}"]
        assert f"Deleted job swap-{minute(1)}" in [e["message"] for e in events(c, "SuccessfulDelete")]
        await stop(h, (ctrl,), tasks)

    asyncio.run(scenario())


def test_suspend_and_starting_deadline() -> None:
    async def scenario() -> None:
        h = Harness()
        c = h.client("kubectl")
        ctrl = CronJobController(h.client("x"), h.informers, h.config, h.trace)
        tasks = await start(h, ctrl)
        c.create(CRONJOBS, cronjob("in-time", suspend=True, startingDeadlineSeconds=40), "default")
        c.create(CRONJOBS, cronjob("too-late", suspend=True, startingDeadlineSeconds=20), "default")
        await h.advance(150, step=0.5)
        assert jobs_of(c, "in-time") == jobs_of(c, "too-late") == []
        for name in ("in-time", "too-late"):  # resumed at 00:02:30, 30 s after the 00:02 schedule
            c.patch(CRONJOBS, name, {"spec": {"suspend": False}}, "default")
        await h.advance(1, step=0.5)
        assert [j["metadata"]["name"] for j in jobs_of(c, "in-time")] == [f"in-time-{minute(2)}"]
        assert jobs_of(c, "too-late") == []  # 00:02 is older than its 20 s deadline: skipped
        await h.advance(30, step=0.5)
        assert [j["metadata"]["name"] for j in jobs_of(c, "too-late")] == [f"too-late-{minute(3)}"]
        await stop(h, (ctrl,), tasks)

    asyncio.run(scenario())


def test_time_zone_schedule_and_annotation() -> None:
    async def scenario() -> None:
        h = Harness()
        c = h.client("kubectl")
        ctrl = CronJobController(h.client("x"), h.informers, h.config, h.trace)
        tasks = await start(h, ctrl)
        # 01:02 in Berlin (UTC+1 in January) is 00:02 UTC
        c.create(CRONJOBS, cronjob("berlin", "2 1 * * *", timeZone="Europe/Berlin"), "default")
        await h.advance(121, step=1)
        jobs = jobs_of(c, "berlin")
        assert [j["metadata"]["name"] for j in jobs] == [f"berlin-{minute(2)}"]
        assert jobs[0]["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"] == \
            "2026-01-01T01:02:00+01:00"
        await stop(h, (ctrl,), tasks)

    asyncio.run(scenario())


# ------------------------------------------------------------------------------------------------ schedules
@pytest.mark.parametrize("spec,tz,after,expected", [
    ("*/1 * * * *", None, "2026-01-01T00:00:00", "2026-01-01T00:01:00"),
    ("*/1 * * * *", None, "2026-01-01T00:00:59", "2026-01-01T00:01:00"),
    ("*/15 * * * *", None, "2026-01-01T00:15:00", "2026-01-01T00:30:00"),
    ("0 9 * * 1-5", None, "2026-01-02T10:00:00", "2026-01-05T09:00:00"),  # Friday -> Monday
    ("0 0 13 * 5", None, "2026-01-01T00:00:00", "2026-01-02T00:00:00"),  # dom OR dow when neither is *
    ("0 0 1 */3 *", None, "2026-01-01T00:00:00", "2026-04-01T00:00:00"),
    ("0 12 * JAN-MAR sun", None, "2026-01-01T00:00:00", "2026-01-04T12:00:00"),
    ("@hourly", None, "2026-01-01T00:30:00", "2026-01-01T01:00:00"),
    ("@weekly", None, "2026-01-01T00:00:00", "2026-01-04T00:00:00"),
    ("@yearly", None, "2026-01-01T00:00:00", "2027-01-01T00:00:00"),
    ("@every 90s", None, "2026-01-01T00:00:00", "2026-01-01T00:01:30"),
    ("30 2 * * *", "Europe/Berlin", "2026-01-01T00:00:00", "2026-01-01T01:30:00"),
    ("CRON_TZ=America/New_York 0 0 * * *", None, "2026-01-01T00:00:00", "2026-01-01T05:00:00"),
    ("0 0 30 2 *", None, "2026-01-01T00:00:00", None),
])
def test_next_schedule_time(spec: str, tz: str | None, after: str, expected: str | None) -> None:
    got = cron.parse(spec, tz).next(dt.datetime.fromisoformat(after).replace(tzinfo=dt.UTC))
    assert (got.strftime("%Y-%m-%dT%H:%M:%S") if got else None) == expected


def test_bad_schedules_and_zones_raise_the_parser_message() -> None:
    with pytest.raises(cron.ScheduleError, match="expected exactly 5 fields"):
        cron.parse("* * *")
    with pytest.raises(cron.ScheduleError, match="unknown time zone Mars/Olympus"):
        cron.parse("* * * * *", "Mars/Olympus")


def test_names_and_timestamps() -> None:
    t = dt.datetime(2026, 1, 1, 0, 1, tzinfo=dt.UTC)
    assert job_name({"metadata": {"name": "hello"}}, t) == f"hello-{minute(1)}" == "hello-29453761"
    assert go_rfc3339(t) == "2026-01-01T00:01:00Z"
    assert go_rfc3339(t.astimezone(cron.location("Asia/Kolkata"))) == "2026-01-01T05:31:00+05:30"
