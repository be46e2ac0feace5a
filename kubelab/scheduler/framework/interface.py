"""The extension points: one small interface each, as kube-scheduler's framework/interface.go.

A scheduling cycle runs, for one pod:

    PreFilter   (once)      compute what Filter needs; may reject the pod outright, or Skip its Filter
    Filter      (per node)  can the pod run here? None (fits) or a Status saying why not
    PostFilter  (once, only when no node fits)   e.g. preemption
    PreScore    (once, feasible nodes)           compute what Score needs; may Skip its Score
    Score       (per feasible node)              0..100 after NormalizeScore; the profile weights it
    NormalizeScore (once)                        rescale the raw scores in place

A plugin is a class with a ``name`` and the methods of the points it implements; a profile enables it at every
point it implements (upstream's multiPoint). ``events`` lists the cluster events after which a pod this plugin
rejected may fit ("NodeAdd", "NodeUpdate", "AssignedPodAdd", "AssignedPodUpdate", "AssignedPodDelete"), and the
optional ``queueing_hint`` narrows it down, as upstream's EventsToRegister and QueueingHintFn do.

Simplified: no Reserve/Permit/PreBind/Bind/PostBind points (binding is one API call, done by the scheduler);
Score returns a plain int (a failing Score raises); PreFilter never narrows the node list (no PreFilterResult).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from kubelab.scheduler.framework.status import Status
from kubelab.scheduler.framework.types import NodeInfo, PodInfo

if TYPE_CHECKING:
    from kubelab.scheduler.framework.cache import Cache
    from kubelab.scheduler.framework.runtime import Framework

Obj = dict[str, Any]

# Cluster events (upstream ClusterEvent labels) that can make an unschedulable pod schedulable.
NODE_ADD = "NodeAdd"
NODE_UPDATE = "NodeUpdate"
ASSIGNED_POD_ADD = "AssignedPodAdd"
ASSIGNED_POD_UPDATE = "AssignedPodUpdate"
ASSIGNED_POD_DELETE = "AssignedPodDelete"
ALL_EVENTS = frozenset({NODE_ADD, NODE_UPDATE, ASSIGNED_POD_ADD, ASSIGNED_POD_UPDATE, ASSIGNED_POD_DELETE})


class CycleState(dict[str, Any]):
    """Data plugins share within one scheduling cycle (keyed by plugin name), plus which plugins skip."""

    __slots__ = ("skip_filter", "skip_score", "signature", "memo", "positions")

    def __init__(self) -> None:
        super().__init__()
        self.skip_filter: set[str] = set()
        self.skip_score: set[str] = set()
        self.signature: Hashable | None = None
        self.memo: Any = None  # the signature's reuse table (framework.reuse.Verdicts)
        self.positions: list[int] | None = None  # the feasible nodes' positions in the cache's node list


@dataclass
class Handle:
    """What plugins may use besides their arguments: the cluster snapshot, listers, and (in a running
    scheduler) the client to act through. ``client`` is None in ``explain``: plugins must then only simulate."""

    cache: Cache
    framework: Framework | None = None
    client: Any = None
    clock: Any = None
    record_event: Callable[..., None] | None = None
    scheduler_name: str = "default-scheduler"
    extra: dict[str, Any] = field(default_factory=dict)


class Plugin:
    """Base class: a name, and the cluster events after which a pod it rejected should be retried.

    ``node_local``: the plugin's Filter and Score read only the pod (what ``sign`` returns) and the one NodeInfo
    they are given — never other nodes, never the cluster — so the framework may reuse its results for a node
    whose NodeInfo has not changed since, for any pod with the same signature (see SignPlugin).
    """

    name: ClassVar[str] = ""
    events: ClassVar[frozenset[str]] = frozenset()
    node_local: ClassVar[bool] = False

    def __init__(self, handle: Handle, args: dict[str, Any] | None = None) -> None:
        self.handle = handle
        self.args = args or {}

    def queueing_hint(self, event: str, pod: PodInfo, old: Obj | None, new: Obj | None) -> bool:
        """Whether ``event`` (old -> new object) may make ``pod``, rejected by this plugin, schedulable."""
        return True

    def __repr__(self) -> str:
        return f"<{self.name}>"


@runtime_checkable
class SignPlugin(Protocol):
    def sign(self, pod: PodInfo) -> Hashable | None:
        """What of ``pod`` this plugin looks at (upstream's SignPod fragment); None when it cannot say.
        Pods whose fragments all compare equal get equal Filter/Score results on an unchanged node."""
        ...


@runtime_checkable
class QueueSortPlugin(Protocol):
    def sort_key(self, pod: PodInfo, timestamp: float) -> tuple[Any, ...]:
        """Smaller sorts first in the active queue."""
        ...


@runtime_checkable
class PreFilterPlugin(Protocol):
    def pre_filter(self, state: CycleState, pod: PodInfo, nodes: list[NodeInfo]) -> Status | None:
        """None to go on; Skip (this plugin's Filter is not needed); Unschedulable[AndUnresolvable] rejects
        the pod on every node; Error aborts the cycle."""
        ...


@runtime_checkable
class FilterPlugin(Protocol):
    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status | None:
        """None if the pod fits ``node``; else Unschedulable (preemption might help),
        UnschedulableAndUnresolvable (it would not) or Error."""
        ...


@dataclass
class PostFilterResult:
    nominated_node: str = ""
    victims: list[PodInfo] = field(default_factory=list)


@runtime_checkable
class PostFilterPlugin(Protocol):
    def post_filter(self, state: CycleState, pod: PodInfo,
                    statuses: dict[str, Status]) -> tuple[PostFilterResult | None, Status]:
        """Runs only when no node fits. Success (with a nominated node) ends the PostFilter phase;
        Unschedulable passes to the next plugin, its reasons joined into the message."""
        ...


@runtime_checkable
class PreScorePlugin(Protocol):
    def pre_score(self, state: CycleState, pod: PodInfo, nodes: list[NodeInfo]) -> Status | None:
        """None to go on; Skip when this plugin has nothing to score for the pod; Error aborts."""
        ...


@runtime_checkable
class ScorePlugin(Protocol):
    """May also define ``score_nodes(state, pod, nodes) -> list[int]``, a batch form the framework prefers; it
    must equal ``[score(state, pod, n) for n in nodes]`` (Python's answer to upstream's parallel scoring)."""

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        """A raw score for one feasible node (0..100 unless NormalizeScore rescales it)."""
        ...


@runtime_checkable
class NormalizeScorePlugin(Protocol):
    def normalize_score(self, state: CycleState, pod: PodInfo, nodes: list[NodeInfo], scores: list[int]) -> None:
        """Rescale ``scores`` (aligned with ``nodes``) in place to 0..100."""
        ...
