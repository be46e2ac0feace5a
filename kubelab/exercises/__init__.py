"""Exercises: tasks checked against the LIVE cluster, with progressive hints.

::

    import kubelab
    lab = kubelab.create_cluster(name="ex02", config="clusters.yml")
    kubelab.exercises.list()                 # every exercise: id, topic, title (a table in a notebook)
    kubelab.exercises.setup("pods")          # the starting state of a topic's exercises (idempotent)
    kubelab.exercises.check("pods-02")       # Result: .passed, .message, .hints (1 nudge, 2 where, 3 what)
    kubelab.exercises.answer("lifecycle-01", "ex03-worker")   # fact answers go to ConfigMap `answers`
    kubelab.exercises.solution("pods-02")    # the model solution's source (spoiler)

Eight topics follow the lessons (architecture, pods, lifecycle, controllers, scheduling, node, clusters,
real-clusters); ``kubelab.exercises.topics`` holds one module per topic. Checks read objects, status and
events through the official client, so they work on the embedded cluster, on kind, and on AKS/EKS/GKE.
"""

from kubelab.exercises.model import TOPICS, Exercise, ExerciseList, Result, Unmet
from kubelab.exercises.runner import (
    answer,
    check,
    check_topic,
    current_cluster,
    get,
    list_exercises,
    setup,
    solution,
    solve,
)
from kubelab.exercises.view import View, workdir

list = list_exercises  # noqa: A001  (kubelab.exercises.list() is the public name)

__all__ = ["TOPICS", "Exercise", "ExerciseList", "Result", "Unmet", "View", "answer", "check", "check_topic",
           "current_cluster", "get", "list", "setup", "solution", "solve", "workdir"]
