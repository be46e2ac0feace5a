"""etcd-like MVCC store under the kubelab API server: revisions, prefix ranges, watches with replay."""

from kubelab.store.backend import Backend, NullBackend, Snapshot
from kubelab.store.errors import Compacted, KeyExists, KeyNotFound, RevisionMismatch, StoreClosed, StoreError
from kubelab.store.store import Store
from kubelab.store.types import EventType, KeyValue, WatchEvent
from kubelab.store.watcher import Watcher

__all__ = [
    "Backend",
    "Compacted",
    "EventType",
    "KeyExists",
    "KeyNotFound",
    "KeyValue",
    "NullBackend",
    "RevisionMismatch",
    "Snapshot",
    "Store",
    "StoreClosed",
    "StoreError",
    "Watcher",
    "WatchEvent",
]
