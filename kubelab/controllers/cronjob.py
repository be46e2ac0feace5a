"""The CronJob controller: create a Job each time the schedule fires, and keep a short history of them.

Mirrors pkg/controller/cronjob (cronjob_controllerv2.go, utils.go): on each sync the controller reconciles
status.active with the CronJob's Jobs (``SawCompletedJob``, ``MissingJob``, ``UnexpectedJob``), prunes
finished Jobs beyond successfulJobsHistoryLimit / failedJobsHistoryLimit (oldest start time first,
``SuccessfulDelete``), then finds the most recent unmet schedule time since status.lastScheduleTime (or the
CronJob's creation), honours suspend, startingDeadlineSeconds (``MissSchedule``) and concurrencyPolicy
(Forbid: ``JobAlreadyActive``; Replace: delete the running Jobs), and creates ``<cronjob>-<scheduled time in
minutes since the epoch>`` from spec.jobTemplate with a controller ownerReference and the
``batch.kubernetes.io/cronjob-scheduled-timestamp`` annotation (``SuccessfulCreate``: ``Created job <name>``).
The schedule is evaluated in spec.timeZone (else UTC) on the injected clock; the controller requeues itself
for the next schedule time plus 100 ms, as upstream.

Lab difference: the requeue is capped at ``config.cronjob_check_interval`` (1 s; upstream has no poll and the
real kube-controller-manager has no such flag), so a clock that jumps (a FakeClock moved by hand, a laptop
waking from sleep) is noticed within that interval. A ``kubectl create job --from=cronjob/x`` Job is owned by
the CronJob but not in its active list, so it gets the upstream ``UnexpectedJob`` warning; the Job controller
runs it like any other.
"""

from __future__ import annotations

import copy
import datetime as _dt
from typing import Any

from kubelab.api.errors import ApiError
from kubelab.client.informer import meta_key, split_key
from kubelab.clock import parse_time, rfc3339
from kubelab.controllers import cron
from kubelab.controllers.history import Wakeups, client_for, controller_of, controller_ref
from kubelab.controllers.job import finished_type
from kubelab.controllers.runner import Controller

Obj = dict[str, Any]

MANAGER = "cronjob-controller"
SCHEDULED_TIMESTAMP = "batch.kubernetes.io/cronjob-scheduled-timestamp"
NEXT_SCHEDULE_DELTA = 0.1  # upstream pads the requeue by 100 ms for clock skew
TOO_MANY_MISSED = 100


def job_name(cronjob: Obj, scheduled: _dt.datetime) -> str:
    """getJobName: the name is a function of the scheduled time, so one time never makes two Jobs."""
    return f"{cronjob['metadata']['name']}-{int(scheduled.timestamp()) // 60}"


def go_rfc3339(t: _dt.datetime) -> str:
    """Go's time.RFC3339 in the time's own zone: "Z" for a zero offset, else "+01:00"."""
    off = t.utcoffset() or _dt.timedelta(0)
    if not off:
        return t.strftime("%Y-%m-%dT%H:%M:%SZ")
    return t.isoformat(timespec="seconds")


def go_rfc1123z(t: _dt.datetime) -> str:
    return t.astimezone(_dt.UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")


def most_recent_schedule_time(cj: Obj, now: _dt.datetime, sched: cron.Schedule,
                              with_deadline: bool) -> tuple[_dt.datetime, _dt.datetime | None, int]:
    """mostRecentScheduleTime -> (earliest time considered, most recent unmet time or None, how many were
    missed). Raises cron.ScheduleError for a schedule that parses but never makes sense."""
    meta, spec, status = cj["metadata"], cj.get("spec") or {}, cj.get("status") or {}
    earliest = parse_time(status.get("lastScheduleTime") or meta["creationTimestamp"])
    sds = spec.get("startingDeadlineSeconds")
    if with_deadline and sds is not None:
        earliest = max(earliest, now - _dt.timedelta(seconds=int(sds)))
    t1 = sched.next(earliest)
    if t1 is None or now < t1:
        return earliest, None, 0
    t2 = sched.next(t1)
    if t2 is None or now < t2:
        return earliest, t1, 0
    interval = round((t2 - t1).total_seconds())
    if interval < 1:
        raise cron.ScheduleError("time difference between two schedules is less than 1 second")
    missed = int((now - t1).total_seconds()) // interval + 1
    # jump close to now, then let the schedule find the exact last time (schedules need not be regular)
    t: _dt.datetime | None = sched.next(t1 + _dt.timedelta(seconds=(missed - 2) * interval))
    most = None
    while t is not None and t <= now:
        most, t = t, sched.next(t)
    return earliest, most, missed


def next_schedule_delay(cj: Obj, now: _dt.datetime, sched: cron.Schedule) -> float | None:
    """nextScheduleTimeDuration: seconds until the next schedule time (+100 ms)."""
    try:
        earliest, most, missed = most_recent_schedule_time(cj, now, sched, False)
        base = most if most is not None else (earliest if missed == 0 else now)
    except cron.ScheduleError:
        base = now
    nxt = sched.next(base)
    if nxt is None:
        return None
    return (nxt - now).total_seconds() + NEXT_SCHEDULE_DELTA


def job_ref(job: Obj) -> Obj:
    """ref.GetReference: the ObjectReference kept in status.active."""
    m = job["metadata"]
    return {"apiVersion": "batch/v1", "kind": "Job", "name": m["name"], "namespace": m.get("namespace"),
            "uid": m.get("uid"), "resourceVersion": m.get("resourceVersion")}


def _start_key(job: Obj) -> tuple[int, str, str]:
    """byJobStartTime: jobs that started first are first; never-started ones last; name breaks ties."""
    st = (job.get("status") or {}).get("startTime")
    return (0 if st else 1, st or "", job["metadata"]["name"])


class CronJobController(Controller):
    name = "cronjob"
    manager = MANAGER

    def setup(self) -> None:
        self.client = client_for(self.client, MANAGER)
        self.wakeups = Wakeups(self.clock, self.requeue_after)
        self.cronjobs = self.informers.informer("cronjobs.batch")
        self.jobs = self.informers.informer("jobs.batch")
        self._warned: set[tuple[Any, Any]] = set()  # warnings already given (the 1 s poll would repeat them)
        self.cronjobs.add_handler(self.enqueue, self._cronjob_updated)
        self.jobs.add_handler(self._job_event, lambda old, new: self._job_event(new), self._job_event)

    # -- handlers -------------------------------------------------------------------------------------------
    def _job_event(self, job: Obj) -> None:
        ref = controller_of(job)
        if ref is None or ref.get("kind") != "CronJob":
            return
        cj = self.cronjobs.get(str(ref.get("name")), job["metadata"].get("namespace"))
        if cj is not None and cj["metadata"].get("uid") == ref.get("uid"):
            self.enqueue(cj)

    def _cronjob_updated(self, old: Obj, new: Obj) -> None:
        """updateCronJob: a new schedule or time zone requeues for its next time; anything else syncs now."""
        os_, ns_ = old.get("spec") or {}, new.get("spec") or {}
        if os_.get("schedule") == ns_.get("schedule") and os_.get("timeZone") == ns_.get("timeZone"):
            self.enqueue(new)
            return
        try:
            sched = cron.parse(ns_.get("schedule", ""), ns_.get("timeZone"))
        except cron.ScheduleError:
            self.client.event(new, "UnParseableCronJobSchedule",
                              f"unparseable schedule for cronjob: {ns_.get('schedule')}", "Warning")
            return
        delay = next_schedule_delay(new, self.clock.now(), sched)
        if delay is not None:
            self.wakeups.after(meta_key(new), min(delay, self.config.cronjob_check_interval))

    # -- sync -----------------------------------------------------------------------------------------------
    async def sync(self, key: str) -> None:
        ns, name = split_key(key)
        cached = self.cronjobs.get(name, ns)
        if cached is None:
            return
        jobs = [j for j in self.jobs.list(ns) if (ref := controller_of(j)) is not None
                and ref.get("kind") == "CronJob" and ref.get("name") == name]
        cj = copy.deepcopy(cached)
        changed = self._cleanup_finished_jobs(cj, jobs)
        requeue, synced, err = self._sync_cronjob(cj, jobs)
        if changed or synced:
            self._update_status(cj)
        if err is not None:
            raise err
        # always look again within the check interval: a sync that found nothing to schedule (say, while a job
        # was finishing) must not leave the CronJob waiting for an unrelated event
        interval = self.config.cronjob_check_interval
        self.wakeups.after(key, interval if requeue is None else min(requeue, interval))

    def _update_status(self, cj: Obj) -> None:
        status = cj.setdefault("status", {})
        if not status.get("active"):
            status.pop("active", None)
        out = self.client.update_status("cronjobs.batch", cj)
        cj["metadata"]["resourceVersion"] = out["metadata"]["resourceVersion"]
        self.emit("status", cj, message=f"active={len(status.get('active') or [])} "
                                        f"lastScheduleTime={status.get('lastScheduleTime')}")

    def _sync_cronjob(self, cj: Obj, jobs: list[Obj]) -> tuple[float | None, bool, ApiError | None]:
        """syncCronJob -> (seconds until the next look or None, whether status changed, an error to retry)."""
        now = self.clock.now()
        spec, status = cj["spec"], cj.setdefault("status", {})
        changed = False
        children = set()
        for j in jobs:
            uid = j["metadata"].get("uid")
            children.add(uid)
            found = any(a.get("uid") == uid for a in status.get("active") or ())
            fin = finished_type(j)
            if not found and not fin:
                meta = cj["metadata"]
                fresh = self.client.try_get("cronjobs.batch", meta["name"], meta["namespace"])
                fresh_active = ((fresh or {}).get("status") or {}).get("active") or ()
                if fresh is not None and any(a.get("uid") == uid for a in fresh_active):
                    cj["status"] = copy.deepcopy(fresh.get("status") or {})
                    cj["metadata"] = dict(fresh["metadata"])
                    status = cj["status"]
                    continue
                if (cj["metadata"].get("uid"), uid) not in self._warned:  # once, not on every 1 s poll
                    self._warned.add((cj["metadata"].get("uid"), uid))
                    self.client.event(cj, "UnexpectedJob", "Saw a job that the controller did not create or "
                                      f"forgot: {j['metadata']['name']}", "Warning")
            elif fin:
                if found:
                    self._forget_active(cj, uid)
                    self.client.event(cj, "SawCompletedJob",
                                      f"Saw completed job: {j['metadata']['name']}, condition: {fin}")
                    changed = True
                done = (j.get("status") or {}).get("completionTime")
                if fin == "Complete" and done:
                    last = status.get("lastSuccessfulTime")
                    if last is None or parse_time(done) > parse_time(last):
                        status["lastSuccessfulTime"] = done
                        changed = True
        for a in list(status.get("active") or ()):
            if a.get("uid") in children:
                continue
            if self.client.try_get("jobs.batch", a.get("name", ""), a.get("namespace")) is None:
                self.client.event(cj, "MissingJob", f"Active job went missing: {a.get('name')}")
                self._forget_active(cj, a.get("uid"))
                changed = True
        if cj["metadata"].get("deletionTimestamp"):
            return None, changed, None
        tz = spec.get("timeZone")
        if tz is not None:
            try:
                cron.location(tz)
            except cron.ScheduleError as e:
                self.client.event(cj, "UnknownTimeZone", f'invalid timeZone: "{tz}": {e}', "Warning")
                return None, changed, None
        if spec.get("suspend") is True:
            return None, changed, None
        schedule = spec.get("schedule", "")
        if "TZ" in schedule and (cj["metadata"].get("uid"), schedule) not in self._warned:
            self._warned.add((cj["metadata"].get("uid"), schedule))
            self.client.event(cj, "UnsupportedSchedule",
                              f'CRON_TZ or TZ used in schedule "{schedule}" is not officially supported, see '
                              "https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more "
                              "details", "Warning")
        try:
            sched = cron.parse(schedule, None if "TZ" in schedule else tz)
        except cron.ScheduleError as e:
            self.client.event(cj, "UnparseableSchedule", f'unparseable schedule: "{schedule}" : {e}',
                              "Warning")
            return None, changed, None
        try:
            _, scheduled, missed = most_recent_schedule_time(cj, now, sched, True)
        except cron.ScheduleError as e:
            self.client.event(cj, "InvalidSchedule", f"invalid schedule: {schedule} : {e}", "Warning")
            return None, changed, None
        nxt = next_schedule_delay(cj, now, sched)
        if scheduled is None:
            return nxt, changed, None
        if missed > TOO_MANY_MISSED:
            self.client.event(cj, "TooManyMissedTimes", "too many missed start times. Set or decrease "
                              ".spec.startingDeadlineSeconds or check clock skew", "Warning")
        sds = spec.get("startingDeadlineSeconds")
        if sds is not None and scheduled + _dt.timedelta(seconds=int(sds)) < now:
            self.client.event(cj, "MissSchedule",
                              f"Missed scheduled time to start a job: {go_rfc1123z(scheduled)}", "Warning")
            return nxt, changed, None
        name = job_name(cj, scheduled)
        last = status.get("lastScheduleTime")
        if any(a.get("name") == name for a in status.get("active") or ()) or \
                (last is not None and parse_time(last) == scheduled):
            return nxt, changed, None
        policy = spec.get("concurrencyPolicy", "Allow")
        if policy == "Forbid" and status.get("active"):
            self.client.event(cj, "JobAlreadyActive", "Not starting job because prior execution is running "
                              "and concurrency policy is Forbid")
            self.emit("skip", cj, reason="JobAlreadyActive",
                      message="concurrencyPolicy Forbid: a job is running")
            return nxt, changed, None
        if policy == "Replace":
            for a in list(status.get("active") or ()):
                try:
                    job = self.client.get("jobs.batch", a.get("name", ""), a.get("namespace"))
                except ApiError as e:
                    self.client.event(cj, "FailedGet", f"Get job: {e.message}", "Warning")
                    return None, changed, e
                self._delete_job(cj, job)
                changed = True
        job = self._job_from_template(cj, scheduled, tz)
        try:
            created = self.client.create("jobs.batch", job, namespace=cj["metadata"]["namespace"])
            self.client.event(cj, "SuccessfulCreate", f"Created job {name}")
            self.emit("create-job", created, message=f"Created job {name} for {rfc3339(scheduled)}")
        except ApiError as e:
            if e.code != 409:
                self.client.event(cj, "FailedCreate", f"Error creating job: {e.message}", "Warning")
                return None, changed, e
            created = self.client.get("jobs.batch", name, cj["metadata"]["namespace"])
            ref = controller_of(created)
            if ref is None or ref.get("uid") != cj["metadata"].get("uid"):
                return None, changed, None
            if any(a.get("uid") == created["metadata"].get("uid") for a in status.get("active") or ()):
                return None, changed, None
        status.setdefault("active", []).append(job_ref(created))
        status["lastScheduleTime"] = rfc3339(scheduled)
        return next_schedule_delay(cj, now, sched), True, None

    def _job_from_template(self, cj: Obj, scheduled: _dt.datetime, tz: str | None) -> Obj:
        """getJobFromTemplate2."""
        tmpl = cj["spec"].get("jobTemplate") or {}
        tmeta = tmpl.get("metadata") or {}
        annotations = dict(tmeta.get("annotations") or {})
        annotations[SCHEDULED_TIMESTAMP] = go_rfc3339(scheduled.astimezone(cron.location(tz)))
        meta: Obj = {"name": job_name(cj, scheduled), "namespace": cj["metadata"]["namespace"],
                     "annotations": annotations,
                     "ownerReferences": [controller_ref(cj, "batch/v1", "CronJob")]}
        if tmeta.get("labels"):
            meta["labels"] = dict(tmeta["labels"])
        return {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta,
                "spec": copy.deepcopy(tmpl.get("spec") or {})}

    # -- history --------------------------------------------------------------------------------------------
    def _cleanup_finished_jobs(self, cj: Obj, jobs: list[Obj]) -> bool:
        """cleanupFinishedJobs: keep at most the history limits of finished Jobs, deleting the oldest."""
        spec = cj.get("spec") or {}
        changed = False
        for kind, limit_key in (("Complete", "successfulJobsHistoryLimit"),
                                ("Failed", "failedJobsHistoryLimit")):
            limit = spec.get(limit_key)
            if limit is None:
                continue
            done = sorted((j for j in jobs if finished_type(j) == kind), key=_start_key)
            for j in done[:max(0, len(done) - int(limit))]:
                changed = self._delete_job(cj, j) or changed
        return changed

    def _delete_job(self, cj: Obj, job: Obj) -> bool:
        """deleteJob: the Job (Background propagation: the garbage collector takes its pods) and its entry in
        status.active."""
        m = job["metadata"]
        try:
            self.client.delete("jobs.batch", m["name"], m.get("namespace"), propagation_policy="Background")
        except ApiError as e:
            self.client.event(cj, "FailedDelete", f"Deleted job: {e.message}", "Warning")
            return False
        self._forget_active(cj, m.get("uid"))
        self.client.event(cj, "SuccessfulDelete", f"Deleted job {m['name']}")
        self.emit("delete-job", job, message=f"Deleted job {m['name']}")
        return True

    @staticmethod
    def _forget_active(cj: Obj, uid: Any) -> None:
        status = cj.setdefault("status", {})
        status["active"] = [a for a in status.get("active") or () if a.get("uid") != uid]
