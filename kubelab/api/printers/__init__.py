"""Server-side printers: which columns and cells the API server puts in a Table for each kind.

Mirrors kubernetes/pkg/printers/internalversion (the TableHandler registrations of ``AddHandlers``), the default
table convertor of k8s.io/apiserver, and the CRD table convertor of apiextensions-apiserver. Look a printer up with
``printer_for``; ``kubelab.api.tables`` turns its output into a meta.k8s.io/v1 Table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kubelab.api.printers import cluster, core, workloads
from kubelab.api.printers.common import Printer
from kubelab.api.printers.custom import DEFAULT, custom_printer
from kubelab.api.resources import ResourceType

PRINTERS: dict[tuple[str, str], Printer] = {**core.PRINTERS, **workloads.PRINTERS, **cluster.PRINTERS}

_custom_cache: dict[tuple[Any, ...], Printer] = {}


def _columns_key(columns: Sequence[Mapping[str, Any]] | None) -> tuple[Any, ...]:
    if not columns:
        return ()
    return tuple(tuple(sorted((k, str(v)) for k, v in c.items())) for c in columns)


def printer_for(rt: ResourceType, columns: Sequence[Mapping[str, Any]] | None = None) -> Printer:
    """The printer for ``rt``: built-in, CRD columns (for custom resources, or when ``columns`` is given), else the
    default NAME / CREATED AT convertor."""
    if rt.custom or columns is not None:
        key = _columns_key(columns)
        p = _custom_cache.get(key)
        if p is None:
            if len(_custom_cache) > 256:
                _custom_cache.clear()
            p = _custom_cache[key] = custom_printer(columns)
        return p
    return PRINTERS.get((rt.group, rt.kind), DEFAULT)


__all__ = ["PRINTERS", "Printer", "printer_for"]
