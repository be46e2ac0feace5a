"""Topology widget: one box per cluster node (role, taints, key labels) holding its pods as chips coloured by
phase.

``topology_html(nodes, pods)`` is the pure part (plain dicts in the API's camelCase, as ``kubectl get -o
json`` prints them); ``TopologyWidget`` refreshes it from a source every 0.5 s on a daemon thread that only
assigns the ``value`` of its one HTML widget, and only when the HTML changed. A source is an official
``kubernetes.client.CoreV1Api`` or a callable returning ``(nodes, pods)``.

Chip colours follow what ``kubectl get pods`` would say: Pending amber, Running green, Succeeded grey,
Failed red, and striped while Terminating (a deletion timestamp is set). Pods not yet bound sit in an
"unscheduled" box.
"""

from __future__ import annotations

import html
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

import ipywidgets as w

log = logging.getLogger(__name__)

Obj = dict[str, Any]
Source = Callable[[], tuple[list[Obj], list[Obj]]]
ROLE_PREFIX = "node-role.kubernetes.io/"
KEY_LABELS = (
    "topology.kubernetes.io/zone",
    "topology.kubernetes.io/region",
    "node.kubernetes.io/instance-type",
    "kubernetes.io/arch",
    "kubernetes.io/os",
)
_BUILTIN_LABEL = ("kubernetes.io/", "k8s.io/", "beta.kubernetes.io/")

CSS = """<style>
.kl-topo{display:flex;flex-wrap:wrap;gap:10px;font-family:sans-serif;font-size:12px}
.kl-node{border:1px solid #9e9e9e;border-radius:6px;padding:6px 8px;min-width:190px;max-width:320px;
  background:#fafafa}
.kl-node.kl-notready{border-color:#e53935}
.kl-node.kl-unscheduled{border-style:dashed}
.kl-node-head{font-weight:bold}
.kl-role{font-weight:normal;color:#616161;margin-left:4px}
.kl-meta{color:#616161;font-size:11px;margin:2px 0}
.kl-taint{background:#fff3e0;border-radius:3px;padding:0 3px;margin-right:3px}
.kl-label{background:#eceff1;border-radius:3px;padding:0 3px;margin-right:3px}
.kl-pods{display:flex;flex-wrap:wrap;gap:4px;margin-top:4px}
.kl-pod{border-radius:10px;padding:1px 7px;color:#fff;font-size:11px}
.kl-pending{background:#ffb300;color:#333}
.kl-running{background:#43a047}
.kl-succeeded{background:#9e9e9e}
.kl-failed{background:#e53935}
.kl-unknown{background:#6d4c41}
.kl-terminating{background:repeating-linear-gradient(45deg,#9e9e9e,#9e9e9e 4px,#616161 4px,#616161 8px)}
</style>"""


def _meta(o: Obj) -> Obj:
    return o.get("metadata") or {}


def node_role(node: Obj) -> str:
    roles = sorted(
        k[len(ROLE_PREFIX) :] for k in (_meta(node).get("labels") or {}) if k.startswith(ROLE_PREFIX)
    )
    return ",".join(r for r in roles if r) or "worker"


def node_ready(node: Obj) -> bool:
    for c in (node.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return bool(c.get("status") == "True")
    return False


def key_labels(node: Obj) -> dict[str, str]:
    """The labels worth showing: well-known topology ones plus any the user set (not kubernetes.io's own)."""
    labels = _meta(node).get("labels") or {}
    out = {k: str(v) for k, v in labels.items() if k in KEY_LABELS}
    out.update(
        {
            k: str(v)
            for k, v in labels.items()
            if not any(p in k for p in _BUILTIN_LABEL) and not k.startswith(ROLE_PREFIX)
        }
    )
    return out


def pod_state(pod: Obj) -> str:
    """The chip's class: terminating, pending, running, succeeded, failed or unknown."""
    if _meta(pod).get("deletionTimestamp"):
        return "terminating"
    phase = str((pod.get("status") or {}).get("phase") or "Pending").lower()
    return phase if phase in ("pending", "running", "succeeded", "failed") else "unknown"


def _chip(pod: Obj) -> str:
    m = _meta(pod)
    state = pod_state(pod)
    name, ns = html.escape(str(m.get("name", ""))), html.escape(str(m.get("namespace", "")))
    title = f"{ns}/{name}: {'Terminating' if state == 'terminating' else state.capitalize()}"
    return f'<span class="kl-pod kl-{state}" title="{title}">{name}</span>'


def _box(
    title: str, role: str, extra_class: str, meta_lines: list[str], pods: list[Obj], node_id: str
) -> str:
    chips = "".join(
        _chip(p)
        for p in sorted(pods, key=lambda p: (_meta(p).get("namespace", ""), _meta(p).get("name", "")))
    )
    return (
        f'<div class="kl-node{extra_class}" data-node="{html.escape(node_id)}">'
        f'<div class="kl-node-head">{html.escape(title)}'
        f'<span class="kl-role">{html.escape(role)}</span></div>'
        + "".join(f'<div class="kl-meta">{line}</div>' for line in meta_lines)
        + f'<div class="kl-pods">{chips or "<i class=kl-meta>no pods</i>"}</div></div>'
    )


def topology_html(
    nodes: Iterable[Obj], pods: Iterable[Obj], *, namespaces: Iterable[str] | None = None
) -> str:
    """The whole picture as HTML (with its own CSS). ``namespaces`` limits which pods are shown."""
    wanted = set(namespaces) if namespaces is not None else None
    by_node: dict[str, list[Obj]] = {}
    for p in pods:
        if wanted is not None and _meta(p).get("namespace") not in wanted:
            continue
        by_node.setdefault(str((p.get("spec") or {}).get("nodeName") or ""), []).append(p)
    boxes = []
    for n in sorted(nodes, key=lambda n: str(_meta(n).get("name", ""))):
        name = str(_meta(n).get("name", ""))
        spec = n.get("spec") or {}
        lines = []
        taints = spec.get("taints") or []
        if taints:
            lines.append(
                "taints: "
                + "".join(f'<span class="kl-taint">{html.escape(_taint(t))}</span>' for t in taints)
            )
        labels = key_labels(n)
        if labels:
            lines.append(
                "".join(
                    f'<span class="kl-label">{html.escape(k)}={html.escape(v)}</span>'
                    for k, v in labels.items()
                )
            )
        ready = node_ready(n)
        status = "Ready" if ready else "NotReady"
        if spec.get("unschedulable"):
            status += ",SchedulingDisabled"
        lines.insert(0, status)
        extra = "" if ready else " kl-notready"
        boxes.append(_box(name, node_role(n), extra, lines, by_node.pop(name, []), name))
    unbound = by_node.pop("", [])
    for name, orphans in sorted(by_node.items()):  # bound to a node that no longer exists
        boxes.append(_box(name, "gone", " kl-notready", ["node not found"], orphans, name))
    if unbound:
        boxes.append(_box("unscheduled", "", " kl-unscheduled", ["waiting for the scheduler"], unbound, ""))
    return CSS + '<div class="kl-topo">' + "".join(boxes) + "</div>"


def _taint(t: Obj) -> str:
    value = f"={t['value']}" if t.get("value") else ""
    return f"{t.get('key', '')}{value}:{t.get('effect', '')}"


def as_source(source: Any) -> Source:
    """A ``(nodes, pods)`` callable from a CoreV1Api, a callable, or an object with ``.core`` (a
    CoreV1Api)."""
    if callable(source) and not hasattr(source, "list_node"):
        return source  # type: ignore[no-any-return]
    api = source if hasattr(source, "list_node") else getattr(source, "core", None)
    if api is None or not hasattr(api, "list_pod_for_all_namespaces"):
        raise TypeError(
            "topology() needs a kubernetes.client.CoreV1Api or a callable returning (nodes, pods)"
        )

    def fetch() -> tuple[list[Obj], list[Obj]]:
        ser = api.api_client.sanitize_for_serialization
        nodes = ser(api.list_node()).get("items") or []
        pods = ser(api.list_pod_for_all_namespaces()).get("items") or []
        return nodes, pods

    return fetch


class TopologyWidget(w.VBox):
    def __init__(
        self,
        source: Any,
        *,
        interval: float = 0.5,
        namespaces: Iterable[str] | None = None,
        start: bool = True,
    ) -> None:
        self.source = as_source(source)
        self.interval = interval
        self.namespaces = list(namespaces) if namespaces is not None else None
        self.html = w.HTML()
        self.error = w.HTML()
        self.render_count = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        super().__init__([self.html, self.error])
        self.refresh()
        if start:
            self.start()

    def refresh(self) -> bool:
        """Fetch and render once; True if the picture changed."""
        nodes, pods = self.source()
        value = topology_html(nodes, pods, namespaces=self.namespaces)
        if value == self.html.value:
            return False
        self.html.value = value
        self.render_count += 1
        return True

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="kubelab-topology", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        failed = False
        while not self._stop.wait(self.interval):
            try:
                self.refresh()
                if failed:
                    self.error.value, failed = "", False
            except Exception as e:  # a cluster going away must not kill the thread
                log.debug("topology refresh failed", exc_info=True)
                if not failed:
                    self.error.value = (
                        f'<span style="color:#e53935">refresh failed: {html.escape(str(e))}</span>'
                    )
                    failed = True

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def close(self) -> None:
        self.stop()
        super().close()
