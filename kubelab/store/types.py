"""Records the store hands out: ``KeyValue`` (an etcd mvccpb.KeyValue) and ``WatchEvent`` (an etcd mvccpb.Event
enriched the way kube-apiserver's watch cache enriches it: typed ADDED/MODIFIED/DELETED with the previous object).

Simplified: values are JSON-like dicts owned by the store instead of serialized bytes; there is no ``version`` or
``lease`` field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

EventType = Literal["ADDED", "MODIFIED", "DELETED"]


@dataclass(slots=True)
class KeyValue:
    """One live key at one revision. Treat it (and ``value``) as read-only: readers share it."""

    key: str
    value: dict[str, Any]
    create_revision: int
    mod_revision: int


@dataclass(slots=True)
class WatchEvent:
    """One committed write. ``value`` is the new object (for DELETED: the object as deleted, whose
    ``metadata.resourceVersion`` is the deletion revision); ``prev_value`` is the object before the write."""

    type: EventType
    key: str
    value: dict[str, Any]
    prev_value: dict[str, Any] | None
    revision: int
