"""ControllerRevision history, and the few owner-reference and expectation helpers the workload controllers
(Job, CronJob, DaemonSet, StatefulSet) share.

Mirrors pkg/controller/history (ControllerRevisionName, NewControllerRevision, HashControllerRevision,
EqualRevision, the create-with-collision-count loop), the template patch that StatefulSet and DaemonSet store
as a revision's data (``getPatch``: ``{"spec": {"template": {..., "$patch": "replace"}}}``),
controller.ComputeHash (the DaemonSet's ``controller-revision-hash``), metav1.NewControllerRef /
GetControllerOf, and controller.ControllerExpectations; ``Wakeups`` keeps one pending timed requeue per key.

Simplified: hashes are FNV over *our* canonical JSON of the data (upstream hashes Go's serialization or a
deep-hash of the Go struct), so hash values differ from a real cluster's but are stable and change exactly
when the template changes. Expectations track the names/UIDs a controller is waiting to see instead of
counters, and never expire (upstream: 5 minutes) — the in-process watch cannot lose events.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable
from typing import Any

from kubelab.api.errors import ApiError
from kubelab.api.selectors import label_selector_from_dict
from kubelab.client import Client, Informer
from kubelab.clock import Clock
from kubelab.controllers.podutil import as_manager, fnv32a, new_controller_ref, safe_encode_string
from kubelab.controllers.podutil import controller_ref as _controller_ref

Obj = dict[str, Any]

CONTROLLER_REVISION_HASH_LABEL = "controller.kubernetes.io/hash"  # on StatefulSet revisions (history package)
POD_REVISION_LABEL = "controller-revision-hash"  # apps.ControllerRevisionHashLabelKey (also the DaemonSet's)

# k8s.io/apimachinery/pkg/util/rand: no vowels, no 0/1/3, so encoded hashes never spell words


# ------------------------------------------------------------------------------------------------------------
# owner references
# ------------------------------------------------------------------------------------------------------------


# shared with the other controllers (kubelab.controllers.podutil): one implementation of each
controller_ref = new_controller_ref  # metav1.NewControllerRef
controller_of = _controller_ref  # metav1.GetControllerOf
client_for = as_manager


def is_controlled_by(obj: Obj, owner: Obj) -> bool:
    ref = controller_of(obj)
    return ref is not None and ref.get("uid") == (owner.get("metadata") or {}).get("uid")


def owned(items: Iterable[Obj], owner: Obj) -> list[Obj]:
    """The objects whose controller is ``owner`` (by UID)."""
    return [o for o in items if is_controlled_by(o, owner)]


# ------------------------------------------------------------------------------------------------------------
# expectations
# ------------------------------------------------------------------------------------------------------------


class Expectations:
    """What a controller has written but its informer cache has not shown yet (ControllerExpectations).

    A sync that created pods must not run ``manage`` again until the cache has seen them, or it would create
    them twice; pod event handlers call ``observe_*`` and ``satisfied(key)`` gates the next ``manage``.
    """

    def __init__(self) -> None:
        self._adds: dict[str, set[str]] = {}
        self._dels: dict[str, set[str]] = {}

    def expect_creation(self, key: str, name: str) -> None:
        self._adds.setdefault(key, set()).add(name)

    def expect_deletion(self, key: str, name: str) -> None:
        self._dels.setdefault(key, set()).add(name)

    def observe_creation(self, key: str, name: str) -> None:
        self._adds.get(key, set()).discard(name)

    def observe_deletion(self, key: str, name: str) -> None:
        self._dels.get(key, set()).discard(name)

    def satisfied(self, key: str) -> bool:
        return not self._adds.get(key) and not self._dels.get(key)

    def forget(self, key: str) -> None:
        self._adds.pop(key, None)
        self._dels.pop(key, None)


class Wakeups:
    """``requeue_after`` without piling up timers: a later look at a key is scheduled only when no earlier one
    is pending (a sync that runs on every pod event would otherwise start a timer each time)."""

    def __init__(self, clock: Clock, requeue_after: Callable[[str, float], None]) -> None:
        self._clock = clock
        self._requeue_after = requeue_after
        self._due: dict[str, float] = {}

    def after(self, key: str, seconds: float) -> None:
        # the work queue keeps one timer per key (the earliest), so this only remembers when the next look is;
        # deciding here from a remembered due time missed wake-ups whose timer fired a hair early (real clocks)
        self._due[key] = self._clock.monotonic() + max(seconds, 0.0)
        self._requeue_after(key, seconds)


# ------------------------------------------------------------------------------------------------------------
# hashing
# ------------------------------------------------------------------------------------------------------------


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def fnv32(data: bytes) -> int:
    """FNV-1, 32 bit (Go's hash/fnv New32, as HashControllerRevision uses)."""
    h = 0x811C9DC5
    for b in data:
        h = (h * 0x01000193) & 0xFFFFFFFF
        h ^= b
    return h


def compute_template_hash(template: Obj, collision_count: int | None) -> str:
    """controller.ComputeHash: the DaemonSet's ``controller-revision-hash``."""
    data = canonical_json(template)
    if collision_count is not None:
        data += int(collision_count & 0xFFFFFFFF).to_bytes(4, "little")
    return safe_encode_string(str(fnv32a(data)))


def hash_revision_data(data: Obj, collision_count: int | None) -> str:
    """HashControllerRevision: FNV-1 of the revision's data, then of the collision count, safe-encoded."""
    raw = canonical_json(data)
    if collision_count is not None:
        raw += str(collision_count).encode()
    return safe_encode_string(str(fnv32(raw)))


def revision_name(prefix: str, hash_: str) -> str:
    """ControllerRevisionName: ``<parent>-<hash>``, the parent name cut to 223 characters."""
    return f"{prefix[:223]}-{hash_}"


# ------------------------------------------------------------------------------------------------------------
# revisions
# ------------------------------------------------------------------------------------------------------------


def template_patch(obj: Obj) -> Obj:
    """getPatch: the strategic merge patch that restores ``obj``'s pod template."""
    template = copy.deepcopy((obj.get("spec") or {}).get("template") or {})
    template["$patch"] = "replace"
    return {"spec": {"template": template}}


def template_of_revision(revision: Obj) -> Obj:
    """The pod template a revision recorded (applyRevision, for the only field a revision stores)."""
    template = copy.deepcopy(((revision.get("data") or {}).get("spec") or {}).get("template") or {})
    template.pop("$patch", None)
    return template


def new_controller_revision(parent: Obj, api_version: str, kind: str, template_labels: dict[str, str] | None,
                            data: Obj, revision: int, collision_count: int | None) -> Obj:
    """NewControllerRevision: labelled like the template, owned by ``parent``, named ``<parent>-<hash>``."""
    meta = parent.get("metadata") or {}
    labels = dict(template_labels or {})
    hash_ = hash_revision_data(data, collision_count)
    labels[CONTROLLER_REVISION_HASH_LABEL] = hash_
    return {
        "apiVersion": "apps/v1", "kind": "ControllerRevision",
        "metadata": {"name": revision_name(str(meta.get("name")), hash_), "namespace": meta.get("namespace"),
                     "labels": labels, "ownerReferences": [controller_ref(parent, api_version, kind)]},
        "data": data, "revision": revision,
    }


def equal_revision(a: Obj | None, b: Obj | None) -> bool:
    """EqualRevision: same recorded data. (Upstream also compares the hash labels when both parse as integers;
    safe-encoded hashes never do, so in practice it compares the data, as here.)"""
    if a is None or b is None:
        return a is b
    return canonical_json(a.get("data")) == canonical_json(b.get("data"))


def sort_revisions(revisions: Iterable[Obj]) -> list[Obj]:
    """SortControllerRevisions: by revision number, then creation time, then name."""
    return sorted(revisions, key=lambda r: (int(r.get("revision") or 0),
                                            (r.get("metadata") or {}).get("creationTimestamp") or "",
                                            (r.get("metadata") or {}).get("name") or ""))


def next_revision(revisions: list[Obj]) -> int:
    """1 more than the highest revision number (1 for the first)."""
    return max((int(r.get("revision") or 0) for r in revisions), default=0) + 1


class History:
    """history.Interface over the shared ControllerRevision informer and the client."""

    def __init__(self, client: Client, informer: Informer) -> None:
        self.client = client
        self.informer = informer

    def list(self, parent: Obj, selector: dict[str, Any] | None) -> list[Obj]:
        """Revisions in the parent's namespace owned by the parent, or by nobody and matching ``selector``."""
        meta = parent.get("metadata") or {}
        sel = label_selector_from_dict(selector)
        out = []
        for r in self.informer.list(meta.get("namespace")):
            ref = controller_of(r)
            if ref is not None and ref.get("uid") == meta.get("uid"):
                out.append(r)
            elif ref is None and sel.matches((r.get("metadata") or {}).get("labels") or {}):
                out.append(r)
        return out

    def create(self, parent: Obj, revision: Obj, collision_count: int) -> tuple[Obj, int]:
        """CreateControllerRevision: retry under a new name (collision count + 1) while another revision with
        different data holds the name. Returns the stored revision and the collision count used."""
        ns = (parent.get("metadata") or {}).get("namespace")
        pname = str((parent.get("metadata") or {}).get("name"))
        while True:
            clone = copy.deepcopy(revision)
            hash_ = hash_revision_data(revision.get("data") or {}, collision_count)
            clone["metadata"]["name"] = revision_name(pname, hash_)
            labels = clone["metadata"].setdefault("labels", {})
            if CONTROLLER_REVISION_HASH_LABEL in labels:
                labels[CONTROLLER_REVISION_HASH_LABEL] = hash_
            try:
                return self.client.create("controllerrevisions.apps", clone, namespace=ns), collision_count
            except ApiError as e:
                if e.code != 409:
                    raise
                exists = self.client.get("controllerrevisions.apps", clone["metadata"]["name"], ns)
                if canonical_json(exists.get("data")) == canonical_json(clone.get("data")):
                    return exists, collision_count
                collision_count += 1

    def update_revision(self, revision: Obj, new_revision: int) -> Obj:
        """UpdateControllerRevision: renumber (a rollback makes an old revision the newest)."""
        if int(revision.get("revision") or 0) == new_revision:
            return revision
        meta = revision["metadata"]
        return self.client.patch("controllerrevisions.apps", meta["name"], {"revision": new_revision},
                                 namespace=meta.get("namespace"))

    def delete(self, revision: Obj) -> None:
        meta = revision["metadata"]
        self.client.delete("controllerrevisions.apps", meta["name"], meta.get("namespace"))
