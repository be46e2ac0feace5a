"""The scheduler: watches pending pods and binds each to a node, as kube-scheduler does.

    from kubelab.scheduler import Scheduler, explain
    sched = Scheduler(client, informers, config, trace)     # then: await sched.run()
    sched.last_decision("default", "web-1").summary          # why there (or why Pending)
    explain(pod, nodes, pods).to_rows()                      # the same, computed fresh, for a DataFrame

Layout (mirrors pkg/scheduler): ``framework/`` (extension-point interfaces, Status, PodInfo/NodeInfo, the cache,
the runtime that runs a profile, registry and profiles), ``plugins/`` (one module per plugin), ``queue.py``
(activeQ/backoffQ/unschedulable pods), ``scheduler.py`` (the component), ``decision.py`` (explanations).
"""

from kubelab.scheduler.decision import Decision, NodeVerdict, explain
from kubelab.scheduler.framework import (
    Code,
    CycleResult,
    Framework,
    NodeInfo,
    PluginRef,
    PodInfo,
    Profile,
    Registry,
    Status,
    default_profile,
)
from kubelab.scheduler.plugins import IN_TREE
from kubelab.scheduler.queue import SchedulingQueue
from kubelab.scheduler.scheduler import Scheduler

__all__ = ["IN_TREE", "Code", "CycleResult", "Decision", "Framework", "NodeInfo", "NodeVerdict", "PluginRef",
           "PodInfo", "Profile", "Registry", "Scheduler", "SchedulingQueue", "Status", "default_profile",
           "explain"]
