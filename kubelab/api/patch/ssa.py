"""Server-side apply and field ownership (``metadata.managedFields``).

Mirrors k8s.io/apimachinery/pkg/util/managedfields (the apiserver's FieldManager chain) on top of
sigs.k8s.io/structured-merge-diff (``merge.Updater``):

* **apply** (``application/apply-patch+yaml``): the applied configuration is merged into the live object (maps key
  by key, associative lists by their keys, sets by value, atomic lists and structs replaced whole); the applier's
  field set becomes exactly the fields of the configuration; fields it applied last time and no longer applies are
  removed unless another manager owns them; a field another manager owns whose value would change is a conflict
  (409, ``Apply failed with N conflict(s): ...``) unless ``force``, which takes it over. Applying to an object with
  no managed fields first records its fields under ``before-first-apply``; the ``kubectl`` manager may take over
  fields recorded in the client-side ``last-applied-configuration`` annotation, and keeps that annotation in sync.
* **update** (create, replace, patch): the fields the write added or changed move to the writer's ``Update`` entry
  (one per manager and apiVersion); removed fields leave every entry.

Entries carry ``manager``, ``operation``, ``apiVersion``, ``time``, ``fieldsType: FieldsV1``, ``fieldsV1`` (see
:mod:`kubelab.api.patch.fieldpath`) and ``subresource`` when not the main resource; they are sorted like the real
server's (Apply before Update, then by time, manager).

Simplified (documented differences from kube-apiserver):

* fields are compared at one apiVersion: entries recorded at another version of the same resource are compared as
  if they were at the current one (no conversion);
* managers are not capped at 10 ``Update`` entries (no ``ancient-changes`` folding);
* the status subresource ignores ``spec`` (and the main resource ignores ``status`` when the kind has a status
  subresource) instead of each strategy's exact reset-field sets;
* custom resources have no schema here: their objects are granular and their lists atomic (the CRD default when no
  ``x-kubernetes-list-type`` is given);
* the ``.`` (self) entries of an update follow Go's zero values through a table of non-pointer struct fields
  (:data:`kubelab.api.patch.facts.ZERO_VALUE_FIELDS`) rather than the real Go types;
* a live list with duplicate or missing keys is treated as atomic (the real server tolerates duplicates per item).
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass, field
from typing import Any

from kubelab.api.errors import ApiError
from kubelab.api.patch._common import bad_request, internal
from kubelab.api.patch.facts import LIST_KEY_DEFAULTS, ZERO_VALUE_FIELDS
from kubelab.api.patch.fieldpath import (
    Path,
    field_el,
    from_fields_v1,
    go_json,
    key_el,
    path_string,
    sort_paths,
    to_fields_v1,
    value_el,
)
from kubelab.api.patch.schema import TypeSchema

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
BEFORE_FIRST_APPLY = "before-first-apply"


class _Absent:
    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()

_STRIPPED: frozenset[Path] = frozenset(
    {("f:apiVersion",), ("f:kind",), ("f:metadata",)}
    | {("f:metadata", field_el(n)) for n in (
        "name", "namespace", "creationTimestamp", "selfLink", "uid", "clusterName", "generation", "managedFields",
        "resourceVersion",
    )}
)


# --- typed walking ---------------------------------------------------------------------------------------------


def _container(v: Any, schema: TypeSchema) -> str | None:
    """"map" or "list" when ``v`` is walked item by item under ``schema``; None when it is a leaf."""
    if schema.kind == "scalar" or schema.atomic:
        return None
    if schema.kind == "list":
        return "list" if isinstance(v, list) and schema.list_type != "atomic" else None
    return "map" if isinstance(v, dict) else None


class _Unkeyable(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _item_el(item: Any, i: int, schema: TypeSchema) -> str:
    if schema.list_type == "set":
        if isinstance(item, dict | list):
            raise _Unkeyable(f"element {i}: expected a scalar in a set")
        return value_el(item)
    if not isinstance(item, dict):
        raise _Unkeyable(f"element {i}: expected a map in an associative list")
    keys: dict[str, Any] = {}
    for k in schema.list_keys:
        if k in item and item[k] is not None:
            keys[k] = item[k]
        elif k in LIST_KEY_DEFAULTS:
            keys[k] = LIST_KEY_DEFAULTS[k]
        else:
            raise _Unkeyable(
                f'element {i}: associative list with keys has an element that omits key field "{k}" '
                "(and doesn't have default value)"
            )
    return key_el(keys)


def _index(lst: list[Any], schema: TypeSchema) -> tuple[list[str], dict[str, Any]]:
    """Path elements of a granular list's items, in order; raises _Unkeyable on missing keys or duplicates."""
    order: list[str] = []
    items: dict[str, Any] = {}
    for i, item in enumerate(lst):
        el = _item_el(item, i, schema)
        if el in items:
            raise _Unkeyable(f"duplicate entries for key {path_string((el,))}")
        order.append(el)
        items[el] = item
    return order, items


def _try_index(lst: Any, schema: TypeSchema) -> tuple[list[str], dict[str, Any]] | None:
    try:
        return _index(lst if isinstance(lst, list) else [], schema)
    except _Unkeyable:
        return None


def json_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict | list) or isinstance(b, dict | list):
        return False
    return bool(a == b)


# --- field sets ------------------------------------------------------------------------------------------------


def field_set(obj: Any, schema: TypeSchema, strict: bool = False) -> set[Path]:
    """ToFieldSet: every leaf, list item and map entry mentioned by ``obj``.

    With ``strict`` (an applied configuration), a list item without its keys or a duplicate key raises _Unkeyable
    carrying the path; otherwise such a list counts as one atomic leaf.
    """
    out: set[Path] = set()
    _field_set(obj, schema, (), out, strict)
    return out


def _field_set(v: Any, schema: TypeSchema, path: Path, out: set[Path], strict: bool) -> None:
    kind = _container(v, schema)
    if kind is None:
        if v is None and schema.kind in ("struct", "map", "list"):
            return
        if path:
            out.add(path)
        return
    if kind == "map":
        for k, x in v.items():
            p = path + (field_el(k),)
            _field_set(x, schema.field(k), p, out, strict)
            if not schema.declares(k):
                out.add(p)
        return
    try:
        order, items = _index(v, schema)
    except _Unkeyable as e:
        if strict:
            raise _Unkeyable(f"{path_string(path)}: {e.message}") from None
        out.add(path)
        return
    item_schema = schema.item()
    for el in order:
        p = path + (el,)
        _field_set(items[el], item_schema, p, out, strict)
        out.add(p)


@dataclass
class Comparison:
    added: set[Path] = field(default_factory=set)
    modified: set[Path] = field(default_factory=set)
    removed: set[Path] = field(default_factory=set)


def compare(lhs: Any, rhs: Any, schema: TypeSchema) -> Comparison:
    """Which fields ``rhs`` added, modified or removed relative to ``lhs`` (structured-merge-diff Compare)."""
    c = Comparison()
    _compare(lhs, rhs, schema, (), c)
    return c


def _zero_value(parent: TypeSchema, name: str) -> Any:
    """The Go zero value of a field present in its parent's zero value, or ABSENT."""
    if parent.kind != "struct":
        return ABSENT
    if (parent.model, name) in ZERO_VALUE_FIELDS or ("*", name) in ZERO_VALUE_FIELDS:
        return None if parent.field(name).kind == "list" else {}
    return ABSENT


def _is_empty(v: Any) -> bool:
    return v is ABSENT or v is None or (isinstance(v, dict | list) and not v)


def _compare(l: Any, r: Any, schema: TypeSchema, path: Path, c: Comparison) -> None:  # noqa: E741
    if l is r and l is not ABSENT:
        return  # the very same subtree (writes share unchanged parts with the stored object): nothing changed
    kl = _container(l, schema) if l is not ABSENT else None
    kr = _container(r, schema) if r is not ABSENT else None
    kind = kl or kr
    if (kind is None or (l is not ABSENT and l is not None and kl != kind)
            or (r is not ABSENT and r is not None and kr != kind) or (_is_empty(l) and _is_empty(r))):
        if l is ABSENT:
            if path:
                c.added.add(path)
        elif r is ABSENT:
            c.removed.add(path)
        elif not json_equal(l, r):
            c.modified.add(path)
        return
    if kind == "map":
        ld = l if isinstance(l, dict) else {}
        rd = r if isinstance(r, dict) else {}
        for k in list(ld) + [k for k in rd if k not in ld]:
            lv, rv = ld.get(k, ABSENT), rd.get(k, ABSENT)
            if lv is ABSENT and isinstance(l, dict):
                lv = _zero_value(schema, k)
            if rv is ABSENT and isinstance(r, dict):
                rv = _zero_value(schema, k)
            _compare(lv, rv, schema.field(k), path + (field_el(k),), c)
    else:
        li, ri = _try_index(l, schema), _try_index(r, schema)
        if li is None or ri is None:
            if not json_equal(l if l is not ABSENT else None, r if r is not ABSENT else None):
                (c.added if l is ABSENT else c.removed if r is ABSENT else c.modified).add(path)
            return
        item_schema = schema.item()
        for el in li[0] + [e for e in ri[0] if e not in li[1]]:
            _compare(li[1].get(el, ABSENT), ri[1].get(el, ABSENT), item_schema, path + (el,), c)
    if path:
        if l is ABSENT:
            c.added.add(path)
        elif r is ABSENT:
            c.removed.add(path)


# --- merging an applied configuration --------------------------------------------------------------------------


def _strip_nulls(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _strip_nulls(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [_strip_nulls(x) for x in v]
    return v


def apply_merge(live: Any, config: Any, schema: TypeSchema) -> Any:
    """Merge an applied configuration into the live object (structured-merge-diff Merge, right side wins)."""
    if config is ABSENT:
        return live
    if config is None:
        return live if schema.kind in ("struct", "map", "list") else ABSENT
    if live is ABSENT or live is None:
        return _strip_nulls(config)
    kind = _container(config, schema)
    if kind is None or _container(live, schema) != kind:
        return _strip_nulls(config)
    if kind == "map":
        out = dict(live)
        for k, cv in config.items():
            m = apply_merge(live.get(k, ABSENT), cv, schema.field(k))
            if m is ABSENT:
                out.pop(k, None)
            else:
                out[k] = m
        return out
    li = _try_index(live, schema)
    ci = _try_index(config, schema)
    if li is None or ci is None:
        return _strip_nulls(config)
    return _merge_list_items(li, ci, schema.item())


def _merge_list_items(
    lhs: tuple[list[str], dict[str, Any]], rhs: tuple[list[str], dict[str, Any]], item_schema: TypeSchema
) -> list[Any]:
    """Items of the configuration in its order; live-only items stay where they were relative to them."""
    l_order, l_items = lhs
    r_order, r_items = rhs
    shared = [el for el in r_order if el in l_items]
    next_shared = 0
    out: list[Any] = []

    def emit(el: str) -> None:
        m = apply_merge(l_items.get(el, ABSENT), r_items.get(el, ABSENT), item_schema)
        if m is not ABSENT:
            out.append(m)

    li = ri = 0
    while li < len(l_order) or ri < len(r_order):
        progressed = False
        if li < len(l_order) and ri < len(r_order):
            el = l_order[li]
            if el == r_order[ri]:
                emit(el)
                li += 1
                ri += 1
                next_shared += 1
                continue
            if el in r_items and next_shared < len(shared) and shared[next_shared] != el:
                li += 1
                continue
        if li < len(l_order) and l_order[li] not in r_items:
            emit(l_order[li])
            li += 1
            continue
        if ri < len(r_order):
            el = r_order[ri]
            emit(el)
            ri += 1
            if next_shared < len(shared) and shared[next_shared] == el:
                next_shared += 1
            progressed = True
        if not progressed:
            li += 1  # a live item the configuration already placed
    return out


# --- removing fields -------------------------------------------------------------------------------------------


def remove_paths(obj: dict[str, Any], paths: set[Path], schema: TypeSchema) -> dict[str, Any]:
    """A copy of ``obj`` without the nodes at ``paths``; maps and lists left empty by a removal go too."""
    out = obj
    for p in sorted(paths, key=len):
        if any(p[:n] in paths for n in range(1, len(p))):
            continue  # an ancestor is removed already
        out, _ = _remove(out, p, schema)
    return out


def _remove(v: Any, path: Path, schema: TypeSchema) -> tuple[Any, bool]:
    """Returns (new value, became empty)."""
    el, rest = path[0], path[1:]
    if isinstance(v, dict) and el.startswith("f:"):
        name = el[2:]
        if name not in v:
            return v, False
        out = dict(v)
        if rest:
            child, emptied = _remove(v[name], rest, schema.field(name))
            if emptied:
                del out[name]
            else:
                out[name] = child
        else:
            del out[name]
        return out, not out and schema.kind == "map"
    if isinstance(v, list):
        item_schema = schema.item()
        for i, item in enumerate(v):
            try:
                if _item_el(item, i, schema) != el:
                    continue
            except _Unkeyable:
                continue
            new = list(v)
            if rest:
                child, _ = _remove(item, rest, item_schema)
                new[i] = child
            else:
                del new[i]
            return new, not new
    return v, False


# --- managed fields entries ------------------------------------------------------------------------------------


@dataclass
class Entry:
    manager: str
    operation: str
    api_version: str
    time: str | None
    fields: set[Path]
    subresource: str = ""

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.manager, self.operation, "" if self.operation == "Apply" else self.api_version,
                self.subresource)

    def describe(self) -> str:
        """printManager: how a conflict names this manager."""
        s = json.dumps(self.manager)
        if self.subresource:
            s += f" with subresource {json.dumps(self.subresource)}"
        if self.operation == "Update":
            s += f" using {self.api_version}"
        return s


Managers = dict[tuple[str, str, str, str], Entry]


class _BadManagedFields(Exception):
    pass


def decode_managed(obj: dict[str, Any] | None) -> Managers:
    """The entries of ``metadata.managedFields``; raises _BadManagedFields when one is malformed."""
    raw = ((obj or {}).get("metadata") or {}).get("managedFields")
    out: Managers = {}
    if not raw:
        return out
    if not isinstance(raw, list):
        raise _BadManagedFields("managedFields must be a list")
    for e in raw:
        if not isinstance(e, dict) or e.get("operation") not in ("Apply", "Update") or not e.get("apiVersion"):
            raise _BadManagedFields("malformed entry")
        if e.get("fieldsType") != "FieldsV1":
            raise _BadManagedFields("invalid fieldsType")
        entry = Entry(str(e.get("manager", "")), e["operation"], str(e["apiVersion"]), e.get("time"),
                      from_fields_v1(e.get("fieldsV1") or {}), str(e.get("subresource") or ""))
        out[entry.key] = entry
    return out


def _is_reset(obj: dict[str, Any]) -> bool:
    """managedFields: [{}] clears managed fields."""
    raw = (obj.get("metadata") or {}).get("managedFields")
    return isinstance(raw, list) and len(raw) == 1 and raw[0] == {}


def _epoch(t: str | None) -> int:
    if not t:
        return 0
    try:
        return int(_dt.datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return 0


def encode_managed(managers: Managers) -> list[dict[str, Any]]:
    entries = sorted(
        (e for e in managers.values() if e.fields),
        key=lambda e: (e.operation, _epoch(e.time), e.manager, e.api_version, e.subresource),
    )
    out = []
    for e in entries:
        d: dict[str, Any] = {"manager": e.manager, "operation": e.operation, "apiVersion": e.api_version}
        if e.time:
            d["time"] = e.time
        d["fieldsType"] = "FieldsV1"
        d["fieldsV1"] = to_fields_v1(e.fields)
        if e.subresource:
            d["subresource"] = e.subresource
        out.append(d)
    return out


def with_managed(obj: dict[str, Any], managers: Managers) -> dict[str, Any]:
    out = dict(obj)
    md = dict(out.get("metadata") or {})
    encoded = encode_managed(managers)
    if encoded:
        md["managedFields"] = encoded
    else:
        md.pop("managedFields", None)
    out["metadata"] = md
    return out


# --- the operations --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """What a write covers: its schema, version, subresource and which paths are not tracked."""

    schema: TypeSchema
    api_version: str
    subresource: str = ""
    ignore_status: bool = True

    def tracked(self, paths: set[Path]) -> set[Path]:
        out = set()
        for p in paths:
            if p in _STRIPPED:
                continue
            if self.subresource == "status":
                if p[0] == "f:spec":
                    continue
            elif self.ignore_status and p[0] == "f:status":
                continue
            out.add(p)
        return out


def _without_managed(obj: dict[str, Any]) -> dict[str, Any]:
    md = obj.get("metadata")
    if isinstance(md, dict) and "managedFields" in md:
        obj = dict(obj)
        obj["metadata"] = {k: v for k, v in md.items() if k != "managedFields"}
    return obj


_CREATED: dict[tuple[str, str, Any], Comparison] = {}


def _created(new: dict[str, Any], schema: TypeSchema) -> Comparison:
    """compare({}, new): every field a create sets. Objects made from one template (a ReplicaSet's pods, a
    kubelet's events) have the same shape, so the comparison is kept per shape: values only matter inside
    lists (merge keys, set members), so only there do they take part in the shape."""
    key = (schema.kind, schema.model, _shape(new, False))
    hit = _CREATED.get(key)
    if hit is None:
        if len(_CREATED) > 2048:
            _CREATED.clear()
        hit = _CREATED[key] = compare({}, new, schema)
    return Comparison(set(hit.added), set(hit.modified), set(hit.removed))


def _shape(v: Any, in_list: bool) -> Any:
    if isinstance(v, dict):
        return tuple((k, _shape(x, in_list)) for k, x in v.items())
    if isinstance(v, list):
        return ("[", tuple(_shape(x, True) for x in v))
    if in_list:
        return (type(v), v)
    return type(v) if v is not None and v != "" and v != 0 else (type(v), v)


def update_managers(
    live: dict[str, Any] | None, new: dict[str, Any], managers: Managers, manager: str, operation: str,
    scope: Scope, now_iso: str,
) -> Managers:
    """Give ``manager`` the fields ``new`` added or changed relative to ``live``; drop removed fields everywhere."""
    if live is None:
        c = _created(_without_managed(new), scope.schema)
    else:
        c = compare(_without_managed(live), _without_managed(new), scope.schema)
    changed = scope.tracked(c.added | c.modified)
    removed = scope.tracked(c.removed)
    out: Managers = {}
    for key, e in managers.items():
        fields = e.fields - changed - removed
        if fields:
            out[key] = Entry(e.manager, e.operation, e.api_version, e.time, fields, e.subresource)
    if changed:
        mine = Entry(manager, operation, scope.api_version, now_iso, set(changed), scope.subresource)
        prev = out.get(mine.key)
        if prev is not None:
            mine.fields |= prev.fields
        out[mine.key] = mine
    return out


def record_update_managed(
    current: dict[str, Any] | None, new: dict[str, Any], manager: str, operation: str, scope: Scope, now_iso: str,
) -> dict[str, Any]:
    if _is_reset(new):
        managers: Managers = {}
    else:
        try:
            managers = decode_managed(new)
        except _BadManagedFields:
            managers = {}
        if not managers:
            try:
                managers = decode_managed(current)
            except _BadManagedFields:
                managers = {}
    managers = update_managers(current, new, managers, manager, operation, scope, now_iso)
    return with_managed(new, managers)


def _gvk(scope: Scope, kind: str) -> str:
    group, _, version = scope.api_version.rpartition("/")
    return f"{group}/{version}, Kind={kind}"


def server_side_apply(
    current: dict[str, Any] | None, config: Any, kind: str, manager: str, force: bool, scope: Scope, now_iso: str,
) -> dict[str, Any]:
    """Apply ``config`` as ``manager``; returns the object to store (to create when ``current`` is None)."""
    if not isinstance(config, dict):
        config = {}
    patch_version = str(config.get("apiVersion") or "")
    if patch_version != scope.api_version:
        raise bad_request(
            "Incorrect version specified in apply patch. "
            f"Specified patch version: {patch_version}, expected: {scope.api_version}"
        )
    if config.get("kind") != kind:
        got = config.get("kind") or ""
        raise internal(
            f"failed to create typed patch object ({patch_version}, Kind={got}): "
            f"no corresponding type for {patch_version}, Kind={got}"
        )
    if isinstance(config.get("metadata"), dict) and config["metadata"].get("managedFields") is not None:
        raise bad_request("metadata.managedFields must be nil")

    schema = scope.schema
    try:
        applied = scope.tracked(field_set(config, schema, strict=True))
    except _Unkeyable as e:
        raise internal(f"failed to create typed patch object ({_gvk(scope, kind)}): {e.message}") from None

    live: dict[str, Any] = current if current is not None else {}
    try:
        managers = decode_managed(live)
    except _BadManagedFields as e:
        raise internal(f"failed to decode managed fields: {e}") from None
    if current is not None and not managers:
        managers = update_managers({}, live, managers, BEFORE_FIRST_APPLY, "Update", scope, now_iso)

    me = Entry(manager, "Apply", scope.api_version, None, applied, scope.subresource)
    last = managers.get(me.key)
    live_plain = _without_managed(live)
    merged = apply_merge(live_plain, config, schema)
    if not isinstance(merged, dict):
        merged = {}

    others = [m for k, m in managers.items() if k != me.key]
    if last is not None:
        owned = applied.union(*(m.fields for m in others))
        merged = remove_paths(merged, _prunable(last.fields - applied, owned), schema)

    c = compare(live_plain, merged, schema)
    changed = scope.tracked(c.added | c.modified)
    removed = scope.tracked(c.removed)
    conflicts = {m.key: m.fields & changed for m in others if m.fields & changed}
    if conflicts and not force and manager == "kubectl":
        allowed = _allowed_by_last_applied(live_plain, schema)
        conflicts = {k: s - allowed for k, s in conflicts.items() if s - allowed}
        force = not conflicts
    if conflicts and not force:
        raise _conflict_error([(managers[k], p) for k, s in conflicts.items() for p in sort_paths(s)])

    out: Managers = {}
    for key, entry in managers.items():
        if key == me.key:
            continue
        fields = entry.fields - changed - removed if force else entry.fields - removed
        if fields:
            out[key] = Entry(entry.manager, entry.operation, entry.api_version, entry.time, fields,
                             entry.subresource)
    content_changed = not json_equal(live_plain, merged)
    me.time = now_iso if content_changed else (last.time if last else None)
    out[me.key] = me

    if manager == "kubectl":
        merged = _sync_last_applied(merged, config)
    return with_managed(merged, out)


def _prunable(candidates: set[Path], owned: set[Path]) -> set[Path]:
    """Fields the applier dropped that nobody else owns; a named field with owned fields below it stays."""
    out = set()
    for p in candidates:
        if p in owned:
            continue
        if p[-1].startswith("f:") and any(len(o) > len(p) and o[: len(p)] == p for o in owned):
            continue
        out.add(p)
    return out


def _allowed_by_last_applied(live: dict[str, Any], schema: TypeSchema) -> set[Path]:
    """Fields kubectl's client-side apply recorded and whose live value still matches (lastAppliedManager)."""
    annotations = (live.get("metadata") or {}).get("annotations") or {}
    raw = annotations.get(LAST_APPLIED)
    if not raw:
        return set()
    try:
        last = json.loads(raw)
    except ValueError:
        return set()
    if not isinstance(last, dict):
        return set()
    fields = field_set(last, schema)
    c = compare(last, live, schema)
    return fields - c.modified


def _sync_last_applied(obj: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """lastAppliedUpdater: kubectl's server-side apply keeps an existing last-applied annotation current."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    if LAST_APPLIED not in annotations:
        return obj
    cfg = dict(config)
    cmeta = dict(cfg.get("metadata") or {})
    cann = {k: v for k, v in (cmeta.get("annotations") or {}).items() if k != LAST_APPLIED}
    if "annotations" in cmeta:
        cmeta["annotations"] = cann
    cfg["metadata"] = cmeta
    out = dict(obj)
    md = dict(out["metadata"])
    md["annotations"] = {**annotations, LAST_APPLIED: go_json(cfg) + "\n"}
    out["metadata"] = md
    return out


def _conflict_error(conflicts: list[tuple[Entry, Path]]) -> ApiError:
    causes = [
        {"reason": "FieldManagerConflict", "message": f"conflict with {m.describe()}", "field": path_string(p)}
        for m, p in conflicts
    ]
    if len(conflicts) == 1:
        only, p = conflicts[0]
        message = f"Apply failed with 1 conflict: conflict with {only.describe()}: {path_string(p)}"
    else:
        by_manager: dict[str, list[Path]] = {}
        for m, p in conflicts:
            by_manager.setdefault(m.describe(), []).append(p)
        lines = []
        for name in sorted(by_manager):
            lines.append(f"conflicts with {name}:")
            lines.extend(f"- {path_string(p)}" for p in by_manager[name])
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return ApiError(409, "Conflict", message, {"causes": causes})
