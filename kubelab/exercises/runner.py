"""Running exercises: which cluster, set-ups (once per cluster), checks that never raise, answers, solutions."""

from __future__ import annotations

import contextlib
import datetime as _dt
import difflib
import importlib.util
import inspect
import sys
import time
import traceback
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from kubelab.exercises.model import ANSWERS, TOPICS, Exercise, ExerciseList, Result, Unmet, registry
from kubelab.exercises.view import View

if TYPE_CHECKING:
    from kubelab.lab.cluster import Cluster

SETUP_MARKER = ("kube-system", "kubelab-exercises")  # ConfigMap recording which set-ups ran on this cluster
NO_CLUSTER = ("There is no kubelab cluster in this kernel yet. Run the notebook's set-up cell, or create one: "
              "lab = kubelab.create_cluster(name='local', config='clusters.yml') (or kubelab.connect(context=...)), "
              "then check again, or pass it: kubelab.exercises.check(id, cluster=lab).")


# ------------------------------------------------------------------------------------------------ lookup
def list_exercises() -> ExerciseList:
    """Every exercise: records with id, topic, title, tool and notebook (renders as a table)."""
    return ExerciseList(ex.record() for ex in registry().values())


def get(id: str) -> Exercise:
    """The exercise ``id``; KeyError (with close matches) when there is none."""
    found = registry().get(str(id).strip())
    if found is None:
        close = difflib.get_close_matches(str(id), [*registry()], n=3)
        raise KeyError(f"no exercise {id!r}" + (f"; did you mean {', '.join(close)}?" if close else ""))
    return found


def _ids(id_or_topic: str) -> list[str]:
    if id_or_topic in TOPICS:
        return [ex.id for ex in registry().values() if ex.topic == id_or_topic]
    return [get(id_or_topic).id]


# ------------------------------------------------------------------------------------------------ cluster
def current_cluster() -> Cluster | None:
    """The cluster ``%kube`` talks to, else the most recently created kubelab cluster in this process."""
    magics = sys.modules.get("kubelab.notebook.magics")
    if magics is not None:
        with contextlib.suppress(Exception):
            current = magics.current_cluster()
            if current is not None and not getattr(current, "_deleted", False):
                return current  # type: ignore[no-any-return]
    from kubelab.lab.backends import running

    clusters = [*running().values()]
    return clusters[-1] if clusters else None


def _resolve(cluster: Cluster | str | None) -> Cluster | None:
    if isinstance(cluster, str):
        from kubelab.lab.backends import connect, running

        return running().get(cluster) or connect(context=cluster)
    return cluster if cluster is not None else current_cluster()


# ------------------------------------------------------------------------------------------------ set-up
def _setups_done(view: View) -> dict[str, str]:
    cm = view.get("configmap", SETUP_MARKER[1], SETUP_MARKER[0])
    return dict((cm or {}).get("data") or {})


def _run_setup(ex: Exercise, view: View, force: bool = False) -> bool:
    """Run ``ex.setup`` unless it already ran on this cluster; returns whether it ran."""
    if ex.setup is None:
        return False
    if not force and ex.id in _setups_done(view):
        return False
    ex.setup(view)
    stamp = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    view.set_data(SETUP_MARKER[1], {ex.id: stamp}, SETUP_MARKER[0])
    return True


def setup(id_or_topic: str, cluster: Cluster | str | None = None, force: bool = False) -> list[str]:
    """Prepare the starting state of one exercise, or of every exercise of a topic (idempotent: each set-up
    runs once per cluster unless ``force``). Returns the ids whose set-up ran now."""
    c = _resolve(cluster)
    if c is None:
        raise RuntimeError(NO_CLUSTER)
    view = View(c)
    return [i for i in _ids(id_or_topic) if _run_setup(get(i), view, force)]


# ------------------------------------------------------------------------------------------------ check
def check(id: str, cluster: Cluster | str | None = None, wait: float = 0.0) -> Result:
    """Inspect the live cluster: is exercise ``id`` done? Never raises: problems become a failed Result
    with progressive hints. ``wait`` keeps checking for that many seconds until it passes (controllers,
    kubelets and the scheduler need a moment to act)."""
    try:
        ex = get(id)
    except KeyError as e:
        return Result(id, "unknown exercise", False, str(e.args[0]),
                      ["kubelab.exercises.list() shows every exercise id"])
    try:
        c = _resolve(cluster)
    except Exception as e:  # a context that does not exist, an unreadable kubeconfig
        return Result(ex.id, ex.title, False, f"cannot reach the cluster: {e}", [ex.nudge, ex.where, NO_CLUSTER])
    if c is None:
        return Result(ex.id, ex.title, False, NO_CLUSTER, [ex.nudge, ex.where, NO_CLUSTER])
    view = View(c)
    try:
        _run_setup(ex, view)
    except Exception as e:
        if _unreachable(e):
            return _unreachable_result(ex, c)
        return Result(ex.id, ex.title, False, f"the exercise's set-up could not run: {type(e).__name__}: {e}",
                      [ex.nudge, ex.where, f"kubelab.exercises.setup({ex.id!r}) prepares the starting state; "
                                           "it failed on this cluster (see the message)"])
    deadline = time.monotonic() + max(wait, 0.0)
    while True:
        try:
            verified = ex.check(view)
            return Result(ex.id, ex.title, True, f"Well done: {verified}", [])
        except Unmet as u:
            diagnosis = str(u)
        except Exception as e:  # a bug or an unreachable cluster: a readable failure, not a traceback
            if _unreachable(e):
                return _unreachable_result(ex, c)
            where = traceback.extract_tb(e.__traceback__)[-1]
            diagnosis = (f"the check could not finish ({type(e).__name__}: {e}; at {Path(where.filename).name}:"
                         f"{where.lineno}); is the cluster reachable?")
        if time.monotonic() >= deadline:
            break
        time.sleep(0.25)
    return Result(ex.id, ex.title, False, "Not solved yet. Open the hints one at a time (result.hint(1) to "
                  "result.hint(3)). Just changed something? The cluster may need a few seconds: check again, or "
                  f"check({ex.id!r}, wait=10).", [ex.nudge, ex.where, diagnosis[:1].upper() + diagnosis[1:]])


def _unreachable(e: BaseException) -> bool:
    """A connection failure (refused, timed out, DNS): the cluster is gone, not the task unsolved."""
    import urllib3

    return isinstance(e, urllib3.exceptions.MaxRetryError | urllib3.exceptions.NewConnectionError
                      | ConnectionError | TimeoutError)


def _unreachable_result(ex: Exercise, c: Cluster) -> Result:
    text = (f"Cannot reach the API server of cluster {c.name!r} at {c.url}: was the cluster deleted, or the "
            "kernel restarted? Run the notebook's set-up cell again (it re-creates the cluster).")
    return Result(ex.id, ex.title, False, text, [ex.nudge, ex.where, text])


def check_topic(topic: str, cluster: Cluster | str | None = None) -> ExerciseList:
    """A scoreboard: every exercise of ``topic`` with passed True/False."""
    out = ExerciseList()
    for i in _ids(topic):
        r = check(i, cluster)
        out.append({**get(i).record(), "passed": "yes" if r.passed else "no"})
    return out


# ------------------------------------------------------------------------------------------------ answers
def answer(id: str, value: object, cluster: Cluster | str | None = None) -> str:
    """Record a fact answer: key ``id`` of ConfigMap ``answers`` (namespace default), the same as
    ``kubectl create configmap answers --from-literal=<id>=<value>`` (or ``kubectl patch`` once it exists)."""
    c = _resolve(cluster)
    if c is None:
        raise RuntimeError(NO_CLUSTER)
    get(id)
    text = str(value).strip()
    View(c).set_data(ANSWERS, {id: text})
    return f"answers[{id}] = {text!r}"


# ------------------------------------------------------------------------------------------------ solutions
def solutions_dir() -> Path:
    """``exercises/solutions`` of the repository (next to the ``kubelab`` package)."""
    return Path(__file__).resolve().parents[2] / "exercises" / "solutions"


def _solutions_module(topic: str) -> ModuleType:
    path = solutions_dir() / f"{topic.replace('-', '_')}.py"
    if not path.is_file():
        raise FileNotFoundError(f"no solutions file {path}")
    name = f"kubelab_exercise_solutions_{topic.replace('-', '_')}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _solution_fn(id: str) -> Any:
    ex = get(id)
    fn = getattr(_solutions_module(ex.topic), ex.id.replace("-", "_"), None)
    if fn is None:
        raise LookupError(f"no solution function {ex.id.replace('-', '_')} in {ex.topic} solutions")
    return fn


def solution(id: str) -> str:
    """The source of the model solution of ``id`` (spoiler!)."""
    return inspect.getsource(_solution_fn(id))


def solve(id: str, cluster: Cluster | str | None = None) -> None:
    """Run the model solution of ``id`` against the cluster (its set-up first)."""
    c = _resolve(cluster)
    if c is None:
        raise RuntimeError(NO_CLUSTER)
    _run_setup(get(id), View(c))
    _solution_fn(id)(c)
