"""Notebook widgets: watch the control plane work (``flow``), see where pods run (``topology``) and ask the
scheduler why (``explain_scheduling``).

    from kubelab.notebook.widgets import flow, topology, explain_scheduling
    flow(server)                     # an EmbeddedServer, its TraceBus, or anything with .since(seq)
    topology(core_v1_api)            # or a callable returning (nodes, pods) as dicts
    explain_scheduling(pod, nodes, pods)          # DataFrame, df.attrs["summary"]

Widgets follow the anywidget habit: a pure model (``FlowModel``, ``topology_html``) computes the state from
events; the widget only renders it, updated from a daemon thread that assigns traits of existing widgets.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kubelab.notebook.widgets.flow import (
    FlowWidget,
    SvgTemplate,
    layout_svg,
    render_benchmark,
    synthetic_events,
)
from kubelab.notebook.widgets.flow_model import FlowModel, GraphEdge, GraphNode, Step
from kubelab.notebook.widgets.scheduling import SchedulingExplanation, decision_frame, explain_scheduling
from kubelab.notebook.widgets.topology import TopologyWidget, topology_html


def trace_source(obj: Any) -> Any:
    """Find the trace bus behind ``obj``: itself (anything with ``.since``), ``.trace``, ``.ctx.trace`` (an
    EmbeddedServer), or the same on ``.server`` / ``._server`` (a Cluster facade)."""
    for path in (
        (),
        ("trace",),
        ("ctx", "trace"),
        ("server", "ctx", "trace"),
        ("_server", "ctx", "trace"),
        ("server", "trace"),
        ("_server", "trace"),
    ):
        cur = obj
        for attr in path:
            cur = getattr(cur, attr, None)
            if cur is None:
                break
        if cur is not None and callable(getattr(cur, "since", None)):
            return cur
    raise TypeError(
        f"no trace stream found on {type(obj).__name__}: flow() needs an embedded kubelab cluster, "
        "its TraceBus, or an object with .since(seq)"
    )


def flow(cluster_or_source: Any = None, *, nodes: Iterable[str] = (), from_start: bool = False) -> FlowWidget:
    """The live control-plane flow widget; without a source, an empty widget to feed with ``model.extend``."""
    widget = FlowWidget(FlowModel(cluster_nodes=nodes))
    if cluster_or_source is not None:
        widget.attach(trace_source(cluster_or_source), from_start=from_start)
    return widget


def topology(
    source: Any, *, interval: float = 0.5, namespaces: Iterable[str] | None = None
) -> TopologyWidget:
    """Nodes and their pods, refreshed every ``interval`` seconds from a CoreV1Api or a ``(nodes, pods)``
    callable."""
    return TopologyWidget(source, interval=interval, namespaces=namespaces)


__all__ = [
    "FlowModel",
    "FlowWidget",
    "GraphEdge",
    "GraphNode",
    "SchedulingExplanation",
    "Step",
    "SvgTemplate",
    "TopologyWidget",
    "decision_frame",
    "explain_scheduling",
    "flow",
    "layout_svg",
    "render_benchmark",
    "synthetic_events",
    "topology",
    "topology_html",
    "trace_source",
]
