"""The scheduling queue: priority order, backoff, moving unschedulable pods on cluster events, gates, timeout."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kubelab.clock import FakeClock
from kubelab.scheduler.framework import PodInfo
from kubelab.scheduler.queue import QueuedPodInfo, SchedulingQueue
from tests.scheduler.builders import framework, node, pod

Obj = dict[str, Any]


def make_queue(clock: FakeClock, **kw: Any) -> SchedulingQueue:
    fw = framework([node("n")])
    return SchedulingQueue(clock, lambda p, ts: (-p.priority, ts), backoff_initial=1.0, backoff_max=10.0,
                           plugins=fw.plugins, **kw)


async def pop_now(q: SchedulingQueue) -> QueuedPodInfo | None:
    try:
        return await asyncio.wait_for(q.pop(), 0.05)
    except TimeoutError:
        return None


def test_priority_then_fifo() -> None:
    async def scenario() -> list[str]:
        clock = FakeClock()
        q = make_queue(clock)
        q.add(PodInfo(pod("a")))
        clock.advance(1)
        q.add(PodInfo(pod("b", priority=10)))
        clock.advance(1)
        q.add(PodInfo(pod("c")))
        out = []
        for _ in range(3):
            qpi = await pop_now(q)
            assert qpi is not None
            out.append(qpi.pod.name)
        return out

    assert asyncio.run(scenario()) == ["b", "a", "c"]


def test_backoff_durations() -> None:
    q = make_queue(FakeClock())
    assert [q.backoff_duration(n) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]


def test_unschedulable_pod_moves_only_on_events_its_rejectors_care_about() -> None:
    async def scenario() -> None:
        clock = FakeClock()
        q = make_queue(clock)
        q.add(PodInfo(pod("p", cpu="100")))
        qpi = await pop_now(q)
        assert qpi is not None
        qpi.attempts = 1
        q.add_unschedulable(qpi, {"NodeResourcesFit"})
        assert q.pending()["unschedulable"] == ["default/p"]
        assert q.move_on_event("AssignedPodAdd", None, pod("x", node_name="n")) == 0  # Fit ignores pod adds
        assert q.move_on_event("NodeAdd", None, node("small", cpu="8")) == 0  # queueing hint: still too small
        assert q.move_on_event("NodeAdd", None, node("big", cpu="128")) == 1
        assert q.pending()["backoff"] == ["default/p"]  # its 1 s backoff has not expired yet
        assert await pop_now(q) is None
        clock.advance(1)
        got = await pop_now(q)
        assert got is not None and got.pod.name == "p"

    asyncio.run(scenario())


def test_error_goes_to_backoff_and_returns_by_the_clock() -> None:
    async def scenario() -> None:
        clock = FakeClock()
        q = make_queue(clock)
        q.add(PodInfo(pod("p")))
        qpi = await pop_now(q)
        assert qpi is not None
        qpi.attempts = 3
        q.add_backoff(qpi)
        waiter = asyncio.ensure_future(q.pop())
        await asyncio.sleep(0.01)
        clock.advance(3.9)
        await asyncio.sleep(0.01)
        assert not waiter.done()
        clock.advance(0.1)  # 4 s = 1 * 2^(3-1)
        got = await asyncio.wait_for(waiter, 1)
        assert got is not None and got.pod.name == "p"

    asyncio.run(scenario())


def test_gated_pods_wait_for_their_gates() -> None:
    async def scenario() -> None:
        q = make_queue(FakeClock())
        gated = pod("p", schedulingGates=[{"name": "example.com/wait"}])
        q.add(PodInfo(gated))
        assert q.pending()["gated"] == ["default/p"]
        assert await pop_now(q) is None
        q.update(PodInfo(pod("p")))
        got = await pop_now(q)
        assert got is not None

    asyncio.run(scenario())


def test_unschedulable_pods_are_retried_after_the_timeout() -> None:
    async def scenario() -> None:
        clock = FakeClock()
        q = make_queue(clock, max_unschedulable=60)
        q.add(PodInfo(pod("p")))
        qpi = await pop_now(q)
        assert qpi is not None
        q.add_unschedulable(qpi, {"NodeResourcesFit"})
        waiter = asyncio.ensure_future(q.pop())
        await asyncio.sleep(0.01)
        clock.advance(59)
        await asyncio.sleep(0.01)
        assert not waiter.done()
        clock.advance(1)
        assert (await asyncio.wait_for(waiter, 1)) is not None

    asyncio.run(scenario())


def test_deleted_and_status_only_updates() -> None:
    async def scenario() -> None:
        q = make_queue(FakeClock())
        q.add(PodInfo(pod("p")))
        qpi = await pop_now(q)
        assert qpi is not None
        q.add_unschedulable(qpi, {"NodeResourcesFit"})
        q.update(PodInfo(pod("p")), requeue=False)  # e.g. our own PodScheduled condition
        assert q.pending()["unschedulable"] == ["default/p"]
        q.update(PodInfo(pod("p", cpu="1")))  # a real change: try again
        assert q.pending()["unschedulable"] == []
        q.delete("default/p")
        assert len(q) == 0

    asyncio.run(scenario())


@pytest.mark.parametrize("closed_first", [True, False])
def test_close_ends_pop(closed_first: bool) -> None:
    async def scenario() -> None:
        q = make_queue(FakeClock())
        if closed_first:
            q.close()
            assert await q.pop() is None
            return
        waiter = asyncio.ensure_future(q.pop())
        await asyncio.sleep(0)
        q.close()
        assert await asyncio.wait_for(waiter, 1) is None

    asyncio.run(scenario())
