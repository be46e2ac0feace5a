"""The durability seam: a Backend sees every committed event in order, can veto a write, and can restore state."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from kubelab.store import KeyValue, Snapshot, Store, WatchEvent
from kubelab.store.errors import Compacted


class RecordingBackend:
    def __init__(self, snapshot: Snapshot | None = None) -> None:
        self.snapshot = snapshot
        self.events: list[WatchEvent] = []
        self.compactions: list[int] = []
        self.closed = False
        self.fail_next = False

    def load(self) -> Snapshot | None:
        return self.snapshot

    def append(self, events: Sequence[WatchEvent]) -> None:
        if self.fail_next:
            self.fail_next = False
            raise OSError("disk full")
        self.events.extend(events)

    def compact(self, revision: int) -> None:
        self.compactions.append(revision)

    def close(self) -> None:
        self.closed = True


def test_backend_sees_every_commit_in_order() -> None:
    b = RecordingBackend()
    s = Store(backend=b)
    w = s.watch("", 1)
    s.create("/a", {"v": 1})
    s.create("/b", {"v": 1})
    s.update("/a", {"v": 2})
    s.delete("/b")
    s.compact(3)
    s.close()
    assert [(e.type, e.key, e.revision) for e in b.events] == [
        ("ADDED", "/a", 2),
        ("ADDED", "/b", 3),
        ("MODIFIED", "/a", 4),
        ("DELETED", "/b", 5),
    ]
    assert b.compactions == [3] and b.closed
    assert w.closed


def test_backend_failure_aborts_write() -> None:
    b = RecordingBackend()
    s = Store(backend=b)
    w = s.watch("", 1)
    s.create("/a", {"v": 1})
    b.fail_next = True
    with pytest.raises(OSError):
        s.create("/b", {"v": 1})
    b.fail_next = True
    with pytest.raises(OSError):
        s.delete("/a")
    assert s.revision == 2 and s.get("/b") is None and s.get("/a") is not None
    s.create("/c", {"v": 1})
    assert [e.revision for e in b.events] == [2, 3]
    evs = []
    while (ev := w.get(0.01)) is not None:
        evs.append((ev.key, ev.revision))
    assert evs == [("/a", 2), ("/c", 3)]


def test_restore_from_snapshot() -> None:
    src = Store()
    src.create("/r/b", {"v": 1})
    src.create("/r/a", {"v": 1})
    src.update("/r/b", {"v": 2})
    snap = src.snapshot()
    assert snap.revision == 4 and [kv.key for kv in snap.kvs] == ["/r/a", "/r/b"]
    s = Store(backend=RecordingBackend(snap))
    assert s.revision == 4 and s.compacted_revision == 4
    kvs, rev = s.range("/r/")
    assert rev == 4 and [(kv.key, kv.mod_revision) for kv in kvs] == [("/r/a", 3), ("/r/b", 4)]
    with pytest.raises(Compacted):
        s.watch("/r/", 3)
    w = s.watch("/r/", 4)
    kv = s.create("/r/c", {"v": 1})
    assert kv == KeyValue("/r/c", {"v": 1, "metadata": {"resourceVersion": "5"}}, 5, 5)
    ev = w.get(1)
    assert ev is not None and ev.revision == 5
