"""A progress bar for waits in a notebook (`lab.wait`, rollouts): ipywidgets when a kernel is there, else nothing.

The bar is created and updated on the calling thread (the cell that waits), so it needs no background thread.
"""

from __future__ import annotations

from typing import Any


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    ip = get_ipython()
    return ip is not None and getattr(ip, "kernel", None) is not None


class Progress:
    """``with Progress("deployment/web") as p: p.update(2, 3, "2/3 available")``; ``p.done(ok, text)``."""

    def __init__(self, title: str, enabled: bool | None = None) -> None:
        self.title = title
        self._bar: Any = None
        self._label: Any = None
        if enabled if enabled is not None else _in_kernel():
            import ipywidgets as w
            from IPython.display import display

            self._bar = w.IntProgress(value=0, min=0, max=1, description=title[:30],
                                      style={"description_width": "initial"})
            self._label = w.Label(value="waiting")
            display(w.HBox([self._bar, self._label]))

    def update(self, value: int, total: int, text: str) -> None:
        if self._bar is None:
            return
        self._bar.max = max(total, 1)
        self._bar.value = max(0, min(value, self._bar.max))
        self._label.value = text

    def done(self, ok: bool, text: str) -> None:
        if self._bar is None:
            return
        if ok:
            self._bar.value = self._bar.max
        self._bar.bar_style = "success" if ok else "danger"
        self._label.value = text

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is not None:
            self.done(False, str(exc[1]))


def counts(obj: dict[str, Any]) -> tuple[int, int, str]:
    """(done, total, text) for the progress of a workload towards ready."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    kind = obj.get("kind", "")
    if kind in ("Deployment", "ReplicaSet", "StatefulSet"):
        total = int(spec.get("replicas", 1) or 0)
        ready = int(status.get("availableReplicas" if kind == "Deployment" else "readyReplicas", 0) or 0)
        return ready, total, f"{ready}/{total} ready"
    if kind == "DaemonSet":
        total = int(status.get("desiredNumberScheduled", 0) or 0)
        ready = int(status.get("numberReady", 0) or 0)
        return ready, total, f"{ready}/{total} ready"
    if kind == "Job":
        total = int(spec.get("completions", 1) or 1)
        done = int(status.get("succeeded", 0) or 0)
        return done, total, f"{done}/{total} completed"
    conds = [c.get("type") for c in status.get("conditions") or [] if c.get("status") == "True"]
    return 0, 1, ", ".join(conds) or (status.get("phase") or "waiting")
