"""explain_scheduling: the scheduler's reasoning for one pod as a pandas DataFrame, one row per node.

Rows come from ``kubelab.scheduler``'s ``Decision.to_rows()`` (fits, the filter plugin that rejected the
node and why, each score plugin's weighted score, total, chosen); the plain sentence ("Scheduled on
local-worker2: highest score 482 (...)") is ``df.attrs["summary"]`` and is shown above the table in a
notebook.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

import pandas as pd

from kubelab.scheduler import Decision, Profile, explain

Obj = dict[str, Any]


class SchedulingExplanation(pd.DataFrame):
    """A DataFrame that also shows its ``attrs["summary"]`` sentence (operations on it return plain
    frames)."""

    @property
    def _constructor(self) -> type[pd.DataFrame]:  # type: ignore[override]
        return pd.DataFrame

    @property
    def summary(self) -> str:
        return str(self.attrs.get("summary", ""))

    def _repr_html_(self) -> str:  # type: ignore[override]
        table = super()._repr_html_() or ""
        return f'<p class="kubelab-explain"><b>{html.escape(self.summary)}</b></p>{table}'

    def __repr__(self) -> str:
        return f"{self.summary}\n{super().__repr__()}"


def decision_frame(decision: Decision) -> SchedulingExplanation:
    """The DataFrame for a Decision already made (e.g. ``scheduler.last_decision(ns, name)``)."""
    rows = decision.to_rows()
    df = (
        SchedulingExplanation(rows)
        if rows
        else SchedulingExplanation(columns=["node", "fits", "filter", "reason", "total", "chosen"])
    )
    df.attrs["summary"] = decision.summary
    df.attrs["node"] = decision.node
    return df


def explain_scheduling(
    pod: Obj,
    nodes: list[Obj],
    pods: list[Obj],
    profile: Profile | None = None,
    *,
    objects: Iterable[Obj] = (),
) -> SchedulingExplanation:
    """Where would the scheduler put ``pod`` now, and why: a fresh decision over every node."""
    return decision_frame(explain(pod, nodes, pods, profile, objects=objects))
