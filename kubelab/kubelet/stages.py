"""A generic stage player: lifecycles as data, played on the injected clock.

Modelled on kwok's Stage resources (selector, delay, next: status patch and events) played by one generic
controller. A ``Stage`` says when it applies (``selector``), what the container shows meanwhile (``waiting``),
how long it takes (``delay``: seconds, the name of a ``LabConfig`` field, or a function of the context), what
it does (``action``: a named step the context performs, usually one CRI call), which events it records, and
what a failure shows (``failure``: waiting reason, message and events). ``play`` runs a sequence of stages
against a context; the tables live in ``kubelab.kubelet.lifecycle`` so a learner can edit them without touching
the kubelet.

Simplified from kwok: stages are played in order over one container (or one pod) rather than matched against
the whole object on every change, and selectors are Python predicates rather than jq expressions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from kubelab.clock import Clock
from kubelab.config import LabConfig


def _always(ctx: Any) -> bool:
    return True


@dataclass(frozen=True)
class EventSpec:
    """A core/v1 Event to record: ``message`` is a ``str.format`` template over the stage variables."""

    reason: str
    message: str
    type: str = "Normal"

    def render(self, variables: Mapping[str, Any]) -> str:
        return self.message.format_map(_Missing(variables))


@dataclass(frozen=True)
class Failure:
    """What a failed action shows: the container's waiting reason and message, and the events recorded."""

    waiting: str
    message: str = "{error}"
    events: tuple[EventSpec, ...] = ()


Delay = float | str | Callable[[Any], float]


@dataclass(frozen=True)
class Stage:
    name: str
    selector: Callable[[Any], bool] = _always
    waiting: str = ""  # the container's waiting reason while (or, for a final stage, after) the stage plays
    message: str = ""  # the waiting message, a template like the events'
    delay: Delay = 0.0
    action: str = ""
    events: tuple[EventSpec, ...] = ()
    trace: str = ""
    failure: Failure | None = None
    final: bool = False


class StageError(Exception):
    """Raised by a context's ``perform`` when an action fails; ``message`` becomes ``{error}``."""

    def __init__(self, message: str, **variables: Any) -> None:
        super().__init__(message)
        self.message = message
        self.variables = variables


@dataclass
class Outcome:
    ok: bool
    stage: str = ""
    reason: str = ""  # the waiting reason a failure shows (ErrImagePull, CrashLoopBackOff, ...)
    message: str = ""
    variables: dict[str, Any] = field(default_factory=dict)


class StageContext(Protocol):
    config: LabConfig
    clock: Clock

    def variables(self) -> dict[str, Any]: ...

    async def perform(self, action: str) -> dict[str, Any] | None: ...

    def show_waiting(self, reason: str, message: str = "") -> None: ...

    def record(self, event: EventSpec, message: str) -> None: ...

    def trace(self, action: str, message: str) -> None: ...

    def aborted(self) -> bool: ...


def delay_of(stage: Stage, ctx: StageContext) -> float:
    d = stage.delay
    if callable(d):
        return float(d(ctx))
    if isinstance(d, str):
        return float(getattr(ctx.config, d))
    return float(d)


async def play(stages: tuple[Stage, ...], ctx: StageContext) -> Outcome:
    """Play ``stages`` in order: skip those whose selector is false; stop at a failure or a ``final`` stage."""
    variables = ctx.variables()
    for st in stages:
        if ctx.aborted():
            return Outcome(False, st.name, "Aborted")
        if not st.selector(ctx):
            continue
        variables = {**variables, **ctx.variables()}
        waiting_message = st.message.format_map(_Missing(variables))
        if st.waiting:
            ctx.show_waiting(st.waiting, waiting_message)
        seconds = delay_of(st, ctx)
        if seconds > 0:
            await ctx.clock.sleep(seconds)
            if ctx.aborted():
                return Outcome(False, st.name, "Aborted")
        if st.action:
            try:
                variables.update(await ctx.perform(st.action) or {})
            except StageError as e:
                variables.update(e.variables, error=e.message)
                f = st.failure or Failure("Error")
                variables["reason"] = f.waiting
                message = f.message.format_map(_Missing(variables))
                ctx.show_waiting(f.waiting, message)
                for ev in f.events:
                    ctx.record(ev, ev.render(variables))
                return Outcome(False, st.name, f.waiting, message, variables)
        for ev in st.events:
            ctx.record(ev, ev.render(variables))
        if st.trace:
            ctx.trace(st.trace, f"{st.name}: {variables.get('container', '')}".rstrip(": "))
        if st.final:
            return Outcome(False, st.name, st.waiting, waiting_message, variables)
    return Outcome(True, "", variables=variables)


class _Missing(dict[str, Any]):
    """format_map helper: unknown placeholders stay visible instead of raising."""

    def __init__(self, base: Mapping[str, Any]) -> None:
        super().__init__(base)

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"
