"""Decode Kubernetes protobuf request bodies into the object's JSON form (a plain dict).

Mirrors k8s.io/apimachinery/pkg/runtime/serializer/protobuf (the ``k8s\\x00`` magic and the ``runtime.Unknown``
envelope) followed by what kube-apiserver effectively does with the result: unmarshal into the Go struct and
marshal that struct as JSON. So the dict is exactly the JSON a Go client would have sent for the same object:
JSON names, ``omitempty``/``omitzero`` rules (zero non-pointer scalars vanish, explicitly set pointers stay even
when zero, missing non-omitempty fields come out as their zero value or ``null``), inlined embedded structs,
``map`` entries as objects with sorted keys, ``bytes`` as base64, and the types with their own JSON form:
Time (RFC 3339, zero is null), MicroTime (microseconds), Duration (Go's ``1h2m3s``), Quantity (its string),
IntOrString (int or string), FieldsV1 and RawExtension (their embedded JSON).

The per-message facts live in messages.py, generated from kubectl's own type metadata (gen_tables.py).
Simplified: only the kinds listed there; unknown field numbers are skipped (forward compatibility); a
message field sent several times is merged by concatenation (what protobuf specifies); Quantity strings are
passed through as sent (Go clients send the canonical form, which is what JSON would carry too).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from kubelab.api.errors import ApiError
from kubelab.api.protobuf.messages import ANY_VERSION_KINDS, KINDS, MESSAGES
from kubelab.api.protobuf.wire import (
    LENGTH_DELIMITED,
    VARINT,
    WireError,
    iter_fields,
    iter_packed_varints,
    to_int32,
    to_int64,
)

PROTOBUF_CONTENT_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"

_SCALARS = ("string", "bytes", "bool", "int32", "int64", "stringlist")
_VARINTS = ("bool", "int32", "int64")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_GO_ZERO_TIME_SECONDS = -62135596800  # time.Time{} as Unix seconds: its IsZero() is true


@dataclass(frozen=True)
class Field:
    """One compiled row of a message table."""

    number: int
    json: str
    base: str  # a scalar from _SCALARS, or a message name (which may be one of the special types)
    pointer: bool
    repeated: bool
    map: bool
    omitempty: bool
    omitzero: bool
    inline: bool
    hidden: bool  # json:"-"


def _compile(row: tuple[int, str, str, str]) -> Field:
    number, name, typ, flags = row
    pointer = typ.startswith("*")
    typ = typ.removeprefix("*")
    repeated = typ.startswith("[]")
    typ = typ.removeprefix("[]")
    is_map = typ.startswith("map[string]")
    typ = typ.removeprefix("map[string]")
    return Field(number, name, typ, pointer, repeated, is_map, "o" in flags, "z" in flags, "i" in flags,
                 "-" in flags)


@cache
def _fields(message: str) -> tuple[tuple[Field, ...], dict[int, Field]]:
    ordered = tuple(_compile(row) for row in MESSAGES[message])
    return ordered, {f.number: f for f in ordered}


class _Bad(Exception):
    """A well-formed wire message whose content the JSON form cannot carry (becomes a 400)."""


# --- the types with their own wire and JSON form ------------------------------------------------------------

def _time_parts(buf: memoryview) -> tuple[int, int] | None:
    """metav1.Timestamp {int64 seconds = 1; int32 nanos = 2}; None for the zero time (sent as no bytes)."""
    if len(buf) == 0:
        return None
    seconds = nanos = 0
    for number, wire_type, value in iter_fields(buf):
        if wire_type != VARINT or not isinstance(value, int):
            continue
        if number == 1:
            seconds = to_int64(value)
        elif number == 2:
            nanos = to_int32(value)
    seconds += nanos // 1_000_000_000  # time.Unix normalises nanos outside [0, 1e9)
    nanos %= 1_000_000_000
    if seconds == _GO_ZERO_TIME_SECONDS and nanos == 0:
        return None
    return seconds, nanos


def _format_time(seconds: int, micros: int | None) -> str:
    try:
        t = _EPOCH + dt.timedelta(seconds=seconds)
    except OverflowError as e:
        raise _Bad(f"time {seconds}s since the epoch is out of range") from e
    s = f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}"
    if micros is not None:
        s += f".{micros:06d}"
    return s + "Z"


def _decode_time(buf: memoryview) -> Any:
    """metav1.Time as JSON: RFC 3339 in UTC to the second, ``null`` when zero."""
    parts = _time_parts(buf)
    return None if parts is None else _format_time(parts[0], None)


def _decode_micro_time(buf: memoryview) -> Any:
    """metav1.MicroTime as JSON: RFC 3339 with exactly six fractional digits, ``null`` when zero."""
    parts = _time_parts(buf)
    return None if parts is None else _format_time(parts[0], parts[1] // 1000)


def go_duration(ns: int) -> str:
    """Go's ``time.Duration.String()``: 0s, 1.5µs, 20ms, 1m30s, 1h0m0s..."""
    if ns == 0:
        return "0s"
    u = abs(ns)

    def frac(value: int, digits: int) -> str:
        whole, rest = divmod(value, 10**digits)
        tail = f"{rest:0{digits}d}".rstrip("0")
        return f"{whole}.{tail}" if tail else str(whole)

    if u < 1_000:
        s = f"{u}ns"
    elif u < 1_000_000:
        s = frac(u, 3) + "µs"
    elif u < 1_000_000_000:
        s = frac(u, 6) + "ms"
    else:
        whole_seconds = u // 1_000_000_000
        s = frac(u % 60_000_000_000, 9) + "s"
        if whole_seconds >= 60:
            s = f"{(whole_seconds // 60) % 60}m" + s
        if whole_seconds >= 3600:
            s = f"{whole_seconds // 3600}h" + s
    return "-" + s if ns < 0 else s


def _decode_duration(buf: memoryview) -> Any:
    """metav1.Duration {int64 duration = 1} (nanoseconds) as JSON: Go's duration string."""
    ns = 0
    for number, wire_type, value in iter_fields(buf):
        if number == 1 and wire_type == VARINT and isinstance(value, int):
            ns = to_int64(value)
    return go_duration(ns)


def _decode_quantity(buf: memoryview) -> Any:
    """resource.Quantity {string string = 1} as JSON: the string; the zero Quantity is "0"."""
    s = "0"
    for number, wire_type, value in iter_fields(buf):
        if number == 1 and wire_type == LENGTH_DELIMITED and isinstance(value, memoryview):
            s = bytes(value).decode("utf-8", "replace") or "0"
    return s


def _decode_int_or_string(buf: memoryview) -> Any:
    """intstr.IntOrString {int64 type = 1; int32 intVal = 2; string strVal = 3} as JSON: int or string."""
    typ, int_val, str_val = 0, 0, ""
    for number, wire_type, value in iter_fields(buf):
        if number in (1, 2) and wire_type == VARINT and isinstance(value, int):
            if number == 1:
                typ = to_int64(value)
            else:
                int_val = to_int32(value)
        elif number == 3 and wire_type == LENGTH_DELIMITED and isinstance(value, memoryview):
            str_val = bytes(value).decode("utf-8", "replace")
    if typ == 0:
        return int_val
    if typ == 1:
        return str_val
    raise _Bad(f"impossible IntOrString.Type {typ}")


def _raw_field(buf: memoryview) -> bytes | None:
    raw: bytes | None = None
    for number, wire_type, value in iter_fields(buf):
        if number == 1 and wire_type == LENGTH_DELIMITED and isinstance(value, memoryview):
            raw = bytes(value)
    return raw


def _decode_fields_v1(buf: memoryview) -> Any:
    """metav1.FieldsV1 {bytes Raw = 1}: the raw bytes are the JSON."""
    raw = _raw_field(buf)
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError as e:
        raise _Bad(f"FieldsV1 is not JSON: {e}") from e


def _decode_raw_extension(buf: memoryview) -> Any:
    """runtime.RawExtension {bytes raw = 1}: embedded JSON, or a nested protobuf object."""
    raw = _raw_field(buf)
    if raw is None:
        return None
    if raw.startswith(MAGIC):
        return decode_object(raw)
    try:
        return json.loads(raw)
    except ValueError as e:
        raise _Bad(f"RawExtension is neither JSON nor a protobuf object: {e}") from e


_SPECIAL = {
    "meta/v1.Time": _decode_time,
    "meta/v1.MicroTime": _decode_micro_time,
    "meta/v1.Duration": _decode_duration,
    "meta/v1.FieldsV1": _decode_fields_v1,
    "runtime.RawExtension": _decode_raw_extension,
    "resource.Quantity": _decode_quantity,
    "intstr.IntOrString": _decode_int_or_string,
}

# --- messages -----------------------------------------------------------------------------------------------

_EMPTY = memoryview(b"")


def _expect(f: Field, wire_type: int, want: int) -> None:
    if wire_type != want:
        raise WireError(f"field {f.json or f.base} ({f.number}) has wire type {wire_type}, want {want}")


def _scalar(f: Field, wire_type: int, value: int | memoryview) -> Any:
    """One value of a field whose base is a scalar or a message."""
    base = f.base
    if base in _VARINTS:
        _expect(f, wire_type, VARINT)
        assert isinstance(value, int)
        if base == "bool":
            return value != 0
        return to_int32(value) if base == "int32" else to_int64(value)
    _expect(f, wire_type, LENGTH_DELIMITED)
    assert isinstance(value, memoryview)
    if base == "string":
        return bytes(value).decode("utf-8", "replace")
    if base == "bytes":
        return base64.b64encode(value).decode("ascii")
    if base == "stringlist":
        return [bytes(v).decode("utf-8", "replace") for n, wt, v in iter_fields(value)
                if n == 1 and wt == LENGTH_DELIMITED and isinstance(v, memoryview)]
    return _message(base, value)


def _message(name: str, buf: memoryview) -> Any:
    special = _SPECIAL.get(name)
    if special is not None:
        return special(buf)
    return decode_message(name, buf)


def _zero(f: Field) -> Any:
    """The JSON of a Go zero value for a field that was not on the wire (and is not omitted)."""
    if f.pointer or f.repeated or f.map:
        return None
    if f.base in ("bytes", "stringlist"):
        return None  # nil slice
    if f.base == "string":
        return ""
    if f.base == "bool":
        return False
    if f.base in ("int32", "int64"):
        return 0
    return _message(f.base, _EMPTY)


def _map_entry(f: Field, payload: memoryview) -> tuple[str, Any]:
    key: str = ""
    found: tuple[int, int | memoryview] | None = None
    for number, wire_type, value in iter_fields(payload):
        if number == 1:
            _expect(f, wire_type, LENGTH_DELIMITED)
            assert isinstance(value, memoryview)
            key = bytes(value).decode("utf-8", "replace")
        elif number == 2:
            found = (wire_type, value)
    if found is None:  # the Go zero value of the map's value type
        return key, _zero(Field(2, "", f.base, False, False, False, False, False, False, False))
    return key, _scalar(f, *found)


def decode_message(name: str, buf: bytes | memoryview) -> dict[str, Any]:
    """Decode one message of the named type (a key of MESSAGES) into its JSON object."""
    ordered, by_number = _fields(name)
    seen: dict[int, list[tuple[int, int | memoryview]]] = {}
    for number, wire_type, value in iter_fields(buf):
        if number in by_number:
            seen.setdefault(number, []).append((wire_type, value))
    out: dict[str, Any] = {}
    for f in ordered:
        if f.hidden:
            continue
        items = seen.get(f.number)
        if f.inline:
            out.update(decode_message(f.base, _joined(f, items)))
            continue
        if items is None:
            if f.pointer or f.repeated or f.map or f.base in _SCALARS:
                if not f.omitempty:
                    out[f.json] = _zero(f)
            elif not f.omitzero:  # a non-pointer struct is always in Go's JSON: omitempty has no effect
                out[f.json] = _zero(f)
            continue
        if f.map:
            entries = dict(_map_entry(f, _payload(f, wt, v)) for wt, v in items)
            out[f.json] = {k: entries[k] for k in sorted(entries)}
        elif f.repeated:
            values: list[Any] = []
            for wire_type, value in items:
                if f.base in _VARINTS and wire_type == LENGTH_DELIMITED:
                    assert isinstance(value, memoryview)
                    values += [_scalar(f, VARINT, v) for v in iter_packed_varints(value)]
                else:
                    values.append(_scalar(f, wire_type, value))
            out[f.json] = values
        elif f.base in _SCALARS:
            value = _scalar(f, *items[-1])
            if f.base == "stringlist" or f.base == "bytes":
                if f.omitempty and not value:
                    continue
            elif not f.pointer and f.omitempty and not value:
                continue
            out[f.json] = value
        else:
            value = _message(f.base, _joined(f, items))
            if f.omitzero and not f.pointer and value == _message(f.base, _EMPTY):
                continue  # e.g. metadata.creationTimestamp sent as the zero Time
            out[f.json] = value
    return out


def _payload(f: Field, wire_type: int, value: int | memoryview) -> memoryview:
    _expect(f, wire_type, LENGTH_DELIMITED)
    assert isinstance(value, memoryview)
    return value


def _joined(f: Field, items: list[tuple[int, int | memoryview]] | None) -> memoryview:
    """A singular message field sent more than once merges: the same as parsing the concatenation."""
    if not items:
        return _EMPTY
    if len(items) == 1:
        return _payload(f, *items[0])
    return memoryview(b"".join(bytes(_payload(f, wt, v)) for wt, v in items))


# --- the envelope -------------------------------------------------------------------------------------------

def _unknown(body: memoryview) -> tuple[str, str, memoryview, str]:
    """runtime.Unknown {TypeMeta typeMeta = 1 {apiVersion = 1; kind = 2}; bytes raw = 2; contentEncoding = 3}."""
    api_version = kind = encoding = ""
    raw = _EMPTY
    for number, wire_type, value in iter_fields(body):
        if wire_type != LENGTH_DELIMITED or not isinstance(value, memoryview):
            continue
        if number == 1:
            for n, wt, v in iter_fields(value):
                if wt == LENGTH_DELIMITED and isinstance(v, memoryview) and n in (1, 2):
                    if n == 1:
                        api_version = bytes(v).decode("utf-8", "replace")
                    else:
                        kind = bytes(v).decode("utf-8", "replace")
        elif number == 2:
            raw = value
        elif number == 3:
            encoding = bytes(value).decode("utf-8", "replace")
    return api_version, kind, raw, encoding


def message_for(api_version: str, kind: str) -> str | None:
    """The table message for a kind, or None when kubelab cannot decode it from protobuf."""
    return KINDS.get((api_version, kind)) or ANY_VERSION_KINDS.get(kind)


def supported_kinds() -> list[tuple[str, str]]:
    """(apiVersion, kind) pairs decode_object accepts (DeleteOptions: with any apiVersion)."""
    return sorted(KINDS) + [("*", k) for k in sorted(ANY_VERSION_KINDS)]


def decode_object(body: bytes) -> dict[str, Any]:
    """Decode a ``application/vnd.kubernetes.protobuf`` body into the object's JSON form.

    Raises ApiError 400 for bytes that are not a well-formed Kubernetes protobuf object, 415 for a kind
    without a table here.
    """
    if not bytes(body[:4]) == MAGIC:
        raise ApiError(400, "BadRequest", "provided data does not appear to be a protobuf message, "
                                          "expected prefix [107 56 115 0]")
    try:
        api_version, kind, raw, encoding = _unknown(memoryview(body)[4:])
    except WireError as e:
        raise ApiError(400, "BadRequest", f"unable to decode the protobuf envelope (runtime.Unknown): {e}") from e
    if not kind:
        raise ApiError(400, "BadRequest", "Object 'Kind' is missing in the protobuf body")
    if encoding:
        raise ApiError(415, "UnsupportedMediaType",
                       f"the protobuf body of {kind} uses content encoding {encoding!r}, which is not supported")
    name = message_for(api_version, kind)
    if name is None:
        raise ApiError(415, "UnsupportedMediaType",
                       f'no protobuf decoding is available for kind "{kind}" in apiVersion "{api_version}"; '
                       f"send it as application/json")
    try:
        obj = decode_message(name, raw)
    except (WireError, _Bad) as e:
        raise ApiError(400, "BadRequest", f"unable to decode {kind} ({api_version}) from protobuf: {e}") from e
    except RecursionError as e:  # objects nested in RawExtensions without end
        raise ApiError(400, "BadRequest", f"unable to decode {kind} ({api_version}) from protobuf: "
                                          "nested too deeply") from e
    return {"apiVersion": api_version, "kind": kind, **obj}
