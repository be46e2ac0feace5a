"""Status: what a plugin says about a pod (and a node), as kube-scheduler's framework.Status.

Mirrors ``k8s.io/kube-scheduler/framework`` Code and Status: a code, the reasons (the short sentences that end up,
counted, in the FailedScheduling message) and the plugin that said it. Like upstream, ``None`` stands for success
wherever a plugin returns a status, so the hot path (a filter that passes) allocates nothing.

kubelab adds ``detail``: what upstream only logs (for example the taint a node had, which since Kubernetes 1.35
no longer appears in pod status), kept for the lab's explain view.
"""

from __future__ import annotations

from enum import IntEnum


class Code(IntEnum):
    SUCCESS = 0
    ERROR = 1
    #: the pod does not fit now; preemption (removing lower-priority pods) might help
    UNSCHEDULABLE = 2
    #: the pod cannot fit whatever is removed from the node; preemption does not help
    UNSCHEDULABLE_AND_UNRESOLVABLE = 3
    WAIT = 4
    #: PreFilter/PreScore: this plugin has nothing to do for this pod (its Filter/Score are not run)
    SKIP = 5
    PENDING = 6

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {Code.SUCCESS: "Success", Code.ERROR: "Error", Code.UNSCHEDULABLE: "Unschedulable",
           Code.UNSCHEDULABLE_AND_UNRESOLVABLE: "UnschedulableAndUnresolvable", Code.WAIT: "Wait",
           Code.SKIP: "Skip", Code.PENDING: "Pending"}


class Status:
    __slots__ = ("code", "reasons", "plugin", "detail")

    def __init__(self, code: Code, *reasons: str, plugin: str = "", detail: str = "") -> None:
        self.code = code
        self.reasons: tuple[str, ...] = reasons
        self.plugin = plugin
        self.detail = detail

    @property
    def message(self) -> str:
        """The reasons joined as upstream's Status.Message() joins them."""
        return ", ".join(self.reasons)

    def is_success(self) -> bool:
        return self.code == Code.SUCCESS

    def is_rejected(self) -> bool:
        return self.code in (Code.UNSCHEDULABLE, Code.UNSCHEDULABLE_AND_UNRESOLVABLE, Code.PENDING)

    def is_skip(self) -> bool:
        return self.code == Code.SKIP

    def with_plugin(self, plugin: str) -> Status:
        self.plugin = plugin
        return self

    def __repr__(self) -> str:
        by = f" by {self.plugin}" if self.plugin else ""
        return f"Status({self.code.label}{by}: {self.message!r})"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Status) and self.code == other.code and self.reasons == other.reasons)

    def __hash__(self) -> int:
        return hash((self.code, self.reasons))


def unschedulable(*reasons: str, detail: str = "") -> Status:
    return Status(Code.UNSCHEDULABLE, *reasons, detail=detail)


def unresolvable(*reasons: str, detail: str = "") -> Status:
    return Status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, *reasons, detail=detail)


def error(message: str) -> Status:
    return Status(Code.ERROR, message)


SKIP = Status(Code.SKIP)  # shared: a Skip carries no reason
