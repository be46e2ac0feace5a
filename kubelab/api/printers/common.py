"""Shared pieces of the server-side printers: column definitions, the printer record, and cell helpers.

Mirrors the helpers of kubernetes/pkg/printers/internalversion/printers.go (``layoutContainerCells``,
``translateTimestampSince``, ``printBoolPtr``, ``formatResourceName``) and pkg/printers' TableHandler registration.
Simplified: printers work on the JSON (v1) dicts as stored, not on internal Go types; defaults the real server
applies before storage (replicas 1, protocol TCP, type ClusterIP, ...) are assumed when a field is absent.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kubelab.api.duration import since
from kubelab.api.printers.docs import DOCS

Obj = Mapping[str, Any]
Cells = list[Any]
CellsFn = Callable[[Obj, _dt.datetime], Cells]
ConditionsFn = Callable[[Obj], "list[dict[str, str]] | None"]


def col(name: str, type_: str = "string", doc: str = "", *, priority: int = 0, fmt: str = "",
        description: str = "") -> dict[str, Any]:
    """One metav1.TableColumnDefinition as JSON. ``doc`` is a ``Model.field`` key of the API docs."""
    return {"name": name, "type": type_, "format": fmt, "description": description or DOCS.get(doc, ""),
            "priority": priority}


NAME = col("Name", doc="ObjectMeta.name", fmt="name")
AGE = col("Age", doc="ObjectMeta.creationTimestamp")
CONTAINERS = col("Containers", priority=1, description="Names of each container in the template.")
IMAGES = col("Images", priority=1, description="Images referenced by each container in the template.")


@dataclass(frozen=True, slots=True)
class Printer:
    """What one kind prints: column definitions (built once) and a function from object to cells."""

    columns: tuple[dict[str, Any], ...]
    cells: CellsFn
    conditions: ConditionsFn | None = None


def meta(o: Obj) -> Mapping[str, Any]:
    return o.get("metadata") or {}


def name_of(o: Obj) -> str:
    return meta(o).get("name") or ""


def age(o: Obj, now: _dt.datetime) -> str:
    return since(meta(o).get("creationTimestamp"), now)


def containers_cells(pod_spec: Obj | None) -> tuple[str, str]:
    """layoutContainerCells: container names and images, comma-joined."""
    cs: Sequence[Mapping[str, Any]] = (pod_spec or {}).get("containers") or ()
    return ",".join(c.get("name") or "" for c in cs), ",".join(c.get("image") or "" for c in cs)


def template_spec(o: Obj) -> Obj:
    """spec.template.spec of a workload (empty when absent)."""
    return ((o.get("spec") or {}).get("template") or {}).get("spec") or {}


def bool_ptr(v: Any) -> str:
    """printBoolPtr: "True"/"False", "<unset>" for nil."""
    if v is None:
        return "<unset>"
    return "True" if v else "False"


def int_or_string(v: Any) -> str:
    """intstr.IntOrString.String()."""
    if isinstance(v, bool):
        return str(int(v))
    return str(v)


def group_kind_string(api_version: str, kind: str) -> str:
    """schema.GroupKind.String(): "Kind.group", or "Kind" for the core group."""
    group = api_version.rpartition("/")[0] if "/" in api_version else ""
    return f"{kind}.{group}" if group else kind


def as_int(v: Any, default: int = 0) -> int:
    if v is None:
        return default
    try:
        return int(v)
    except (TypeError, ValueError):
        return default
