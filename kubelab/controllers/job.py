"""The Job controller: run pods from a template until enough of them succeed, or give up.

Mirrors pkg/controller/job (job_controller.go, backoff_utils.go, indexed_job_utils.go) as of Kubernetes 1.34+:
pods are created from the template (``<job>-<5 chars>``, or ``<job>-<index>-<5 chars>`` for Indexed jobs) with
the job-tracking finalizer ``batch.kubernetes.io/job-tracking`` and a controller ownerReference; parallelism
and completions decide how many run at once; a finished pod is first recorded in
status.uncountedTerminatedPods, then its finalizer is removed, then it moves to status.succeeded/failed (so a
pod is counted exactly once even if the pod disappears); failed pods (phase Failed, or deleted before
succeeding) are replaced after an exponential pod-failure backoff; more failures than spec.backoffLimit, or
running longer than spec.activeDeadlineSeconds, fails the job; with restartPolicy OnFailure the containers'
restart counts are compared with backoffLimit. The terminal conditions are delayed as in 1.31+: first
``SuccessCriteriaMet`` / ``FailureTarget``, then — once no pod is terminating and nothing is uncounted —
``Complete`` / ``Failed``, with the events ``Completed`` / ``BackoffLimitExceeded`` / ``DeadlineExceeded``.
spec.suspend deletes the active pods and sets the ``Suspended`` condition. Also the TTL-after-finished
controller's job: a finished job with ttlSecondsAfterFinished is deleted that many seconds after it finished
(on the injected clock).

Simplified: pod events sync the job at once (upstream batches them for 1 s); no adoption of orphan pods that
match the selector; podFailurePolicy, successPolicy, backoffLimitPerIndex/maxFailedIndexes and managedBy are
not implemented (jobs with a foreign spec.managedBy are left alone); no 500-pod cap on uncounted pods per
sync. The pod failure backoff uses lab delays: ``config.extra["job_pod_failure_backoff"]`` (default 1 s; real
10 s) doubling up to ``config.extra["job_pod_failure_backoff_max"]`` (default 60 s; real 10 min). The TTL
deletion uses Background propagation (the TTL-after-finished controller uses Foreground), so the job goes at
once and the garbage collector removes its pods.
"""

from __future__ import annotations

import copy
import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

from kubelab.api.errors import ApiError
from kubelab.client.informer import meta_key, split_key
from kubelab.clock import parse_time, rfc3339
from kubelab.controllers.history import Expectations, Wakeups, client_for, controller_of, controller_ref
from kubelab.controllers.runner import Controller

Obj = dict[str, Any]

MANAGER = "job-controller"
TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking"
COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index"  # annotation, and (PodIndexLabel) label
INDEX_ENV = "JOB_COMPLETION_INDEX"
MSG_BACKOFF = "Job has reached the specified backoff limit"
MSG_DEADLINE = "Job was active longer than specified deadline"
MSG_COMPLETIONS = "Reached expected number of succeeded pods"
_ORPHAN = "orphan-pod:"
_PHASE_RANK = {"Pending": 0, "Unknown": 1, "Running": 2}


# ------------------------------------------------------------------------------------------------------------
# pure helpers
# ------------------------------------------------------------------------------------------------------------


def condition(job: Obj, type_: str) -> Obj | None:
    for c in (job.get("status") or {}).get("conditions") or ():
        if c.get("type") == type_ and c.get("status") == "True":
            return c
    return None


def finished_type(job: Obj) -> str | None:
    """jobutil.FinishedCondition: "Complete" or "Failed" once the job has finished."""
    for c in (job.get("status") or {}).get("conditions") or ():
        if c.get("type") in ("Complete", "Failed") and c.get("status") == "True":
            return str(c["type"])
    return None


def new_condition(type_: str, reason: str, message: str, now: _dt.datetime, status: str = "True") -> Obj:
    t = rfc3339(now)
    return {"type": type_, "status": status, "lastProbeTime": t, "lastTransitionTime": t, "reason": reason,
            "message": message}


def ensure_condition(conds: list[Obj], type_: str, status: str, reason: str, message: str,
                     now: _dt.datetime) -> bool:
    """ensureJobConditionStatus: add or change the condition; a missing condition is not added as False."""
    for i, c in enumerate(conds):
        if c.get("type") == type_:
            if c.get("status") != status or c.get("reason") != reason or c.get("message") != message:
                conds[i] = new_condition(type_, reason, message, now, status)
                return True
            return False
    if status != "False":
        conds.append(new_condition(type_, reason, message, now, status))
        return True
    return False


def has_finalizer(pod: Obj) -> bool:
    return TRACKING_FINALIZER in ((pod.get("metadata") or {}).get("finalizers") or ())


def phase(pod: Obj) -> str:
    return str((pod.get("status") or {}).get("phase") or "")


def deleting(obj: Obj) -> bool:
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


def is_ready(pod: Obj) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or ())


def is_active(pod: Obj) -> bool:
    """controller.FilterActivePods: not finished and not being deleted."""
    return phase(pod) not in ("Succeeded", "Failed") and not deleting(pod)


def completion_index(pod: Obj) -> int:
    """getCompletionIndex: the annotated index, or -1."""
    v = ((pod.get("metadata") or {}).get("annotations") or {}).get(COMPLETION_INDEX, "")
    return int(v) if v.isdigit() else -1


def format_indexes(indexes: set[int]) -> str:
    """orderedIntervals.String: "0-2,5,7-8"."""
    out: list[str] = []
    run: list[int] = []
    for i in sorted(indexes):
        if run and i == run[-1] + 1:
            run.append(i)
            continue
        if run:
            out.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
        run = [i]
    if run:
        out.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
    return ",".join(out)


def parse_indexes(text: str | None, completions: int) -> set[int]:
    out: set[int] = set()
    for part in (text or "").split(","):
        a, _, b = part.partition("-")
        if a.isdigit():
            out.update(i for i in range(int(a), int(b or a) + 1) if i < completions)
    return out


def finished_time(pod: Obj) -> _dt.datetime:
    """getFinishedTime: the last container's finish, else Ready=False, else deletion, else creation."""
    st = pod.get("status") or {}
    ends = [((cs.get("state") or {}).get("terminated") or {}).get("finishedAt")
            for cs in st.get("containerStatuses") or ()]
    if ends and all(ends):
        return max(parse_time(str(e)) for e in ends)
    for c in st.get("conditions") or ():
        if c.get("type") == "Ready" and c.get("status") == "False" and c.get("lastTransitionTime"):
            return parse_time(c["lastTransitionTime"])
    meta = pod.get("metadata") or {}
    if meta.get("deletionTimestamp"):
        grace = _dt.timedelta(seconds=meta.get("deletionGracePeriodSeconds") or 0)
        return parse_time(meta["deletionTimestamp"]) - grace
    return parse_time(meta.get("creationTimestamp") or "1970-01-01T00:00:00Z")


def _removal_order(pod: Obj) -> tuple[Any, ...]:
    """controller.ActivePods: delete unscheduled before scheduled, pending before running, not ready before
    ready, more restarts first, newer first."""
    st = pod.get("status") or {}
    restarts = sum(int(c.get("restartCount") or 0) for c in st.get("containerStatuses") or ())
    created = parse_time((pod.get("metadata") or {}).get("creationTimestamp") or "1970-01-01T00:00:00Z")
    return (bool((pod.get("spec") or {}).get("nodeName")), _PHASE_RANK.get(phase(pod), 0), is_ready(pod),
            -restarts, -created.timestamp())


@dataclass
class _Backoff:
    """backoffRecord: consecutive failures since the last success, and when the last one happened."""
    failures: int = 0
    last_failure: _dt.datetime | None = None

    def updated(self, new_succeeded: list[Obj], new_failed: list[Obj]) -> _Backoff:
        if not new_failed:
            return _Backoff() if new_succeeded else self
        failed_at = sorted(finished_time(p) for p in new_failed)
        if not new_succeeded:
            return _Backoff(self.failures + len(failed_at), failed_at[-1])
        last_ok = max(finished_time(p) for p in new_succeeded)
        later = [t for t in failed_at if t > last_ok]
        return _Backoff(len(later), later[-1] if later else None)

    def remaining(self, now: _dt.datetime, base: float, cap: float) -> float:
        if self.failures == 0 or self.last_failure is None:
            return 0.0
        delay = min(base * 2 ** (self.failures - 1), cap)
        return max(0.0, delay - (now - self.last_failure).total_seconds())


@dataclass
class _Ctx:
    """syncJobCtx: what one sync learned about a job and its pods."""
    key: str
    job: Obj
    pods: list[Obj]
    active: list[Obj]
    ready: int
    terminating: int
    succeeded: int
    failed: int
    uncounted_succeeded: list[str]
    uncounted_failed: list[str]
    expected_rm: set[str]
    backoff: _Backoff
    finished: Obj | None = None
    prev_indexes: set[int] = field(default_factory=set)
    indexes: set[int] = field(default_factory=set)


# ------------------------------------------------------------------------------------------------------------
# the controller
# ------------------------------------------------------------------------------------------------------------


class JobController(Controller):
    name = "job"
    manager = MANAGER

    def setup(self) -> None:
        self.client = client_for(self.client, MANAGER)
        self.wakeups = Wakeups(self.clock, self.requeue_after)
        self.jobs = self.informers.informer("jobs.batch")
        self.pods = self.informers.informer("pods")
        self.expectations = Expectations()
        self._rm_finalizers: dict[str, set[str]] = {}  # job key -> pods (UIDs) whose finalizer is going
        self._backoff: dict[str, _Backoff] = {}
        self.jobs.add_handler(self.enqueue, lambda old, new: self.enqueue(new), self._job_deleted)
        self.pods.add_handler(self._pod_added, self._pod_updated, self._pod_deleted)

    # -- handlers -------------------------------------------------------------------------------------------
    def _job_of(self, pod: Obj) -> Obj | None:
        ref = controller_of(pod)
        if ref is None or ref.get("kind") != "Job" or ref.get("apiVersion") != "batch/v1":
            return None
        job = self.jobs.get(str(ref.get("name")), (pod.get("metadata") or {}).get("namespace"))
        if job is None or job["metadata"].get("uid") != ref.get("uid"):
            return None
        return job

    def _pod_event(self, pod: Obj, gone: bool) -> None:
        job = self._job_of(pod)
        meta = pod.get("metadata") or {}
        if job is None or finished_type(job):
            if has_finalizer(pod) and not gone:
                self.enqueue_key(_ORPHAN + meta_key(pod))
            if job is None:
                return
        key = meta_key(job)
        self.expectations.observe_creation(key, meta.get("name", ""))
        if gone or meta.get("deletionTimestamp"):
            self.expectations.observe_deletion(key, meta.get("name", ""))
        if gone or not has_finalizer(pod):
            self._rm_finalizers.get(key, set()).discard(meta.get("uid", ""))
        self.enqueue_key(key)

    def _pod_added(self, pod: Obj) -> None:
        self._pod_event(pod, False)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        self._pod_event(new, False)

    def _pod_deleted(self, pod: Obj) -> None:
        self._pod_event(pod, True)

    def _job_deleted(self, job: Obj) -> None:
        self.enqueue(job)
        for pod in self.pods.list(job["metadata"].get("namespace")):
            if has_finalizer(pod) and (controller_of(pod) or {}).get("uid") == job["metadata"].get("uid"):
                self.enqueue_key(_ORPHAN + meta_key(pod))

    # -- sync -----------------------------------------------------------------------------------------------
    async def sync(self, key: str) -> None:
        if key.startswith(_ORPHAN):
            self._sync_orphan_pod(key[len(_ORPHAN):])
            return
        ns, name = split_key(key)
        cached = self.jobs.get(name, ns)
        if cached is None:
            self.expectations.forget(key)
            self._rm_finalizers.pop(key, None)
            self._backoff.pop(key, None)
            return
        if (cached.get("spec") or {}).get("managedBy") not in (None, "kubernetes.io/job-controller"):
            return
        if finished_type(cached):
            self._backoff.pop(key, None)
            self._after_finished(key, cached)
            return
        self._sync_job(key, copy.deepcopy(cached))

    def _sync_job(self, key: str, job: Obj) -> None:
        spec, status = job["spec"], job.setdefault("status", {})
        now = self.clock.now()
        uncounted = status.get("uncountedTerminatedPods") or {}
        satisfied = self.expectations.satisfied(key)
        pods = [p for p in self.pods.list(job["metadata"].get("namespace"))
                if (controller_of(p) or {}).get("uid") == job["metadata"].get("uid")]
        active = [p for p in pods if is_active(p)]
        ctx = _Ctx(key, job, pods, active, sum(1 for p in active if is_ready(p)),
                   sum(1 for p in pods if deleting(p) and phase(p) not in ("Succeeded", "Failed")), 0, 0,
                   list(uncounted.get("succeeded") or []), list(uncounted.get("failed") or []),
                   set(self._rm_finalizers.get(key, set())), self._backoff.get(key, _Backoff()))
        new_ok, new_failed = self._new_finished_pods(ctx)
        ctx.succeeded = int(status.get("succeeded") or 0) + len(new_ok) + len(ctx.uncounted_succeeded)
        ctx.failed = int(status.get("failed") or 0) + len(new_failed) + len(ctx.uncounted_failed)
        suspended = spec.get("suspend") is True
        flush = False
        if not status.get("startTime") and not suspended:
            status["startTime"] = rfc3339(now)
            flush = True
        ctx.backoff = ctx.backoff.updated(new_ok, new_failed)

        met = condition(job, "SuccessCriteriaMet")
        target = condition(job, "FailureTarget")
        if met is not None:
            ctx.finished = met
        elif target is not None:
            ctx.finished = new_condition("Failed", target.get("reason", ""), target.get("message", ""), now)
        else:
            ads = spec.get("activeDeadlineSeconds")
            limit = int(spec.get("backoffLimit", 6))
            if ctx.failed > limit or self._past_backoff_limit_on_failure(job, pods):
                ctx.finished = new_condition("FailureTarget", "BackoffLimitExceeded", MSG_BACKOFF, now)
            elif ads is not None and status.get("startTime") and not suspended:
                left = ads - (now - parse_time(status["startTime"])).total_seconds()
                if left <= 0:
                    ctx.finished = new_condition("FailureTarget", "DeadlineExceeded", MSG_DEADLINE, now)
                else:
                    self.wakeups.after(key, left)
        indexed = spec.get("completionMode") == "Indexed"
        if indexed:
            comps = int(spec.get("completions") or 0)
            ctx.prev_indexes = parse_indexes(status.get("completedIndexes"), comps)
            ctx.indexes = ctx.prev_indexes | {completion_index(p) for p in pods if phase(p) == "Succeeded"
                                              and has_finalizer(p) and 0 <= completion_index(p) < comps}
            ctx.succeeded = len(ctx.indexes)

        n_active = len(active)
        suspend_changed = False
        if ctx.finished is not None:
            deleted_ready, deleted = self._delete_pods(ctx, active, remove_finalizer=False)
            if deleted != len(active) or not satisfied:
                ctx.finished = None
            n_active -= deleted
            ctx.terminating += deleted
            ctx.ready -= deleted_ready
        else:
            managed = False
            if satisfied and not deleting(job):
                n_active = self._manage(ctx, now)
                managed = True
            comps_ = spec.get("completions")
            done = (ctx.succeeded > 0 if comps_ is None else ctx.succeeded >= int(comps_)) and n_active == 0
            if done:
                ctx.finished = new_condition("SuccessCriteriaMet", "CompletionsReached", MSG_COMPLETIONS, now)
            elif managed:
                conds = status.setdefault("conditions", [])
                if suspended:
                    if ensure_condition(conds, "Suspended", "True", "JobSuspended", "Job suspended", now):
                        suspend_changed = True
                        self.client.event(job, "Suspended", "Job suspended")
                elif ensure_condition(conds, "Suspended", "False", "JobResumed", "Job resumed", now):
                    suspend_changed = True
                    self.client.event(job, "Resumed", "Job resumed")
                    status["startTime"] = rfc3339(now)  # activeDeadlineSeconds counts from the resume
                if not conds:
                    status.pop("conditions")
        flush = flush or suspend_changed or n_active != int(status.get("active") or 0) \
            or ctx.ready != status.get("ready") or ctx.terminating != status.get("terminating")
        _set_count(status, "active", n_active)
        status["ready"] = ctx.ready
        status["terminating"] = ctx.terminating
        self._track_and_remove_finalizers(ctx, flush)

    def _new_finished_pods(self, ctx: _Ctx) -> tuple[list[Obj], list[Obj]]:
        """getNewFinishedPods: finished pods that still carry the finalizer and are not yet recorded."""
        comps = int(ctx.job["spec"].get("completions") or 0)
        indexed = ctx.job["spec"].get("completionMode") == "Indexed"
        ok, failed = [], []
        for p in ctx.pods:
            uid = p["metadata"].get("uid", "")
            if not has_finalizer(p) or uid in ctx.expected_rm:
                continue
            if indexed and not 0 <= completion_index(p) < comps:
                continue
            if phase(p) == "Succeeded" and uid not in ctx.uncounted_succeeded:
                ok.append(p)
            elif self._pod_failed(ctx.job, p) and uid not in ctx.uncounted_failed:
                failed.append(p)
        return ok, failed

    @staticmethod
    def _pod_failed(job: Obj, pod: Obj) -> bool:
        """isPodFailed: phase Failed; or (unless only failed pods are replaced) deleted before succeeding."""
        if phase(pod) == "Failed":
            return True
        if (job.get("spec") or {}).get("podReplacementPolicy") == "Failed":
            return False
        return deleting(pod) and phase(pod) != "Succeeded"

    @staticmethod
    def _past_backoff_limit_on_failure(job: Obj, pods: list[Obj]) -> bool:
        """pastBackoffLimitOnFailure: with restartPolicy OnFailure the kubelet restarts containers in place,
        so their restart counts are the failures."""
        spec = job["spec"]
        if ((spec.get("template") or {}).get("spec") or {}).get("restartPolicy") != "OnFailure":
            return False
        restarts = 0
        for p in pods:
            if phase(p) in ("Running", "Pending"):
                st = p.get("status") or {}
                for cs in (st.get("initContainerStatuses") or []) + (st.get("containerStatuses") or []):
                    restarts += int(cs.get("restartCount") or 0)
        limit = int(spec.get("backoffLimit", 6))
        return restarts > 0 if limit == 0 else restarts >= limit

    # -- manage ---------------------------------------------------------------------------------------------
    def _manage(self, ctx: _Ctx, now: _dt.datetime) -> int:
        """manageJob: delete surplus active pods, or create missing ones (respecting the failure backoff)."""
        job, spec = ctx.job, ctx.job["spec"]
        active = len(ctx.active)
        if spec.get("suspend") is True:
            victims = sorted(ctx.active, key=_removal_order)
            ready, removed = self._delete_pods(ctx, victims, remove_finalizer=True)
            ctx.terminating += removed
            ctx.ready -= ready
            return active - removed
        parallelism = int(spec.get("parallelism", 1))
        comps = spec.get("completions")
        if comps is None:
            want = active if ctx.succeeded > 0 else parallelism
        else:
            want = max(0, min(int(comps) - ctx.succeeded, parallelism))
        surplus = active - want
        if surplus > 0:
            victims = sorted(ctx.active, key=_removal_order)[:surplus]
            ready, removed = self._delete_pods(ctx, victims, remove_finalizer=True)
            ctx.terminating += removed
            ctx.ready -= ready
            return active - removed
        replacing = ctx.terminating if spec.get("podReplacementPolicy") == "Failed" else 0
        diff = want - replacing - active
        if diff <= 0:
            return active
        extra: dict[str, Any] = dict(self.config.extra)
        wait = ctx.backoff.remaining(now, float(extra.get("job_pod_failure_backoff", 1.0)),
                                     float(extra.get("job_pod_failure_backoff_max", 60.0)))
        if wait > 0:
            self.wakeups.after(ctx.key, wait)
            self.emit("backoff", job, message=f"waiting {wait:.1f}s before replacing failed pods")
            return active
        indexes: list[int | None] = [None] * diff
        if spec.get("completionMode") == "Indexed":
            busy = ctx.indexes | {completion_index(p) for p in ctx.active}
            pending: list[int | None] = [i for i in range(int(comps or 0)) if i not in busy]
            indexes = pending[:diff]
        for ix in indexes:
            pod = self._new_pod(job, ix)
            try:
                out = self.client.create("pods", pod, namespace=job["metadata"]["namespace"])
            except ApiError as e:
                self.client.event(job, "FailedCreate", f"Error creating: {e.message}", "Warning")
                raise
            pname = out["metadata"]["name"]
            self.expectations.expect_creation(ctx.key, pname)
            self.client.event(job, "SuccessfulCreate", f"Created pod: {pname}")
            self.emit("create-pod", out, message=f"Created pod: {pname}")
            active += 1
        return active

    def _new_pod(self, job: Obj, index: int | None) -> Obj:
        """GetPodFromTemplate plus the job's additions: finalizer, owner, completion index."""
        template = copy.deepcopy(job["spec"].get("template") or {})
        tmeta = template.get("metadata") or {}
        name = job["metadata"]["name"]
        meta: Obj = {"generateName": f"{name}-", "labels": dict(tmeta.get("labels") or {}),
                     "annotations": dict(tmeta.get("annotations") or {}),
                     "finalizers": [*(f for f in tmeta.get("finalizers") or () if f != TRACKING_FINALIZER),
                                    TRACKING_FINALIZER],
                     "ownerReferences": [controller_ref(job, "batch/v1", "Job")]}
        spec = template.get("spec") or {}
        if index is not None:
            meta["generateName"] = f"{name}-{index}-"
            meta["annotations"][COMPLETION_INDEX] = str(index)
            meta["labels"][COMPLETION_INDEX] = str(index)
            spec["hostname"] = f"{name}-{index}"
            ref = {"fieldRef": {"fieldPath": f"metadata.annotations['{COMPLETION_INDEX}']"}}
            for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
                env = c.setdefault("env", [])
                if not any(e.get("name") == INDEX_ENV for e in env):
                    env.append({"name": INDEX_ENV, "valueFrom": ref})
        if not meta["annotations"]:
            del meta["annotations"]
        return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}

    def _delete_pods(self, ctx: _Ctx, pods: list[Obj], remove_finalizer: bool) -> tuple[int, int]:
        """deleteJobPods / deleteActivePods: -> (ready pods deleted, pods deleted)."""
        ready = deleted = 0
        for pod in pods:
            meta = pod["metadata"]
            try:
                if remove_finalizer and has_finalizer(pod):
                    self._remove_finalizer(pod)
                self.client.delete("pods", meta["name"], meta.get("namespace"))
            except ApiError as e:
                self.client.event(ctx.job, "FailedDelete", f"Error deleting: {e.message}", "Warning")
                continue
            self.expectations.expect_deletion(ctx.key, meta["name"])
            self.client.event(ctx.job, "SuccessfulDelete", f"Deleted pod: {meta['name']}")
            self.emit("delete-pod", pod, message=f"Deleted pod: {meta['name']}")
            deleted += 1
            ready += is_ready(pod)
        return ready, deleted

    def _remove_finalizer(self, pod: Obj) -> None:
        """removeTrackingFinalizerPatch: a strategic merge patch that takes only our finalizer out."""
        meta = pod["metadata"]
        try:
            self.client.patch("pods", meta["name"], {"metadata": {
                "$deleteFromPrimitiveList/finalizers": [TRACKING_FINALIZER]}},
                namespace=meta.get("namespace"), patch_type="strategic")
        except ApiError as e:
            if e.code != 404:
                raise

    # -- status ---------------------------------------------------------------------------------------------
    def _track_and_remove_finalizers(self, ctx: _Ctx, flush: bool) -> None:
        """trackJobStatusAndRemoveFinalizers: record finished pods as uncounted, flush, remove their
        finalizers, move them to the counters, and finish the job once nothing is uncounted or terminating."""
        job, status = ctx.job, ctx.job["status"]
        indexed = job["spec"].get("completionMode") == "Indexed"
        comps = int(job["spec"].get("completions") or 0)
        with_finalizer = {p["metadata"]["uid"] for p in ctx.pods
                          if has_finalizer(p) and p["metadata"]["uid"] not in ctx.expected_rm}
        flush = self._clean_uncounted(ctx, with_finalizer) or flush
        to_remove: list[Obj] = []
        new_indexes: set[int] = set()
        failing = ctx.finished is not None and ctx.finished["type"] != "SuccessCriteriaMet"
        pods = sorted(ctx.pods, key=completion_index) if indexed else ctx.pods
        for pod in pods:
            uid = pod["metadata"]["uid"]
            if not has_finalizer(pod) or uid in ctx.expected_rm:
                continue
            failed = self._pod_failed(job, pod)
            if not (deleting(job) or ctx.finished is not None or phase(pod) == "Succeeded" or failed):
                continue
            to_remove.append(pod)
            ix = completion_index(pod)
            if phase(pod) == "Succeeded" and uid not in ctx.uncounted_failed:
                if indexed:
                    if 0 <= ix < comps and ix not in ctx.prev_indexes:
                        new_indexes.add(ix)
                        flush = True
                elif uid not in ctx.uncounted_succeeded:
                    ctx.uncounted_succeeded.append(uid)
                    flush = True
            elif (failed or failing) and uid not in ctx.uncounted_failed and (not indexed or 0 <= ix < comps):
                ctx.uncounted_failed.append(uid)
                flush = True
        if indexed:
            ctx.indexes = ctx.prev_indexes | new_indexes
            text = format_indexes(ctx.indexes)
            flush = flush or text != (status.get("completedIndexes") or "")
            _set_count(status, "succeeded", len(ctx.indexes))
            if text:
                status["completedIndexes"] = text
            else:
                status.pop("completedIndexes", None)
        now = self.clock.now()
        conds = status.setdefault("conditions", [])
        if ctx.finished is not None and ctx.finished["type"] == "FailureTarget":
            conds.append(ctx.finished)
            flush = True
            ctx.finished = new_condition("Failed", ctx.finished["reason"], ctx.finished["message"], now)
        elif ctx.finished is not None and ctx.finished["type"] == "SuccessCriteriaMet":
            if condition(job, "SuccessCriteriaMet") is None:
                conds.append(ctx.finished)
                flush = True
            ctx.finished = new_condition("Complete", ctx.finished["reason"], ctx.finished["message"], now)
        if not conds:
            status.pop("conditions")
        self._write_uncounted(ctx)
        if flush:
            self._update_status(ctx)
            self._backoff[ctx.key] = ctx.backoff
            flush = False
        if to_remove:
            expected = self._rm_finalizers.setdefault(ctx.key, set())
            for pod in to_remove:
                uid = pod["metadata"]["uid"]
                expected.add(uid)
                try:
                    self._remove_finalizer(pod)
                except ApiError:
                    expected.discard(uid)
                    continue
                with_finalizer.discard(uid)
        flush = self._clean_uncounted(ctx, with_finalizer) or flush
        finished = self._enact_finished(ctx, now)
        if flush or finished:
            self._write_uncounted(ctx)
            self._update_status(ctx)
        if finished and ctx.finished is not None:
            if ctx.finished["type"] == "Complete":
                self.client.event(job, "Completed", "Job completed")
            else:
                self.client.event(job, ctx.finished["reason"], ctx.finished["message"], "Warning")
            self.emit("finished", job, reason=ctx.finished["type"], message=ctx.finished["message"])
            self._after_finished(ctx.key, job)

    def _clean_uncounted(self, ctx: _Ctx, with_finalizer: set[str]) -> bool:
        """cleanUncountedPodsWithoutFinalizers: uncounted pods that lost their finalizer become counted."""
        status = ctx.job["status"]
        changed = False
        for attr, counter in (("uncounted_succeeded", "succeeded"), ("uncounted_failed", "failed")):
            uids: list[str] = getattr(ctx, attr)
            keep = [u for u in uids if u in with_finalizer]
            if len(keep) != len(uids):
                changed = True
                if not (counter == "succeeded" and ctx.job["spec"].get("completionMode") == "Indexed"):
                    _set_count(status, counter, int(status.get(counter) or 0) + len(uids) - len(keep))
                setattr(ctx, attr, keep)
        return changed

    def _write_uncounted(self, ctx: _Ctx) -> None:
        unc: Obj = {}
        if ctx.uncounted_succeeded:
            unc["succeeded"] = list(ctx.uncounted_succeeded)
        if ctx.uncounted_failed:
            unc["failed"] = list(ctx.uncounted_failed)
        ctx.job["status"]["uncountedTerminatedPods"] = unc

    def _enact_finished(self, ctx: _Ctx, now: _dt.datetime) -> bool:
        """enactJobFinished: the terminal condition, once every pod is counted and none is terminating."""
        if ctx.finished is None or ctx.uncounted_succeeded or ctx.uncounted_failed or ctx.terminating > 0:
            return False
        status = ctx.job["status"]
        conds = status.setdefault("conditions", [])
        fin = ctx.finished
        ensure_condition(conds, fin["type"], "True", fin["reason"], fin["message"], now)
        if fin["type"] == "Complete":
            status["completionTime"] = next(c for c in conds if c["type"] == "Complete")["lastTransitionTime"]
        return True

    def _update_status(self, ctx: _Ctx) -> None:
        out = self.client.update_status("jobs.batch", ctx.job)
        ctx.job["metadata"]["resourceVersion"] = out["metadata"]["resourceVersion"]
        st = ctx.job["status"]
        counts = " ".join(f"{k}={st.get(k, 0)}" for k in ("active", "succeeded", "failed", "ready"))
        self.emit("status", ctx.job, message=counts)

    # -- finished jobs and orphan pods ----------------------------------------------------------------------
    def _after_finished(self, key: str, job: Obj) -> None:
        """Finished: no pod keeps our finalizer (cleanupPodFinalizers); ttlSecondsAfterFinished applies."""
        uid = job["metadata"].get("uid")
        for pod in self.pods.list(job["metadata"].get("namespace")):
            if has_finalizer(pod) and (controller_of(pod) or {}).get("uid") == uid:
                self.enqueue_key(_ORPHAN + meta_key(pod))
        ttl = (job.get("spec") or {}).get("ttlSecondsAfterFinished")
        if ttl is None or deleting(job):
            return
        st = job.get("status") or {}
        done = st.get("completionTime") or (condition(job, "Failed") or {}).get("lastTransitionTime")
        if not done:
            return
        left = (parse_time(done) + _dt.timedelta(seconds=int(ttl)) - self.clock.now()).total_seconds()
        if left > 0:
            self.wakeups.after(key, left)
            return
        meta = job["metadata"]
        self.client.delete("jobs.batch", meta["name"], meta.get("namespace"), propagation_policy="Background",
                           preconditions={"uid": meta.get("uid", "")})
        self.emit("delete", job, reason="TTLAfterFinished",
                  message=f"Job finished {ttl}s ago (ttlSecondsAfterFinished): deleted")

    def _sync_orphan_pod(self, pod_key: str) -> None:
        """syncOrphanPod: drop the finalizer of a pod whose job is gone or finished."""
        pod = self.pods.get_key(pod_key)
        if pod is None or not has_finalizer(pod):
            return
        ref = controller_of(pod)
        if ref is not None:
            if ref.get("kind") != "Job" or ref.get("apiVersion") != "batch/v1":
                return
            job = self._job_of(pod)
            if job is not None and not finished_type(job):
                return
        self._remove_finalizer(pod)


def _set_count(status: Obj, key: str, value: int) -> None:
    """Counters are omitempty on the wire: absent when zero."""
    if value:
        status[key] = value
    else:
        status.pop(key, None)
