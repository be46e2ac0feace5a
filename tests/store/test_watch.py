"""Store.watch: replay, live delivery, ordering across threads and event loops, compaction, close."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from kubelab.store import Compacted, Store, Watcher, WatchEvent


def obj(name: str, **extra: Any) -> dict[str, Any]:
    return {"metadata": {"name": name}, **extra}


def drain(w: Watcher, timeout: float = 0.05) -> list[WatchEvent]:
    out = []
    while (ev := w.get(timeout)) is not None:
        out.append(ev)
    return out


def test_replay_exactness_from_middle_revision() -> None:
    s = Store()
    s.create("/p/a", obj("a"))  # 2
    s.create("/p/b", obj("b"))  # 3
    s.create("/q/z", obj("z"))  # 4 (other prefix)
    s.update("/p/a", obj("a", v=1))  # 5
    s.delete("/p/b")  # 6
    s.create("/p/c", obj("c"))  # 7
    w = s.watch("/p/", 4)
    evs = drain(w)
    assert [(e.type, e.key, e.revision) for e in evs] == [
        ("MODIFIED", "/p/a", 5),
        ("DELETED", "/p/b", 6),
        ("ADDED", "/p/c", 7),
    ]
    mod, dele, add = evs
    assert (
        mod.value["v"] == 1
        and mod.prev_value is not None
        and mod.prev_value["metadata"]["resourceVersion"] == "2"
    )
    assert dele.value["metadata"]["resourceVersion"] == "6"
    assert dele.prev_value is not None and dele.prev_value["metadata"]["resourceVersion"] == "3"
    assert add.prev_value is None and add.value["metadata"]["resourceVersion"] == "7"
    # every event's value carries its own revision as resourceVersion
    assert all(e.value["metadata"]["resourceVersion"] == str(e.revision) for e in evs)
    # then live events, nothing duplicated
    s.update("/p/c", obj("c", v=2))  # 8
    s.create("/q/y", obj("y"))  # 9, not ours
    assert [(e.type, e.revision) for e in drain(w)] == [("MODIFIED", 8)]


def test_watch_from_current_and_future_revision() -> None:
    s = Store()
    s.create("/p/a", obj("a"))  # 2
    w_now = s.watch("/p/", s.revision)
    w_future = s.watch("/p/", 4)
    assert w_now.get(0.01) is None
    s.create("/p/b", obj("b"))  # 3
    s.create("/p/c", obj("c"))  # 4
    s.create("/p/d", obj("d"))  # 5
    assert [e.revision for e in drain(w_now)] == [3, 4, 5]
    assert [e.revision for e in drain(w_future)] == [5]


def test_watch_from_zero_or_before_start_is_compacted() -> None:
    s = Store()
    s.create("/p/a", obj("a"))
    assert [e.revision for e in drain(s.watch("/p/", 1))] == [2]
    with pytest.raises(Compacted):
        s.watch("/p/", 0)


def test_compaction() -> None:
    s = Store()
    for i in range(10):
        s.create(f"/p/{i}", obj(str(i)))  # revisions 2..11
    s.compact(6)
    assert s.compacted_revision == 6
    with pytest.raises(Compacted) as ei:
        s.watch("/p/", 5)
    assert (ei.value.requested, ei.value.compacted_revision) == (5, 6)
    assert [e.revision for e in drain(s.watch("/p/", 6))] == [7, 8, 9, 10, 11]
    s.compact(3)  # older than current compaction: no-op
    assert s.compacted_revision == 6
    with pytest.raises(ValueError):
        s.compact(12)
    s.compact(11)
    assert drain(s.watch("/p/", 11)) == []
    # keys are unaffected by compaction
    assert s.count("/p/") == 10


def test_running_watcher_keeps_events_across_compaction() -> None:
    s = Store()
    w = s.watch("/p/", 1)
    for i in range(5):
        s.create(f"/p/{i}", obj(str(i)))
    s.compact(s.revision)
    assert [e.revision for e in drain(w)] == [2, 3, 4, 5, 6]


def test_history_window_overflow() -> None:
    s = Store(history=3)
    for i in range(5):
        s.create(f"/p/{i}", obj(str(i)))  # revisions 2..6; window keeps 4, 5, 6
    assert s.compacted_revision == 3
    with pytest.raises(Compacted):
        s.watch("/p/", 2)
    assert [e.revision for e in drain(s.watch("/p/", 3))] == [4, 5, 6]
    s.create("/p/x", obj("x"))  # 7
    assert s.compacted_revision == 4


def test_zero_history_only_live_watches() -> None:
    s = Store(history=0)
    s.create("/p/a", obj("a"))
    assert s.compacted_revision == s.revision == 2
    with pytest.raises(Compacted):
        s.watch("/p/", 1)
    w = s.watch("/p/", 2)
    s.create("/p/b", obj("b"))
    assert [e.revision for e in drain(w)] == [3]


def test_many_watchers_with_different_prefixes() -> None:
    s = Store()
    ws = {
        p: s.watch(p, 1) for p in ["/", "/r/pods/", "/r/pods/ns1/", "/r/pods/ns1", "/r/svc/", "/r/pods/ns1/a"]
    }
    assert s.watcher_count == 6
    s.create("/r/pods/ns1/a", obj("a"))
    s.create("/r/pods/ns10/b", obj("b"))
    s.create("/r/svc/ns1/c", obj("c"))
    got = {p: [e.key for e in drain(w, 0.01)] for p, w in ws.items()}
    assert got == {
        "/": ["/r/pods/ns1/a", "/r/pods/ns10/b", "/r/svc/ns1/c"],
        "/r/pods/": ["/r/pods/ns1/a", "/r/pods/ns10/b"],
        "/r/pods/ns1/": ["/r/pods/ns1/a"],
        "/r/pods/ns1": ["/r/pods/ns1/a", "/r/pods/ns10/b"],
        "/r/svc/": ["/r/svc/ns1/c"],
        "/r/pods/ns1/a": ["/r/pods/ns1/a"],
    }
    # two watchers on the same prefix both get events; closing one leaves the other
    a, b = s.watch("/r/svc/", s.revision), s.watch("/r/svc/", s.revision)
    a.close()
    s.update("/r/svc/ns1/c", obj("c", v=1))
    assert a.get(0.01) is None and [e.type for e in drain(b, 0.01)] == ["MODIFIED"]


def _writer(
    s: Store, n: int, prefix: str = "/p/", started: threading.Event | None = None, sentinel: bool = False
) -> threading.Thread:
    def run() -> None:
        if started is not None:
            started.set()
        for i in range(n):
            key = f"{prefix}{i % 50}"
            if s.get(key) is None:
                s.create(key, obj(str(i)))
            elif i % 7 == 0:
                s.delete(key)
            else:
                s.update(key, obj(str(i), i=i))
        if sentinel:
            s.create(f"{prefix}done", obj("done"))

    t = threading.Thread(target=run)
    t.start()
    return t


def test_no_gaps_when_writes_race_watch_start_threads() -> None:
    s = Store()
    n = 3000
    started = threading.Event()
    t = _writer(s, n, started=started)
    started.wait()
    watchers: list[tuple[int, Watcher]] = []
    while t.is_alive() and len(watchers) < 20:
        rev = s.revision
        watchers.append((rev, s.watch("/p/", rev)))
        time.sleep(0.0005)
    t.join()
    final = s.revision
    assert final == 1 + n and watchers
    for rev, w in watchers:
        revs = [e.revision for e in drain(w, 0.01)]
        assert revs == list(range(rev + 1, final + 1))


def test_watch_consumed_from_another_thread() -> None:
    s = Store()
    w = s.watch("/p/", s.revision)
    got: list[int] = []

    def consume() -> None:
        while (ev := w.get(5)) is not None:
            got.append(ev.revision)
            if ev.revision == 101:
                return

    t = threading.Thread(target=consume)
    t.start()
    for i in range(100):
        s.create(f"/p/{i}", obj(str(i)))
    t.join(5)
    assert got == list(range(2, 102))


def test_async_watch_with_writes_from_other_thread() -> None:
    async def main() -> tuple[list[int], int, int]:
        s = Store()
        started = threading.Event()
        t = _writer(s, 2000, started=started, sentinel=True)
        started.wait()
        await asyncio.sleep(0)
        start = s.revision
        w = s.watch("/p/", start)
        revs: list[int] = []
        async for ev in w:
            revs.append(ev.revision)
            if ev.key == "/p/done":
                break
        await asyncio.to_thread(t.join)
        w.close()
        return revs, start, s.revision

    revs, start, final = asyncio.run(main())
    assert final == 1 + 2000 + 1
    assert revs == list(range(start + 1, final + 1))


def test_async_watch_with_writes_on_same_loop() -> None:
    async def main() -> list[WatchEvent]:
        s = Store()
        w = s.watch("/p/", 1)

        async def producer() -> None:
            for i in range(20):
                s.create(f"/p/{i}", obj(str(i)))
                await asyncio.sleep(0)

        task = asyncio.create_task(producer())
        evs: list[WatchEvent] = []
        while len(evs) < 20:
            ev = await w.next(timeout=5)
            assert ev is not None
            evs.append(ev)
        await task
        return evs

    evs = asyncio.run(main())
    assert [e.revision for e in evs] == list(range(2, 22))


def test_async_next_timeout() -> None:
    async def main() -> tuple[WatchEvent | None, WatchEvent | None]:
        s = Store()
        w = s.watch("/p/", 1)
        first = await w.next(timeout=0.02)
        threading.Timer(0.02, lambda: s.create("/p/a", obj("a"))).start()
        second = await w.next(timeout=5)
        return first, second

    first, second = asyncio.run(main())
    assert first is None
    assert second is not None and second.revision == 2


def test_watcher_close_semantics() -> None:
    s = Store()
    w = s.watch("/p/", 1)
    s.create("/p/a", obj("a"))
    assert s.watcher_count == 1
    w.close()
    w.close()  # idempotent
    assert w.closed and s.watcher_count == 0
    assert w.get(0.01) is None  # buffered events are dropped
    s.create("/p/b", obj("b"))
    assert w.pending == 0

    async def iterate() -> list[WatchEvent]:
        return [ev async for ev in w]

    assert asyncio.run(iterate()) == []
    with s.watch("/p/", s.revision) as w2:
        assert s.watcher_count == 1
    assert w2.closed and s.watcher_count == 0


def test_close_from_other_thread_ends_async_iteration() -> None:
    async def main() -> list[int]:
        s = Store()
        w = s.watch("/p/", 1)
        s.create("/p/a", obj("a"))

        def later() -> None:
            time.sleep(0.05)
            w.close()

        threading.Thread(target=later).start()
        return [ev.revision async for ev in w]

    assert asyncio.run(main()) == [2]


def test_store_close_ends_all_watchers() -> None:
    async def main() -> tuple[list[int], list[int], bool, bool]:
        s = Store()
        async_w = s.watch("/p/", 1)
        thread_w = s.watch("/", 1)
        thread_revs: list[int] = []

        def consume() -> None:  # a blocking get must be woken by close, well before its 30 s timeout
            while (ev := thread_w.get(30)) is not None:
                thread_revs.append(ev.revision)

        t = threading.Thread(target=consume)
        t.start()
        s.create("/p/a", obj("a"))
        revs = []
        async for ev in async_w:
            revs.append(ev.revision)
            asyncio.get_running_loop().call_later(0.02, s.close)
        await asyncio.to_thread(t.join, 5)
        late = s.watch("/p/", 1)
        return revs, thread_revs, t.is_alive(), late.closed

    revs, thread_revs, alive, late_closed = asyncio.run(main())
    assert revs == [2] and thread_revs == [2]
    assert not alive
    assert late_closed


def test_async_close_during_wait_from_same_loop() -> None:
    async def main() -> WatchEvent | None:
        s = Store()
        w = s.watch("/p/", 1)
        asyncio.get_running_loop().call_later(0.02, w.close)
        return await w.next(timeout=5)

    assert asyncio.run(main()) is None


def test_cancelled_async_consumer_does_not_break_watcher() -> None:
    async def main() -> WatchEvent | None:
        s = Store()
        w = s.watch("/p/", 1)
        task = asyncio.create_task(w.next())
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        s.create("/p/a", obj("a"))
        return await w.next(timeout=1)

    ev = asyncio.run(main())
    assert ev is not None and ev.revision == 2
