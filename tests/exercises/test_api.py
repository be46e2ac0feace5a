"""The public API of kubelab.exercises: the catalogue, the notebooks that hold its check cells, results that
never raise, answers that accumulate, and the display of results."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

import kubelab
from kubelab import exercises
from kubelab.exercises import model, runner
from kubelab.lab import Cluster

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "exercises"


def test_catalogue_has_enough_exercises_per_topic() -> None:
    records = exercises.list()
    ids = [r["id"] for r in records]
    assert len(ids) >= 40 and len(set(ids)) == len(ids)
    per_topic = Counter(r["topic"] for r in records)
    assert set(per_topic) == set(exercises.TOPICS)
    assert all(n >= 5 for n in per_topic.values()), per_topic
    for r in records:
        assert re.fullmatch(rf"{re.escape(r['topic'])}-\d\d", r["id"]), r
        assert r["title"] and r["notebook"].startswith("exercises/")
    assert kubelab.exercises is exercises  # an attribute of the facade after a bare `import kubelab`
    frame = records.to_frame()
    assert list(frame.columns[:3]) == ["id", "topic", "title"] and len(frame) == len(ids)
    assert "<table" in records._repr_html_() and "pods-02" in repr(records)


def _sources(path: Path) -> list[str]:
    return ["".join(c["source"]) for c in json.loads(path.read_text())["cells"]]


@pytest.mark.parametrize("topic", list(model.TOPICS))
def test_each_exercise_has_a_check_cell_in_its_notebook(topic: str) -> None:
    path = NOTEBOOKS / f"{model.TOPICS[topic][0]}.ipynb"
    sources = _sources(path)
    code = "\n".join(sources)
    for r in exercises.list().topic(topic):
        assert f'kubelab.exercises.check("{r["id"]}")' in sources, r["id"]
    assert f'kubelab.exercises.setup("{topic}")' in code and "lab.delete_cluster()" in sources[-1]
    assert "../clusters.yml" in code


def test_notebooks_are_generated_from_the_current_tasks(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_notebooks", NOTEBOOKS / "make_notebooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for fresh in module.main(tmp_path):
        assert _sources(fresh) == _sources(NOTEBOOKS / fresh.name), \
            f"{fresh.name} is stale: run python exercises/make_notebooks.py"


def test_every_exercise_has_a_readable_solution(exercise_dir: Path) -> None:  # the solutions name files there
    for r in exercises.list():
        source = exercises.solution(r["id"])
        assert source.startswith(f"def {r['id'].replace('-', '_')}(lab)"), r["id"]


def test_unknown_id_is_a_failed_result_with_suggestions() -> None:
    result = exercises.check("pods-2")
    assert not result.passed and "did you mean" in result.message and "pods-02" in result.message
    assert result.hints


def test_no_cluster_is_a_helpful_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "current_cluster", lambda: None)
    result = exercises.check("pods-01")
    assert not result.passed and "create_cluster" in result.message and len(result.hints) == 3


def test_a_crashing_check_becomes_a_readable_failure(monkeypatch: pytest.MonkeyPatch,
                                                     topic_cluster: Callable[[str], Cluster]) -> None:
    lab = topic_cluster("architecture")

    def broken(view: object) -> str:
        raise ZeroDivisionError("boom")

    original = model._REGISTRY["architecture-05"]
    monkeypatch.setitem(model._REGISTRY, "architecture-05", dataclasses.replace(original, check=broken))
    result = exercises.check("architecture-05", cluster=lab)
    assert not result.passed and "ZeroDivisionError: boom" in result.hints[-1]


def test_default_cluster_answers_accumulate_and_results_render(topic_cluster: Callable[[str], Cluster]) -> None:
    lab = topic_cluster("architecture")
    assert exercises.current_cluster() is lab  # the most recently created cluster
    # keys of another topic, so the architecture exercises still start fresh
    exercises.answer("node-03", "first")
    exercises.answer("node-05", "second", cluster=lab)
    data = lab.get_object("configmap", "answers")["data"]
    assert data["node-03"] == "first" and data["node-05"] == "second"

    result = exercises.check("node-05", cluster=lab)  # "second" is not a number
    assert not result.passed and "'second' is not a number" in result.hints[2]
    text, page = repr(result), result._repr_html_()
    assert "NOT YET" in text and "hint 3:" in text
    assert page.count("<details") == 3 and "Not yet" in page and "node-05" in page
    assert result.hint(1) == result.hints[0] and result.hint(9) == result.hints[-1]
    assert exercises.check("architecture-05").passed is False  # cluster=None uses the current cluster


def test_a_deleted_cluster_is_reported_as_unreachable(exercise_dir: Path) -> None:
    import inspect

    extra = {"runtime": "simulated"} if "runtime" in inspect.signature(kubelab.create_cluster).parameters else {}
    gone = kubelab.create_cluster(name="xgone", kubeconfig=exercise_dir / "kubeconfig", **extra)
    gone.delete_cluster()
    for ex_id in ("pods-01", "lifecycle-02"):  # without and with a set-up
        result = exercises.check(ex_id, cluster=gone)
        assert not result.passed and "Cannot reach the API server" in result.message, result
