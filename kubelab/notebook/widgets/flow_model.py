"""FlowModel: the control-plane picture as data, and the trace events played on it as a timeline of steps.

The flow widget draws the Kubernetes architecture diagram (client, apiserver, etcd, controller-manager with
one sub-node per controller seen, scheduler, and a kubelet plus container runtime per cluster node) and
lights up the edge each trace event travelled: ``POST deployments web`` is client -> apiserver, ``etcd put
rev 812`` is apiserver -> etcd, ``ReplicaSet web-7d4 created pod web-7d4-x2`` is controller-manager ->
apiserver, and so on.

This module is pure (no widgets, no threads): ``apply(event)`` turns one ``TraceEvent`` (or its dict) into
a ``Step``; a cursor walks the steps (``step_forward``, ``step_back``, ``seek``), ``follow(kind, name)``
narrows them to one object and its children (matched by name prefix, as generated names are), and
``highlighted()`` says which node and edge ids glow and how brightly (the current step at 1.0, earlier
steps fading).

Simplified: the trace does not say which client made a request, so every API request comes from ``client``;
writes made in-process by components are not traced by the apiserver, so a controller's create lights the
controller-manager -> apiserver edge directly. Heartbeat noise (Leases, Events, Node status puts) is
skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

CLIENT, APISERVER, ETCD, CM, SCHEDULER = "client", "apiserver", "etcd", "controller-manager", "scheduler"
DEFAULT_CONTROLLERS = ("deployment", "replicaset")
DEFAULT_IGNORE_KINDS = frozenset({"Lease", "Event"})
DEFAULT_QUIET_ETCD_KINDS = frozenset({"Node"})  # kubelet heartbeats write the Node every few seconds

# what a controller's name is as a kind, for labels like "ReplicaSet web-7d4 created pod web-7d4-x2"
_CONTROLLER_KINDS = {
    "deployment": "Deployment",
    "replicaset": "ReplicaSet",
    "job": "Job",
    "cronjob": "CronJob",
    "daemonset": "DaemonSet",
    "statefulset": "StatefulSet",
    "endpoints": "Endpoints",
    "endpointslice": "EndpointSlice",
    "garbagecollector": "GarbageCollector",
    "nodelifecycle": "NodeLifecycle",
    "tainteviction": "TaintEviction",
    "disruption": "PodDisruptionBudget",
    "resourcequota": "ResourceQuota",
    "persistentvolume": "PersistentVolume",
}
_KUBELET_TO_APISERVER = frozenset({"status", "register", "delete", "stop", "event"})
_CONTROLLER_READS = frozenset({"reconcile", "sync", "observe", "skip", "backoff"})
_CONTAINER_VERBS = {
    "pull": "pull",
    "create": "create container",
    "start": "Started",
    "stop": "stop",
    "kill": "kill",
    "sandbox": "sandbox",
}
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def safe_id(text: str) -> str:
    """A string usable as a graphviz/SVG id (node names are DNS labels, so this rarely changes them)."""
    return _ID_UNSAFE.sub("_", text)


def kubelet_id(node: str) -> str:
    return f"kubelet-{safe_id(node)}"


def runtime_id(node: str) -> str:
    return f"runtime-{safe_id(node)}"


def controller_id(controller: str) -> str:
    return f"cm-{safe_id(controller)}"


def edge_id(src: str, dst: str) -> str:
    return f"e-{src}--{dst}"


@dataclass(frozen=True, slots=True)
class GraphNode:
    id: str
    label: str
    group: str = ""  # "" top level, "controller-manager", or "node:<cluster node>"


@dataclass(frozen=True, slots=True)
class GraphEdge:
    id: str
    src: str
    dst: str
    label: str = ""


@dataclass(frozen=True, slots=True)
class Step:
    """One trace event as the diagram shows it."""

    seq: int
    label: str
    nodes: tuple[str, ...]
    edges: tuple[str, ...]
    component: str = ""
    action: str = ""
    kind: str = ""
    namespace: str = ""
    name: str = ""
    owner: str = ""
    time: str = ""


def _field(event: Any, key: str, default: Any = "") -> Any:
    if isinstance(event, dict) or isinstance(event, Mapping):
        value = event.get(key, default)
    else:
        value = getattr(event, key, default)
    return default if value is None and default is not None else value


@dataclass
class FlowModel:
    """The graph, the steps and the cursor. ``cluster_nodes``/``controllers`` seed the graph; more appear as
    events name them (``structure_version`` then changes, telling a view to lay the graph out again)."""

    cluster_nodes: Iterable[str] = ()
    controllers: Iterable[str] = DEFAULT_CONTROLLERS
    fade: int = 4  # how many steps back still glow
    max_steps: int = 20_000
    ignore_kinds: frozenset[str] = DEFAULT_IGNORE_KINDS
    quiet_etcd_kinds: frozenset[str] = DEFAULT_QUIET_ETCD_KINDS
    steps: list[Step] = field(default_factory=list, init=False)
    structure_version: int = field(default=0, init=False)
    live: bool = field(default=True, init=False)  # the cursor tracks the newest step as steps arrive

    def __post_init__(self) -> None:
        self._nodes: list[str] = []
        self._controllers: list[str] = []
        for n in self.cluster_nodes:
            self.add_cluster_node(n)
        for c in self.controllers:
            self.add_controller(c)
        self.structure_version = 0
        self._cursor = -1  # index into visible(); -1: nothing shown
        self._follow: tuple[str, str] | None = None
        self._visible: list[Step] = []

    # ------------------------------------------------------------------------------------------- graph
    def add_cluster_node(self, node: str) -> bool:
        if not node or node in self._nodes:
            return False
        self._nodes.append(node)
        self.structure_version += 1
        return True

    def add_controller(self, controller: str) -> bool:
        if not controller or controller in self._controllers:
            return False
        self._controllers.append(controller)
        self.structure_version += 1
        return True

    @property
    def node_names(self) -> list[str]:
        return list(self._nodes)

    @property
    def controller_names(self) -> list[str]:
        return list(self._controllers)

    def graph_nodes(self) -> list[GraphNode]:
        out = [
            GraphNode(CLIENT, "client\n(kubectl, python)"),
            GraphNode(APISERVER, "kube-apiserver"),
            GraphNode(ETCD, "etcd"),
            GraphNode(SCHEDULER, "kube-scheduler"),
            GraphNode(CM, "kube-controller-manager", CM),
        ]
        out += [GraphNode(controller_id(c), c, CM) for c in self._controllers]
        for n in self._nodes:
            out += [
                GraphNode(kubelet_id(n), f"kubelet\n{n}", f"node:{n}"),
                GraphNode(runtime_id(n), "container runtime", f"node:{n}"),
            ]
        return out

    def graph_edges(self) -> list[GraphEdge]:
        pairs = [
            (CLIENT, APISERVER, "request"),
            (APISERVER, ETCD, "store"),
            (APISERVER, CM, "watch"),
            (CM, APISERVER, "write"),
            (APISERVER, SCHEDULER, "watch"),
            (SCHEDULER, APISERVER, "bind"),
        ]
        pairs += [(CM, controller_id(c), "") for c in self._controllers]
        for n in self._nodes:
            k = kubelet_id(n)
            pairs += [(APISERVER, k, "watch"), (k, runtime_id(n), "CRI"), (k, APISERVER, "status")]
        return [GraphEdge(edge_id(s, d), s, d, label) for s, d, label in pairs]

    def ids(self) -> list[str]:
        return [n.id for n in self.graph_nodes()] + [e.id for e in self.graph_edges()]

    # ------------------------------------------------------------------------------------------ events
    def discover(self, events: Iterable[Any]) -> None:
        """Learn cluster nodes and controllers from events without adding steps (e.g. an old backlog)."""
        for ev in events:
            comp = str(_field(ev, "component"))
            if comp.startswith("kubelet/"):
                self.add_cluster_node(comp.split("/", 1)[1])
            elif comp.startswith(CM + "/") and not self._ignored(ev):
                self.add_controller(comp.split("/", 1)[1])

    def _ignored(self, ev: Any) -> bool:
        kind = _field(ev, "kind")
        if kind in self.ignore_kinds:
            return True
        return bool(_field(ev, "component") == ETCD and kind in self.quiet_etcd_kinds)

    def to_step(self, ev: Any) -> Step | None:
        """Map one event to its step (None for noise); may add graph nodes the event names."""
        if self._ignored(ev):
            return None
        comp, action = str(_field(ev, "component")), str(_field(ev, "action"))
        kind, name, msg = str(_field(ev, "kind")), str(_field(ev, "name")), str(_field(ev, "message"))
        details = _field(ev, "details", None) or {}
        owner = str(details.get("owner") or "") if isinstance(details, Mapping) else ""
        nodes: tuple[str, ...]
        edges: tuple[str, ...]
        if comp == APISERVER:
            nodes, edges = (CLIENT, APISERVER), (edge_id(CLIENT, APISERVER),)
            label = msg or f"{action.upper()} {kind.lower()}s {name}".strip()
        elif comp == ETCD:
            nodes, edges = (APISERVER, ETCD), (edge_id(APISERVER, ETCD),)
            rev = _field(ev, "revision", None)
            label = f"etcd {action}" + (f" rev {rev}" if rev is not None else "") + f" {kind} {name}".rstrip()
        elif comp.startswith(CM + "/"):
            ctl = comp.split("/", 1)[1]
            self.add_controller(ctl)
            cid = controller_id(ctl)
            if action in _CONTROLLER_READS:
                nodes, edges = (APISERVER, CM, cid), (edge_id(APISERVER, CM), edge_id(CM, cid))
            else:
                nodes, edges = (cid, CM, APISERVER), (edge_id(CM, cid), edge_id(CM, APISERVER))
            label = _controller_label(ctl, action, kind, name, owner, msg)
        elif comp == SCHEDULER:
            if action in ("bind", "preempt"):
                nodes, edges = (SCHEDULER, APISERVER), (edge_id(SCHEDULER, APISERVER),)
            else:
                nodes, edges = (APISERVER, SCHEDULER), (edge_id(APISERVER, SCHEDULER),)
            label = _scheduler_label(action, name, str(_field(ev, "node")), msg)
        elif comp.startswith("kubelet/"):
            node = comp.split("/", 1)[1]
            self.add_cluster_node(node)
            k, r = kubelet_id(node), runtime_id(node)
            if action in _KUBELET_TO_APISERVER:
                nodes, edges = (k, APISERVER), (edge_id(k, APISERVER),)
            elif action == "sandbox":  # the first thing a kubelet does for a pod it saw through its watch
                nodes, edges = (APISERVER, k, r), (edge_id(APISERVER, k), edge_id(k, r))
            else:
                nodes, edges = (k, r), (edge_id(k, r),)
            label = _kubelet_label(action, name, msg)
        else:
            nodes, edges = (APISERVER,), ()
            label = f"{comp}: {msg or action} {name}".strip()
        return Step(
            int(_field(ev, "seq", 0) or 0),
            label,
            nodes,
            edges,
            comp,
            action,
            kind,
            str(_field(ev, "namespace")),
            name,
            owner,
            str(_field(ev, "time")),
        )

    def apply(self, ev: Any) -> Step | None:
        """Add the step for one event; the cursor moves to it when the model is live."""
        step = self.to_step(ev)
        if step is None:
            return None
        self.steps.append(step)
        if self._matches(step):
            self._visible.append(step)
        if len(self.steps) > self.max_steps:
            self._trim()
        if self.live:
            self._cursor = len(self._visible) - 1
        return step

    def extend(self, events: Iterable[Any]) -> int:
        """Apply a batch of events; returns how many became steps."""
        return sum(1 for ev in events if self.apply(ev) is not None)

    def _trim(self) -> None:
        drop = len(self.steps) - self.max_steps + self.max_steps // 10
        first_kept = self.steps[drop].seq
        del self.steps[:drop]
        before = len(self._visible)
        self._visible = [s for s in self._visible if s.seq >= first_kept]
        self._cursor = max(-1, self._cursor - (before - len(self._visible)))

    # ------------------------------------------------------------------------------------------ cursor
    def visible(self) -> list[Step]:
        """The steps the cursor walks: all of them, or the followed object's."""
        return self._visible

    @property
    def cursor(self) -> int:
        return self._cursor

    def current(self) -> Step | None:
        return self._visible[self._cursor] if 0 <= self._cursor < len(self._visible) else None

    def seek(self, i: int) -> Step | None:
        n = len(self._visible)
        self._cursor = max(0, min(i, n - 1)) if n else -1
        self.live = self._cursor == n - 1
        return self.current()

    def step_forward(self) -> Step | None:
        return self.seek(self._cursor + 1)

    def step_back(self) -> Step | None:
        step = self.seek(self._cursor - 1)
        self.live = False  # stepping back pauses following new events, even from the last step
        return step

    def follow(self, kind: str | None = None, name: str | None = None) -> list[Step]:
        """Show only steps about ``name`` (of ``kind``, when given) and its children, whose generated names
        start with ``name-`` (web -> web-7d4 -> web-7d4-x2). ``follow()`` shows everything again."""
        self._follow = (kind or "", name) if name else None
        self._visible = [s for s in self.steps if self._matches(s)]
        self.seek(len(self._visible) - 1)
        return self._visible

    def follow_text(self, text: str) -> list[Step]:
        """``follow`` from what a learner types: ``deployment/web``, ``Deployment web`` or ``web``."""
        parts = [p for p in re.split(r"[/\s]+", text.strip()) if p]
        if not parts:
            return self.follow()
        if len(parts) == 1:
            return self.follow(None, parts[0])
        return self.follow(parts[0], parts[-1])

    @property
    def following(self) -> tuple[str, str] | None:
        return self._follow

    def _matches(self, s: Step) -> bool:
        if self._follow is None:
            return True
        kind, name = self._follow
        if s.name == name:
            return not kind or _kind_matches(kind, s.kind)
        prefix = name + "-"
        return s.name.startswith(prefix) or s.owner == name or s.owner.startswith(prefix)

    def highlighted(self) -> dict[str, float]:
        """Node and edge ids that glow, with intensities: 1.0 for the current step, fading for earlier
        ones."""
        out: dict[str, float] = {}
        for back in range(self.fade):
            i = self._cursor - back
            if i < 0:
                break
            level = round(1.0 - back / self.fade, 3)
            for ident in (*self._visible[i].nodes, *self._visible[i].edges):
                if level > out.get(ident, 0.0):
                    out[ident] = level
        return out


def _kind_matches(wanted: str, kind: str) -> bool:
    w, k = wanted.lower(), kind.lower()
    return w in (k, k + "s", k + "es") or (k.endswith("y") and w == k[:-1] + "ies")


def _controller_label(ctl: str, action: str, kind: str, name: str, owner: str, msg: str) -> str:
    who = _CONTROLLER_KINDS.get(ctl, ctl)
    if action.startswith("create"):
        return f"{who} {owner or ''} created {kind.lower()} {name}".replace("  ", " ")
    if action.startswith("delete"):
        return f"{who} {owner or ''} deleted {kind.lower()} {name}".replace("  ", " ")
    if action == "status":
        return f"{kind} {name} status: {msg}" if msg else f"{kind} {name} status"
    return f"{who}: {action} {kind.lower()} {name}" + (f": {msg}" if msg else "")


def _scheduler_label(action: str, name: str, node: str, msg: str) -> str:
    if action == "bind":
        return f"bind {name} -> {node}"
    if action == "filter":
        return f"filter {name}: {msg}" if msg else f"filter {name}"
    if action == "score":
        return f"score {name}: {msg}" if msg else f"score {name}"
    if action == "unschedulable":
        return f"{name} unschedulable: {msg}" if msg else f"{name} unschedulable"
    return f"{action} {name}" + (f": {msg}" if msg else "")


def _kubelet_label(action: str, name: str, msg: str) -> str:
    # kubelet stage messages read "<stage>: <container>" ("pulling: nginx", "start: nginx")
    target = msg.split(":", 1)[1].strip() if ":" in msg and action in _CONTAINER_VERBS else ""
    if action == "pull":
        return f"pull {target or name}"
    if action in _CONTAINER_VERBS and action != "sandbox":
        return f"{_CONTAINER_VERBS[action]} {target}".strip()
    if action == "sandbox":
        return f"sandbox for {name} ready"
    if action == "status":
        return f"status {name}: {msg}" if msg else f"status {name}"
    return msg or f"{action} {name}"
