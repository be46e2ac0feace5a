"""Strategic merge patch, as kube-apiserver applies it (``application/strategic-merge-patch+json``).

Mirrors k8s.io/apimachinery/pkg/util/strategicpatch/patch.go ``StrategicMergeMapPatch`` with the server-side options
(``MergeParallelList`` and ``IgnoreUnmatchedNulls`` on), and the error mapping of the apiserver's patch handler
(``interpretStrategicMergePatchError``: malformed directives are 400, lists of lists 422, anything else 500):

* maps merge key by key; ``key: null`` deletes; ``$patch: replace`` replaces the map, ``$patch: delete`` empties it;
* ``$retainKeys: [...]`` drops every key of the live map not listed (and every patch key must be listed);
* lists with ``patchStrategy: merge`` merge items by their merge key (items of the patch first take their place
  among the live ones), primitive merge lists are unioned; every other list is replaced;
* list items may carry ``$patch: delete`` (drop the live item with that key) or ``$patch: replace`` (the patch
  list, minus directives, replaces the live list);
* ``$deleteFromPrimitiveList/<field>: [...]`` removes values from a primitive merge list;
* ``$setElementOrder/<field>: [...]`` gives the order of the resulting list (kubectl sends it with every 3-way
  patch), with live-only items kept in their relative live positions.

The merge facts (strategy, key) come from :mod:`kubelab.api.patch.facts` through :mod:`kubelab.api.patch.schema`.
``current`` is never mutated: every changed map and list on the path of a change is a new object.

Simplified: the typed round trip the real server does after patching (decoding into the Go struct) is only
imitated for content coming from the patch (nulls and leftover ``$`` directive keys are dropped); unknown fields are
kept for the caller's validation. A field whose Go type is not known (free JSON) merges like a map.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kubelab.api.errors import ApiError
from kubelab.api.patch._common import bad_request, go_fmt, go_type_name, internal, same_kind
from kubelab.api.patch.schema import ANY, TypeSchema

DIRECTIVE = "$patch"
RETAIN_KEYS = "$retainKeys"
DELETE_PRIMITIVE = "$deleteFromPrimitiveList"
SET_ORDER = "$setElementOrder"

ERR_RETAIN_KEYS = "invalid patch format of retainKeys"
ERR_PRIMITIVE_LIST = "invalid patch format of primitive list"
ERR_SET_ORDER = "invalid patch format of setElementOrder list"
ERR_LIST_OF_LISTS = "lists of lists are not supported"


def strategic_merge(current: dict[str, Any], patch: dict[str, Any], schema: TypeSchema) -> dict[str, Any]:
    """Apply strategic merge ``patch`` to ``current`` (of type ``schema``) and return the new object."""
    return _merge_map(current, patch, schema)


# --- errors ----------------------------------------------------------------------------------------------------


def _no_merge_key(m: dict[str, Any], key: str) -> ApiError:
    return internal(f"map: {go_fmt(m)} does not contain declared merge key: {key}")


def _bad_arg_type(expected: str, actual: Any) -> ApiError:
    return internal(f"expected a {expected}, but received a {go_type_name(actual)}")


def _bad_patch_type(directive: Any, m: dict[str, Any]) -> ApiError:
    return internal(f"unknown patch type: {go_fmt(directive)} in map: {go_fmt(m)}")


# --- Go value semantics ----------------------------------------------------------------------------------------


def _go_eq(a: Any, b: Any) -> bool:
    """Go's == on two decoded JSON scalars held in interface{} (type and value must match)."""
    return go_type_name(a) == go_type_name(b) and a == b


def _element_kind(*lists: list[Any]) -> str:
    """sliceElementType: "map" or "scalar"; every element must share one Go type, and not be a list."""
    first: Any = _MISSING
    for lst in lists:
        for v in lst:
            if first is _MISSING:
                first = v
                if isinstance(v, list):
                    raise ApiError(422, "Invalid", ERR_LIST_OF_LISTS)
            elif not same_kind(first, v):
                raise internal(f"list element types are not identical: {go_fmt(list(lists))}")
    if first is _MISSING:
        raise internal("no elements in any of the given slices")
    return "map" if isinstance(first, dict) else "scalar"


_MISSING = object()


def _extract_key(key: str, prefix: str) -> str:
    head, sep, rest = key.partition("/")
    if not sep or head != prefix:
        raise bad_request(ERR_PRIMITIVE_LIST if prefix == DELETE_PRIMITIVE else ERR_SET_ORDER)
    return rest


# --- content coming from the patch -----------------------------------------------------------------------------


def _new_value(v: Any, schema: TypeSchema, drop_directive_maps: bool = True) -> tuple[Any, bool]:
    """Content taken from the patch as is: drop nulls, maps carrying ``$patch`` (when ``drop_directive_maps``, like
    removeDirectives) and leftover ``$`` keys, as the typed round trip would. Returns (value, keep)."""
    if isinstance(v, dict):
        if drop_directive_maps and DIRECTIVE in v:
            return None, False
        typed = schema.kind != "any"
        out: dict[str, Any] = {}
        for k, x in v.items():
            if x is None or (typed and k.startswith("$")):
                continue
            nv, keep = _new_value(x, schema.field(k), drop_directive_maps)
            if keep:
                out[k] = nv
        return out, True
    if isinstance(v, list):
        item = schema.item()
        res = []
        for x in v:
            nv, keep = _new_value(x, item, drop_directive_maps)
            if keep:
                res.append(nv)
        return res, True
    return v, True


# --- maps ------------------------------------------------------------------------------------------------------


def _merge_map(original: dict[str, Any] | None, patch: dict[str, Any], schema: TypeSchema) -> dict[str, Any]:
    if DIRECTIVE in patch:
        directive = patch[DIRECTIVE]
        if directive == "replace":
            replaced, _ = _new_value({k: v for k, v in patch.items() if k != DIRECTIVE}, schema, False)
            return replaced  # type: ignore[no-any-return]
        if directive == "delete":
            return {}
        raise _bad_patch_type(directive, patch)

    out: dict[str, Any] = dict(original) if original else {}
    rest = dict(patch)
    if RETAIN_KEYS in rest:
        _apply_retain_keys(out, rest)
    _merge_set_element_orders(out, rest, schema)

    for key, pv in rest.items():
        k = key
        is_delete_list = False
        if key.startswith(DELETE_PRIMITIVE):
            k = _extract_key(key, DELETE_PRIMITIVE)
            is_delete_list = True
        elif key.startswith("$") and schema.kind == "struct":
            continue  # an unknown directive: the typed round trip would drop it

        if pv is None:
            out.pop(k, None)
            continue
        fs = schema.field(k)
        if k not in out or not same_kind(out[k], pv):
            if not is_delete_list:
                nv, keep = _new_value(pv, fs)
                if keep:
                    out[k] = nv
                else:
                    out.pop(k, None)
            continue
        ov = out[k]
        if isinstance(ov, dict):
            out[k] = _merge_map(ov, pv, fs)
        elif isinstance(ov, list):
            out[k] = _merge_slice_handler(ov, pv, fs, is_delete_list)
        else:
            out[k] = pv
    return out


def _apply_retain_keys(out: dict[str, Any], patch: dict[str, Any]) -> None:
    retain = patch.pop(RETAIN_KEYS)
    if not isinstance(retain, list):
        raise bad_request(ERR_RETAIN_KEYS)
    keep = {v for v in retain if isinstance(v, str)}
    for k, v in patch.items():
        if v is None or k.startswith(DELETE_PRIMITIVE) or k.startswith(SET_ORDER):
            continue
        if k not in keep:
            raise bad_request(ERR_RETAIN_KEYS)
    for k in [k for k in out if k not in keep]:
        del out[k]


def _merge_set_element_orders(out: dict[str, Any], patch: dict[str, Any], schema: TypeSchema) -> None:
    """mergePatchIntoOriginal: merge each list that has a $setElementOrder, then put it in that order."""
    for key in [k for k in patch if k.startswith(SET_ORDER)]:
        order = patch.pop(key)
        if not isinstance(order, list):
            raise _bad_arg_type("[]interface {}", order)
        field = _extract_key(key, SET_ORDER)
        has_orig, has_patch = field in out, field in patch
        orig_list, patch_list = out.get(field), patch.get(field)
        if has_orig and not isinstance(orig_list, list):
            raise _bad_arg_type("[]interface {}", orig_list)
        if has_patch and not isinstance(patch_list, list):
            raise _bad_arg_type("[]interface {}", patch_list)
        fs = schema.field(field)
        merge_key = fs.merge_key
        _validate_set_order(patch_list or [], order, merge_key)

        if has_orig and not has_patch:
            merged: list[Any] = orig_list  # type: ignore[assignment]
        elif has_patch and not has_orig:
            merged = _new_value(patch_list, fs)[0]
        elif has_orig and has_patch:
            merged = _merge_slice_handler(orig_list, patch_list, fs, False)  # type: ignore[arg-type]
        else:
            continue
        patch_items, server_only = _partition(merged, order, merge_key)
        kind = _element_kind(orig_list or [], patch_list or [])
        out[field] = _normalize_element_order(patch_items, server_only, order, orig_list or [], merge_key, kind)
        patch.pop(field, None)


def _validate_set_order(patch_list: list[Any], order: list[Any], merge_key: str) -> None:
    """The patch list's items must appear in the $setElementOrder list, in the same relative order."""
    if not order or not patch_list:
        return
    items = patch_list
    if merge_key:
        for v in patch_list:
            if not isinstance(v, dict):
                raise _bad_arg_type("map[string]interface {}", v)
        items = [v for v in patch_list if v.get(DIRECTIVE) != "delete"]
    pi = si = 0
    while pi < len(items) and si < len(order):
        if isinstance(items[pi], dict) and DIRECTIVE in items[pi]:
            pi += 1
            continue
        if _merge_key_equal(items[pi], order[si], merge_key):
            pi += 1
        si += 1
    if pi < len(items) and si >= len(order):
        raise internal(
            f"the order in patch list:\n{go_fmt(patch_list)}\n doesn't match {SET_ORDER} list:\n{go_fmt(order)}"
        )


def _merge_key_equal(left: Any, right: Any, merge_key: str) -> bool:
    if not merge_key:
        return _go_eq(left, right)
    for side in (left, right):
        if not isinstance(side, dict):
            raise _bad_arg_type("map[string]interface {}", side)
        if merge_key not in side:
            raise _no_merge_key(side, merge_key)
    return _go_eq(left[merge_key], right[merge_key])


# --- lists -----------------------------------------------------------------------------------------------------


def _merge_slice_handler(orig: list[Any], patch: list[Any], schema: TypeSchema, is_delete_list: bool) -> list[Any]:
    if schema.patch_strategy == "merge" or is_delete_list:
        return _merge_slice(orig, patch, schema, schema.merge_key, is_delete_list)
    return _new_value(patch, schema, False)[0]  # type: ignore[no-any-return]


def _merge_slice(
    orig: list[Any], patch: list[Any], schema: TypeSchema, merge_key: str, is_delete_list: bool
) -> list[Any]:
    if not orig and not patch:
        return orig
    kind = _element_kind(orig, patch)
    if kind != "map":
        if is_delete_list:
            return [v for v in orig if not any(_go_eq(v, d) for d in patch)]
        merged = _dedupe(orig + patch)
    else:
        if not merge_key:
            raise internal(f"cannot merge lists without merge key for {schema.item().model or 'list'}")
        orig, patch = _merge_special_elements(orig, patch, merge_key)
        merged = _merge_items(orig, patch, merge_key, schema.item())
    patch_items, server_only = _partition(merged, patch, merge_key)
    return _normalize_element_order(patch_items, server_only, patch, orig, merge_key, kind)


def _dedupe(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if not any(_go_eq(v, o) for o in out):
            out.append(v)
    return out


def _merge_special_elements(orig: list[Any], patch: list[Any], merge_key: str) -> tuple[list[Any], list[Any]]:
    """Handle list items carrying $patch: delete drops the live items with that key, replace takes the patch."""
    plain: list[Any] = []
    replace = False
    for v in patch:
        if DIRECTIVE not in v:
            plain.append(v)
            continue
        directive = v[DIRECTIVE]
        if directive == "delete":
            if merge_key not in v:
                raise _no_merge_key(v, merge_key)
            orig = [o for o in orig if not _item_has_key(o, merge_key, v[merge_key])]
        elif directive == "replace":
            replace = True
        elif directive == "merge":
            raise internal("merging lists cannot yet be specified in the patch")
        else:
            raise _bad_patch_type(directive, v)
    if replace:
        return plain, []
    return orig, plain


def _item_has_key(item: Any, merge_key: str, value: Any) -> bool:
    if not isinstance(item, dict):
        raise internal("value for key is not a map")
    return merge_key in item and _go_eq(item[merge_key], value)


def _merge_items(orig: list[Any], patch: list[Any], merge_key: str, item_schema: TypeSchema) -> list[Any]:
    out = list(orig)
    for v in patch:
        if merge_key not in v:
            raise _no_merge_key(v, merge_key)
        for i, o in enumerate(out):
            if _item_has_key(o, merge_key, v[merge_key]):
                out[i] = _merge_map(o, v, item_schema)
                break
        else:
            out.append(_new_value(v, item_schema, False)[0])
    return out


def _partition(merged: list[Any], by: list[Any], merge_key: str) -> tuple[list[Any], list[Any]]:
    """Split into (items present in ``by``, the others), keeping order."""
    present: list[Any] = []
    other: list[Any] = []
    for v in merged:
        if merge_key:
            if not isinstance(v, dict):
                raise _bad_arg_type("map[string]interface {}", v)
            if merge_key not in v:
                raise _no_merge_key(v, merge_key)
            found = any(_item_has_key(b, merge_key, v[merge_key]) for b in by)
        else:
            if isinstance(v, dict | list):
                raise internal("runtime error: hash of unhashable type map[string]interface {}")
            found = any(_go_eq(v, b) for b in by)
        (present if found else other).append(v)
    return present, other


def _index_fn(order: list[Any], merge_key: str, kind: str) -> Callable[[Any], int]:
    def value(item: Any) -> Any:
        if kind == "map":
            return item.get(merge_key) if isinstance(item, dict) else None
        return item

    values = [value(o) for o in order]

    def index(item: Any) -> int:
        target = value(item)
        for i, v in enumerate(values):
            if _go_eq(target, v):
                return i
        return -1

    return index


def _normalize_slice_order(to_sort: list[Any], order: list[Any], merge_key: str, kind: str) -> list[Any]:
    """Sort ``to_sort`` by position in ``order`` (Go's stable sort with its permissive comparator)."""
    to_delete: list[Any] = []
    if kind == "map":
        for lst in (to_sort, order):
            for v in lst:
                if not isinstance(v, dict):
                    raise _bad_arg_type("map[string]interface {}", v)
                if merge_key not in v:
                    raise _no_merge_key(v, merge_key)
        to_delete = [v for v in to_sort if v.get(DIRECTIVE) == "delete"]
        to_sort = [v for v in to_sort if v.get(DIRECTIVE) != "delete"]
    index = _index_fn(order, merge_key, kind)
    keyed = [(index(v), v) for v in to_sort]

    def less(a: int, b: int) -> bool:
        return a < b if a >= 0 and b >= 0 else True

    # Go's sort.SliceStable is an insertion sort for short slices; it matters only when an item is not in order.
    for i in range(1, len(keyed)):
        j = i
        while j > 0 and less(keyed[j][0], keyed[j - 1][0]):
            keyed[j], keyed[j - 1] = keyed[j - 1], keyed[j]
            j -= 1
    return [v for _, v in keyed] + to_delete


def _normalize_element_order(
    patch_items: list[Any],
    server_only: list[Any],
    patch_order: list[Any],
    server_order: list[Any],
    merge_key: str,
    kind: str,
) -> list[Any]:
    """Patch items in patch order, live-only items in live order, interleaved by their live positions."""
    patch_items = _normalize_slice_order(patch_items, patch_order, merge_key, kind)
    server_only = _normalize_slice_order(server_only, server_order, merge_key, kind)
    index = _index_fn(server_order, merge_key, kind)
    out: list[Any] = []
    i = j = 0
    while i < len(server_only) or j < len(patch_items):
        if i >= len(server_only):
            out.append(patch_items[j])
            j += 1
        elif j >= len(patch_items):
            out.append(server_only[i])
            i += 1
        else:
            li, ri = index(server_only[i]), index(patch_items[j])
            if li >= 0 and ri >= 0 and li < ri:
                out.append(server_only[i])
                i += 1
            else:
                out.append(patch_items[j])
                j += 1
    return out


__all__ = ["strategic_merge", "ANY"]
