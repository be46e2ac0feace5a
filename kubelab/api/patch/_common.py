"""Helpers shared by the patch types: JSON decoding with Go-like error text, Go ``%v`` formatting, error shapes.

Mirrors the error texts of k8s.io/apimachinery (``util/mergepatch/errors.go``, ``api/errors``) and of Go's
``encoding/json`` closely enough for the messages kubectl prints to read like the real ones.
"""

from __future__ import annotations

import json
from typing import Any

from kubelab.api.errors import ApiError

GENERIC_422 = "the server rejected our request due to an error in our request"


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def internal(message: str) -> ApiError:
    """A plain Go error surfacing from the handler: kube-apiserver answers 500 with no reason."""
    return ApiError(500, "", message)


def unprocessable(message: str = GENERIC_422) -> ApiError:
    """NewGenericServerResponse(422, ...): reason Invalid, the generic message (the detail is not sent)."""
    return ApiError(422, "Invalid", message)


def decode_json(body: bytes) -> Any:
    """Parse JSON; raise ValueError with Go encoding/json's wording on failure."""
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes | bytearray) else str(body)
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        if e.pos >= len(text.rstrip()):
            raise ValueError("unexpected end of JSON input") from None
        where = {
            "Expecting property name enclosed in double quotes": "looking for beginning of object key string",
            "Expecting ',' delimiter": "after object key:value pair",
            "Expecting ':' delimiter": "after object key",
            "Extra data": "after top-level value",
        }.get(e.msg, "looking for beginning of value")
        raise ValueError(f"invalid character {_go_quote_char(text[e.pos])} {where}") from None


def _go_quote_char(ch: str) -> str:
    if ch == "'":
        return "'\\''"
    if ch == "\n":
        return "'\\n'"
    return f"'{ch}'"


def go_type_name(v: Any) -> str:
    """reflect.TypeOf(v).String() for a value decoded by encoding/json (ints preserved as int64)."""
    if v is None:
        return "<nil>"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int64"
    if isinstance(v, float):
        return "float64"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "[]interface {}"
    if isinstance(v, dict):
        return "map[string]interface {}"
    return type(v).__name__


def go_fmt(v: Any) -> str:
    """Go's %v of a decoded JSON value: map[a:1 b:[x y]]."""
    if v is None:
        return "<nil>"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if v == int(v) and abs(v) < 1e21:
            return str(int(v))
        return repr(v)
    if isinstance(v, dict):
        return "map[" + " ".join(f"{k}:{go_fmt(v[k])}" for k in sorted(v)) + "]"
    if isinstance(v, list):
        return "[" + " ".join(go_fmt(x) for x in v) + "]"
    return str(v)


def same_kind(a: Any, b: Any) -> bool:
    """Do two decoded JSON values have the same Go type (map, slice, string, int64, float64, bool)?"""
    return go_type_name(a) == go_type_name(b)
