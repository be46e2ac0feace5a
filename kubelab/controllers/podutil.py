"""Helpers the workload controllers share: pod readiness and availability, owner references, adoption, the
pod-template hash, int-or-percent values and creation/deletion expectations.

Mirrors pieces of upstream's ``pkg/api/v1/pod`` (IsPodReady, IsPodAvailable), ``pkg/controller/controller_utils.go``
(ControllerExpectations, GetPodFromTemplate, ComputeHash, FilterActivePods) and
``pkg/controller/controller_ref_manager.go`` (adopt orphans that match, release owned objects that no longer match).
Simplified: objects are plain dicts; adoption and release are optimistic read-modify-write updates (a stale cache
gives a 409 and the controller simply syncs again) instead of strategic-merge patches with a UID precondition.
"""

from __future__ import annotations

import copy
import datetime as _dt
import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from kubelab.api.errors import ApiError
from kubelab.api.selectors import LabelSelector, label_selector_from_dict
from kubelab.client import Client
from kubelab.clock import Clock, parse_time

Obj = dict[str, Any]

POD_TEMPLATE_HASH_LABEL = "pod-template-hash"  # apps/v1 DefaultDeploymentUniqueLabelKey
POD_DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"
EXPECTATIONS_TIMEOUT = 300.0  # upstream ExpectationsTimeout: 5 minutes, then a sync happens regardless


# ---------------------------------------------------------------------------------------------- metadata
def meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def uid_of(obj: Obj) -> str:
    return str(meta(obj).get("uid") or "")


def ns_name(obj: Obj) -> tuple[str, str]:
    m = meta(obj)
    return str(m.get("namespace") or ""), str(m.get("name") or "")


def is_deleting(obj: Obj) -> bool:
    return bool(meta(obj).get("deletionTimestamp"))


def ts(value: Any) -> _dt.datetime | None:
    if not value:
        return None
    try:
        return parse_time(str(value))
    except ValueError:
        return None


def as_manager(client: Client, manager: str) -> Client:
    """The same API server seen by another field manager / event source ("replicaset-controller" ...)."""
    if type(client) is Client and client.manager != manager:
        return Client(client.ctx, manager)
    return client


# ---------------------------------------------------------------------------------------------- pods
def pod_condition(pod: Obj, ctype: str) -> Obj | None:
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == ctype:
            return c  # type: ignore[no-any-return]
    return None


def is_pod_ready(pod: Obj) -> bool:
    c = pod_condition(pod, "Ready")
    return c is not None and c.get("status") == "True"


def ready_since(pod: Obj) -> _dt.datetime | None:
    c = pod_condition(pod, "Ready")
    if c is None or c.get("status") != "True":
        return None
    return ts(c.get("lastTransitionTime"))


def is_pod_available(pod: Obj, min_ready_seconds: int, now: _dt.datetime) -> bool:
    """Ready, and (with minReadySeconds) ready for longer than that."""
    if not is_pod_ready(pod):
        return False
    if not min_ready_seconds:
        return True
    since = ready_since(pod)
    return since is not None and since + _dt.timedelta(seconds=min_ready_seconds) < now


def seconds_until_available(pod: Obj, min_ready_seconds: int, now: _dt.datetime) -> float | None:
    """For a ready but not yet available pod: how long until it is (None if not ready or already available)."""
    if not min_ready_seconds or is_pod_available(pod, min_ready_seconds, now):
        return None
    since = ready_since(pod)
    if since is None:
        return None
    return max((since + _dt.timedelta(seconds=min_ready_seconds) - now).total_seconds(), 0.0)


def pod_phase(pod: Obj) -> str:
    return str((pod.get("status") or {}).get("phase") or "")


def is_pod_active(pod: Obj) -> bool:
    """controller.IsPodActive: not finished and not being deleted."""
    return pod_phase(pod) not in ("Succeeded", "Failed") and not is_deleting(pod)


def max_restarts(pod: Obj) -> int:
    return max((int(s.get("restartCount") or 0)
                for s in (pod.get("status") or {}).get("containerStatuses") or []), default=0)


def pod_from_template(template: Obj, parent: Obj, controller_ref: Obj | None) -> Obj:
    """controller.GetPodFromTemplate: labels, annotations and finalizers from the template; generateName
    ``<parent>-`` (the API server adds the 5-character suffix); the controller reference; a copy of the spec."""
    tmeta = template.get("metadata") or {}
    pmeta: Obj = {"generateName": f"{meta(parent).get('name')}-"}
    for k in ("labels", "annotations"):
        if tmeta.get(k):
            pmeta[k] = dict(tmeta[k])
    if tmeta.get("finalizers"):
        pmeta["finalizers"] = list(tmeta["finalizers"])
    if controller_ref is not None:
        pmeta["ownerReferences"] = [dict(controller_ref)]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pmeta,
            "spec": copy.deepcopy(template.get("spec") or {})}


# ---------------------------------------------------------------------------------------------- owner refs
def owner_refs(obj: Obj) -> list[Obj]:
    return list(meta(obj).get("ownerReferences") or [])


def controller_ref(obj: Obj) -> Obj | None:
    """metav1.GetControllerOf: the owner reference with controller: true."""
    for r in owner_refs(obj):
        if r.get("controller"):
            return r
    return None


def new_controller_ref(owner: Obj, api_version: str, kind: str) -> Obj:
    """metav1.NewControllerRef (blockOwnerDeletion so foreground deletion waits for the dependent)."""
    m = meta(owner)
    return {"apiVersion": api_version, "kind": kind, "name": m.get("name"), "uid": m.get("uid"),
            "controller": True, "blockOwnerDeletion": True}


def ref_group(api_version: str) -> str:
    return api_version.rpartition("/")[0] if "/" in api_version else ""


def ref_points_to(ref: Obj | None, api_version: str, kind: str) -> bool:
    """Same kind in the same group (the version may differ)."""
    return ref is not None and ref.get("kind") == kind and ref_group(str(ref.get("apiVersion") or "")) == \
        ref_group(api_version)


def selector_of(obj: Obj) -> LabelSelector | None:
    """The object's spec.selector as a LabelSelector; None when it is missing or invalid."""
    try:
        return label_selector_from_dict((obj.get("spec") or {}).get("selector"))
    except ApiError:
        return None


def labels_of(obj: Obj) -> dict[str, str]:
    return dict(meta(obj).get("labels") or {})


def _with_owner_refs(obj: Obj, refs: list[Obj]) -> Obj:
    out = dict(obj)
    m = dict(meta(obj))
    if refs:
        m["ownerReferences"] = refs
    else:
        m.pop("ownerReferences", None)
    out["metadata"] = m
    return out


def set_owner_refs(client: Client, resource: str, obj: Obj, refs: list[Obj]) -> Obj | None:
    """Write ``obj`` back with new ownerReferences (optimistic on its resourceVersion). None if it is gone."""
    try:
        return client.update(resource, _with_owner_refs(obj, refs))
    except ApiError as e:
        if e.code == 404:
            return None
        raise


@dataclass
class RefManager:
    """controller.BaseControllerRefManager for one owner: ``claim`` returns the objects the owner controls after
    adopting orphans that match its selector and releasing owned ones that no longer match."""

    client: Client
    resource: str  # of the dependents, e.g. "pods"
    owner: Obj
    owner_api_version: str
    owner_kind: str
    fresh_owner: Callable[[], Obj | None]  # a live read of the owner, to recheck before adopting
    _can_adopt: bool | None = field(default=None, init=False)

    def claim(self, objs: Iterable[Obj], selector: LabelSelector,
              on_change: Callable[[str, Obj], None] | None = None) -> list[Obj]:
        owner_uid = uid_of(self.owner)
        owner_deleting = is_deleting(self.owner)
        owner_ns = meta(self.owner).get("namespace")
        out: list[Obj] = []
        for obj in objs:
            ref = controller_ref(obj)
            matches = selector.matches(labels_of(obj))
            if ref is not None:
                if ref.get("uid") != owner_uid:
                    continue  # someone else's
                if matches:
                    out.append(obj)
                elif not owner_deleting:
                    refs = [r for r in owner_refs(obj) if r.get("uid") != owner_uid]
                    if set_owner_refs(self.client, self.resource, obj, refs) is not None and on_change:
                        on_change("release", obj)
                continue
            if owner_deleting or not matches or is_deleting(obj) or meta(obj).get("namespace") != owner_ns:
                continue
            if not self.can_adopt():
                continue
            ref_new = new_controller_ref(self.owner, self.owner_api_version, self.owner_kind)
            adopted = set_owner_refs(self.client, self.resource, obj, owner_refs(obj) + [ref_new])
            if adopted is not None:
                out.append(adopted)
                if on_change:
                    on_change("adopt", adopted)
        return out

    def can_adopt(self) -> bool:
        """RecheckDeletionTimestamp: adopt only if the owner, read live, is the same and not being deleted."""
        if self._can_adopt is None:
            fresh = self.fresh_owner()
            self._can_adopt = fresh is not None and uid_of(fresh) == uid_of(self.owner) and not is_deleting(fresh)
        return self._can_adopt


# ---------------------------------------------------------------------------------------------- hashing
_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # rand.SafeEncodeString: no vowels, no 0/1/3 (no bad words)


def safe_encode_string(s: str) -> str:
    return "".join(_SAFE_ALPHABET[ord(c) % len(_SAFE_ALPHABET)] for c in s)


def fnv32a(data: bytes) -> int:
    h = 0x811C9DC5
    for b in data:
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def compute_hash(template: Obj, collision_count: int | None = None) -> str:
    """controller.ComputeHash in spirit: FNV-32a over a canonical rendering of the pod template (plus the
    collision count when set), rendered as a short string safe to use in names and labels."""
    data = json.dumps(_normalize(template), sort_keys=True, separators=(",", ":")).encode()
    if collision_count:
        data += str(collision_count).encode()
    return safe_encode_string(str(fnv32a(data)))


def _normalize(v: Any) -> Any:
    """Drop empty maps/lists/None, as Semantic.DeepEqual treats nil and empty alike."""
    if isinstance(v, dict):
        out = {k: _normalize(x) for k, x in v.items()}
        return {k: x for k, x in out.items() if x not in (None, {}, [])}
    if isinstance(v, list):
        return [_normalize(x) for x in v]
    return v


def semantic_equal(a: Any, b: Any) -> bool:
    return bool(_normalize(a) == _normalize(b))


def template_without_hash(template: Obj) -> Obj:
    t = copy.deepcopy(template or {})
    labels = (t.get("metadata") or {}).get("labels")
    if labels:
        labels.pop(POD_TEMPLATE_HASH_LABEL, None)
    return t


def equal_ignore_hash(t1: Obj, t2: Obj) -> bool:
    """deploymentutil.EqualIgnoreHash: templates equal apart from the pod-template-hash label."""
    return semantic_equal(template_without_hash(t1), template_without_hash(t2))


# ---------------------------------------------------------------------------------------------- int-or-percent
def scaled_value(value: Any, total: int, round_up: bool) -> int:
    """intstr.GetScaledValueFromIntOrPercent: an int as is, "25%" of ``total`` rounded up or down."""
    if value is None:
        return 0
    if isinstance(value, bool):
        raise ValueError(f"invalid value for IntOrString: {value!r}")
    if isinstance(value, int):
        return value
    s = str(value)
    if s.endswith("%"):
        pct = int(s[:-1])
        exact = pct * total / 100
        return int(math.ceil(exact) if round_up else math.floor(exact))
    if s.isdigit():
        return int(s)
    raise ValueError(f"invalid value for IntOrString: invalid type: string is not a percentage: {s!r}")


# ---------------------------------------------------------------------------------------------- expectations
@dataclass
class _Expectation:
    add: int = 0
    dele: int = 0
    set_at: float = 0.0
    deleting: set[str] = field(default_factory=set)


class ControllerExpectations:
    """controller.UIDTrackingControllerExpectations: after a burst of creates or deletes, a controller waits until
    its informer has seen them all (or a timeout passed) before it counts pods again, so a stale cache does not
    make it create or delete twice."""

    def __init__(self, clock: Clock, timeout: float = EXPECTATIONS_TIMEOUT) -> None:
        self.clock = clock
        self.timeout = timeout
        self._exp: dict[str, _Expectation] = {}

    def satisfied(self, key: str) -> bool:
        e = self._exp.get(key)
        if e is None:
            return True
        if e.add <= 0 and e.dele <= 0:
            return True
        return self.clock.monotonic() - e.set_at > self.timeout

    def expect_creations(self, key: str, n: int) -> None:
        self._exp[key] = _Expectation(add=n, set_at=self.clock.monotonic())

    def expect_deletions(self, key: str, pod_keys: Iterable[str]) -> None:
        keys = set(pod_keys)
        self._exp[key] = _Expectation(dele=len(keys), set_at=self.clock.monotonic(), deleting=keys)

    def creation_observed(self, key: str) -> None:
        e = self._exp.get(key)
        if e is not None:
            e.add -= 1

    def deletion_observed(self, key: str, pod_key: str) -> None:
        e = self._exp.get(key)
        if e is not None and pod_key in e.deleting:
            e.deleting.discard(pod_key)
            e.dele -= 1

    def delete(self, key: str) -> None:
        self._exp.pop(key, None)

    def pending(self, key: str) -> tuple[int, int]:
        e = self._exp.get(key)
        return (e.add, e.dele) if e else (0, 0)
