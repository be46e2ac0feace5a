"""JSON patch (RFC 6902, ``application/json-patch+json``), as kube-apiserver applies it.

Mirrors the apiserver's patch handler (k8s.io/apiserver/pkg/endpoints/handlers/patch.go ``applyJSPatch``) on top of
the ``jsonpatch`` library (the server uses gopkg.in/evanphx/json-patch.v4):

* a body that does not decode as a list of operation objects is 400 BadRequest (``DecodePatch`` fails);
* more than 10000 operations is 413 RequestEntityTooLarge;
* any failure while applying (a failed ``test``, a missing path, an unknown ``op``, a bad index) is 422 Invalid
  with the generic message "the server rejected our request due to an error in our request": the server builds
  that error with ``NewGenericServerResponse`` and the library's own text is not sent back.

The document is deep-copied before the operations run, so ``current`` is never mutated.

evanphx v4's leniencies that kubectl users meet are kept: ``replace`` of a missing object member adds it, and a
``test`` of ``null`` passes on a missing member. Simplified: negative array indices are not supported (422).
"""

from __future__ import annotations

import copy
from types import MappingProxyType
from typing import Any

import jsonpatch
import jsonpointer

from kubelab.api.errors import ApiError
from kubelab.api.patch._common import bad_request, decode_json, go_type_name, unprocessable

MAX_OPERATIONS = 10000


def parse_json_patch(body: bytes) -> list[dict[str, Any]]:
    try:
        ops = decode_json(body)
    except ValueError as e:
        raise bad_request(str(e)) from None
    if ops is None:  # "null" decodes to an empty patch
        return []
    if not isinstance(ops, list):
        raise bad_request(f"json: cannot unmarshal {_json_kind(ops)} into Go value of type jsonpatch.Patch")
    for op in ops:
        if not isinstance(op, dict):
            raise bad_request(f"json: cannot unmarshal {_json_kind(op)} into Go value of type jsonpatch.Operation")
    if len(ops) > MAX_OPERATIONS:
        raise ApiError(
            413,
            "RequestEntityTooLarge",
            f"Request entity too large: The allowed maximum operations in a JSON patch is {MAX_OPERATIONS}, "
            f"got {len(ops)}",
        )
    return ops


class _Replace(jsonpatch.ReplaceOperation):
    """evanphx v4: replacing a missing member of an object sets it."""

    def _apply(self, obj: Any, journal: Any) -> Any:
        subobj, part = self.pointer.to_last(obj)
        if isinstance(subobj, dict) and part is not None and part not in subobj and "value" in self.operation:
            journal.setitem(subobj, part, copy.deepcopy(self.operation["value"]))
            return obj
        return super()._apply(obj, journal)  # type: ignore[misc]


class _Test(jsonpatch.TestOperation):
    """evanphx v4: a test of null passes when the member is missing."""

    def _apply(self, obj: Any, journal: Any) -> Any:
        if self.operation.get("value", _NO_VALUE) is None:
            try:
                subobj, part = self.pointer.to_last(obj)
            except jsonpointer.JsonPointerException:
                return super()._apply(obj, journal)  # type: ignore[misc]
            if isinstance(subobj, dict) and part is not None and part not in subobj:
                return obj
        return super()._apply(obj, journal)  # type: ignore[misc]


_NO_VALUE = object()


class _KubeJsonPatch(jsonpatch.JsonPatch):
    operations = MappingProxyType({**jsonpatch.JsonPatch.operations, "replace": _Replace, "test": _Test})


def json_patch(current: dict[str, Any], ops: list[dict[str, Any]]) -> Any:
    """Apply decoded operations to a copy of ``current``; returns the resulting document."""
    try:
        patch = _KubeJsonPatch(ops)
        return patch.apply(current, in_place=False)
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException, KeyError, TypeError, ValueError,
            IndexError):
        raise unprocessable() from None


def _json_kind(v: Any) -> str:
    name = go_type_name(v)
    return {
        "map[string]interface {}": "object",
        "[]interface {}": "array",
        "int64": "number",
        "float64": "number",
        "<nil>": "null",
    }.get(name, name)
