"""One bus every component reports its steps to: the API server (request, store write and revision), the
controllers (what they reconciled and did), the scheduler (filter, score, bind), the kubelets (pull, create,
start, status). Kubernetes has no such bus (its closest relatives are audit logs and Events); kubelab adds it so
a learner can watch, step by step, what the control plane does.

Events carry a sequence number; readers ask for everything after a number they have seen (a bounded ring keeps
the latest ``capacity`` events). Emitting is cheap and never blocks: watchers get events through their own queue.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

from kubelab.clock import Clock, SystemClock, rfc3339_micro


@dataclass(frozen=True, slots=True)
class TraceEvent:
    seq: int
    time: str
    component: str  # "apiserver", "etcd", "controller-manager/replicaset", "scheduler", "kubelet/<node>", ...
    action: str  # short verb: "create", "put", "reconcile", "filter", "score", "bind", "pull", "start", ...
    kind: str = ""
    namespace: str = ""
    name: str = ""
    revision: int | None = None
    node: str = ""
    reason: str = ""
    message: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class TraceBus:
    def __init__(self, clock: Clock | None = None, capacity: int = 50_000) -> None:
        self.clock = clock or SystemClock()
        self._events: deque[TraceEvent] = deque(maxlen=capacity)
        self._seq = itertools.count(1)
        self._lock = threading.Lock()
        self._watchers: list[tuple[asyncio.AbstractEventLoop, asyncio.Queue[TraceEvent | None]]] = []
        self.enabled = True

    def emit(self, component: str, action: str, *, obj: dict[str, Any] | None = None, kind: str = "",
             namespace: str = "", name: str = "", revision: int | None = None, node: str = "", reason: str = "",
             message: str = "", **details: Any) -> TraceEvent | None:
        if not self.enabled:
            return None
        if obj is not None:
            meta = obj.get("metadata") or {}
            kind = kind or obj.get("kind", "")
            namespace = namespace or meta.get("namespace", "") or ""
            name = name or meta.get("name", "")
        with self._lock:
            ev = TraceEvent(next(self._seq), rfc3339_micro(self.clock.now()), component, action, kind, namespace,
                            name, revision, node, reason, message, details)
            self._events.append(ev)
            watchers = list(self._watchers)
        for loop, q in watchers:
            try:
                loop.call_soon_threadsafe(q.put_nowait, ev)
            except RuntimeError:  # that loop is closed
                pass
        return ev

    @property
    def last_seq(self) -> int:
        with self._lock:
            return self._events[-1].seq if self._events else 0

    def since(self, seq: int = 0, limit: int | None = None) -> list[TraceEvent]:
        with self._lock:
            out = [e for e in self._events if e.seq > seq]
        return out[:limit] if limit else out

    async def watch(self, since: int = 0) -> Any:
        """Async iterator of events after ``since``: the buffered ones first, then live ones."""
        loop = asyncio.get_running_loop()
        q: asyncio.Queue[TraceEvent | None] = asyncio.Queue()
        with self._lock:
            backlog = [e for e in self._events if e.seq > since]
            self._watchers.append((loop, q))
        try:
            last = since
            for e in backlog:
                last = e.seq
                yield e
            while True:
                live = await q.get()
                if live is None:
                    return
                if live.seq > last:
                    last = live.seq
                    yield live
        finally:
            with self._lock:
                self._watchers = [(lp, qq) for lp, qq in self._watchers if qq is not q]

    def close(self) -> None:
        with self._lock:
            watchers, self._watchers = self._watchers, []
        for loop, q in watchers:
            try:
                loop.call_soon_threadsafe(q.put_nowait, None)
            except RuntimeError:
                pass
