"""The in-process client, informers and work queue against a real registry (no sockets)."""

from __future__ import annotations

import asyncio

import pytest

from kubelab.api.errors import ApiError
from kubelab.client import Client, InformerFactory, WorkQueue
from kubelab.clock import FakeClock
from tests.harness import Harness


def make_client(clock: FakeClock | None = None) -> Client:
    return Harness(clock=clock).client("test-controller")


POD = {"metadata": {"name": "p", "labels": {"app": "a"}},
       "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}


def test_crud_goes_through_defaulting_and_validation() -> None:
    c = make_client()
    pod = c.create("pods", POD, namespace="default")
    assert pod["spec"]["restartPolicy"] == "Always" and pod["metadata"]["uid"]
    with pytest.raises(ApiError) as e:
        c.create("pods", {"metadata": {"name": "bad"}, "spec": {"containers": []}}, namespace="default")
    assert e.value.code == 422
    dep = c.create("deployments.apps", {"metadata": {"name": "d"}, "spec": {
        "selector": {"matchLabels": {"a": "b"}},
        "template": {"metadata": {"labels": {"a": "b"}}, "spec": POD["spec"]}}}, namespace="default")
    assert dep["spec"]["replicas"] == 1
    out = c.patch("deployments.apps", "d", {"spec": {"replicas": 3}}, namespace="default")
    assert out["spec"]["replicas"] == 3 and out["metadata"]["generation"] == 2
    st = dict(out, status={"replicas": 3, "observedGeneration": 2})
    assert c.update_status("deployments.apps", st)["status"]["replicas"] == 3
    c.bind("default", "p", "node-1")
    assert c.get("pods", "p", "default")["spec"]["nodeName"] == "node-1"
    assert c.delete("configmaps", "nope", "default") is None


def test_events_aggregate_by_count() -> None:
    c = make_client()
    pod = c.create("pods", POD, namespace="default")
    c.event(pod, "BackOff", "Back-off restarting failed container", "Warning")
    c.event(pod, "BackOff", "Back-off restarting failed container", "Warning")
    evs = c.list("events", "default", field_selector="involvedObject.name=p")
    assert len(evs) == 1 and evs[0]["count"] == 2 and evs[0]["source"]["component"] == "test-controller"


def test_informer_sees_adds_updates_deletes_and_queue_dedups() -> None:
    async def scenario() -> list[str]:
        c = make_client()
        seen: list[str] = []
        f = InformerFactory(c)
        inf = f.informer("configmaps", "default")
        q = WorkQueue(c.clock)
        inf.add_handler(lambda o: (seen.append("add " + o["metadata"]["name"]), q.add(o["metadata"]["name"])),
                        lambda old, new: (seen.append("update " + new["metadata"]["name"]),
                                          q.add(new["metadata"]["name"])),
                        lambda o: seen.append("delete " + o["metadata"]["name"]))
        f.start()
        await f.wait_synced()
        c.create("configmaps", {"metadata": {"name": "x"}}, "default")
        c.patch("configmaps", "x", {"data": {"a": "1"}}, "default")
        c.delete("configmaps", "x", "default")
        for _ in range(20):
            await asyncio.sleep(0)
        keys = []
        while len(q):
            k = await q.get()
            assert k is not None
            keys.append(k)
            q.done(k)
        f.stop()
        assert keys == ["kube-root-ca.crt", "x"]  # x queued once despite add + update
        return seen

    seen = asyncio.run(scenario())
    assert seen == ["add kube-root-ca.crt", "add x", "update x", "delete x"]


def test_fake_clock_sleep_and_add_after() -> None:
    async def scenario() -> list[str]:
        clock = FakeClock()
        q = WorkQueue(clock)
        q.add_after("later", 5)
        await asyncio.sleep(0)
        assert len(q) == 0
        clock.advance(4)
        await asyncio.sleep(0)
        assert len(q) == 0
        clock.advance(1)
        for _ in range(3):
            await asyncio.sleep(0)
        k = await asyncio.wait_for(q.get(), 1)
        return [str(k)]

    assert asyncio.run(scenario()) == ["later"]
