"""A watch stream on a key prefix, like an etcd watcher feeding kube-apiserver's ``cacheWatcher``.

The store pushes events into the watcher's unbounded buffer under the store lock, so each watcher sees the events
for its prefix strictly in revision order, replayed history first and live events after, with no gap and no
duplicate. Consumers read from asyncio (``async for``, ``await next(timeout)``) or from plain threads
(``get(timeout)``).

An asyncio consumer is woken directly when the write happens on its event loop's thread, and through
``loop.call_soon_threadsafe`` when it happens on another thread; the loop used is the one running the awaiting
consumer. One consumer per watcher.

Simplified: no per-watcher buffer limit (kube-apiserver drops slow watchers instead), no bookmarks, no
progress notifications.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable, Iterable
from types import TracebackType

from kubelab.store.types import WatchEvent


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


def _wake(fut: asyncio.Future[None], loop: asyncio.AbstractEventLoop, thread_id: int) -> None:
    if threading.get_ident() == thread_id:
        _resolve(fut)
    else:
        try:
            loop.call_soon_threadsafe(_resolve, fut)
        except RuntimeError:  # the consumer's loop is closed: nobody to wake
            pass


class Watcher:
    """Events for keys under ``prefix`` with revision > ``start_revision``. Created by ``Store.watch``."""

    __slots__ = (
        "prefix",
        "start_revision",
        "_lock",
        "_cond",
        "_buf",
        "_closed",
        "_waiter",
        "_waiter_loop",
        "_waiter_thread",
        "_unregister",
    )

    def __init__(
        self, prefix: str, start_revision: int, unregister: Callable[[Watcher], None] | None = None
    ) -> None:
        self.prefix = prefix
        self.start_revision = start_revision
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._buf: deque[WatchEvent] = deque()
        self._closed = False
        self._waiter: asyncio.Future[None] | None = None
        self._waiter_loop: asyncio.AbstractEventLoop | None = None
        self._waiter_thread = 0
        self._unregister = unregister

    # -- producer side (called by the store, under the store lock) --------------------------------------------

    def _preload(self, events: Iterable[WatchEvent]) -> None:
        with self._lock:
            self._buf.extend(events)

    def _push(self, ev: WatchEvent) -> None:
        if ev.revision <= self.start_revision:  # watch started at a future revision
            return
        with self._lock:
            if self._closed:
                return
            self._buf.append(ev)
            self._cond.notify()
            fut = self._waiter
            if fut is None:
                return
            self._waiter = None  # one wake-up per wait, however many events arrive before the consumer runs
            loop, tid = self._waiter_loop, self._waiter_thread
        assert loop is not None
        _wake(fut, loop, tid)

    def _terminate(self) -> None:
        """End the stream: drop buffered events and wake every consumer."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._unregister = None
            self._buf.clear()
            self._cond.notify_all()
            fut, loop, tid = self._waiter, self._waiter_loop, self._waiter_thread
            self._waiter = None
        if fut is not None and loop is not None:
            _wake(fut, loop, tid)

    # -- consumer side ----------------------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def pending(self) -> int:
        """Events buffered and not yet consumed."""
        return len(self._buf)

    def close(self) -> None:
        """Stop the stream and unregister from the store. Idempotent; buffered events are dropped."""
        with self._lock:
            unregister, self._unregister = self._unregister, None
        if unregister is not None:
            unregister(self)
        self._terminate()

    def get(self, timeout: float | None = None) -> WatchEvent | None:
        """Next event, blocking the calling thread; None on timeout or once closed (see ``closed``)."""
        with self._cond:
            if not self._buf and not self._closed:
                self._cond.wait_for(lambda: bool(self._buf) or self._closed, timeout)
            return self._buf.popleft() if self._buf else None

    async def next(self, timeout: float | None = None) -> WatchEvent | None:
        """Next event; None on timeout or once closed (see ``closed``)."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            with self._lock:
                if self._buf:
                    return self._buf.popleft()
                if self._closed:
                    return None
                if deadline is not None and loop.time() >= deadline:
                    return None
                fut: asyncio.Future[None] = loop.create_future()
                self._waiter, self._waiter_loop, self._waiter_thread = fut, loop, threading.get_ident()
            timer = None if deadline is None else loop.call_at(deadline, _resolve, fut)
            try:
                await fut
            finally:
                if timer is not None:
                    timer.cancel()
                with self._lock:
                    if self._waiter is fut:
                        self._waiter = None

    def __aiter__(self) -> Watcher:
        return self

    async def __anext__(self) -> WatchEvent:
        ev = await self.next()
        if ev is None:
            raise StopAsyncIteration
        return ev

    def __enter__(self) -> Watcher:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
