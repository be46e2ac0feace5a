"""The notebook experience in a real browser: JupyterLab + headless Debian chromium driven by Playwright.

Runs tests/browser/flow_demo.ipynb (create an embedded cluster, show the flow and topology widgets, apply a
3-replica nginx Deployment) and checks what a learner sees: the flow widget's SVG appears and is restyled
live while the pods start, and the topology shows the three kind-style nodes and Running pods.
A screenshot is saved to tests/browser/artifacts/flow.png.

Needs /usr/bin/chromium (apt), jupyterlab and playwright (pip); scripts/browser-deps.sh installs them.
Skipped when any is missing.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
NOTEBOOK = HERE / "flow_demo.ipynb"
ARTIFACTS = HERE / "artifacts"
CHROMIUM = "/usr/bin/chromium"
DEADLINE_S = 75.0  # hard cap for the browser session's waits (the test normally takes ~20-25 s)


def _missing() -> str | None:
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} not found (run scripts/browser-deps.sh: apt-get install -y chromium)"
    for mod in ("jupyterlab", "playwright", "ipykernel"):
        if importlib.util.find_spec(mod) is None:
            return f"python package {mod!r} not installed (run scripts/browser-deps.sh)"
    return None


pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(_missing() is not None, reason=_missing() or ""),
    pytest.mark.timeout(110),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_lab(root: Path, tmp: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str, str]:
    port, token = _free_port(), secrets.token_hex(16)
    workspaces = tmp / "workspaces"
    workspaces.mkdir()
    cmd = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--allow-root",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",
        f"--LabApp.workspaces_dir={workspaces}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    log = open(tmp / "jupyter.log", "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root, start_new_session=True
    )
    log.close()
    return proc, f"http://127.0.0.1:{port}", token


def _wait_server(
    proc: subprocess.Popen[bytes], base: str, token: str, log: Path, timeout: float = 30
) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AssertionError(f"jupyter lab exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"jupyter lab did not answer within {timeout}s:\n{log.read_text()[-3000:]}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Kill the server and its kernels (its own process group), politely first."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=5)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=5)


def _until(what: str, fn: Callable[[], Any], deadline: float, interval: float = 0.25) -> Any:
    last: Any = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what} (last value: {last!r})")


KERNEL_IDLE_JS = """() => {
  const app = window.jupyterapp;
  const w = app && app.shell && app.shell.currentWidget;
  if (!w || !w.context || !w.sessionContext) return false;
  const s = w.sessionContext;
  return w.context.isReady && s.isReady && !!s.session && !!s.session.kernel
         && s.session.kernel.status === 'idle';
}"""

ERRORS_JS = """() => Array.from(document.querySelectorAll(
  '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]')).map(e => e.innerText).join('\\n---\\n')"""

RUN_ALL_ABOVE_LAST_JS = """() => {
  const app = window.jupyterapp, nb = app.shell.currentWidget.content;
  nb.activeCellIndex = nb.widgets.length - 1;
  app.commands.execute('notebook:run-all-above');
}"""

RUN_LAST_JS = """() => {
  const app = window.jupyterapp, nb = app.shell.currentWidget.content;
  nb.activeCellIndex = nb.widgets.length - 1;
  app.commands.execute('notebook:run-cell');
}"""

# every distinct innerHTML of the flow SVG, as the browser renders it (a widget update may replace the node)
RECORD_JS = """() => {
  const shots = window.__klSnapshots = [];
  const take = () => {
    const svg = document.querySelector('.jp-OutputArea .kubelab-flow svg');
    if (!svg) return;
    const h = svg.innerHTML;
    if (shots[shots.length - 1] !== h) shots.push(h);
  };
  take();
  new MutationObserver(take).observe(document.body, {subtree: true, childList: true, attributes: true,
                                                    characterData: true});
}"""

FLOW_SVG = ".jp-OutputArea .kubelab-flow svg"
TOPO = ".jp-OutputArea .kl-topo"


def test_notebook_flow_and_topology_live_in_jupyterlab(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    t0 = time.monotonic()
    deadline = t0 + DEADLINE_S
    timings: dict[str, float] = {}

    def mark(name: str) -> None:
        timings[name] = round(time.monotonic() - t0, 2)

    root = tmp_path / "nb"
    root.mkdir()
    shutil.copy(NOTEBOOK, root / NOTEBOOK.name)
    env = {
        **os.environ,
        "KUBECONFIG": str(tmp_path / "kubeconfig"),
        "KUBELAB_TEST_CONFIG": str(REPO / "clusters.yml"),
        "KUBECACHEDIR": str(tmp_path / "kubecache"),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter-config"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "jupyter-runtime"),
        "IPYTHONDIR": str(tmp_path / "ipython"),
        "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p),
    }
    proc, base, token = _start_lab(root, tmp_path, env)
    try:
        _wait_server(proc, base, token, tmp_path / "jupyter.log")
        mark("server_up")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.set_default_timeout(30_000)
                page.goto(f"{base}/lab/tree/{NOTEBOOK.name}?token={token}")
                page.wait_for_function(
                    KERNEL_IDLE_JS, timeout=max(1, deadline - time.monotonic()) * 1000, polling=200
                )
                mark("kernel_idle")
                # Run every cell but the last (cluster, flow, topology), not awaiting the command's promise
                # (it can hang on a modal dialog). The rollout takes well under a second, faster than the
                # widget views render, so the Deployment cell runs only once the diagram is on screen.
                page.evaluate(RUN_ALL_ABOVE_LAST_JS)

                def check_errors() -> None:
                    errs = page.evaluate(ERRORS_JS)
                    assert not errs, f"notebook raised:\n{errs}"

                # 1. the flow widget's diagram: an SVG inside its HTML output
                def flow_svg() -> str | None:
                    check_errors()
                    loc = page.locator(FLOW_SVG)
                    return loc.first.inner_html() if loc.count() else None

                first = _until("the flow widget's SVG", flow_svg, deadline)
                mark("flow_svg")
                assert "<g" in first and 'class="node"' in first, first[:500]
                assert "apiserver" in first and "scheduler" in first, first[:800]
                nodes = page.locator(f"{TOPO} .kl-node")
                _until("3 nodes in the topology", lambda: (check_errors(), nodes.count() == 3)[1], deadline)
                mark("topology")

                # 2. record every distinct picture the browser shows, then apply the Deployment
                page.evaluate(RECORD_JS)
                page.evaluate(RUN_LAST_JS)

                def snapshots() -> list[str]:
                    return list(page.evaluate("() => window.__klSnapshots"))

                _until(
                    "the flow SVG to be restyled live",
                    lambda: (check_errors(), len(snapshots()) >= 2)[1],
                    deadline,
                    interval=0.1,
                )
                mark("flow_changed")

                # 3. the topology: 3 nodes (kind naming) and, eventually, 3 Running web pods
                topo = page.locator(TOPO).first
                text = topo.inner_text()
                for n in ("browser-control-plane", "browser-worker", "browser-worker2"):
                    assert n in text, text
                running = page.locator(f"{TOPO} .kl-pod.kl-running", has_text="web-")
                _until(
                    "3 Running web pods in the topology",
                    lambda: (check_errors(), running.count() >= 3)[1],
                    deadline,
                )
                mark("pods_running")

                # the last cell completed (deployment Available) without an error
                done = page.locator(".jp-OutputArea", has_text="deployment/web available")
                _until("lab.wait(...) to finish", lambda: (check_errors(), done.count() > 0)[1], deadline)
                mark("wait_done")

                # the diagram after the rollout differs from the first picture
                final = flow_svg()
                assert final and final != first
                shots = snapshots()
                assert len(set(shots)) == len(shots) >= 2

                ARTIFACTS.mkdir(exist_ok=True)
                toast_no = page.locator(
                    ".jp-Notification-Toast button, .Toastify__toast button", has_text="No"
                )
                if toast_no.count():  # the "get notified about Jupyter news?" toast hides part of the graph
                    toast_no.first.click()
                    page.locator(".Toastify__toast").first.wait_for(state="detached", timeout=5_000)
                page.locator(".jp-OutputArea .kubelab-flow").first.scroll_into_view_if_needed()
                page.screenshot(path=str(ARTIFACTS / "flow.png"))
                box = page.locator(FLOW_SVG).first.bounding_box()
                assert box and box["width"] > 100 and box["height"] > 50, box
                mark("screenshot")
            except Exception:
                ARTIFACTS.mkdir(exist_ok=True)
                for pg in browser.contexts[0].pages if browser.contexts else []:
                    pg.screenshot(path=str(ARTIFACTS / "failure.png"), full_page=True)
                raise
            finally:
                browser.close()
    finally:
        _stop(proc)
    print(f"browser test timings (s since start): {timings}; distinct flow pictures: {len(shots)}")
