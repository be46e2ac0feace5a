"""Registry (plugin name -> factory) and Profile (which plugins, in which order, with which score weights).

Mirrors kube-scheduler's runtime.Registry and a KubeSchedulerProfile using multiPoint: a plugin listed in a
profile is enabled at every extension point it implements, in list order; ``weight`` only matters for Score.
The default profile has upstream's default plugins, order and weights (ImageLocality and the volume plugins
are left out: kubelab has no images on nodes or volumes to bind).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from kubelab.scheduler.framework.interface import Handle, Plugin

Factory = Callable[[Handle, dict[str, Any]], Plugin]


class Registry(dict[str, Factory]):
    """name -> factory(handle, args). ``register`` accepts a Plugin class (its ``name`` is the key)."""

    def register(self, plugin: type[Plugin] | Factory, name: str = "") -> None:
        key = name or getattr(plugin, "name", "")
        if not key:
            raise ValueError("a plugin needs a name")
        if key in self:
            raise ValueError(f"a plugin named {key!r} already exists")
        self[key] = plugin  # a Plugin class is itself a factory: cls(handle, args)

    def merged(self, other: Registry) -> Registry:
        out = Registry(self)
        for k, v in other.items():
            out.register(v, k)
        return out


@dataclass(frozen=True)
class PluginRef:
    name: str
    weight: int = 0  # score weight; 0 means the plugin does not score (or 1 if it only has a Score point)
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Profile:
    scheduler_name: str = "default-scheduler"
    plugins: tuple[PluginRef, ...] = ()
    #: 0 = adaptive (50% of nodes, minus 1% per 125 nodes, at least 5% and at least 100 nodes), as upstream
    percentage_of_nodes_to_score: int = 0

    def names(self) -> list[str]:
        return [p.name for p in self.plugins]

    def weight(self, name: str) -> int:
        for p in self.plugins:
            if p.name == name:
                return p.weight
        return 0

    def without(self, *names: str) -> Profile:
        return replace(self, plugins=tuple(p for p in self.plugins if p.name not in names))

    def with_weights(self, **weights: int) -> Profile:
        return replace(self, plugins=tuple(replace(p, weight=weights.get(p.name, p.weight))
                                           for p in self.plugins))

    def with_plugins(self, refs: Iterable[PluginRef]) -> Profile:
        return replace(self, plugins=(*self.plugins, *refs))

    def with_args(self, name: str, **args: Any) -> Profile:
        return replace(self, plugins=tuple(replace(p, args={**p.args, **args}) if p.name == name else p
                                           for p in self.plugins))


def default_profile() -> Profile:
    """Upstream's default plugins (getDefaultPlugins), in order, with their default score weights."""
    return Profile(plugins=(
        PluginRef("PrioritySort"),
        PluginRef("NodeUnschedulable"),
        PluginRef("NodeName"),
        PluginRef("TaintToleration", 3),
        PluginRef("NodeAffinity", 2),
        PluginRef("NodePorts"),
        PluginRef("NodeResourcesFit", 1),
        PluginRef("PodTopologySpread", 2),
        PluginRef("InterPodAffinity", 2),
        PluginRef("DynamicResources"),
        PluginRef("DefaultPreemption"),
        PluginRef("NodeResourcesBalancedAllocation", 1),
    ))
