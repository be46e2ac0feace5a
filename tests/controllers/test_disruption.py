"""The disruption controller computes PodDisruptionBudget status; the eviction check obeys it (429 when no
disruption is allowed). Fake clock, no sockets."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kubelab.api.errors import ApiError
from kubelab.apiserver.admission import check_eviction
from kubelab.client import Client
from kubelab.clock import rfc3339
from kubelab.controllers.disruption import DisruptionController, scaled_value
from tests.harness import Harness

Obj = dict[str, Any]
PDBS = "poddisruptionbudgets.policy"
TEMPLATE = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}


def replicaset(c: Client, name: str, replicas: int) -> Obj:
    return c.create("replicasets.apps", {"metadata": {"name": name}, "spec": {
        "replicas": replicas, "selector": {"matchLabels": {"app": "web"}}, "template": TEMPLATE}}, "default")


def pod(c: Client, name: str, owner: Obj | None = None, ready: bool = True, phase: str = "Running") -> Obj:
    meta: Obj = {"name": name, "labels": {"app": "web"}}
    if owner is not None:
        meta["ownerReferences"] = [{"apiVersion": owner["apiVersion"], "kind": owner["kind"],
                                    "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
                                    "controller": True, "blockOwnerDeletion": True}]
    c.create("pods", {"metadata": meta, "spec": TEMPLATE["spec"]}, "default")
    c.bind("default", name, "n1")
    p = c.get("pods", name, "default")
    now = rfc3339(c.clock.now())
    return c.update_status("pods", dict(p, status=dict(p["status"], phase=phase, conditions=[
        {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": now,
         "lastProbeTime": None}])))


def pdb(c: Client, name: str, **spec: Any) -> Obj:
    return c.create(PDBS, {"metadata": {"name": name}, "spec": dict(
        spec, selector={"matchLabels": {"app": "web"}})}, "default")


async def running(h: Harness) -> tuple[DisruptionController, asyncio.Task[None]]:
    ctrl = DisruptionController(h.client("x"), h.informers, h.config, h.trace)
    task = asyncio.create_task(ctrl.run())
    h.informers.start()
    await h.settle()
    return ctrl, task


async def done(h: Harness, ctrl: DisruptionController, task: asyncio.Task[None]) -> None:
    ctrl.shutdown()
    h.informers.stop()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def status(c: Client, name: str) -> Obj:
    return c.get(PDBS, name, "default")["status"]


def test_min_available_status_and_eviction_blocked_at_zero() -> None:
    async def scenario() -> None:
        h = Harness()
        c = h.client("admin")
        rs = replicaset(c, "web-abc", 3)
        for i in range(3):
            pod(c, f"web-{i}", rs)
        pdb(c, "web-pdb", minAvailable=2)
        ctrl, task = await running(h)
        await h.advance(0.2)
        st = status(c, "web-pdb")
        assert (st["expectedPods"], st["desiredHealthy"], st["currentHealthy"], st["disruptionsAllowed"]) == (3, 2, 3, 1)
        assert st["observedGeneration"] == 1
        cond = st["conditions"][0]
        assert (cond["type"], cond["status"], cond["reason"]) == ("DisruptionAllowed", "True", "SufficientPods")

        check_eviction(h.ctx, c.get("pods", "web-0", "default"))  # allowed: recorded in the budget
        st = status(c, "web-pdb")
        assert st["disruptionsAllowed"] == 0 and list(st["disruptedPods"]) == ["web-0"]
        assert st["conditions"][0]["reason"] == "InsufficientPods"
        await h.advance(0.1)  # the controller no longer counts the approved pod as healthy
        st = status(c, "web-pdb")
        assert (st["currentHealthy"], st["disruptionsAllowed"], list(st["disruptedPods"])) == (2, 0, ["web-0"])

        with pytest.raises(ApiError) as e:  # the next one would go below minAvailable
            check_eviction(h.ctx, c.get("pods", "web-1", "default"))
        assert e.value.code == 429 and e.value.reason == "TooManyRequests"
        assert e.value.message == "Cannot evict pod as it would violate the pod's disruption budget."
        assert e.value.details == {"causes": [{"reason": "DisruptionBudget", "message":
                                               "The disruption budget web-pdb needs 2 healthy pods and has 2 currently"}]}

        c.delete("pods", "web-0", "default", grace_period_seconds=0)
        await h.advance(0.2)
        st = status(c, "web-pdb")
        assert (st["expectedPods"], st["currentHealthy"], st["disruptionsAllowed"]) == (2, 2, 0)
        assert "disruptedPods" not in st
        pod(c, "web-3", rs)  # the ReplicaSet's replacement becomes Ready
        await h.advance(0.2)
        assert status(c, "web-pdb")["disruptionsAllowed"] == 1
        await done(h, ctrl, task)

    asyncio.run(scenario())


def test_max_unavailable_percent_uses_the_deployment_scale() -> None:
    async def scenario() -> None:
        h = Harness()
        c = h.client("admin")
        dep = c.create("deployments.apps", {"metadata": {"name": "web"}, "spec": {
            "replicas": 4, "selector": {"matchLabels": {"app": "web"}}, "template": TEMPLATE}}, "default")
        rs = c.create("replicasets.apps", {"metadata": {"name": "web-abc", "ownerReferences": [{
            "apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": dep["metadata"]["uid"],
            "controller": True}]}, "spec": {"replicas": 4, "selector": {"matchLabels": {"app": "web"}},
                                            "template": TEMPLATE}}, "default")
        for i in range(4):
            pod(c, f"web-{i}", rs, ready=i != 3)
        pdb(c, "half", maxUnavailable="50%")
        ctrl, task = await running(h)
        await h.advance(0.2)
        st = status(c, "half")
        assert (st["expectedPods"], st["desiredHealthy"], st["currentHealthy"], st["disruptionsAllowed"]) == (4, 2, 3, 1)
        c.patch("deployments.apps", "web", {"spec": {"replicas": 8}}, "default")
        await h.advance(0.2)
        assert (status(c, "half")["expectedPods"], status(c, "half")["desiredHealthy"]) == (8, 4)
        await done(h, ctrl, task)

    asyncio.run(scenario())


def test_pods_without_scale_fail_safe_and_unready_pods_may_go() -> None:
    async def scenario() -> None:
        h = Harness()
        c = h.client("admin")
        job = c.create("jobs.batch", {"metadata": {"name": "batch"}, "spec": {"template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "app", "image": "busybox:1.36"}]}}}},
            "default")
        pod(c, "job-pod", job)
        pdb(c, "pct", minAvailable="50%")
        ctrl, task = await running(h)
        await h.advance(0.2)
        cond = status(c, "pct")["conditions"][0]
        assert (cond["status"], cond["reason"], cond["message"]) == (
            "False", "SyncFailed", 'found no controllers for pod "job-pod"')
        assert status(c, "pct")["disruptionsAllowed"] == 0
        await done(h, ctrl, task)

    asyncio.run(scenario())


def test_eviction_rules_without_controller() -> None:
    h = Harness()
    c = h.client("admin")
    rs = replicaset(c, "web-abc", 2)
    pod(c, "ready", rs)
    unready = pod(c, "unready", rs, ready=False)
    pending = c.create("pods", {"metadata": {"name": "pending", "labels": {"app": "web"}},
                                "spec": TEMPLATE["spec"]}, "default")
    budget = pdb(c, "web-pdb", minAvailable=1)
    with pytest.raises(ApiError) as e:  # the controller has not observed the budget yet
        check_eviction(h.ctx, c.get("pods", "ready", "default"))
    assert e.value.code == 429 and e.value.details["retryAfterSeconds"] == 10  # type: ignore[index]
    assert "is still being processed by the server" in e.value.details["causes"][0]["message"]  # type: ignore[index]
    check_eviction(h.ctx, pending)  # Pending pods ignore budgets
    c.update_status(PDBS, dict(budget, status={"observedGeneration": 1, "disruptionsAllowed": 0, "currentHealthy": 1,
                                               "desiredHealthy": 1, "expectedPods": 2}))
    check_eviction(h.ctx, unready)  # unready pod, budget healthy anyway (IfHealthyBudget)
    pdb(c, "second", minAvailable=1)
    with pytest.raises(ApiError) as e:
        check_eviction(h.ctx, c.get("pods", "ready", "default"))
    assert e.value.code == 500 and "more than one PodDisruptionBudget" in e.value.message


def test_scaled_value() -> None:
    assert scaled_value("50%", 5) == 3 and scaled_value(2, 5) == 2 and scaled_value("10%", 0) == 0
