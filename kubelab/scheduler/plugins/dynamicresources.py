"""DynamicResources: only the part every pod meets — its PostFilter.

Mirrors pkg/scheduler/framework/plugins/dynamicresources, enabled by default since DRA went GA (Kubernetes
1.34). When no node fits, its PostFilter looks for allocated ResourceClaims it could deallocate; a pod without
claims gets "no new claims to deallocate", which is why that phrase precedes "preemption: ..." in today's
FailedScheduling messages. kubelab does not allocate ResourceClaims, so that is all this plugin does.
"""

from __future__ import annotations

from kubelab.scheduler.framework.interface import CycleState, Plugin, PostFilterResult
from kubelab.scheduler.framework.status import Status, unschedulable
from kubelab.scheduler.framework.types import PodInfo

NAME = "DynamicResources"
NO_NEW_CLAIMS = "no new claims to deallocate"


class DynamicResources(Plugin):
    name = NAME

    def post_filter(self, state: CycleState, pod: PodInfo,
                    statuses: dict[str, Status]) -> tuple[PostFilterResult | None, Status]:
        return None, unschedulable(NO_NEW_CLAIMS)
