"""The Job controller against a real registry, a fake clock and a fake kubelet that binds pods and moves them
through phases (bind + status updates), so each step of a Job can be checked.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from kubelab.client import Client
from kubelab.clock import rfc3339
from kubelab.controllers.job import JobController, format_indexes, parse_indexes
from kubelab.controllers.runner import Controller
from tests.conftest import Cluster
from tests.harness import Harness

Obj = dict[str, Any]
JOBS = "jobs.batch"
FINALIZER = "batch.kubernetes.io/job-tracking"


# --------------------------------------------------------------------------------------------- a fake kubelet
def run_pod(c: Client, name: str, ns: str = "default", node: str = "node-1", ready: bool = True) -> Obj:
    """Bind (unless bound) and report Running (and Ready)."""
    pod = c.get("pods", name, ns)
    if not pod["spec"].get("nodeName"):
        c.bind(ns, name, node)
        pod = c.get("pods", name, ns)
    now = rfc3339(c.clock.now())
    statuses = [{"name": ct["name"], "image": ct["image"], "imageID": "", "ready": ready, "restartCount": 0,
                 "started": True, "state": {"running": {"startedAt": now}}}
                for ct in pod["spec"]["containers"]]
    conds = [{"type": t, "status": "True" if ready or t != "Ready" else "False", "lastProbeTime": None,
              "lastTransitionTime": now} for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")]
    return c.update_status("pods", dict(pod, status=dict(pod["status"], phase="Running", conditions=conds,
                                                         containerStatuses=statuses, startTime=now)))


def finish_pod(c: Client, name: str, ok: bool, ns: str = "default") -> Obj:
    """The containers exit (0 or 1): the pod Succeeds or Fails, and is no longer Ready."""
    pod = c.get("pods", name, ns)
    now = rfc3339(c.clock.now())
    term = {"exitCode": 0 if ok else 1, "reason": "Completed" if ok else "Error", "startedAt": now,
            "finishedAt": now}
    statuses = [{"name": ct["name"], "image": ct["image"], "imageID": "", "ready": False, "restartCount": 0,
                 "started": False, "state": {"terminated": term}} for ct in pod["spec"]["containers"]]
    conds = [{"type": t, "status": "False" if t in ("Ready", "ContainersReady") else "True",
              "lastProbeTime": None, "lastTransitionTime": now}
             for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")]
    return c.update_status("pods", dict(pod, status=dict(pod["status"], phase="Succeeded" if ok else "Failed",
                                                         conditions=conds, containerStatuses=statuses)))


def reap_terminating(c: Client, ns: str = "default") -> None:
    """The kubelet finishes graceful deletions (grace period 0)."""
    for p in c.list("pods", ns):
        if p["metadata"].get("deletionTimestamp"):
            c.delete("pods", p["metadata"]["name"], ns, grace_period_seconds=0)


def pods_of(c: Client, owner: str, ns: str = "default") -> list[Obj]:
    return sorted((p for p in c.list("pods", ns)
                   if any(r.get("name") == owner for r in p["metadata"].get("ownerReferences") or [])),
                  key=lambda p: p["metadata"]["creationTimestamp"] + p["metadata"]["name"])


def active_pods(c: Client, owner: str, ns: str = "default") -> list[Obj]:
    return [p for p in pods_of(c, owner, ns) if p["status"].get("phase") not in ("Succeeded", "Failed")
            and not p["metadata"].get("deletionTimestamp")]


def events(c: Client, reason: str, ns: str = "default") -> list[Obj]:
    return [e for e in c.list("events", ns) if e["reason"] == reason]


def conditions(obj: Obj) -> list[tuple[str, str, str]]:
    conds = (obj.get("status") or {}).get("conditions") or []
    return [(x["type"], x["status"], x.get("reason", "")) for x in conds]


async def start(h: Harness, *ctrls: Controller) -> list[asyncio.Task[None]]:
    tasks = [asyncio.create_task(ctrl.run()) for ctrl in ctrls]
    h.informers.start()
    await h.settle()
    return tasks


async def stop(h: Harness, ctrls: tuple[Controller, ...], tasks: list[asyncio.Task[None]]) -> None:
    for ctrl in ctrls:
        ctrl.shutdown()
    h.informers.stop()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


# ---------------------------------------------------------------------------------------------- real kubectl
KIND3 = "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n- role: control-plane\n- role: worker\n" \
    "- role: worker\n"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A whole embedded cluster (kubelets, scheduler, every controller) judged by real kubectl."""
    from kubelab.backends.embedded import EmbeddedServer, ServerConfig
    from kubelab.kubeconfig import write_context

    d = tmp_path_factory.mktemp("lab")
    (d / "kind.yml").write_text(KIND3)
    srv = EmbeddedServer(ServerConfig(name="ctl", cluster_config=d / "kind.yml", control_plane=True)).start()
    write_context(d / "kubeconfig", "kubelab-ctl", srv.url, srv.pki.ca_cert_pem, srv.pki.admin_cert_pem,
                  srv.pki.admin_key_pem)
    try:
        yield Cluster(srv, d / "kubeconfig", "kubelab-ctl")
    finally:
        srv.stop()


def wait_for(fn: Callable[[], Any], timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"not met in {timeout}s; last value: {last!r}")


def kjson(lab: Cluster, *args: str) -> Any:
    return json.loads(lab.kubectl(*args, "-o", "json").stdout)


def job_manifest(name: str, **spec: Any) -> Obj:
    return {"metadata": {"name": name}, "spec": {
        "template": {"spec": {"restartPolicy": "Never",
                              "containers": [{"name": "pi", "image": "perl:5.34",
                                              "command": ["perl", "-e", "1"]}]}},
        **spec}}


# ------------------------------------------------------------------------------------------------ scenarios
def test_completions_3_parallelism_1_runs_pods_one_after_another_and_completes() -> None:
    async def scenario() -> None:
        h = Harness()
        c = h.client("kubelet")
        ctrl = JobController(h.client("x"), h.informers, h.config, h.trace)
        tasks = await start(h, ctrl)
        job = c.create(JOBS, job_manifest("pi", completions=3, parallelism=1), "default")
        uid = job["metadata"]["uid"]
        await h.settle()
        names = []
        for i in range(3):
            active = active_pods(c, "pi")
            assert len(active) == 1, f"round {i}: {[p['metadata']['name'] for p in active]}"
            pod = active[0]
            meta = pod["metadata"]
            assert meta["name"].startswith("pi-") and len(meta["name"]) == len("pi-") + 5
            assert meta["generateName"] == "pi-"
            assert meta["finalizers"] == [FINALIZER]
            assert meta["labels"] == {"batch.kubernetes.io/controller-uid": uid, "controller-uid": uid,
                                      "batch.kubernetes.io/job-name": "pi", "job-name": "pi"}
            assert meta["ownerReferences"] == [{"apiVersion": "batch/v1", "kind": "Job", "name": "pi",
                                                "uid": uid, "controller": True, "blockOwnerDeletion": True}]
            run_pod(c, meta["name"])
            await h.settle()
            st = c.get(JOBS, "pi", "default")["status"]
            assert st["active"] == 1 and st["ready"] == 1 and st.get("succeeded", 0) == i
            await h.advance(1)
            finish_pod(c, meta["name"], ok=True)
            await h.settle()
            names.append(meta["name"])
            done = c.get("pods", meta["name"], "default")
            assert FINALIZER not in (done["metadata"].get("finalizers") or [])  # counted, then released

        job = c.get(JOBS, "pi", "default")
        st = job["status"]
        assert st["succeeded"] == 3 and "active" not in st and "failed" not in st
        assert st["uncountedTerminatedPods"] == {} and st["ready"] == 0 and st["terminating"] == 0
        assert conditions(job) == [("SuccessCriteriaMet", "True", "CompletionsReached"),
                                   ("Complete", "True", "CompletionsReached")]
        assert job["status"]["conditions"][1]["message"] == "Reached expected number of succeeded pods"
        assert st["startTime"] == "2026-01-01T00:00:00Z" and st["completionTime"] == "2026-01-01T00:00:03Z"
        assert sorted(e["message"] for e in events(c, "SuccessfulCreate")) == sorted(
            f"Created pod: {n}" for n in names)
        completed = events(c, "Completed")
        assert [(e["message"], e["source"]["component"]) for e in completed] == [
            ("Job completed", "job-controller")]
        assert len(pods_of(c, "pi")) == 3  # finished pods stay for their logs
        await stop(h, (ctrl,), tasks)

    asyncio.run(scenario())


def test_failing_job_fails_after_backoff_limit_with_growing_backoff() -> None:
    async def scenario() -> None:
        h = Harness()
        c = h.client("kubelet")
        ctrl = JobController(h.client("x"), h.informers, h.config, h.trace)
        tasks = await start(h, ctrl)
        c.create(JOBS, job_manifest("fail", backoffLimit=2), "default")
        await h.settle()
        for i, wait in enumerate((1.0, 2.0)):
            pod = active_pods(c, "fail")[0]
            run_pod(c, pod["metadata"]["name"])
            finish_pod(c, pod["metadata"]["name"], ok=False)
            await h.settle()
            assert c.get(JOBS, "fail", "default")["status"]["failed"] == i + 1
            assert active_pods(c, "fail") == []  # the replacement waits for the pod failure backoff
            await h.advance(wait - 0.2)
            assert active_pods(c, "fail") == []
            await h.advance(0.4)
            assert len(active_pods(c, "fail")) == 1
        pod = active_pods(c, "fail")[0]
        run_pod(c, pod["metadata"]["name"])
        finish_pod(c, pod["metadata"]["name"], ok=False)
        await h.settle()
        job = c.get(JOBS, "fail", "default")
        assert job["status"]["failed"] == 3 and "active" not in job["status"]
        assert conditions(job) == [("FailureTarget", "True", "BackoffLimitExceeded"),
                                   ("Failed", "True", "BackoffLimitExceeded")]
        assert {x["message"] for x in job["status"]["conditions"]} == {
            "Job has reached the specified backoff limit"}
        assert "completionTime" not in job["status"]
        warn = events(c, "BackoffLimitExceeded")
        assert [(e["type"], e["message"]) for e in warn] == [
            ("Warning", "Job has reached the specified backoff limit")]
        assert len(pods_of(c, "fail")) == 3
        assert all(FINALIZER not in (p["metadata"].get("finalizers") or []) for p in pods_of(c, "fail"))
        await h.advance(60)
        assert len(pods_of(c, "fail")) == 3  # no more pods once failed
        await stop(h, (ctrl,), tasks)

    asyncio.run(scenario())


def test_parallel_job_deadline_deletes_active_pods_and_fails_once_they_are_gone() -> None:
    async def scenario() -> None:
        h = Harness()
        c = h.client("kubelet")
        ctrl = JobController(h.client("x"), h.informers, h.config, h.trace)
        tasks = await start(h, ctrl)
        m = job_manifest("slow", completions=4, parallelism=2, activeDeadlineSeconds=5)
        m["spec"]["template"]["metadata"] = {"finalizers": ["example.com/keep"]}  # pods stay until we say
        c.create(JOBS, m, "default")
        await h.settle()
        running = active_pods(c, "slow")
        assert len(running) == 2
        assert running[0]["metadata"]["finalizers"] == ["example.com/keep", FINALIZER]
        for p in running:
            run_pod(c, p["metadata"]["name"])
        await h.advance(4.8)
        assert conditions(c.get(JOBS, "slow", "default")) == []
        await h.advance(0.4)
        job = c.get(JOBS, "slow", "default")
        # the pods are still terminating: only the interim condition
        assert conditions(job) == [("FailureTarget", "True", "DeadlineExceeded")]
        assert job["status"]["terminating"] == 2 and job["status"]["failed"] == 2
        assert all(p["metadata"].get("deletionTimestamp") for p in pods_of(c, "slow"))
        for p in pods_of(c, "slow"):  # the kubelet stops them; the other finalizer's owner lets go
            c.patch("pods", p["metadata"]["name"], {"metadata": {"finalizers": None}}, "default")
        reap_terminating(c)
        await h.settle()
        job = c.get(JOBS, "slow", "default")
        assert conditions(job)[-1] == ("Failed", "True", "DeadlineExceeded")
        assert job["status"]["conditions"][-1]["message"] == "Job was active longer than specified deadline"
        assert job["status"]["terminating"] == 0
        assert [e["message"] for e in events(c, "DeadlineExceeded")] == [
            "Job was active longer than specified deadline"]
        await stop(h, (ctrl,), tasks)

    asyncio.run(scenario())


def test_indexed_job_gives_each_pod_its_index() -> None:
    async def scenario() -> None:
        h = Harness()
        c = h.client("kubelet")
        ctrl = JobController(h.client("x"), h.informers, h.config, h.trace)
        tasks = await start(h, ctrl)
        c.create(JOBS, job_manifest("idx", completions=3, parallelism=2, completionMode="Indexed"), "default")
        await h.settle()
        pods = active_pods(c, "idx")
        by_index = {p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]: p for p in pods}
        assert sorted(by_index) == ["0", "1"]
        p0 = by_index["0"]
        assert p0["metadata"]["generateName"] == "idx-0-"
        assert p0["metadata"]["labels"]["batch.kubernetes.io/job-completion-index"] == "0"
        assert p0["spec"]["hostname"] == "idx-0"
        path = "metadata.annotations['batch.kubernetes.io/job-completion-index']"
        ref = {"fieldRef": {"apiVersion": "v1", "fieldPath": path}}
        env = {"name": "JOB_COMPLETION_INDEX", "valueFrom": ref}
        assert env in p0["spec"]["containers"][0]["env"]
        run_pod(c, by_index["1"]["metadata"]["name"])
        finish_pod(c, by_index["1"]["metadata"]["name"], ok=True)
        await h.settle()
        job = c.get(JOBS, "idx", "default")
        assert job["status"]["completedIndexes"] == "1" and job["status"]["succeeded"] == 1
        assert sorted(p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]
                      for p in active_pods(c, "idx")) == ["0", "2"]
        for p in active_pods(c, "idx"):
            run_pod(c, p["metadata"]["name"])
            finish_pod(c, p["metadata"]["name"], ok=True)
        await h.settle()
        job = c.get(JOBS, "idx", "default")
        assert job["status"]["completedIndexes"] == "0-2" and job["status"]["succeeded"] == 3
        assert conditions(job)[-1] == ("Complete", "True", "CompletionsReached")
        await stop(h, (ctrl,), tasks)

    asyncio.run(scenario())


def test_suspend_deletes_active_pods_and_resume_starts_again() -> None:
    async def scenario() -> None:
        h = Harness()
        c = h.client("kubelet")
        ctrl = JobController(h.client("x"), h.informers, h.config, h.trace)
        tasks = await start(h, ctrl)
        c.create(JOBS, job_manifest("sus", suspend=True), "default")
        await h.settle()
        job = c.get(JOBS, "sus", "default")
        assert pods_of(c, "sus") == [] and "startTime" not in job["status"]
        assert conditions(job) == [("Suspended", "True", "JobSuspended")]
        await h.advance(1)  # events are named <object>.<time in ns>: let the fake clock move between them
        c.patch(JOBS, "sus", {"spec": {"suspend": False}}, "default")
        await h.settle()
        job = c.get(JOBS, "sus", "default")
        assert conditions(job) == [("Suspended", "False", "JobResumed")] and job["status"]["startTime"]
        pod = active_pods(c, "sus")[0]
        run_pod(c, pod["metadata"]["name"])
        await h.advance(1)
        c.patch(JOBS, "sus", {"spec": {"suspend": True}}, "default")
        await h.settle()
        assert c.get("pods", pod["metadata"]["name"], "default")["metadata"].get("deletionTimestamp")
        job = c.get(JOBS, "sus", "default")
        assert conditions(job) == [("Suspended", "True", "JobSuspended")]
        assert job["status"].get("failed", 0) == 0  # a pod deleted for suspension is not a failure
        assert [(e["message"], e["count"]) for e in events(c, "Suspended")] == [("Job suspended", 2)]
        # (the "Resumed" event shares its creation instant with "SuccessfulCreate"; Client.event names events
        # <object>.<ns timestamp>, so on a fake clock only the first of the two is stored)
        await stop(h, (ctrl,), tasks)

    asyncio.run(scenario())


def test_on_failure_restarts_count_against_backoff_limit() -> None:
    async def scenario() -> None:
        h = Harness()
        c = h.client("kubelet")
        ctrl = JobController(h.client("x"), h.informers, h.config, h.trace)
        tasks = await start(h, ctrl)
        m = job_manifest("crash", backoffLimit=2)
        m["spec"]["template"]["spec"]["restartPolicy"] = "OnFailure"
        c.create(JOBS, m, "default")
        await h.settle()
        pod = run_pod(c, active_pods(c, "crash")[0]["metadata"]["name"])
        for restarts in (1, 2):  # the kubelet restarts the container in place
            st = pod["status"]
            cs = [dict(x, restartCount=restarts) for x in st["containerStatuses"]]
            pod = c.update_status("pods", dict(pod, status=dict(st, containerStatuses=cs)))
            await h.settle()
        job = c.get(JOBS, "crash", "default")
        assert conditions(job)[0] == ("FailureTarget", "True", "BackoffLimitExceeded")
        left = c.try_get("pods", pod["metadata"]["name"], "default")  # deleted (gone once its finalizer is)
        assert left is None or left["metadata"].get("deletionTimestamp")
        reap_terminating(c)
        await h.settle()
        job = c.get(JOBS, "crash", "default")
        assert conditions(job)[-1] == ("Failed", "True", "BackoffLimitExceeded")
        assert job["status"]["failed"] == 1  # the one pod, deleted while running, counts as failed
        await stop(h, (ctrl,), tasks)

    asyncio.run(scenario())


def test_ttl_after_finished_deletes_the_job_on_the_clock() -> None:
    async def scenario() -> None:
        h = Harness()
        c = h.client("kubelet")
        ctrl = JobController(h.client("x"), h.informers, h.config, h.trace)
        tasks = await start(h, ctrl)
        c.create(JOBS, job_manifest("ttl", ttlSecondsAfterFinished=10), "default")
        await h.settle()
        name = active_pods(c, "ttl")[0]["metadata"]["name"]
        run_pod(c, name)
        finish_pod(c, name, ok=True)
        await h.settle()
        assert conditions(c.get(JOBS, "ttl", "default"))[-1][0] == "Complete"
        await h.advance(9.5)
        assert c.try_get(JOBS, "ttl", "default") is not None
        await h.advance(1)
        assert c.try_get(JOBS, "ttl", "default") is None
        await stop(h, (ctrl,), tasks)

    asyncio.run(scenario())


def test_deleted_job_releases_its_pods_finalizers() -> None:
    async def scenario() -> None:
        h = Harness()
        c = h.client("kubelet")
        ctrl = JobController(h.client("x"), h.informers, h.config, h.trace)
        tasks = await start(h, ctrl)
        c.create(JOBS, job_manifest("gone", parallelism=2, completions=2), "default")
        await h.settle()
        names = [p["metadata"]["name"] for p in active_pods(c, "gone")]
        assert len(names) == 2
        c.delete(JOBS, "gone", "default", propagation_policy="Orphan")
        await h.settle()
        for n in names:
            assert FINALIZER not in (c.get("pods", n, "default")["metadata"].get("finalizers") or [])
        await stop(h, (ctrl,), tasks)

    asyncio.run(scenario())


def test_job_made_from_a_cronjob_by_kubectl_runs() -> None:
    """``kubectl create job --from=cronjob/x`` makes a Job owned by the CronJob; the Job controller runs
    it."""
    async def scenario() -> None:
        h = Harness()
        c = h.client("kubectl")
        ctrl = JobController(h.client("x"), h.informers, h.config, h.trace)
        tasks = await start(h, ctrl)
        cj = c.create("cronjobs.batch", {"metadata": {"name": "nightly"}, "spec": {
            "schedule": "0 3 * * *", "jobTemplate": {"spec": job_manifest("x")["spec"]}}}, "default")
        owner = {"apiVersion": "batch/v1", "kind": "CronJob", "name": "nightly", "uid": cj["metadata"]["uid"],
                 "controller": True}
        job = {"metadata": {"name": "manual-1", "ownerReferences": [owner],
                            "annotations": {"cronjob.kubernetes.io/instantiate": "manual"}},
               "spec": cj["spec"]["jobTemplate"]["spec"]}
        c.create(JOBS, job, "default")
        await h.settle()
        pod = active_pods(c, "manual-1")[0]
        run_pod(c, pod["metadata"]["name"])
        finish_pod(c, pod["metadata"]["name"], ok=True)
        await h.settle()
        assert conditions(c.get(JOBS, "manual-1", "default"))[-1][0] == "Complete"
        await stop(h, (ctrl,), tasks)

    asyncio.run(scenario())


def test_index_intervals_round_trip() -> None:
    assert format_indexes({0, 1, 2, 5, 7, 8}) == "0-2,5,7-8"
    assert format_indexes(set()) == ""
    assert parse_indexes("0-2,5,7-8", 8) == {0, 1, 2, 5, 7}


def test_kubectl_job_and_job_from_cronjob(lab: Cluster) -> None:
    k = lab.kubectl
    k("create", "namespace", "batch-e2e")
    echo = {"template": {"spec": {"restartPolicy": "Never", "containers": [
        {"name": "c", "image": "busybox:1.36", "command": ["echo", "done"]}]}}}
    for obj in ({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "two"},
                 "spec": {"completions": 2, "parallelism": 2, **echo}},
                {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "nightly"}, "spec": {
                    "schedule": "0 3 * * *", "jobTemplate": {"spec": echo}}}):
        k("apply", "-n", "batch-e2e", "-f", "-", input=json.dumps(obj))
    k("create", "job", "-n", "batch-e2e", "--from=cronjob/nightly", "nightly-manual")
    k("wait", "-n", "batch-e2e", "--for=condition=Complete", "job/two", "job/nightly-manual", "--timeout=60s",
      timeout=70)
    manual = kjson(lab, "get", "job", "nightly-manual", "-n", "batch-e2e")
    assert manual["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
    assert manual["status"]["succeeded"] == 1
    rows = k("get", "jobs", "-n", "batch-e2e").stdout.splitlines()
    assert [r.split()[:3] for r in rows[1:]] == [["nightly-manual", "Complete", "1/1"],
                                                 ["two", "Complete", "2/2"]]
    described = k("describe", "job", "two", "-n", "batch-e2e").stdout
    assert "Pods Statuses:    0 Active (0 Ready) / 2 Succeeded / 0 Failed" in described
    assert "Normal  Completed" in described and "Job completed" in described
    unexpected = wait_for(lambda: [line for line in k("get", "events", "-n", "batch-e2e").stdout.splitlines()
                                   if "UnexpectedJob" in line])
    assert "Saw a job that the controller did not create or forgot: nightly-manual" in unexpected[0]
