"""What an exercise is, what a check answers, and the registry every topic module adds its exercises to.

An exercise is data plus two small functions:

- ``check(view) -> str`` inspects the LIVE cluster through a :class:`~kubelab.exercises.view.View` and returns
  a sentence saying what it verified, or raises :class:`Unmet` with what exactly is still wrong in the
  learner's cluster ("deployment web has 2 ready replicas, expected 3"). That sentence becomes the last,
  most specific hint; the exercise's own ``nudge`` and ``where`` come first. So hints are progressive:
  1. a nudge (the idea), 2. where to look (the command), 3. what is wrong in *your* cluster.
- ``setup(view)`` (optional) creates a starting state to repair (a Pending pod, a crashlooping Deployment).
  It must be idempotent: the runner also records that it ran, so it runs once per cluster.

Checks are level-triggered like controllers: they read what is there now, never what happened in a notebook.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kubelab.exercises.view import View

# topic -> (notebook slug, one-line description); the order is the course order
TOPICS: dict[str, tuple[str, str]] = {
    "architecture": ("01-architecture", "The control plane, the API server, etcd and the controllers"),
    "pods": ("02-pods", "Pods: containers, labels, volumes, configuration, resources, probes"),
    "lifecycle": ("03-life-of-a-pod", "The life of a pod: scheduled, pulled, started, restarted, finished"),
    "controllers": ("04-controllers", "Controllers: Deployments, rollouts, Jobs, DaemonSets, self-healing"),
    "scheduling": ("05-scheduling", "Scheduling: labels, taints and tolerations, affinity, resources"),
    "node": ("06-the-node", "The node: kubelet, container runtime, kube-proxy and Services"),
    "clusters": ("07-clusters-and-kubeconfig", "kind clusters and kubeconfig: contexts, cluster-info, nodes"),
    "real-clusters": ("08-real-clusters", "Real clusters (kind, AKS, EKS, GKE): portable manifests"),
}

ANSWERS = "answers"  # the ConfigMap (namespace default) where fact answers go, one key per exercise id


class Unmet(Exception):
    """Raised by a check: the task is not done yet; the message says what exactly is wrong, in the learner's
    terms (names, values found, values expected)."""


CheckFn = Callable[["View"], str]
SetupFn = Callable[["View"], None]


@dataclass(frozen=True)
class Exercise:
    id: str
    topic: str
    title: str
    task: str  # markdown: what to do (rendered in the exercise notebook)
    tool: str  # which tool fits: "%kube", "%%kube", "lab.apply", "lab.kubectl", "kubelab.exercises.answer"
    nudge: str  # hint 1: the idea
    where: str  # hint 2: the command that shows what matters
    check: CheckFn
    setup: SetupFn | None = None

    @property
    def notebook(self) -> str:
        return f"exercises/{TOPICS[self.topic][0]}.ipynb"

    def record(self) -> dict[str, str]:
        return {"id": self.id, "topic": self.topic, "title": self.title, "tool": self.tool,
                "notebook": self.notebook}

    def _repr_markdown_(self) -> str:
        return f"**{self.id} — {self.title}**\n\n{self.task}"


_REGISTRY: dict[str, Exercise] = {}


def exercise(id: str, title: str, *, task: str, tool: str, nudge: str, where: str,
             setup: SetupFn | None = None) -> Callable[[CheckFn], CheckFn]:
    """Register the decorated function as the check of exercise ``id`` (``<topic>-NN``)."""
    topic = id.rsplit("-", 1)[0]
    if topic not in TOPICS:
        raise ValueError(f"exercise {id!r}: unknown topic {topic!r}")

    def register(check: CheckFn) -> CheckFn:
        if id in _REGISTRY:
            raise ValueError(f"exercise {id!r} registered twice")
        _REGISTRY[id] = Exercise(id, topic, title, task.strip(), tool, nudge, where, check, setup)
        return check

    return register


def registry() -> dict[str, Exercise]:
    from kubelab.exercises import topics  # noqa: F401  (importing the topics registers their exercises)

    order = list(TOPICS)
    return dict(sorted(_REGISTRY.items(), key=lambda kv: (order.index(kv[1].topic), kv[0])))


# ------------------------------------------------------------------------------------------------ display
class ExerciseList(list[dict[str, str]]):
    """Every exercise as a record (id, topic, title, tool, notebook): a plain list of dicts, so
    ``pandas.DataFrame(kubelab.exercises.list())`` works, and it renders as a table in a notebook."""

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame(list(self))

    def topic(self, name: str) -> ExerciseList:
        return ExerciseList(r for r in self if r["topic"] == name)

    def _columns(self) -> list[str]:
        extra = [k for k in ("passed",) if any(k in r for r in self)]
        return ["id", "topic", "title", *extra]

    def __repr__(self) -> str:
        cols = self._columns()
        widths = {c: max([len(c), *(len(str(r.get(c, ""))) for r in self)]) for c in cols[:-1]}
        lines = ["  ".join(f"{str(r.get(c, '')):<{widths[c]}}" if c in widths else str(r.get(c, ""))
                          for c in cols) for r in [dict(zip(cols, cols, strict=True)), *self]]
        return "\n".join(line.rstrip() for line in lines)

    def _repr_html_(self) -> str:
        e = html.escape
        cols = self._columns()

        def cell(r: dict[str, str], c: str) -> str:
            value = str(r.get(c, ""))
            if c == "id":
                return f"<td><code>{e(value)}</code></td>"
            if c == "passed":
                mark = "&#10004;" if value == "yes" else "&#10008;"
                colour = "#1a7f37" if value == "yes" else "#b35900"
                return f"<td style='color:{colour}'>{mark} {e(value)}</td>"
            return f"<td style='text-align:left'>{e(value)}</td>"

        head = "".join(f"<th>{e(c)}</th>" for c in cols)
        rows = "".join("<tr>" + "".join(cell(r, c) for c in cols) + "</tr>" for r in self)
        return f"<table class='kubelab-exercises'><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


@dataclass
class Result:
    """What ``kubelab.exercises.check`` found: ``passed``, a ``message``, and progressive ``hints``."""

    id: str
    title: str
    passed: bool
    message: str
    hints: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.passed

    def __iter__(self) -> Iterator[str]:  # ``for h in result`` walks the hints
        return iter(self.hints)

    def hint(self, n: int = 1) -> str:
        """Hint ``n`` (1 = a nudge, 2 = where to look, 3 = what is wrong in your cluster)."""
        if not self.hints:
            return "no hints: the check passed" if self.passed else "no hints available"
        return self.hints[min(max(n, 1), len(self.hints)) - 1]

    def __repr__(self) -> str:
        mark = "PASSED" if self.passed else "NOT YET"
        out = [f"[{mark}] {self.id} — {self.title}", f"  {self.message}"]
        out += [f"  hint {i}: {h}" for i, h in enumerate(self.hints, 1)]
        return "\n".join(out)

    def _repr_html_(self) -> str:
        e = html.escape
        colour, mark, word = ("#1a7f37", "&#10004;", "Passed") if self.passed else ("#b35900", "&#10008;", "Not yet")
        labels = ["a nudge", "where to look", "what is wrong in your cluster"]
        details = "".join(
            f"<details style='margin:2px 0'><summary>Hint {i} ({labels[i - 1] if i <= 3 else 'more'})</summary>"
            f"<div style='margin-left:1.2em'>{e(h)}</div></details>"
            for i, h in enumerate(self.hints, 1))
        return (f"<div class='kubelab-check' style='border-left:4px solid {colour};padding:4px 10px'>"
                f"<div style='color:{colour};font-weight:bold'>{mark} {word}: <code>{e(self.id)}</code> "
                f"{e(self.title)}</div><div>{e(self.message)}</div>{details}</div>")
