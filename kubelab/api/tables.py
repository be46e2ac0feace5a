"""meta.k8s.io/v1 Table responses, as kube-apiserver builds them for ``Accept: application/json;as=Table;v=v1;g=meta.k8s.io``.

Mirrors pkg/printers/storage.TableConvertor (every printer runs with ``Wide: true``: priority-1 cells are always
filled and kubectl hides them without ``-o wide``), pkg/printers.TableGenerator (list metadata, ``NoHeaders``) and
the ``asTable`` step of k8s.io/apiserver/pkg/endpoints/handlers (``includeObject``: ``Metadata`` turns each row's
object into a PartialObjectMetadata, ``Object`` keeps the object, ``None`` drops it).

Watch events over a Table watch carry one-row Tables; upstream includes the column definitions only in the first
event (``NoHeaders`` afterwards, sent as ``"columnDefinitions": null``): call ``to_table`` on ``[obj]`` with
``with_column_definitions=False`` after the first, or use ``table_watch_event_object``.

Simplified: no deep copies are made; rows reference the stored objects' metadata, so serialize the table before
those objects change (the store never mutates stored objects in place). Column definitions are shared, read-only.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from typing import Any

from kubelab.api.errors import ApiError
from kubelab.api.printers import printer_for
from kubelab.api.resources import ResourceType

INCLUDE_OBJECT_VALUES = ("None", "Metadata", "Object")


def to_table(
    rt: ResourceType,
    objects: Sequence[Mapping[str, Any]],
    now: _dt.datetime,
    *,
    include_object: str = "Metadata",
    resource_version: str = "",
    continue_token: str = "",
    remaining: int | None = None,
    with_column_definitions: bool = True,
    columns: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Build the Table for ``objects`` of kind ``rt`` (ages computed against ``now``).

    ``columns`` are a CRD version's ``additionalPrinterColumns`` (name, type, format?, description?, priority?,
    jsonPath); custom resources without them get NAME + AGE. Raises ApiError(400) for an unknown ``include_object``.
    """
    if include_object not in INCLUDE_OBJECT_VALUES and include_object != "":
        raise ApiError(400, "BadRequest", f'unrecognized includeObject value: "{include_object}"')
    printer = printer_for(rt, columns)
    cells_fn = printer.cells
    cond_fn = printer.conditions
    rows: list[dict[str, Any]] = []
    append = rows.append
    if include_object == "Object":
        for o in objects:
            row: dict[str, Any] = {"cells": cells_fn(o, now), "object": o}
            if cond_fn is not None and (conds := cond_fn(o)):
                row["conditions"] = conds
            append(row)
    elif include_object == "None":
        for o in objects:
            row = {"cells": cells_fn(o, now), "object": None}
            if cond_fn is not None and (conds := cond_fn(o)):
                row["conditions"] = conds
            append(row)
    else:
        for o in objects:
            row = {"cells": cells_fn(o, now),
                   "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                              "metadata": o.get("metadata") or {}}}
            if cond_fn is not None and (conds := cond_fn(o)):
                row["conditions"] = conds
            append(row)
    meta: dict[str, Any] = {}
    if resource_version:
        meta["resourceVersion"] = resource_version
    if continue_token:
        meta["continue"] = continue_token
    if remaining is not None:
        meta["remainingItemCount"] = remaining
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": meta,
        "columnDefinitions": list(printer.columns) if with_column_definitions else None,
        "rows": rows,
    }


def table_watch_event_object(
    rt: ResourceType,
    obj: Mapping[str, Any],
    now: _dt.datetime,
    include_object: str = "Metadata",
    with_column_definitions: bool = False,
    columns: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The object of one Table watch event: a one-row Table at the object's resourceVersion.

    Pass ``with_column_definitions=True`` for the first event of the stream only, as upstream does.
    """
    rv = (obj.get("metadata") or {}).get("resourceVersion") or ""
    return to_table(rt, [obj], now, include_object=include_object, resource_version=rv,
                    with_column_definitions=with_column_definitions, columns=columns)


def column_definitions(rt: ResourceType, columns: Sequence[Mapping[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The column definitions a Table of ``rt`` carries (read-only dicts)."""
    return list(printer_for(rt, columns).columns)
