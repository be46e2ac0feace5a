"""The trace bus: every control-plane step as a structured event, for the lab's live flow graph."""

from kubelab.trace.bus import TraceBus, TraceEvent

__all__ = ["TraceBus", "TraceEvent"]
