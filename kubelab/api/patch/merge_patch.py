"""JSON merge patch (RFC 7386, ``application/merge-patch+json``), as kube-apiserver applies it.

Mirrors ``jsonpatch.MergePatch`` of gopkg.in/evanphx/json-patch.v4, which the apiserver's patch handler uses
(k8s.io/apiserver/pkg/endpoints/handlers/patch.go): objects merge key by key, ``null`` deletes a key, anything else
(lists included) replaces; nulls inside replacing objects are pruned. A ``null`` patch is rejected with 400
"Invalid JSON Patch"; a non-object patch replaces the whole document (which the caller then finds is not an object).

Copy-on-write: only the maps on the path of a change are copied; ``current`` is never mutated and untouched
subtrees are shared with it.
"""

from __future__ import annotations

from typing import Any

from kubelab.api.patch._common import bad_request, decode_json

ERR_BAD_PATCH = "Invalid JSON Patch"


def parse_merge_patch(body: bytes) -> Any:
    try:
        return decode_json(body)
    except ValueError:
        raise bad_request(ERR_BAD_PATCH) from None


def merge_patch(current: dict[str, Any], patch: Any) -> Any:
    """Apply a decoded merge patch to ``current``; returns the new document (a dict unless the patch is not one)."""
    if patch is None:
        raise bad_request(ERR_BAD_PATCH)
    if isinstance(patch, list):
        return [_pruned(v) for v in patch]
    if not isinstance(patch, dict):
        raise bad_request(ERR_BAD_PATCH)
    return _merge_docs(current, patch)


def _merge_docs(doc: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    out = dict(doc)
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
            continue
        cur = out.get(k)
        if cur is None:
            out[k] = _pruned(v)
        elif isinstance(cur, dict):
            out[k] = _merge_docs(cur, v) if isinstance(v, dict) else v
        else:
            out[k] = _pruned(v)
    return out


def _pruned(v: Any) -> Any:
    """pruneNulls: drop null members of objects, recursively (null list elements stay)."""
    if isinstance(v, dict):
        return {k: _pruned(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [_pruned(x) for x in v]
    return v
