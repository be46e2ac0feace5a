"""An etcd-like MVCC key-value store: one global revision, optimistic concurrency, prefix ranges and watches.

Mirrors the part of etcd (mvcc + watchable store) that kube-apiserver's storage layer (``storage/etcd3`` and the
watch cache) relies on:

* every write (create/update/delete) bumps the single global ``revision`` by one and stamps the written object's
  ``metadata.resourceVersion`` with it (as the etcd3 storage's versioner does on the way out);
* updates and deletes may carry a precondition on the key's ``mod_revision`` (``RevisionMismatch``);
* ``range(prefix)`` reads all live keys under a literal prefix, in key order, with the revision read at;
* ``watch(prefix, start_revision)`` replays every retained event with revision > ``start_revision`` and then
  streams live events, in revision order, with no gap and no duplicate.

Watch window: the store retains the events with revisions in ``(compacted_revision, revision]``. A watch from
``start_revision`` needs the events after it, so it is valid iff ``start_revision >= compacted_revision``;
otherwise it raises ``Compacted`` (kube: 410 Gone, "too old resource version"). ``compacted_revision`` starts at 1
(the empty store's revision, so a watch from 0 raises ``Compacted``; the API server maps resourceVersion "0"/""
to the current revision itself). It advances on ``compact(R)`` (to R) and whenever the bounded history drops its
oldest event (to that event's revision). ``start_revision`` above the current revision is allowed: the watcher
simply waits for later events.

Simplified: only the latest value of each key is kept (no reads at past revisions), values are dicts owned by the
store rather than bytes, no leases/TTL, no transactions beyond single-key compare-and-swap. Durability goes
through the ``Backend`` seam (``kubelab.store.backend``), a no-op by default.

Thread-safety: every public method takes one lock; watchers are fed under it, which is what makes replay and live
delivery seamless.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from kubelab.clock import Clock, SystemClock
from kubelab.store.backend import Backend, NullBackend, Snapshot
from kubelab.store.errors import Compacted, KeyExists, KeyNotFound, RevisionMismatch, StoreClosed
from kubelab.store.keyindex import SortedKeys
from kubelab.store.types import KeyValue, WatchEvent
from kubelab.store.watcher import Watcher


def _stamp(value: dict[str, Any], revision: int) -> None:
    md = value.get("metadata")
    if md is None:
        md = value["metadata"] = {}
    md["resourceVersion"] = str(revision)


class Store:
    """Synchronous, thread-safe MVCC store. Written value dicts become the store's: never mutate them afterwards."""

    def __init__(
        self, clock: Clock | None = None, history: int = 100_000, backend: Backend | None = None
    ) -> None:
        if history < 0:
            raise ValueError("history must be >= 0")
        self.clock: Clock = clock if clock is not None else SystemClock()  # for future leases/TTL
        self._history_limit = history
        self._backend: Backend = backend if backend is not None else NullBackend()
        self._lock = threading.Lock()
        self._kv: dict[str, KeyValue] = {}
        self._keys = SortedKeys()
        self._history: deque[WatchEvent] = deque()
        self._revision = 1
        self._compacted = 1
        # watchers grouped by prefix length, then by prefix: matching a key costs one slice + dict lookup per
        # distinct prefix length, whatever the number of watchers
        self._watchers: dict[int, dict[str, set[Watcher]]] = {}
        self._watcher_count = 0
        self._closed = False
        snap = self._backend.load()
        if snap is not None:
            self._restore(snap)

    def _restore(self, snap: Snapshot) -> None:
        if snap.revision < 1:
            raise ValueError("snapshot revision must be >= 1")
        self._kv = {kv.key: kv for kv in snap.kvs}
        self._keys = SortedKeys(self._kv)
        self._revision = snap.revision
        self._compacted = snap.revision

    # -- reads --------------------------------------------------------------------------------------------------

    @property
    def revision(self) -> int:
        return self._revision

    @property
    def compacted_revision(self) -> int:
        """Oldest ``start_revision`` a watch may use."""
        return self._compacted

    @property
    def watcher_count(self) -> int:
        return self._watcher_count

    def get(self, key: str) -> KeyValue | None:
        return self._kv.get(key)

    def range(self, prefix: str) -> tuple[list[KeyValue], int]:
        """Live keys starting with ``prefix`` (a literal prefix), sorted by key, and the revision read at."""
        with self._lock:
            kv = self._kv
            return [kv[k] for k in self._keys.with_prefix(prefix)], self._revision

    def count(self, prefix: str) -> int:
        with self._lock:
            return self._keys.count_prefix(prefix)

    def snapshot(self) -> Snapshot:
        """Consistent copy of the live key set (sharing the values), e.g. for a backend checkpoint."""
        with self._lock:
            kv = self._kv
            return Snapshot(self._revision, [kv[k] for k in self._keys])

    # -- writes -------------------------------------------------------------------------------------------------

    def create(self, key: str, value: dict[str, Any]) -> KeyValue:
        with self._lock:
            if self._closed:
                raise StoreClosed()
            if key in self._kv:
                raise KeyExists(key)
            rev = self._revision + 1
            _stamp(value, rev)
            ev = WatchEvent("ADDED", key, value, None, rev)
            self._backend.append((ev,))
            kv = KeyValue(key, value, rev, rev)
            self._kv[key] = kv
            self._keys.add(key)
            self._commit(ev)
            return kv

    def update(self, key: str, value: dict[str, Any], expected_revision: int | None = None) -> KeyValue:
        with self._lock:
            if self._closed:
                raise StoreClosed()
            old = self._kv.get(key)
            if old is None:
                raise KeyNotFound(key)
            if expected_revision is not None and expected_revision != old.mod_revision:
                raise RevisionMismatch(key, expected_revision, old.mod_revision)
            if value is old.value:
                raise ValueError("update needs a fresh dict: the stored value is shared with readers")
            rev = self._revision + 1
            _stamp(value, rev)
            ev = WatchEvent("MODIFIED", key, value, old.value, rev)
            self._backend.append((ev,))
            kv = KeyValue(key, value, old.create_revision, rev)
            self._kv[key] = kv
            self._commit(ev)
            return kv

    def delete(self, key: str, expected_revision: int | None = None) -> KeyValue:
        """Remove ``key``; returns it as deleted: a shallow copy whose resourceVersion is the deletion revision."""
        with self._lock:
            if self._closed:
                raise StoreClosed()
            old = self._kv.get(key)
            if old is None:
                raise KeyNotFound(key)
            if expected_revision is not None and expected_revision != old.mod_revision:
                raise RevisionMismatch(key, expected_revision, old.mod_revision)
            rev = self._revision + 1
            gone = dict(old.value)
            md = gone.get("metadata")
            md = dict(md) if isinstance(md, dict) else {}
            md["resourceVersion"] = str(rev)
            gone["metadata"] = md
            ev = WatchEvent("DELETED", key, gone, old.value, rev)
            self._backend.append((ev,))
            del self._kv[key]
            self._keys.remove(key)
            self._commit(ev)
            return KeyValue(key, gone, old.create_revision, rev)

    def _commit(self, ev: WatchEvent) -> None:
        """Advance the revision, retain ``ev`` for replay and feed matching watchers. Caller holds the lock."""
        self._revision = ev.revision
        hist = self._history
        hist.append(ev)
        while len(hist) > self._history_limit:
            self._compacted = hist.popleft().revision
        if self._watchers:
            key = ev.key
            n = len(key)
            for length, by_prefix in self._watchers.items():
                if length <= n:
                    ws = by_prefix.get(key[:length])
                    if ws:
                        for w in ws:
                            w._push(ev)

    def compact(self, revision: int) -> None:
        """Forget events with revision <= ``revision``; later watches from before it raise ``Compacted``.

        Compacting at or below ``compacted_revision`` does nothing; above the current revision is a ValueError.
        Running watchers keep the events already delivered to them.
        """
        with self._lock:
            if revision > self._revision:
                raise ValueError(f"cannot compact to future revision {revision} (current {self._revision})")
            if revision <= self._compacted:
                return
            self._backend.compact(revision)
            hist = self._history
            while hist and hist[0].revision <= revision:
                hist.popleft()
            self._compacted = revision

    # -- watch --------------------------------------------------------------------------------------------------

    def watch(self, prefix: str, start_revision: int) -> Watcher:
        """Events for keys under ``prefix`` with revision > ``start_revision``: retained history, then live.

        Raises ``Compacted`` if ``start_revision < compacted_revision``. On a closed store the watcher is
        returned already closed.
        """
        with self._lock:
            if start_revision < self._compacted:
                raise Compacted(start_revision, self._compacted)
            w = Watcher(prefix, start_revision, self._unregister)
            if self._closed:
                w._terminate()
                return w
            if start_revision < self._revision:
                replay: list[WatchEvent] = []
                for ev in reversed(self._history):
                    if ev.revision <= start_revision:
                        break
                    if ev.key.startswith(prefix):
                        replay.append(ev)
                replay.reverse()
                w._preload(replay)
            self._watchers.setdefault(len(prefix), {}).setdefault(prefix, set()).add(w)
            self._watcher_count += 1
            return w

    def _unregister(self, w: Watcher) -> None:
        with self._lock:
            by_prefix = self._watchers.get(len(w.prefix))
            if by_prefix is None:
                return
            ws = by_prefix.get(w.prefix)
            if ws is None or w not in ws:
                return
            ws.discard(w)
            self._watcher_count -= 1
            if not ws:
                del by_prefix[w.prefix]
                if not by_prefix:
                    del self._watchers[len(w.prefix)]

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """End every watcher and close the backend. Idempotent; reads keep working, writes raise StoreClosed."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            watchers = [w for by_prefix in self._watchers.values() for ws in by_prefix.values() for w in ws]
            self._watchers.clear()
            self._watcher_count = 0
            for w in watchers:
                w._terminate()
            self._backend.close()
