"""The scheduling queue: activeQ, backoffQ and the unschedulable pods, as kube-scheduler's PriorityQueue.

* activeQ: pods ready to be tried, ordered by the profile's QueueSort plugin (PrioritySort: priority, then the
  time the pod entered the queue).
* backoffQ: pods that failed recently wait ``initial * 2^(attempts-1)`` seconds (capped) before another try.
* unschedulable pods: pods no node fitted wait for a cluster event that could change that — a node added or
  updated, an assigned pod added, updated or deleted — if one of the plugins that rejected the pod registered
  for that event and its queueing hint agrees (upstream's QueueingHints). Any pod also leaves after
  ``max_unschedulable`` seconds (upstream's podMaxInUnschedulablePodsDuration, 5 minutes).
* gated pods (spec.schedulingGates) are held until their gates are removed.

Timing uses the injected clock (its monotonic seconds), so a FakeClock drives backoffs in tests.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kubelab.clock import Clock
from kubelab.scheduler.framework.interface import Plugin
from kubelab.scheduler.framework.types import PodInfo

Obj = dict[str, Any]
SortKey = Callable[[PodInfo, float], tuple[Any, ...]]


@dataclass(eq=False)
class QueuedPodInfo:
    pod: PodInfo
    timestamp: float  # entered the queue (or was last re-queued), on the clock's monotonic scale
    attempts: int = 0
    initial_attempt: float | None = None
    unschedulable_plugins: set[str] = field(default_factory=set)
    backoff_expiry: float = 0.0

    @property
    def key(self) -> str:
        return self.pod.key


class SchedulingQueue:
    def __init__(self, clock: Clock, sort_key: SortKey, *, backoff_initial: float = 1.0,
                 backoff_max: float = 10.0, max_unschedulable: float = 300.0,
                 plugins: dict[str, Plugin] | None = None) -> None:
        self.clock = clock
        self.sort_key = sort_key
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.max_unschedulable = max_unschedulable
        self.plugins = plugins or {}
        self._seq = itertools.count()
        self._active: dict[str, tuple[int, QueuedPodInfo]] = {}
        self._active_heap: list[tuple[Any, ...]] = []
        self._backoff: dict[str, tuple[int, QueuedPodInfo]] = {}
        self._backoff_heap: list[tuple[float, int, str]] = []
        self._unschedulable: dict[str, tuple[float, QueuedPodInfo]] = {}
        self._gated: dict[str, QueuedPodInfo] = {}
        self._in_flight: dict[str, QueuedPodInfo] = {}
        self._wakeup: asyncio.Future[None] | None = None
        self._closed = False

    # ------------------------------------------------------------------------------------------- adding
    def add(self, pod: PodInfo) -> None:
        """A new pending pod."""
        if pod.key in self or pod.key in self._in_flight:
            self.update(pod)
            return
        qpi = QueuedPodInfo(pod, self.clock.monotonic())
        if _gated(pod):
            self._gated[pod.key] = qpi
        else:
            self._push_active(qpi)

    def update(self, pod: PodInfo, requeue: bool = True) -> None:
        """The pod changed while queued. ``requeue``: the change may make it schedulable (not a status-only
        update), so an unschedulable pod moves on (to backoffQ if its backoff has not expired)."""
        key = pod.key
        if key in self._in_flight:
            self._in_flight[key].pod = pod
            return
        if key in self._gated:
            qpi = self._gated[key]
            qpi.pod = pod
            if not _gated(pod):
                del self._gated[key]
                self._push_active(qpi)
            return
        for where in (self._active, self._backoff):
            if key in where:
                where[key][1].pod = pod
                return
        if key in self._unschedulable:
            qpi = self._unschedulable[key][1]
            qpi.pod = pod
            if requeue:
                del self._unschedulable[key]
                self._requeue(qpi)
            return
        self.add(pod)

    def delete(self, key: str) -> None:
        self._active.pop(key, None)
        self._backoff.pop(key, None)
        self._unschedulable.pop(key, None)
        self._gated.pop(key, None)
        self._in_flight.pop(key, None)

    def done(self, key: str) -> None:
        """The pod's cycle ended with a binding."""
        self._in_flight.pop(key, None)

    def add_unschedulable(self, qpi: QueuedPodInfo, rejectors: set[str]) -> None:
        """No node fitted: wait for a cluster event one of ``rejectors`` cares about (or the timeout)."""
        if self._in_flight.pop(qpi.key, None) is None:
            return  # deleted (or re-added) meanwhile
        now = self.clock.monotonic()
        qpi.timestamp = now
        qpi.unschedulable_plugins = set(rejectors)
        qpi.backoff_expiry = now + self.backoff_duration(qpi.attempts)
        self._unschedulable[qpi.key] = (now, qpi)
        self._wake()

    def add_backoff(self, qpi: QueuedPodInfo) -> None:
        """The cycle failed for another reason (an error): retry after the backoff."""
        if self._in_flight.pop(qpi.key, None) is None:
            return
        now = self.clock.monotonic()
        qpi.timestamp = now
        qpi.backoff_expiry = now + self.backoff_duration(qpi.attempts)
        self._push_backoff(qpi)

    def backoff_duration(self, attempts: int) -> float:
        d = self.backoff_initial
        for _ in range(1, max(attempts, 1)):
            d *= 2
            if d >= self.backoff_max:
                return self.backoff_max
        return min(d, self.backoff_max)

    # ------------------------------------------------------------------------------------------- events
    def move_on_event(self, event: str, old: Obj | None = None, new: Obj | None = None) -> int:
        """A cluster event: move the unschedulable pods it may help back to activeQ/backoffQ."""
        if not self._unschedulable:
            return 0
        moved = 0
        for key, (_, qpi) in list(self._unschedulable.items()):
            if self._may_help(event, qpi, old, new):
                del self._unschedulable[key]
                self._requeue(qpi)
                moved += 1
        return moved

    def _may_help(self, event: str, qpi: QueuedPodInfo, old: Obj | None, new: Obj | None) -> bool:
        if not qpi.unschedulable_plugins:
            return True
        for name in qpi.unschedulable_plugins:
            pl = self.plugins.get(name)
            if pl is None or (event in pl.events and pl.queueing_hint(event, qpi.pod, old, new)):
                return True
        return False

    def _requeue(self, qpi: QueuedPodInfo) -> None:
        if qpi.backoff_expiry > self.clock.monotonic():
            self._push_backoff(qpi)
        else:
            self._push_active(qpi)

    # ------------------------------------------------------------------------------------------- popping
    async def pop(self) -> QueuedPodInfo | None:
        """The next pod to schedule (now in flight), waiting for one; None once closed."""
        loop = asyncio.get_running_loop()
        while True:
            if self._closed:
                return None
            self._flush(self.clock.monotonic())
            while self._active_heap:
                entry = heapq.heappop(self._active_heap)
                seq, key = entry[-2], entry[-1]
                cur = self._active.get(key)
                if cur is None or cur[0] != seq:
                    continue  # stale heap entry
                del self._active[key]
                qpi = cur[1]
                self._in_flight[key] = qpi
                if qpi.initial_attempt is None:
                    qpi.initial_attempt = self.clock.monotonic()
                return qpi
            deadline = self._next_deadline()
            self._wakeup = loop.create_future()
            if deadline is None:
                await self._wakeup
                continue
            timer = loop.create_task(self.clock.sleep(max(deadline - self.clock.monotonic(), 0.0)))
            try:
                await asyncio.wait({self._wakeup, timer}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                timer.cancel()

    def close(self) -> None:
        self._closed = True
        self._wake()

    def _wake(self) -> None:
        if self._wakeup is not None and not self._wakeup.done():
            self._wakeup.set_result(None)

    def _push_active(self, qpi: QueuedPodInfo) -> None:
        seq = next(self._seq)
        self._active[qpi.key] = (seq, qpi)
        heapq.heappush(self._active_heap, (*self.sort_key(qpi.pod, qpi.timestamp), seq, qpi.key))
        self._wake()

    def _push_backoff(self, qpi: QueuedPodInfo) -> None:
        seq = next(self._seq)
        self._backoff[qpi.key] = (seq, qpi)
        heapq.heappush(self._backoff_heap, (qpi.backoff_expiry, seq, qpi.key))
        self._wake()

    def _flush(self, now: float) -> None:
        """Backoffs that expired go to activeQ; pods unschedulable for too long go back too."""
        heap = self._backoff_heap
        while heap and heap[0][0] <= now:
            _, seq, key = heapq.heappop(heap)
            cur = self._backoff.get(key)
            if cur is not None and cur[0] == seq:
                del self._backoff[key]
                self._push_active(cur[1])
        if self._unschedulable:
            for key, (since, qpi) in list(self._unschedulable.items()):
                if now - since >= self.max_unschedulable:
                    del self._unschedulable[key]
                    self._requeue(qpi)

    def _next_deadline(self) -> float | None:
        times = []
        while self._backoff_heap:
            expiry, seq, key = self._backoff_heap[0]
            cur = self._backoff.get(key)
            if cur is not None and cur[0] == seq:
                times.append(expiry)
                break
            heapq.heappop(self._backoff_heap)
        if self._unschedulable:
            times.append(min(since for since, _ in self._unschedulable.values()) + self.max_unschedulable)
        return min(times) if times else None

    # ------------------------------------------------------------------------------------------- looking
    def ready(self) -> bool:
        """Is a pod waiting in activeQ (or a backoff due)?"""
        if self._active:
            return True
        return bool(self._backoff_heap) and self._backoff_heap[0][0] <= self.clock.monotonic()

    def __contains__(self, key: object) -> bool:
        return key in self._active or key in self._backoff or key in self._unschedulable or key in self._gated

    def __len__(self) -> int:
        return len(self._active) + len(self._backoff) + len(self._unschedulable) + len(self._gated)

    def pending(self) -> dict[str, list[str]]:
        """Queued pod keys by sub-queue (kube-scheduler's /debug/api/v1/pendingpods, roughly)."""
        active = sorted(self._active.values(), key=lambda e: self.sort_key(e[1].pod, e[1].timestamp))
        return {"active": [q.key for _, q in active], "backoff": sorted(self._backoff),
                "unschedulable": sorted(self._unschedulable), "gated": sorted(self._gated),
                "in_flight": sorted(self._in_flight)}

    def get(self, key: str) -> QueuedPodInfo | None:
        for where in (self._active, self._backoff):
            if key in where:
                return where[key][1]
        if key in self._unschedulable:
            return self._unschedulable[key][1]
        return self._gated.get(key) or self._in_flight.get(key)


def _gated(pod: PodInfo) -> bool:
    return bool(pod.spec.get("schedulingGates"))
