"""Durability seam of the store: where etcd's backend (bbolt + WAL) sits under its MVCC layer.

The ``Store`` calls ``append`` with the events of every commit, under its lock and *before* applying them, so a
durable backend can write ahead and make the write fail by raising. ``load`` hands back a snapshot at start-up.

Simplified: only the interface and a no-op in-memory default exist; no file persistence yet. A restored store keeps
no watch history (its ``compacted_revision`` is the snapshot revision), so old watches get ``Compacted`` and
clients relist, as after a kube-apiserver restart with a cold watch cache.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from kubelab.store.types import KeyValue, WatchEvent


@dataclass(slots=True)
class Snapshot:
    """Full state at ``revision``: every live key (any order)."""

    revision: int
    kvs: list[KeyValue] = field(default_factory=list)


class Backend(Protocol):
    def load(self) -> Snapshot | None:
        """State to start from, or None for an empty store at revision 1."""
        ...

    def append(self, events: Sequence[WatchEvent]) -> None:
        """Persist committed events (strictly increasing revisions). Raising aborts the write."""
        ...

    def compact(self, revision: int) -> None:
        """History up to ``revision`` is no longer needed."""
        ...

    def close(self) -> None: ...


class NullBackend:
    """Default backend: keeps nothing (the store's own memory is the only copy)."""

    def load(self) -> Snapshot | None:
        return None

    def append(self, events: Sequence[WatchEvent]) -> None:
        pass

    def compact(self, revision: int) -> None:
        pass

    def close(self) -> None:
        pass
