"""Every exercise against a live embedded cluster: a fresh state fails with hints and no exception; after the
model solution (exercises/solutions) runs, the check passes."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from kubelab import exercises
from kubelab.lab import Cluster

IDS = [r["id"] for r in exercises.list()]


@pytest.mark.parametrize("ex_id", IDS)
def test_fresh_fails_then_solution_passes(ex_id: str, topic_cluster: Callable[[str], Cluster]) -> None:
    ex = exercises.get(ex_id)
    lab = topic_cluster(ex.topic)

    fresh = exercises.check(ex_id, cluster=lab)
    assert not fresh.passed, f"{ex_id} passes before it is solved: {fresh!r}"
    assert len(fresh.hints) == 3 and all(h.strip() for h in fresh.hints), fresh
    assert "could not finish" not in fresh.hints[-1], fresh  # a real diagnosis, not a crash

    exercises.solve(ex_id, cluster=lab)
    done = exercises.check(ex_id, cluster=lab, wait=30)
    assert done.passed, f"{ex_id} still fails after its solution: {done!r}"
    assert done.hints == [] and done.message.startswith("Well done")
