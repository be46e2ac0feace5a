"""One embedded three-node cluster per exercise topic, created when the first exercise of that topic runs and
deleted when the next topic starts (so at most one runs at a time); the exercise folder is a temp dir."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import kubelab
from kubelab.lab import Cluster

THREE_NODES = {"kind": "Cluster", "apiVersion": "kind.x-k8s.io/v1alpha4",
               "nodes": [{"role": "control-plane"}, {"role": "worker"}, {"role": "worker"}]}

# checks read objects and status only, so the simulated runtime (fast, deterministic) is enough everywhere
SIMULATED: dict[str, Any] = ({"runtime": "simulated"}
                             if "runtime" in inspect.signature(kubelab.create_cluster).parameters else {})


@pytest.fixture(scope="session")
def exercise_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    d = tmp_path_factory.mktemp("exercises")
    mp = pytest.MonkeyPatch()
    mp.setenv("KUBELAB_EXERCISES_DIR", str(d / "work"))
    yield d
    mp.undo()


@pytest.fixture(scope="session")
def topic_cluster(exercise_dir: Path) -> Iterator[Callable[[str], Cluster]]:
    current: dict[str, Cluster] = {}

    def get(topic: str) -> Cluster:
        if topic not in current:
            for old in current.values():
                old.delete_cluster()
            current.clear()
            name = "x" + topic.replace("-", "")[:10]
            current[topic] = kubelab.create_cluster(name=name, config=THREE_NODES,
                                                    kubeconfig=exercise_dir / "kubeconfig", **SIMULATED)
        return current[topic]

    yield get
    for c in current.values():
        c.delete_cluster()
