"""FlowWidget: the control-plane diagram that lights up as trace events arrive, with a timeline to replay
them.

The diagram is laid out once with graphviz (every node and edge carries a stable SVG id) and cut into a
template whose only holes are fill/stroke attributes; each update fills the holes from
``FlowModel.highlighted()`` (no ``dot`` run per event). It is laid out again only when the graph itself
grows (a new cluster node or controller). Live updates follow the recipe in the lab's notes:
``attach(source)`` starts a daemon thread that polls ``source.since(seq)`` every 100 ms, applies the whole
batch to the model and assigns the ``value`` of widgets created beforehand once per batch; it never creates
or displays widgets, and logs its exceptions.
"""

from __future__ import annotations

import html
import logging
import os
import re
import shutil
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets as w

from kubelab.notebook.widgets.flow_model import CM, FlowModel, GraphEdge, GraphNode

log = logging.getLogger(__name__)

BASE_FILL, HOT_FILL = (0xF7, 0xF7, 0xF7), (0xFF, 0xB3, 0x00)
BASE_LINE, HOT_LINE = (0x9E, 0x9E, 0x9E), (0xE5, 0x39, 0x35)
_GROUP = re.compile(r'<g id="([^"]+)" class="(node|edge)">(.*?)</g>', re.S)
_STYLE = re.compile(r'(<(?:ellipse|polygon|path|polyline)\b[^>]*?)\bfill="([^"]*)"([^>]*?)\bstroke="([^"]*)"')


def _mix(a: tuple[int, int, int], b: tuple[int, int, int], t: float) -> str:
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(a, b, strict=True))


def _ensure_dot_on_path() -> None:
    """The ``graphviz`` package runs ``dot`` from PATH; a kernel started without activating the venv may
    not have the venv's bin/ (where graphviz-pure puts ``dot``) on it."""
    if shutil.which("dot"):
        return
    venv_bin = Path(sys.executable).parent
    if (venv_bin / "dot").exists():
        os.environ["PATH"] = f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}"


def layout_svg(nodes: list[GraphNode], edges: list[GraphEdge]) -> str:
    """Lay the graph out with graphviz; falls back to a plain grid when ``dot`` is missing."""
    import graphviz

    _ensure_dot_on_path()
    g = graphviz.Digraph(
        "kubelab",
        graph_attr={
            "rankdir": "LR",
            "bgcolor": "transparent",
            "nodesep": "0.25",
            "ranksep": "0.6",
            "fontname": "Helvetica",
        },
        node_attr={
            "shape": "box",
            "style": "rounded,filled",
            "fillcolor": _mix(BASE_FILL, BASE_FILL, 0),
            "color": _mix(BASE_LINE, BASE_LINE, 0),
            "fontname": "Helvetica",
            "fontsize": "11",
        },
        edge_attr={
            "color": _mix(BASE_LINE, BASE_LINE, 0),
            "fontname": "Helvetica",
            "fontsize": "9",
            "fontcolor": "#757575",
        },
    )
    groups: dict[str, list[GraphNode]] = {}
    for n in nodes:
        groups.setdefault(n.group, []).append(n)
    for group, members in groups.items():
        if not group:
            for n in members:
                g.node(n.id, n.label, id=n.id)
            continue
        title = "controller-manager" if group == CM else group.split(":", 1)[1]
        with g.subgraph(name=f"cluster_{group.replace(':', '_')}") as sub:
            sub.attr(label=title, style="rounded,dashed", color="#bdbdbd", fontsize="10")
            for n in members:
                sub.node(n.id, n.label, id=n.id)
    for e in edges:
        g.edge(e.src, e.dst, label=e.label, id=e.id)
    try:
        svg = str(g.pipe(format="svg", encoding="utf-8"))
        return svg[svg.find("<svg") :]  # drop the XML prolog and DOCTYPE: the SVG is embedded in HTML
    except (graphviz.ExecutableNotFound, graphviz.CalledProcessError) as err:
        log.warning("graphviz 'dot' unavailable (%s); drawing the flow graph as a plain grid", err)
        return _grid_svg(nodes)


def _grid_svg(nodes: list[GraphNode]) -> str:
    cells = []
    for i, n in enumerate(nodes):
        x, y = 10 + (i % 4) * 170, 10 + (i // 4) * 60
        label = html.escape(n.label.replace("\n", " "))
        cells.append(
            f'<g id="{html.escape(n.id)}" class="node"><title>{label}</title>'
            f'<polygon fill="#f7f7f7" stroke="#9e9e9e" points="{x},{y} {x + 160},{y} {x + 160},{y + 44} '
            f'{x},{y + 44}"/><text x="{x + 80}" y="{y + 26}" text-anchor="middle" '
            f'font-size="11">{label}</text></g>'
        )
    height = 20 + ((len(nodes) + 3) // 4) * 60
    return f'<svg xmlns="http://www.w3.org/2000/svg" width="700" height="{height}">{"".join(cells)}</svg>'


class SvgTemplate:
    """An SVG cut at the style attributes of every node's shape and edge's line/arrow, refilled per render."""

    def __init__(self, svg: str) -> None:
        self.parts: list[str | tuple[str, str]] = []  # literal text, or (element id, "node" | "edge")
        self.ids: list[str] = []
        pos = 0
        for m in _GROUP.finditer(svg):
            ident, cls, body = html.unescape(m.group(1)), m.group(2), m.group(3)
            self.ids.append(ident)
            start = m.start(3)
            self.parts.append(svg[pos:start])
            last = 0
            for s in _STYLE.finditer(body):
                self.parts.append(body[last : s.start()] + s.group(1))
                arrow_or_shape = cls == "node" or s.group(2) != "none"
                self.parts.append((ident, cls if arrow_or_shape else "line"))
                self.parts.append(s.group(3))
                last = s.end()
            self.parts.append(body[last:])
            pos = m.end(3)
        self.parts.append(svg[pos:])

    def render(self, levels: dict[str, float]) -> str:
        out: list[str] = []
        for p in self.parts:
            if isinstance(p, str):
                out.append(p)
                continue
            ident, what = p
            t = levels.get(ident, 0.0)
            line = _mix(BASE_LINE, HOT_LINE, t)
            width = f"{1 + 2 * t:.2f}"
            if what == "node":
                out.append(f'fill="{_mix(BASE_FILL, HOT_FILL, t)}"')
            elif what == "edge":  # the arrowhead
                out.append(f'fill="{line}"')
            else:
                out.append('fill="none"')
            out.append(f' stroke="{line}" stroke-width="{width}"')
        return "".join(out)


class FlowWidget(w.VBox):
    """The diagram (an HTML widget holding the SVG), the current step's text and a timeline: play/pause,
    step back/forward, a slider over the steps and a filter box to follow one object (``deployment/web``)."""

    def __init__(
        self, model: FlowModel | None = None, *, poll_interval: float = 0.1, play_interval: float = 0.6
    ) -> None:
        self.model = model or FlowModel()
        self.poll_interval = poll_interval
        self.play_interval = play_interval
        self.render_count = 0
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._source: Any = None
        self._seq = 0
        self._syncing = False
        self._template: SvgTemplate | None = None
        self._layout_version = -1
        self.diagram = w.HTML()
        self.caption = w.HTML()
        self.play = w.ToggleButton(
            value=False, description="Play", icon="play", layout=w.Layout(width="80px")
        )
        self.back = w.Button(
            description="", icon="step-backward", tooltip="step back", layout=w.Layout(width="40px")
        )
        self.forward = w.Button(
            description="", icon="step-forward", tooltip="step forward", layout=w.Layout(width="40px")
        )
        self.slider = w.IntSlider(
            value=0, min=0, max=0, description="step", continuous_update=True, layout=w.Layout(width="45%")
        )
        self.filter = w.Text(
            value="",
            placeholder="follow e.g. deployment/web",
            continuous_update=False,
            layout=w.Layout(width="220px"),
        )
        self.back.on_click(lambda _b: self._ui(self.model.step_back))
        self.forward.on_click(lambda _b: self._ui(self.model.step_forward))
        self.slider.observe(self._on_slider, names="value")
        self.filter.observe(self._on_filter, names="value")
        self.play.observe(self._on_play, names="value")
        controls = w.HBox([self.play, self.back, self.forward, self.slider, self.filter])
        super().__init__([self.diagram, self.caption, controls])
        self.refresh()

    # ------------------------------------------------------------------------------------------- render
    def svg(self) -> str:
        """The diagram for the model's current state (laid out again only if the graph grew)."""
        with self._lock:
            if self._template is None or self._layout_version != self.model.structure_version:
                self._template = SvgTemplate(layout_svg(self.model.graph_nodes(), self.model.graph_edges()))
                self._layout_version = self.model.structure_version
            return self._template.render(self.model.highlighted())

    def refresh(self) -> None:
        """Push the model's state into the widgets (one assignment per widget)."""
        with self._lock:
            svg = self.svg()
            steps = self.model.visible()
            cur = self.model.current()
            self.render_count += 1
            self._syncing = True
            try:
                self.diagram.value = f'<div class="kubelab-flow" style="overflow-x:auto">{svg}</div>'
                if cur is None:
                    text = "waiting for control-plane events..." if not steps else ""
                else:
                    text = (
                        f"<b>{self.model.cursor + 1}/{len(steps)}</b> &nbsp; "
                        f"<code>{html.escape(cur.component)}</code> &nbsp; {html.escape(cur.label)}"
                    )
                self.caption.value = text
                self.slider.max = max(0, len(steps) - 1)
                self.slider.value = max(0, self.model.cursor)
            finally:
                self._syncing = False

    def _ui(self, action: Callable[[], Any]) -> None:
        with self._lock:
            action()
            self.refresh()

    def _on_slider(self, change: dict[str, Any]) -> None:
        if not self._syncing:
            self._ui(lambda: self.model.seek(int(change["new"])))

    def _on_filter(self, change: dict[str, Any]) -> None:
        self._ui(lambda: self.model.follow_text(str(change["new"])))

    def _on_play(self, change: dict[str, Any]) -> None:
        self.play.description, self.play.icon = ("Pause", "pause") if change["new"] else ("Play", "play")
        if change["new"]:
            with self._lock:
                if self.model.cursor >= len(self.model.visible()) - 1:
                    self.model.seek(0)  # replay from the start
                self.model.live = False
            self._start_thread()

    # --------------------------------------------------------------------------------------------- live
    def attach(self, source: Any, *, from_start: bool = False) -> FlowWidget:
        """Follow a trace source (anything with ``.since(seq)``, such as the embedded server's TraceBus).
        Older events only teach the graph its nodes unless ``from_start``; new ones are played live."""
        with self._lock:
            self._source = source
            backlog = list(source.since(0))
            if from_start:
                self.model.extend(backlog)
            else:
                self.model.discover(backlog)
            self._seq = max(
                (
                    int(getattr(e, "seq", 0) or (e.get("seq", 0) if isinstance(e, dict) else 0))
                    for e in backlog
                ),
                default=0,
            )
            self.refresh()
        self._start_thread()
        return self

    def poll_once(self) -> int:
        """Apply every event newer than the last one seen, as one batch with one render; returns the count."""
        if self._source is None:
            return 0
        events = list(self._source.since(self._seq))
        if not events:
            return 0
        with self._lock:
            last = events[-1]
            self._seq = int(last["seq"] if isinstance(last, dict) else last.seq)
            self.model.extend(events)
            self.refresh()
        return len(events)

    def _start_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="kubelab-flow", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        next_play = time.monotonic()
        while not self._stop.wait(self.poll_interval):
            try:
                self.poll_once()
                if self.play.value and time.monotonic() >= next_play:
                    next_play = time.monotonic() + self.play_interval
                    with self._lock:
                        at_end = self.model.cursor >= len(self.model.visible()) - 1
                        if not at_end:
                            self.model.step_forward()
                            self.refresh()
                    if at_end:
                        self.play.value = False
            except Exception:  # the loop must survive a bad event or a closed source
                log.exception("flow widget update failed")
            if self._source is None and not self.play.value:
                break

    def stop(self) -> None:
        """Stop following the source (the widget keeps its steps)."""
        self._stop.set()
        self._source = None
        if self._thread is not None:
            self._thread.join(timeout=2)

    def close(self) -> None:
        source = self._source
        self.stop()
        # a source the widget owns (the watches of a real cluster) ends with it; a trace bus has no stop()
        stop = getattr(source, "stop", None)
        if callable(stop):
            stop()
        super().close()


def synthetic_events(
    n: int, nodes: tuple[str, ...] = ("local-worker", "local-worker2")
) -> list[dict[str, Any]]:
    """``n`` trace events cycling through one pod's path through the control plane (for benchmarks/tests)."""
    pattern = [
        ("apiserver", "post", "Deployment", "web", "", "POST deployments web"),
        ("etcd", "put", "Deployment", "web", "", ""),
        ("controller-manager/deployment", "create", "ReplicaSet", "web-7d4", "", ""),
        ("controller-manager/replicaset", "create", "Pod", "web-7d4-x{i}", "", ""),
        ("scheduler", "bind", "Pod", "web-7d4-x{i}", "{node}", ""),
        ("kubelet/{node}", "pull", "Pod", "web-7d4-x{i}", "{node}", "pulling: nginx"),
        ("kubelet/{node}", "start", "Pod", "web-7d4-x{i}", "{node}", "start: nginx"),
        ("kubelet/{node}", "status", "Pod", "web-7d4-x{i}", "{node}", "Running: nginx=running"),
    ]
    out = []
    for i in range(n):
        comp, action, kind, name, node, msg = pattern[i % len(pattern)]
        nd = nodes[(i // len(pattern)) % len(nodes)]
        r = i // len(pattern)
        out.append(
            {
                "seq": i + 1,
                "time": "",
                "component": comp.format(node=nd),
                "action": action,
                "kind": kind,
                "namespace": "default",
                "name": name.format(i=r),
                "revision": i + 1 if comp == "etcd" else None,
                "node": node.format(node=nd),
                "reason": "",
                "message": msg,
                "details": {"owner": "web-7d4" if kind == "Pod" else "web"},
            }
        )
    return out


def render_benchmark(n: int = 1000) -> float:
    """Milliseconds to apply ``n`` synthetic events to a model and render the widget once (layout
    excluded)."""
    widget = FlowWidget(FlowModel(cluster_nodes=("local-worker", "local-worker2")))
    events = synthetic_events(n)
    t0 = time.perf_counter()
    with widget._lock:
        widget.model.extend(events)
        widget.refresh()
    ms = (time.perf_counter() - t0) * 1000
    widget.close()
    return ms
