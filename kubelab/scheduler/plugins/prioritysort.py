"""PrioritySort: the queue sort plugin — higher priority first, then the pod that has waited longest.

Mirrors pkg/scheduler/framework/plugins/queuesort: Less(p1, p2) is p1.priority > p2.priority, ties broken by the
time the pod was added to the queue.
"""

from __future__ import annotations

from typing import Any

from kubelab.scheduler.framework.interface import Plugin
from kubelab.scheduler.framework.types import PodInfo

NAME = "PrioritySort"


class PrioritySort(Plugin):
    name = NAME

    def sort_key(self, pod: PodInfo, timestamp: float) -> tuple[Any, ...]:
        return (-pod.priority, timestamp)

    def less(self, a: tuple[PodInfo, float], b: tuple[PodInfo, float]) -> bool:
        return self.sort_key(*a) < self.sort_key(*b)
