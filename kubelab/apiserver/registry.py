"""The generic registry: create, read, update, patch and delete any resource against the store.

Mirrors k8s.io/apiserver/pkg/registry/generic/registry.Store: one code path for every kind, with per-kind facts
from ``strategies`` and hooks (defaulting, validation, admission) around it. Components never reach the store
directly; they go through the HTTP API that calls this.

Simplified: continue tokens page over the latest state (not a snapshot at the first page's revision); there is no
authorization (every authenticated user may do everything, as system:masters).
"""

from __future__ import annotations

import base64
import builtins
import datetime as _dt
import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from kubelab.api import errors
from kubelab.api.conversion import from_storage, storage_version_of, to_storage
from kubelab.api.defaults import apply_defaults
from kubelab.api.errors import ApiError, FieldError
from kubelab.api.resources import ResourceRegistry, ResourceType
from kubelab.api.schema import decode_error, strict_error, unknown_fields, unknown_fields_structural
from kubelab.api.selectors import field_set, parse_field_selector, parse_label_selector
from kubelab.api.validation import validate_create, validate_update
from kubelab.apiserver import strategies
from kubelab.clock import Clock, rfc3339
from kubelab.store import KeyExists, KeyNotFound, RevisionMismatch, Store

log = logging.getLogger(__name__)

# name suffix alphabet of generateName (no vowels, no ambiguous characters), as upstream
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


@dataclass
class WriteOptions:
    dry_run: bool = False
    field_manager: str = ""
    field_validation: str = "Warn"  # Ignore | Warn | Strict
    user_agent: str = ""
    operation: str = "Update"  # "Apply" for server-side apply: the patch itself records managedFields
    # the API server's own writes (e.g. the kubernetes Endpoints advertising 127.0.0.1, which validation forbids
    # to clients because a real server advertises a routable address)
    system: bool = False
    # in-process components (kubelab.client): their objects are built from typed data, not decoded from a wire,
    # so the wire checks (JSON types, unknown fields) are skipped for them; validation still runs
    trusted: bool = False
    warnings: list[str] = field(default_factory=list)
    # undo steps registered by admission hooks (e.g. a Service's allocated IP) for when the write then fails
    rollbacks: list[Callable[[], None]] = field(default_factory=list)

    def rollback(self) -> None:
        while self.rollbacks:
            self.rollbacks.pop()()

    @property
    def manager(self) -> str:
        if self.field_manager:
            return self.field_manager
        # upstream derives a manager from the user agent's first component
        return (self.user_agent.split("/", 1)[0] or "unknown")[:128]


Hook = Callable[[ResourceType, dict[str, Any], dict[str, Any] | None, WriteOptions], None]


class Registry:
    def __init__(self, store: Store, resources: ResourceRegistry, clock: Clock, seed: int | None = None) -> None:
        self.store = store
        self.resources = resources
        self.clock = clock
        # Lab deviation for process-runtime clusters, whose pods live on 127.0.0.0/8: kube-apiserver refuses
        # loopback addresses in Endpoints, which would leave every Service of such a cluster without endpoints.
        self.allow_loopback_endpoints = False
        self._rand = random.Random(seed)
        # admission-like hooks: called with (rt, new, old or None, opts) before validation; may mutate new
        self.mutating_hooks: list[Hook] = []
        # after a successful (non dry-run) write: (rt, stored, old or None, opts)
        self.after_write_hooks: list[Hook] = []
        self.after_delete_hooks: list[Callable[[ResourceType, dict[str, Any]], None]] = []
        # (group, version, plural) -> a CRD's openAPIV3Schema for that version, for custom resources
        self.custom_schemas: dict[tuple[str, str, str], dict[str, Any] | None] = {}
        self.trace: Any = None  # kubelab.trace.TraceBus: every store write is reported as an "etcd" step
        # (group, version, plural) -> the CRD's additionalPrinterColumns for that version
        self.custom_columns: dict[tuple[str, str, str], list[dict[str, Any]]] = {}

    # ---------------------------------------------------------------- versions
    def storage_type(self, rt: ResourceType) -> ResourceType:
        """The version objects of ``rt`` are stored as (autoscaling/v1 HPAs as v2, events.k8s.io Events as core
        Events); ``rt`` itself for almost every type. Requests in another version are converted at the edges."""
        sv = storage_version_of(rt)
        if sv is None:
            return rt
        return self.resources.by_kind(sv[0], sv[1], rt.kind) or rt

    # ---------------------------------------------------------------- reads
    def get(self, rt: ResourceType, ns: str | None, name: str) -> dict[str, Any]:
        kv = self.store.get(rt.key(ns, name))
        if kv is None:
            raise errors.not_found(rt.group, rt.plural, name)
        return from_storage(rt, kv.value)

    def list(
        self,
        rt: ResourceType,
        ns: str | None,
        label_selector: str = "",
        field_selector: str = "",
        limit: int = 0,
        continue_token: str = "",
    ) -> tuple[list[dict[str, Any]], str, str, int | None]:
        """-> (items, resourceVersion, continue, remainingItemCount)"""
        match = self.matcher(rt, label_selector, field_selector)
        kvs, rev = self.store.range(rt.prefix(ns))
        start_key = ""
        if continue_token:
            start_key, rev = _decode_continue(continue_token)
        items: list[dict[str, Any]] = []
        cont = ""
        remaining: int | None = None
        for i, kv in enumerate(kvs):
            if start_key and kv.key <= start_key:
                continue
            if match is not None and not match(kv.value):
                continue
            if limit and len(items) >= limit:
                cont = _encode_continue(items and _key_of(rt, items[-1]) or kv.key, rev)
                rest = kvs[i:]
                remaining = len(rest) if match is None else sum(1 for k in rest if match(k.value))
                break
            items.append(kv.value)
        if self.storage_type(rt) is not rt:
            items = [from_storage(rt, o) for o in items]
        return items, str(rev), cont, remaining

    def matcher(self, rt: ResourceType, label_selector: str, field_selector: str
                ) -> Callable[[dict[str, Any]], bool] | None:
        ls = parse_label_selector(label_selector) if label_selector else None
        fs = parse_field_selector(field_selector) if field_selector else None
        if fs is not None:
            fs.check_supported(rt)  # 400 for unknown field labels, as upstream
        srt = self.storage_type(rt)  # selectors match stored objects (labels were rewritten to that version)
        if ls is None and fs is None:
            return None

        def match(obj: dict[str, Any]) -> bool:
            if ls is not None and not ls.matches(obj.get("metadata", {}).get("labels") or {}):
                return False
            return fs is None or fs.matches(field_set(srt, obj))

        return match

    # ---------------------------------------------------------------- create
    def create(self, rt: ResourceType, ns: str | None, obj: dict[str, Any], opts: WriteOptions) -> dict[str, Any]:
        srt = self.storage_type(rt)
        if srt is not rt:
            self._check_type_meta(rt, obj)
            self._check_fields(rt, obj, opts)
            return from_storage(rt, self.create(srt, ns, to_storage(rt, obj), opts))
        self._check_type_meta(rt, obj)
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise errors.bad_request("metadata: expected an object")
        self._check_namespace(rt, ns, meta)
        self._check_fields(rt, obj, opts)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + "".join(self._rand.choice(_SUFFIX_ALPHABET) for _ in range(5))
        for k in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
            meta.pop(k, None)
        meta["uid"] = str(uuid.UUID(int=self._rand.getrandbits(128), version=4))
        meta["creationTimestamp"] = rfc3339(self.clock.now())
        if strategies.tracks_generation(rt):
            meta["generation"] = 1
        else:
            meta.pop("generation", None)
        st = strategies.initial_status(rt, obj)
        if st is not None:
            obj["status"] = st
        apply_defaults(rt, obj)
        try:
            for hook in self.mutating_hooks:
                hook(rt, obj, None, opts)
            if not opts.system:
                self._validate(rt, validate_create(rt, obj, loopback_endpoints=self.allow_loopback_endpoints), obj)
            _record_manager(obj, None, opts, self._now_iso(), rt)
            if opts.dry_run:
                return obj
            try:
                kv = self.store.create(rt.key(ns, meta["name"]), obj)
            except KeyExists:
                raise errors.already_exists(rt.group, rt.plural, meta["name"]) from None
            self._traced("put", rt, kv)
        except BaseException:
            opts.rollback()
            raise
        for ahook in self.after_write_hooks:
            ahook(rt, kv.value, None, opts)
        return kv.value

    # ---------------------------------------------------------------- update
    def update(
        self,
        rt: ResourceType,
        ns: str | None,
        name: str,
        obj: dict[str, Any],
        opts: WriteOptions,
        subresource: str = "",
    ) -> dict[str, Any]:
        srt = self.storage_type(rt)
        if srt is not rt:
            self._check_type_meta(rt, obj)
            self._check_fields(rt, obj, opts)
            return from_storage(rt, self.update(srt, ns, name, to_storage(rt, obj), opts, subresource))
        self._check_type_meta(rt, obj)
        meta = obj.setdefault("metadata", {})
        if meta.get("name") and meta["name"] != name:
            raise errors.bad_request(
                f"the name of the object ({meta['name']}) does not match the name on the URL ({name})")
        meta["name"] = name
        self._check_namespace(rt, ns, meta)
        self._check_fields(rt, obj, opts)
        key = rt.key(ns, name)
        kv = self.store.get(key)
        if kv is None:
            raise errors.not_found(rt.group, rt.plural, name)
        old = kv.value
        rv = meta.get("resourceVersion")
        if rv and rv != old["metadata"].get("resourceVersion"):
            raise errors.conflict(rt.group, rt.plural, name, errors.STALE_RV)
        try:
            new = self.prepare_update(rt, obj, old, opts, subresource)
            return self._commit_update(rt, key, new, old, kv.mod_revision, opts)
        except BaseException:
            opts.rollback()
            raise

    def prepare_update(self, rt: ResourceType, obj: dict[str, Any], old: dict[str, Any], opts: WriteOptions,
                       subresource: str = "") -> dict[str, Any]:
        """Merge what a client may change through this endpoint onto the old object; default and validate."""
        old_meta = old["metadata"]
        if subresource == "status":
            new = dict(old)
            new["status"] = obj.get("status", {})
            # status writes may not change metadata or spec (the status strategy keeps the old ones)
            new["metadata"] = dict(old_meta)
        elif subresource == "finalize":
            # namespaces/finalize: only spec.finalizers may change (namespace strategy)
            new = dict(old)
            new["metadata"] = dict(old_meta)
            new["spec"] = dict(old.get("spec") or {}, finalizers=list((obj.get("spec") or {}).get("finalizers") or []))
        else:
            new = obj
            new_meta = obj["metadata"]
            if rt.has_status and "status" in old:
                new["status"] = old["status"]
            elif rt.has_status:
                new.pop("status", None)
            for k in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation"):
                if k in old_meta:
                    new_meta[k] = old_meta[k]
                else:
                    new_meta.pop(k, None)
            if new_meta.get("managedFields") is None and "managedFields" in old_meta:
                new_meta["managedFields"] = old_meta["managedFields"]
            if not new_meta.get("generateName") and old_meta.get("generateName"):
                new_meta["generateName"] = old_meta["generateName"]
            apply_defaults(rt, new)
            if rt.kind == "Namespace" and not rt.group:
                # only namespaces/finalize changes spec.finalizers; status is the namespace controller's
                new["spec"] = dict(new.get("spec") or {}, finalizers=(old.get("spec") or {}).get("finalizers") or [])
                new["status"] = old.get("status") or {}
            if strategies.tracks_generation(rt) and strategies.spec_changed(rt, new, old):
                new_meta["generation"] = int(old_meta.get("generation", 1)) + 1
        for hook in self.mutating_hooks:
            hook(rt, new, old, opts)
        if subresource != "status":
            # a status write keeps spec and metadata (see above), so there is nothing of theirs to re-validate;
            # simplified: the status itself is not validated (upstream checks a few status fields)
            self._validate(rt, validate_update(rt, new, old, loopback_endpoints=self.allow_loopback_endpoints), new)
        _record_manager(new, old, opts, self._now_iso(), rt)
        return new

    def _commit_update(self, rt: ResourceType, key: str, new: dict[str, Any], old: dict[str, Any],
                       expected: int, opts: WriteOptions) -> dict[str, Any]:
        if _same_object(new, old):
            return old  # no-op update: no write, no new resourceVersion (as GuaranteedUpdate)
        if opts.dry_run:
            return new
        meta = new["metadata"]
        if meta.get("deletionTimestamp") and not meta.get("finalizers") and not _blocks_removal(rt, new):
            # the last finalizer is gone: the object can now really go
            return self._remove(rt, key, expected)
        try:
            kv = self.store.update(key, new, expected_revision=expected)
        except RevisionMismatch:
            raise errors.conflict(rt.group, rt.plural, meta["name"], errors.STALE_RV) from None
        except KeyNotFound:
            raise errors.not_found(rt.group, rt.plural, meta["name"]) from None
        self._traced("put", rt, kv)
        for ahook in self.after_write_hooks:
            ahook(rt, kv.value, old, opts)
        return kv.value

    def update_with(self, rt: ResourceType, ns: str | None, name: str,
                    mutate: Callable[[dict[str, Any]], dict[str, Any]], opts: WriteOptions,
                    subresource: str = "", retries: int = 5) -> dict[str, Any]:
        """Read-modify-write with retry on conflict (GuaranteedUpdate). ``mutate`` gets the current object and
        returns the requested new one (a fresh dict; it must not change the one it was given)."""
        srt = self.storage_type(rt)
        if srt is not rt:
            def in_storage(cur: dict[str, Any]) -> dict[str, Any]:
                new = mutate(from_storage(rt, cur))
                self._check_type_meta(rt, new)
                return to_storage(rt, new)

            return from_storage(rt, self.update_with(srt, ns, name, in_storage, opts, subresource, retries))
        key = rt.key(ns, name)
        for attempt in range(retries):
            kv = self.store.get(key)
            if kv is None:
                raise errors.not_found(rt.group, rt.plural, name)
            obj = mutate(kv.value)
            if not isinstance(obj, dict):
                raise errors.bad_request("the patch did not produce an object")
            meta = obj.setdefault("metadata", {})
            if meta.get("name", name) != name:
                raise errors.bad_request(
                    f"the name of the object ({meta.get('name')}) does not match the name on the URL ({name})")
            meta["name"] = name
            self._check_type_meta(rt, obj)
            self._check_namespace(rt, ns, meta)
            if subresource not in ("status", "finalize"):
                self._check_fields(rt, obj, opts)
            rv = meta.get("resourceVersion")
            if rv and rv != kv.value["metadata"].get("resourceVersion"):
                raise errors.conflict(rt.group, rt.plural, name, errors.STALE_RV)
            try:
                new = self.prepare_update(rt, obj, kv.value, opts, subresource)
                return self._commit_update(rt, key, new, kv.value, kv.mod_revision, opts)
            except ApiError as e:
                opts.rollback()
                if e.reason == "Conflict" and not rv and attempt < retries - 1:
                    continue
                raise
            except BaseException:
                opts.rollback()
                raise
        raise errors.conflict(rt.group, rt.plural, name, errors.STALE_RV)

    # ---------------------------------------------------------------- delete
    def delete(self, rt: ResourceType, ns: str | None, name: str, options: dict[str, Any],
               dry_run: bool = False) -> tuple[dict[str, Any], bool]:
        """-> (object, gone). ``gone`` is False when the object only got a deletionTimestamp."""
        srt = self.storage_type(rt)
        if srt is not rt:
            out, gone = self.delete(srt, ns, name, options, dry_run)
            return from_storage(rt, out), gone
        key = rt.key(ns, name)
        kv = self.store.get(key)
        if kv is None:
            raise errors.not_found(rt.group, rt.plural, name)
        obj = kv.value
        meta = obj["metadata"]
        pre = options.get("preconditions") or {}
        if pre.get("uid") and pre["uid"] != meta.get("uid"):
            raise errors.conflict(rt.group, rt.plural, name,
                                  f"Precondition failed: UID in precondition: {pre['uid']}, UID in object meta: "
                                  f"{meta.get('uid')}")
        if pre.get("resourceVersion") and pre["resourceVersion"] != meta.get("resourceVersion"):
            raise errors.conflict(rt.group, rt.plural, name,
                                  f"Precondition failed: ResourceVersion in precondition: {pre['resourceVersion']}, "
                                  f"ResourceVersion in object meta: {meta.get('resourceVersion')}")
        finalizers = list(meta.get("finalizers") or [])
        policy = options.get("propagationPolicy")
        if options.get("orphanDependents") is True:
            policy = "Orphan"
        if policy == "Foreground" and "foregroundDeletion" not in finalizers:
            finalizers.append("foregroundDeletion")
        elif policy == "Orphan" and "orphan" not in finalizers:
            finalizers.append("orphan")
        grace = self._grace_period(rt, obj, options)
        if rt.kind == "Namespace" and "kubernetes" in (obj.get("spec", {}).get("finalizers") or []):
            grace = None  # the namespace controller empties it, then finalizes
            graceful = True
        else:
            graceful = bool(finalizers) or (grace is not None and grace > 0)
        if not graceful:
            if dry_run:
                return obj, True
            return self._remove(rt, key, kv.mod_revision), True
        if meta.get("deletionTimestamp"):
            if grace is not None and grace < int(meta.get("deletionGracePeriodSeconds") or 0):
                pass  # shortening an in-progress graceful deletion
            else:
                return obj, False
        new = dict(obj)
        new_meta = dict(meta)
        new["metadata"] = new_meta
        now = self.clock.now()
        new_meta["deletionTimestamp"] = rfc3339(now + _dt.timedelta(seconds=grace or 0))
        new_meta["deletionGracePeriodSeconds"] = int(grace or 0)
        if finalizers != list(meta.get("finalizers") or []):
            new_meta["finalizers"] = finalizers
        if rt.kind == "Namespace":
            new["status"] = dict(obj.get("status") or {}, phase="Terminating")
        if dry_run:
            return new, False
        try:
            kv2 = self.store.update(key, new, expected_revision=kv.mod_revision)
        except RevisionMismatch:
            return self.delete(rt, ns, name, options, dry_run)
        self._traced("put", rt, kv2)
        for ahook in self.after_write_hooks:
            ahook(rt, kv2.value, obj, WriteOptions())
        return kv2.value, False

    def _grace_period(self, rt: ResourceType, obj: dict[str, Any], options: dict[str, Any]) -> int | None:
        if rt.kind != "Pod":
            return None
        g = options.get("gracePeriodSeconds")
        if g is None:
            g = obj.get("spec", {}).get("terminationGracePeriodSeconds", 30)
        # a pod that never reached a node, or has finished, goes at once (as the pod strategy decides)
        if not obj.get("spec", {}).get("nodeName") or obj.get("status", {}).get("phase") in ("Succeeded", "Failed"):
            return 0
        return max(int(g), 0)

    def _remove(self, rt: ResourceType, key: str, expected: int | None) -> dict[str, Any]:
        try:
            kv = self.store.delete(key, expected_revision=expected)
        except KeyNotFound:
            raise errors.not_found(rt.group, rt.plural, key.rsplit("/", 1)[-1]) from None
        except RevisionMismatch:
            raise errors.conflict(rt.group, rt.plural, key.rsplit("/", 1)[-1], errors.STALE_RV) from None
        self._traced("delete", rt, kv)
        for h in self.after_delete_hooks:
            h(rt, kv.value)
        return kv.value

    # ---------------------------------------------------------------- helpers
    def _traced(self, action: str, rt: ResourceType, kv: Any) -> None:
        if self.trace is not None:
            rev = kv.mod_revision
            self.trace.emit("etcd", action, obj=kv.value, kind=rt.kind, revision=rev,
                            message=f"etcd {action} {kv.key} rev {rev}")

    def _now_iso(self) -> str:
        return rfc3339(self.clock.now())

    def _check_type_meta(self, rt: ResourceType, obj: dict[str, Any]) -> None:
        av, kind = obj.get("apiVersion"), obj.get("kind")
        if kind and kind != rt.kind:
            raise errors.bad_request(
                f"the API version in the data ({av}) does not match the expected API version ({rt.api_version})"
                if av and av != rt.api_version else
                f"the kind in the data ({kind}) does not match the expected kind ({rt.kind})")
        if av and av != rt.api_version:
            raise errors.bad_request(
                f"the API version in the data ({av}) does not match the expected API version ({rt.api_version})")
        obj["apiVersion"] = rt.api_version
        obj["kind"] = rt.kind

    def _check_namespace(self, rt: ResourceType, ns: str | None, meta: dict[str, Any]) -> None:
        if rt.namespaced:
            if meta.get("namespace") and ns and meta["namespace"] != ns:
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request")
            meta["namespace"] = ns
        else:
            meta.pop("namespace", None)

    def _check_fields(self, rt: ResourceType, obj: dict[str, Any], opts: WriteOptions) -> None:
        if opts.trusted:
            return
        if rt.custom:
            schema = self.custom_schemas.get((rt.group, rt.version, rt.plural))
            paths = unknown_fields_structural(schema, obj) if schema else []
        else:
            err = decode_error(rt, obj)  # wrong JSON types fail decoding whatever fieldValidation says
            if err is not None:
                raise err
            paths = unknown_fields(rt, obj)
        if not paths:
            return
        if opts.field_validation == "Strict":
            raise strict_error(paths)
        if opts.field_validation != "Ignore":
            opts.warnings.extend(f'unknown field "{p}"' for p in paths)
        prune_paths(obj, paths)

    def _validate(self, rt: ResourceType, errs: builtins.list[FieldError], obj: dict[str, Any]) -> None:
        if errs:
            raise errors.invalid(rt.kind, rt.group, obj.get("metadata", {}).get("name", ""), errs)


def _record_manager(new: dict[str, Any], old: dict[str, Any] | None, opts: WriteOptions, now_iso: str,
                    rt: ResourceType) -> None:
    from kubelab.api.patch import record_update

    if opts.operation == "Apply":
        return
    try:
        updated = record_update(old, new, opts.manager, "Update", api_version=rt.api_version, now_iso=now_iso,
                                rt=rt)
    except Exception:  # managedFields are bookkeeping: never fail a write over them
        log.exception("recording managedFields failed")
        return
    if updated is not new and isinstance(updated, dict):
        new["metadata"] = updated.get("metadata", new["metadata"])


def _same_object(new: dict[str, Any], old: dict[str, Any]) -> bool:
    if new.keys() != old.keys():
        return False
    for k, v in new.items():
        if k == "metadata":
            nm, om = v, old["metadata"]
            skip = ("resourceVersion", "managedFields")
            if {a: b for a, b in nm.items() if a not in skip} != {a: b for a, b in om.items() if a not in skip}:
                return False
        elif v != old[k]:
            return False
    return True


def _blocks_removal(rt: ResourceType, obj: dict[str, Any]) -> bool:
    """Besides metadata.finalizers: a namespace waits for its spec finalizers; a pod being deleted gracefully
    waits for its kubelet (which deletes it again with grace period 0)."""
    if rt.kind == "Namespace":
        return bool((obj.get("spec") or {}).get("finalizers"))
    if rt.kind == "Pod" and not rt.group:
        # a pod in graceful deletion goes only when its kubelet confirms (a delete with grace period 0)
        return int((obj.get("metadata") or {}).get("deletionGracePeriodSeconds") or 0) > 0
    return False


def _key_of(rt: ResourceType, obj: dict[str, Any]) -> str:
    m = obj["metadata"]
    return rt.key(m.get("namespace"), m["name"])


def _encode_continue(key: str, rev: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"v": "meta.k8s.io/v1", "rv": rev, "start": key})).decode()


def _decode_continue(token: str) -> tuple[str, int]:
    try:
        d = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        return str(d["start"]), int(d["rv"])
    except Exception:
        raise errors.bad_request("continue key is not valid: illegal base64 data") from None


def prune_paths(obj: dict[str, Any], paths: list[str]) -> None:
    """Remove unknown fields named by paths like ``spec.containers[0].foo`` (what typed decoding drops)."""
    for p in paths:
        parts: list[str | int] = []
        for seg in p.split("."):
            while "[" in seg:
                head, _, rest = seg.partition("[")
                if head:
                    parts.append(head)
                idx, _, seg = rest.partition("]")
                parts.append(int(idx) if idx.isdigit() else idx)
            if seg:
                parts.append(seg)
        cur: Any = obj
        for part in parts[:-1]:
            try:
                cur = cur[part]
            except (KeyError, IndexError, TypeError):
                cur = None
                break
        if isinstance(cur, dict):
            cur.pop(parts[-1], None)
