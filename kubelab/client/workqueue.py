"""A work queue of keys, as client-go's workqueue: each key is queued once however often it is added, is never
handed to two workers at once, and can be re-added after a delay or with per-key exponential backoff."""

from __future__ import annotations

import asyncio
from collections import deque

from kubelab.clock import Clock


class WorkQueue:
    def __init__(self, clock: Clock, base_delay: float = 0.005, max_delay: float = 30.0) -> None:
        self.clock = clock
        self._queue: deque[str] = deque()
        self._dirty: set[str] = set()
        self._processing: set[str] = set()
        self._failures: dict[str, int] = {}
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._base, self._max = base_delay, max_delay
        self._shutdown = False
        self._timers: set[asyncio.Task[None]] = set()
        self._waiting: dict[str, tuple[float, asyncio.Task[None]]] = {}  # key -> (due, timer)

    def __len__(self) -> int:
        return len(self._queue)

    def add(self, key: str) -> None:
        if self._shutdown or key in self._dirty:
            return
        self._dirty.add(key)
        if key in self._processing:
            return  # re-queued by done()
        self._queue.append(key)
        self._wake()

    def _wake(self) -> None:
        while self._waiters:
            w = self._waiters.popleft()
            if not w.done():
                w.set_result(None)
                return

    def add_after(self, key: str, seconds: float) -> None:
        """Queue ``key`` once ``seconds`` have passed on the clock. One timer per key, the earliest wins (as
        client-go's delaying queue), so callers may ask on every sync without piling up timers."""
        if seconds <= 0:
            self.add(key)
            return
        due = self.clock.monotonic() + seconds
        waiting = self._waiting.get(key)
        if waiting is not None:
            if waiting[0] <= due:
                return
            waiting[1].cancel()

        async def later() -> None:
            await self.clock.sleep(seconds)
            mine = self._waiting.get(key)
            if mine is not None and mine[1] is asyncio.current_task():
                del self._waiting[key]
            self.add(key)

        task = asyncio.get_running_loop().create_task(later())
        self._waiting[key] = (due, task)
        self._timers.add(task)
        task.add_done_callback(self._timers.discard)

    def add_rate_limited(self, key: str) -> None:
        n = self._failures.get(key, 0)
        self._failures[key] = n + 1
        self.add_after(key, min(self._base * (2 ** n), self._max))

    def forget(self, key: str) -> None:
        self._failures.pop(key, None)

    def num_requeues(self, key: str) -> int:
        return self._failures.get(key, 0)

    async def get(self) -> str | None:
        """The next key (now being processed), or None once shut down."""
        while not self._queue:
            if self._shutdown:
                return None
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(fut)
            await fut
        key = self._queue.popleft()
        self._dirty.discard(key)
        self._processing.add(key)
        return key

    def done(self, key: str) -> None:
        self._processing.discard(key)
        if key in self._dirty:
            self._queue.append(key)
            self._wake()

    def shutdown(self) -> None:
        self._shutdown = True
        for t in list(self._timers):
            t.cancel()
        self._waiting.clear()
        while self._waiters:
            w = self._waiters.popleft()
            if not w.done():
                w.set_result(None)
