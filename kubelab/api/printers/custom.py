"""Tables for kinds without a built-in printer: the default table convertor and custom resources.

Mirrors k8s.io/apiserver/pkg/registry/rest.defaultTableConvertor (NAME + "Created At" as an RFC 3339 date, used for
Roles, ClusterRoles, LimitRanges, CustomResourceDefinitions ...) and
k8s.io/apiextensions-apiserver/pkg/registry/customresource/tableconvertor (NAME + the CRD version's
additionalPrinterColumns, each evaluated as a JSONPath; a CRD without columns gets the defaulted "Age" column).

Simplified JSONPath: only field paths are supported (``.spec.replicas``, ``.status.conditions[0].type``,
``.metadata.labels['app\\.kubernetes\\.io/name']``, ``.spec.items[*].name`` takes the first match); anything else
gives an empty (null) cell, as an unresolvable path does upstream.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from kubelab.api.duration import INVALID, UNKNOWN, parse_timestamp, since
from kubelab.api.printers.common import NAME, Obj, Printer, col, meta, name_of
from kubelab.api.printers.docs import DOCS

DEFAULT = Printer(
    (NAME, col("Created At", "date", "ObjectMeta.creationTimestamp")),
    lambda o, now: [name_of(o), _rfc3339(meta(o).get("creationTimestamp"))])


def _rfc3339(ts: Any) -> str:
    """time.Time.UTC().Format(time.RFC3339); the zero time for a missing timestamp."""
    t = parse_timestamp(ts) if isinstance(ts, str) else None
    if t is None:
        return "0001-01-01T00:00:00Z"
    return t.astimezone(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


AGE_COLUMN: dict[str, Any] = {"name": "Age", "type": "date", "description": DOCS["ObjectMeta.creationTimestamp"],
                              "jsonPath": ".metadata.creationTimestamp"}

_SEGMENT = re.compile(r"""\.([^.\[\]]+)|\[(-?\d+)\]|\[\*\]|\['((?:[^'\\]|\\.)*)'\]|\["((?:[^"\\]|\\.)*)"\]""")


def compile_json_path(path: str) -> list[str | int | None] | None:
    """Split a simple JSONPath into keys / indexes (None for ``[*]``); None when unsupported."""
    p = path.strip()
    if p.startswith("{") and p.endswith("}"):
        p = p[1:-1].strip()
    if p.startswith("$"):
        p = p[1:]
    if p and not p.startswith((".", "[")):
        p = "." + p
    out: list[str | int | None] = []
    pos = 0
    while pos < len(p):
        m = _SEGMENT.match(p, pos)
        if m is None:
            return None
        if m.group(1) is not None:
            out.append(m.group(1))
        elif m.group(2) is not None:
            out.append(int(m.group(2)))
        elif m.group(3) is not None or m.group(4) is not None:
            raw = m.group(3) if m.group(3) is not None else m.group(4)
            out.append(re.sub(r"\\(.)", r"\1", raw))
        else:
            out.append(None)
        pos = m.end()
    return out


_MISSING = object()


def _walk(cur: Any, steps: Sequence[str | int | None]) -> Any:
    for i, step in enumerate(steps):
        if step is None:
            if not isinstance(cur, list):
                return _MISSING
            for item in cur:
                v = _walk(item, steps[i + 1:])
                if v is not _MISSING:
                    return v
            return _MISSING
        if isinstance(step, int):
            if not isinstance(cur, list) or not -len(cur) <= step < len(cur):
                return _MISSING
            cur = cur[step]
        else:
            if not isinstance(cur, Mapping) or step not in cur:
                return _MISSING
            cur = cur[step]
    return cur


def _go_text(v: Any) -> str:
    """How client-go's jsonpath prints a value (fmt.Fprint of the decoded JSON)."""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 1e21 else repr(v)
    if v is None:
        return "<nil>"
    if isinstance(v, Mapping):
        return "map[" + " ".join(f"{k}:{_go_text(v[k])}" for k in sorted(v)) + "]"
    if isinstance(v, list):
        return "[" + " ".join(_go_text(x) for x in v) + "]"
    return json.dumps(v)


def _cell(type_: str, v: Any, now: _dt.datetime) -> Any:
    """tableconvertor.cellForJSONValue (and the string printing path)."""
    if v is _MISSING:
        return None
    if type_ == "string":
        return _go_text(v)
    if v is None:
        return None
    if type_ == "integer":
        if isinstance(v, bool):
            return None
        return int(v) if isinstance(v, int | float) else None
    if type_ == "number":
        if isinstance(v, bool):
            return None
        return float(v) if isinstance(v, int | float) else None
    if type_ == "boolean":
        return v if isinstance(v, bool) else None
    if type_ == "date":
        if not isinstance(v, str):
            return None
        t = parse_timestamp(v)
        if t is None:
            return INVALID if v else UNKNOWN
        return since(t, now)
    return None


def custom_printer(columns: Sequence[Mapping[str, Any]] | None) -> Printer:
    """The table convertor of a CRD version: NAME plus ``additionalPrinterColumns`` (default: Age)."""
    cols = list(columns) if columns else [AGE_COLUMN]
    defs: list[dict[str, Any]] = [NAME]
    getters: list[tuple[str, list[str | int | None] | None]] = []
    for c in cols:
        jp = c.get("jsonPath") or c.get("JSONPath") or ""
        defs.append({"name": c.get("name") or "", "type": c.get("type") or "string", "format": c.get("format") or "",
                     "description": c.get("description")
                     or f"Custom resource definition column (in JSONPath format): {jp}",
                     "priority": int(c.get("priority") or 0)})
        getters.append((c.get("type") or "string", compile_json_path(jp)))

    def cells(o: Obj, now: _dt.datetime) -> list[Any]:
        row: list[Any] = [name_of(o)]
        for type_, steps in getters:
            row.append(None if steps is None else _cell(type_, _walk(o, steps), now))
        return row

    return Printer(tuple(defs), cells)
