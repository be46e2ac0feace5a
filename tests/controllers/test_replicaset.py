"""The ReplicaSet controller against a real registry with a fake clock: pods from the template with owner
references and events, self-healing, scaling with upstream's deletion order, adoption and release, expectations,
minReadySeconds and the ReplicaFailure condition. A fake kubelet (below, shared by the other controller tests)
plays the node: it binds and starts pods, makes them ready, and finishes graceful deletions."""

from __future__ import annotations

import asyncio
import datetime as _dt
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from kubelab.api.errors import ApiError
from kubelab.client import Client
from kubelab.clock import FakeClock, rfc3339
from kubelab.controllers.podutil import ControllerExpectations, compute_hash, controller_ref, scaled_value
from kubelab.controllers.replicaset import ReplicaSetController, deletion_order
from kubelab.controllers.runner import Controller
from tests.harness import Harness

Obj = dict[str, Any]
RS = "replicasets.apps"


# ------------------------------------------------------------------------------------------------ test helpers
class TickingClock(FakeClock):
    """A fake clock whose ``now()`` moves one microsecond per read. Client.event names events
    ``<object>.<time in ns>``: with a frozen clock, two events about one object in one sync would share a name
    (and the second would be dropped); a real clock never stands still like that."""

    def now(self) -> _dt.datetime:
        with self._lock:
            self._now += _dt.timedelta(microseconds=1)
            return self._now


def lab() -> Harness:
    return Harness(clock=TickingClock())


class FakeKubelet:
    """Plays every node's kubelet: binds a new pod to ``node``, starts it (Running, an IP), makes it Ready after
    ``ready_after`` seconds of the fake clock (None: only when ``make_ready`` is called), and completes graceful
    deletions (a delete with grace period 0, as a kubelet does once containers stopped) ``terminate_after``
    seconds after they began."""

    def __init__(self, h: Harness, ready_after: float | None = 0.0, node: str = "node-1",
                 terminate_after: float = 0.0) -> None:
        self.h = h
        self.c = h.client("kubelet")
        self.ready_after = ready_after
        self.terminate_after = terminate_after
        self.node = node
        self._ips = itertools.count(2)
        self._started: set[str] = set()
        self._finishing: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        h.informers.informer("pods").add_handler(self._seen, lambda old, new: self._seen(new))

    def _spawn(self, coro: Any) -> None:
        t = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)

    def _seen(self, pod: Obj) -> None:
        m = pod["metadata"]
        if m.get("deletionTimestamp"):
            self._spawn(self._finish(m["namespace"], m["name"], m["uid"]))
        elif m["uid"] not in self._started:
            self._started.add(m["uid"])
            self._spawn(self._start(m["namespace"], m["name"]))

    async def _finish(self, ns: str, name: str, uid: str) -> None:
        if uid in self._finishing:
            return
        self._finishing.add(uid)
        if self.terminate_after:
            await self.h.clock.sleep(self.terminate_after)
        try:
            self.c.delete("pods", name, ns, grace_period_seconds=0, preconditions={"uid": uid})
        except ApiError:
            pass

    async def _start(self, ns: str, name: str) -> None:
        await asyncio.sleep(0)
        try:
            if not self.c.get("pods", name, ns)["spec"].get("nodeName"):
                self.c.bind(ns, name, self.node)
            pod = self.c.get("pods", name, ns)
            ip = f"10.244.0.{next(self._ips)}"
            now = rfc3339(self.h.clock.now())
            st = dict(pod.get("status") or {}, phase="Running", podIP=ip, podIPs=[{"ip": ip}], startTime=now,
                      conditions=[{"type": "Ready", "status": "False", "lastTransitionTime": now,
                                   "lastProbeTime": None}])
            self.c.update_status("pods", dict(pod, status=st))
        except ApiError:
            return
        if self.ready_after is not None:
            await self.h.clock.sleep(self.ready_after)
            self.make_ready(ns, name)

    def make_ready(self, ns: str, name: str, ready: bool = True) -> None:
        try:
            pod = self.c.get("pods", name, ns)
        except ApiError:
            return
        if pod["metadata"].get("deletionTimestamp"):
            return
        now = rfc3339(self.h.clock.now())
        st = dict(pod.get("status") or {}, conditions=[
            {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": now,
             "lastProbeTime": None}])
        self.c.update_status("pods", dict(pod, status=st))


@asynccontextmanager
async def running(h: Harness, *ctrls: Controller) -> AsyncIterator[None]:
    """Start the informers and run the controllers as tasks on this loop, as the control plane does."""
    h.informers.start()
    tasks = [asyncio.create_task(c.run()) for c in ctrls]
    await h.settle()
    try:
        yield
    finally:
        for c in ctrls:
            c.shutdown()
        h.informers.stop()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def events(c: Client, reason: str, ns: str = "default") -> list[Obj]:
    return sorted((e for e in c.list("events", ns) if e["reason"] == reason),
                  key=lambda e: (e["firstTimestamp"], e["metadata"]["name"]))


def owned_pods(c: Client, owner: Obj, ns: str = "default") -> list[Obj]:
    return [p for p in c.list("pods", ns) if (controller_ref(p) or {}).get("uid") == owner["metadata"]["uid"]
            and not p["metadata"].get("deletionTimestamp")]


def replica_set(name: str, replicas: int, labels: dict[str, str] | None = None, **spec: Any) -> Obj:
    labels = labels or {"app": name}
    return {"metadata": {"name": name}, "spec": {
        "replicas": replicas, "selector": {"matchLabels": labels},
        "template": {"metadata": {"labels": labels},
                     "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}, **spec}}


def rs_controller(h: Harness) -> ReplicaSetController:
    return ReplicaSetController(h.client("replicaset-controller"), h.informers, h.config, h.trace)


# ------------------------------------------------------------------------------------------------ scenarios
def test_creates_pods_from_the_template_with_owner_references_and_events() -> None:
    async def scenario() -> None:
        h = lab()
        c = h.client("test")
        FakeKubelet(h)
        async with running(h, rs_controller(h)):
            rs = c.create(RS, replica_set("web", 3), "default")
            await h.advance(1)
            pods = owned_pods(c, rs)
            assert len(pods) == 3
            for p in pods:
                m = p["metadata"]
                assert m["name"].startswith("web-") and len(m["name"]) == len("web-") + 5
                assert m["generateName"] == "web-" and m["labels"] == {"app": "web"}
                assert m["ownerReferences"] == [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web",
                                                 "uid": rs["metadata"]["uid"], "controller": True,
                                                 "blockOwnerDeletion": True}]
            created = events(c, "SuccessfulCreate")
            assert sorted(e["message"] for e in created) == sorted(f"Created pod: {p['metadata']['name']}"
                                                                  for p in pods)
            assert {e["source"]["component"] for e in created} == {"replicaset-controller"}
            assert {e["involvedObject"]["kind"] for e in created} == {"ReplicaSet"}
            st = c.get(RS, "web", "default")["status"]
            assert st == {"replicas": 3, "fullyLabeledReplicas": 3, "readyReplicas": 3, "availableReplicas": 3,
                          "observedGeneration": 1}

    asyncio.run(scenario())


def test_a_deleted_pod_is_replaced_and_scaling_works_both_ways() -> None:
    async def scenario() -> None:
        h = lab()
        c = h.client("test")
        FakeKubelet(h)
        async with running(h, rs_controller(h)):
            rs = c.create(RS, replica_set("web", 2), "default")
            await h.advance(1)
            victim = owned_pods(c, rs)[0]["metadata"]["name"]
            c.delete("pods", victim, "default")
            await h.advance(1)
            names = [p["metadata"]["name"] for p in owned_pods(c, rs)]
            assert len(names) == 2 and victim not in names
            c.patch(RS, "web", {"spec": {"replicas": 5}}, "default")
            await h.advance(1)
            assert len(owned_pods(c, rs)) == 5
            c.patch(RS, "web", {"spec": {"replicas": 1}}, "default")
            await h.advance(1)
            assert len(owned_pods(c, rs)) == 1
            assert len(events(c, "SuccessfulDelete")) == 4
            st = c.get(RS, "web", "default")["status"]
            assert st["replicas"] == 1 and st["availableReplicas"] == 1 and st["observedGeneration"] == 3

    asyncio.run(scenario())


def test_scale_down_deletes_not_ready_pods_first() -> None:
    async def scenario() -> None:
        h = lab()
        c = h.client("test")
        kubelet = FakeKubelet(h, ready_after=None)
        async with running(h, rs_controller(h)):
            rs = c.create(RS, replica_set("web", 3), "default")
            await h.advance(1)
            pods = sorted(p["metadata"]["name"] for p in owned_pods(c, rs))
            kubelet.make_ready("default", pods[0])
            kubelet.make_ready("default", pods[2])
            await h.advance(1)
            assert c.get(RS, "web", "default")["status"]["readyReplicas"] == 2
            c.patch(RS, "web", {"spec": {"replicas": 2}}, "default")
            await h.advance(1)
            assert sorted(p["metadata"]["name"] for p in owned_pods(c, rs)) == [pods[0], pods[2]]
            assert [e["message"] for e in events(c, "SuccessfulDelete")] == [f"Deleted pod: {pods[1]}"]

    asyncio.run(scenario())


def test_adopts_matching_orphans_and_releases_pods_whose_labels_change() -> None:
    async def scenario() -> None:
        h = lab()
        c = h.client("test")
        FakeKubelet(h)
        c.create("pods", {"metadata": {"name": "stray", "labels": {"app": "web"}},
                          "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}, "default")
        async with running(h, rs_controller(h)):
            rs = c.create(RS, replica_set("web", 2), "default")
            await h.advance(1)
            pods = owned_pods(c, rs)
            assert len(pods) == 2 and "stray" in {p["metadata"]["name"] for p in pods}
            assert len(events(c, "SuccessfulCreate")) == 1
            c.patch("pods", "stray", {"metadata": {"labels": {"app": "debug"}}}, "default")
            await h.advance(1)
            stray = c.get("pods", "stray", "default")
            assert not stray["metadata"].get("ownerReferences")
            pods = owned_pods(c, rs)
            assert len(pods) == 2 and "stray" not in {p["metadata"]["name"] for p in pods}

    asyncio.run(scenario())


def test_expectations_keep_a_stale_cache_from_creating_twice() -> None:
    async def scenario() -> None:
        h = lab()
        c = h.client("test")
        ctl = rs_controller(h)
        h.informers.start()
        await h.informers.wait_synced()
        c.create(RS, replica_set("web", 3), "default")
        await h.settle()
        ctl.sync_replica_set("default/web")
        ctl.sync_replica_set("default/web")  # before the pod informer has seen the three creates
        assert len(c.list("pods", "default")) == 3
        assert ctl.expectations.pending("default/web") == (3, 0)
        await h.settle()
        assert ctl.expectations.satisfied("default/web")
        ctl.sync_replica_set("default/web")
        assert len(c.list("pods", "default")) == 3
        h.informers.stop()

    asyncio.run(scenario())


def test_min_ready_seconds_delays_availability() -> None:
    async def scenario() -> None:
        h = lab()
        c = h.client("test")
        FakeKubelet(h)
        async with running(h, rs_controller(h)):
            c.create(RS, replica_set("web", 2, minReadySeconds=5), "default")
            await h.advance(1)
            st = c.get(RS, "web", "default")["status"]
            assert st["readyReplicas"] == 2 and "availableReplicas" not in st
            await h.advance(6)
            assert c.get(RS, "web", "default")["status"]["availableReplicas"] == 2

    asyncio.run(scenario())


class QuotaClient(Client):
    """The API server refusing pods, as an exhausted ResourceQuota would."""

    def create(self, resource: str, obj: Obj, namespace: str | None = None) -> Obj:
        if resource == "pods":
            raise ApiError(403, "Forbidden", f'pods "{obj["metadata"]["generateName"]}x" is forbidden: '
                                             "exceeded quota: pods, requested: pods=1, used: pods=1, limited: pods=1")
        return super().create(resource, obj, namespace)


def test_create_errors_become_the_replica_failure_condition_and_warning_events() -> None:
    async def scenario() -> None:
        h = lab()
        c = h.client("test")
        ctl = ReplicaSetController(QuotaClient(h.ctx, "replicaset-controller"), h.informers, h.config, h.trace)
        async with running(h, ctl):
            c.create(RS, replica_set("web", 2), "default")
            await h.advance(1)
            conds = c.get(RS, "web", "default")["status"]["conditions"]
            assert [(x["type"], x["status"], x["reason"]) for x in conds] == [("ReplicaFailure", "True",
                                                                                 "FailedCreate")]
            assert "exceeded quota" in conds[0]["message"]
            warn = events(c, "FailedCreate")
            assert warn and warn[0]["type"] == "Warning" and warn[0]["message"].startswith("Error creating: pods")

    asyncio.run(scenario())


# ------------------------------------------------------------------------------------------------ pure helpers
def _pod(name: str, node: str = "n1", phase: str = "Running", ready: bool = True, created: int = 0,
         ready_at: int = 0, restarts: int = 0, cost: int | None = None) -> Obj:
    t0 = _dt.datetime(2026, 1, 1, tzinfo=_dt.UTC)
    m: Obj = {"name": name, "uid": name, "creationTimestamp": rfc3339(t0 + _dt.timedelta(seconds=created))}
    if cost is not None:
        m["annotations"] = {"controller.kubernetes.io/pod-deletion-cost": str(cost)}
    st: Obj = {"phase": phase, "containerStatuses": [{"restartCount": restarts}], "conditions": [
        {"type": "Ready", "status": "True" if ready else "False",
         "lastTransitionTime": rfc3339(t0 + _dt.timedelta(seconds=ready_at))}]}
    return {"metadata": m, "spec": {"nodeName": node}, "status": st}


def test_deletion_order_follows_upstream_ranking() -> None:
    now = _dt.datetime(2026, 1, 2, tzinfo=_dt.UTC)
    cases = [  # (first, second): the first goes before the second
        (_pod("unscheduled", node=""), _pod("scheduled")),
        (_pod("pending", phase="Pending", ready=False), _pod("running")),
        (_pod("not-ready", ready=False), _pod("ready")),
        (_pod("cheap", cost=-10), _pod("default-cost")),
        (_pod("recently-ready", ready_at=80000), _pod("long-ready", ready_at=0)),
        (_pod("crashy", restarts=5), _pod("stable")),
        (_pod("newer", created=10), _pod("older", created=0)),
    ]
    for first, second in cases:
        assert deletion_order(first, 0, second, 0, now) < 0, first["metadata"]["name"]
        assert deletion_order(second, 0, first, 0, now) > 0, second["metadata"]["name"]
    # doubled-up pods (more siblings on their node) go first
    assert deletion_order(_pod("a"), 3, _pod("b"), 1, now) < 0


def test_hash_int_or_percent_and_expectations() -> None:
    t = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "a", "image": "nginx"}]}}
    h1 = compute_hash(t)
    assert h1 == compute_hash({"spec": t["spec"], "metadata": t["metadata"]})  # key order does not matter
    assert h1 != compute_hash(t, 1) and all(ch in "bcdfghjklmnpqrstvwxz2456789" for ch in h1)
    assert scaled_value("25%", 10, True) == 3 and scaled_value("25%", 10, False) == 2
    assert scaled_value(2, 10, True) == 2
    h = Harness()
    e = ControllerExpectations(h.clock)
    e.expect_deletions("k", ["ns/a", "ns/b"])
    e.deletion_observed("k", "ns/a")
    e.deletion_observed("k", "ns/zzz")  # not one of ours
    assert not e.satisfied("k")
    h.clock.advance(301)
    assert e.satisfied("k")  # expectations expire
