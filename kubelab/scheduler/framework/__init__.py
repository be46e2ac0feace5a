"""The scheduling framework: extension-point interfaces, Status, PodInfo/NodeInfo, the cache, the runtime that
runs a profile's plugins for one pod, and the registry/profile that choose those plugins."""

from kubelab.scheduler.framework.cache import Cache, Listers, StaticListers
from kubelab.scheduler.framework.interface import (
    ALL_EVENTS,
    ASSIGNED_POD_ADD,
    ASSIGNED_POD_DELETE,
    ASSIGNED_POD_UPDATE,
    NODE_ADD,
    NODE_UPDATE,
    CycleState,
    FilterPlugin,
    Handle,
    NormalizeScorePlugin,
    Plugin,
    PostFilterPlugin,
    PostFilterResult,
    PreFilterPlugin,
    PreScorePlugin,
    QueueSortPlugin,
    ScorePlugin,
)
from kubelab.scheduler.framework.registry import PluginRef, Profile, Registry, default_profile
from kubelab.scheduler.framework.runtime import (
    CycleResult,
    Framework,
    fit_error_message,
    num_feasible_nodes_to_find,
)
from kubelab.scheduler.framework.status import Code, Status
from kubelab.scheduler.framework.types import NodeInfo, PodInfo, Resource

__all__ = [
    "ALL_EVENTS", "ASSIGNED_POD_ADD", "ASSIGNED_POD_DELETE", "ASSIGNED_POD_UPDATE", "NODE_ADD", "NODE_UPDATE",
    "Cache", "Code", "CycleResult", "CycleState", "FilterPlugin", "Framework", "Handle", "Listers", "NodeInfo",
    "NormalizeScorePlugin", "Plugin", "PluginRef", "PodInfo", "PostFilterPlugin", "PostFilterResult",
    "PreFilterPlugin", "PreScorePlugin", "Profile", "QueueSortPlugin", "Registry", "Resource", "ScorePlugin",
    "StaticListers", "Status", "default_profile", "fit_error_message", "num_feasible_nodes_to_find",
]
