"""Turn a ``meta.k8s.io/v1`` Table (what the API server returns for ``kubectl get``) into a pandas DataFrame.

The server, not kubelab, decides the columns: this mirrors kubectl's table printer, which shows the
``columnDefinitions`` of priority 0 (plus the others with ``-o wide``), upper-cases their names, and puts a
NAMESPACE column first with ``--all-namespaces``. Cells are kept as the server sent them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd


def column_names(table: Mapping[str, Any], wide: bool = False) -> tuple[list[int], list[str]]:
    """Indexes of the cells to show and their kubectl-style headers."""
    idx: list[int] = []
    names: list[str] = []
    for i, col in enumerate(table.get("columnDefinitions") or []):
        if wide or int(col.get("priority", 0) or 0) == 0:
            idx.append(i)
            names.append(str(col.get("name", "")).upper())
    return idx, names


def _row_namespace(row: Mapping[str, Any]) -> str:
    obj = row.get("object") or {}
    meta = obj.get("metadata") or {} if isinstance(obj, Mapping) else {}
    return str(meta.get("namespace", "")) if isinstance(meta, Mapping) else ""


def table_to_frame(table: Mapping[str, Any], wide: bool = False, namespace_column: bool = False) -> pd.DataFrame:
    """A DataFrame with the columns kubectl would print for ``table`` (one row per Table row)."""
    idx, names = column_names(table, wide)
    rows: list[list[Any]] = []
    for row in table.get("rows") or []:
        cells = list(row.get("cells") or [])
        values = [cells[i] if i < len(cells) else None for i in idx]
        if namespace_column:
            values.insert(0, _row_namespace(row))
        rows.append(values)
    columns = (["NAMESPACE"] if namespace_column else []) + names
    return pd.DataFrame(rows, columns=columns)
