"""The lessons in a real browser: every notebooks/NN-*.ipynb run in JupyterLab in headless Chromium.

One JupyterLab server and one browser serve all eight lessons (module-scoped fixture); each lesson is one test:

1. open the notebook, wait for its kernel, run every cell above "## Clean up";
2. wait until each of those cells has run, failing at the first error output;
3. check the widgets the lesson shows are on screen (the flow graph's SVG, the topology's node boxes, the
   scheduling explanation) and keep a screenshot of the first one in tests/browser/artifacts/<lesson>.png;
4. run the clean-up cells, check again for errors, and shut the kernel down.

The lessons run in a copy of notebooks/ (beside a copy of clusters.yml, which they read as ../clusters.yml), with
KUBECONFIG pointing at a temporary file. Needs what tests/browser/test_jupyterlab.py needs (chromium, jupyterlab,
playwright; scripts/browser-deps.sh); skipped without them. Its server and wait helpers are reused from there.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
LESSONS = sorted((REPO / "notebooks").glob("[0-9][0-9]-*.ipynb"))
ARTIFACTS = HERE / "artifacts"
PER_LESSON_S = 150.0  # hard cap for one lesson's waits (they take 10-40 s in the browser)

sys.path.insert(0, str(HERE))
import test_jupyterlab as base  # noqa: E402 - the server helpers live beside this file

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(base._missing() is not None, reason=base._missing() or ""),
    pytest.mark.timeout(int(PER_LESSON_S) + 60),
]

# CSS selectors of what each lesson must show (beyond "no error"); the first one is scrolled to for the screenshot
FLOW = ".jp-OutputArea .kubelab-flow svg"
TOPOLOGY = ".jp-OutputArea .kl-topo .kl-node"
EXPLAIN = ".jp-OutputArea .kubelab-explain"
PROGRESS = ".jp-OutputArea .jupyter-widgets"
EXPECTED: dict[str, tuple[str, ...]] = {
    "01-architecture": (FLOW, TOPOLOGY),
    "02-pods": (PROGRESS,),
    "03-life-of-a-pod": (FLOW,),
    "04-controllers": (TOPOLOGY, PROGRESS),
    "05-scheduling": (EXPLAIN,),
    "06-the-node": (PROGRESS,),
    "07-clusters-and-kubeconfig": (),
    "08-real-clusters": (FLOW,),
}

CLEANUP_INDEX_JS = """() => {
  const nb = window.jupyterapp.shell.currentWidget.content;
  return nb.widgets.findIndex(c => c.model.type === 'markdown'
                                  && c.model.sharedModel.getSource().includes('## Clean up'));
}"""

RUN_ABOVE_JS = """(i) => {
  const app = window.jupyterapp, nb = app.shell.currentWidget.content;
  nb.activeCellIndex = i;
  app.commands.execute('notebook:run-all-above');
}"""

RUN_FROM_JS = """(i) => {
  const app = window.jupyterapp, nb = app.shell.currentWidget.content;
  nb.activeCellIndex = i;
  app.commands.execute('notebook:run-all-below');
}"""

# [code cells in [start, end) not yet run, kernel status]
PENDING_JS = """([start, end]) => {
  const w = window.jupyterapp.shell.currentWidget, cells = w.content.widgets;
  let pending = 0;
  for (let i = start; i < Math.min(end, cells.length); i++) {
    const m = cells[i].model;
    if (m.type === 'code' && m.sharedModel.getSource().trim() && m.executionCount === null) pending++;
  }
  const k = w.sessionContext.session && w.sessionContext.session.kernel;
  return [pending, k ? k.status : 'none'];
}"""

STDERR_JS = """() => Array.from(document.querySelectorAll(
  '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')).map(e => e.innerText).join('\\n')"""

SHUTDOWN_JS = """async () => {
  const w = window.jupyterapp.shell.currentWidget;
  await w.sessionContext.shutdown();
  w.context.model.dirty = false;  // close without the "save changes?" dialog
  w.dispose();
  return true;
}"""


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str, str]]:
    """One JupyterLab server over a copy of notebooks/ and one headless Chromium, for every lesson."""
    from playwright.sync_api import sync_playwright

    tmp = tmp_path_factory.mktemp("lessons")
    root = tmp / "lab"
    shutil.copytree(REPO / "notebooks", root / "notebooks")
    shutil.copy(REPO / "clusters.yml", root / "clusters.yml")
    env = {
        **os.environ,
        "KUBECONFIG": str(tmp / "kubeconfig"),
        "KUBECACHEDIR": str(tmp / "kubecache"),
        "JUPYTER_CONFIG_DIR": str(tmp / "jupyter-config"),
        "JUPYTER_RUNTIME_DIR": str(tmp / "jupyter-runtime"),
        "IPYTHONDIR": str(tmp / "ipython"),
        "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p),
    }
    proc, url, token = base._start_lab(root, tmp, env)
    try:
        base._wait_server(proc, url, token, tmp / "jupyter.log")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=base.CHROMIUM, headless=True)
            try:
                yield browser, url, token
            finally:
                browser.close()
    finally:
        base._stop(proc)


def _wait_cells(page: Any, start: int, end: int, deadline: float, what: str) -> None:
    def done() -> bool:
        errors = page.evaluate(base.ERRORS_JS)
        assert not errors, f"{what}: a cell raised:\n{errors}"
        pending, status = page.evaluate(PENDING_JS, [start, end])
        return bool(pending == 0 and status == "idle")

    base._until(what, done, deadline, interval=0.3)


@pytest.mark.parametrize("lesson", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_runs_in_jupyterlab(jupyterlab: tuple[Any, str, str], lesson: Path) -> None:
    browser, url, token = jupyterlab
    t0 = time.monotonic()
    deadline = t0 + PER_LESSON_S
    timings: dict[str, float] = {}
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(30_000)
    try:
        # a workspace of its own, so the tabs of earlier lessons are not restored (each would start a kernel)
        page.goto(f"{url}/lab/workspaces/{lesson.stem}/tree/notebooks/{lesson.name}?token={token}")
        page.wait_for_function(base.KERNEL_IDLE_JS, timeout=max(1, deadline - time.monotonic()) * 1000,
                               polling=200)
        timings["kernel_idle"] = round(time.monotonic() - t0, 1)
        cleanup = int(page.evaluate(CLEANUP_INDEX_JS))
        assert cleanup > 0, f"{lesson.name} has no '## Clean up' section"

        page.evaluate(RUN_ABOVE_JS, cleanup)
        _wait_cells(page, 0, cleanup, deadline, f"{lesson.stem}: the cells above 'Clean up'")
        timings["lesson_ran"] = round(time.monotonic() - t0, 1)

        expected = EXPECTED.get(lesson.stem, ())
        for selector in expected:
            loc = page.locator(selector)
            base._until(f"{lesson.stem}: {selector} on screen", lambda loc=loc: loc.count() > 0, deadline)
            box = loc.first.bounding_box()
            assert box and box["width"] > 20 and box["height"] > 10, (selector, box)
        if FLOW in expected:
            svg = page.locator(FLOW).first.inner_html()
            assert "apiserver" in svg and "scheduler" in svg, svg[:500]

        ARTIFACTS.mkdir(exist_ok=True)
        toast_no = page.locator(".jp-Notification-Toast button, .Toastify__toast button", has_text="No")
        if toast_no.count():  # the "get notified about Jupyter news?" toast hides part of the page
            toast_no.first.click()
            page.locator(".Toastify__toast").first.wait_for(state="detached", timeout=5_000)
        if expected:
            page.locator(expected[0]).first.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / f"{lesson.stem}.png"))

        page.evaluate(RUN_FROM_JS, cleanup)
        _wait_cells(page, cleanup, 10_000, deadline, f"{lesson.stem}: the clean-up cells")
        timings["cleaned_up"] = round(time.monotonic() - t0, 1)
        stderr = page.evaluate(STDERR_JS)
        print(f"{lesson.stem}: timings (s) {json.dumps(timings)}")
        if stderr.strip():
            print(f"{lesson.stem}: stderr shown to the learner:\n{stderr[:2000]}")
    except Exception:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{lesson.stem}-failure.png"), full_page=True)
        raise
    finally:
        try:
            page.evaluate(SHUTDOWN_JS)
        except Exception:  # the page may be gone already; the server's process group ends with the fixture
            pass
        page.close()
