"""Store errors, mirroring etcd's (ErrCompacted, failed Txn compares) as kube-apiserver's storage layer sees them.

Simplified: plain Python exceptions with the facts the API server needs to build its ``Status`` (404, 409, 410);
the store does not know about HTTP or API groups.
"""

from __future__ import annotations


class StoreError(Exception):
    """Base class of every store error."""


class KeyExists(StoreError):
    def __init__(self, key: str) -> None:
        super().__init__(f"key already exists: {key}")
        self.key = key


class KeyNotFound(StoreError):
    def __init__(self, key: str) -> None:
        super().__init__(f"key not found: {key}")
        self.key = key


class RevisionMismatch(StoreError):
    """A precondition on the key's ``mod_revision`` failed (optimistic concurrency)."""

    def __init__(self, key: str, expected: int, actual: int) -> None:
        super().__init__(f"revision mismatch on {key}: expected {expected}, current {actual}")
        self.key = key
        self.expected = expected
        self.actual = actual


class Compacted(StoreError):
    """The history a watch needs (events after ``requested``) is gone: ``requested < compacted_revision``."""

    def __init__(self, requested: int, compacted_revision: int) -> None:
        super().__init__(
            f"required revision {requested} has been compacted (oldest watchable revision {compacted_revision})"
        )
        self.requested = requested
        self.compacted_revision = compacted_revision


class StoreClosed(StoreError):
    """A write was attempted after ``Store.close()``."""

    def __init__(self) -> None:
        super().__init__("store is closed")
