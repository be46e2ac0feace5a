"""Write the exercise notebooks (exercises/NN-<slug>.ipynb) from the exercise registry.

The tasks live next to their checks (kubelab/exercises/topics/*.py), so the notebooks are generated:
``python exercises/make_notebooks.py`` after changing a task. Outputs are left empty; the learner's cells hold
only a placeholder comment, so running a notebook top to bottom shows every check failing politely.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from kubelab.exercises import TOPICS, Exercise
from kubelab.exercises.model import registry

HERE = Path(__file__).resolve().parent

TOOL_HINTS = {
    "%kube": "# your answer here -- tool: %kube <kubectl arguments>  (e.g. %kube get pods -o wide)",
    "%%kube": "# your answer here -- tool: a %%kube cell (first line %%kube, then the YAML), or lab.apply(\"\"\"...\"\"\")",
    "lab.kubectl": "# your answer here -- tool: lab.kubectl(\"...\") returns kubectl's output as text; "
                   "%kube config ... --kubeconfig {KCFG}",
    "lab.apply": "# your answer here -- tool: lab.apply(manifest) with YAML text or a dict",
}

INTRO = """\
# Exercises {number} · {title}

{description}. Each exercise below has a task, an empty cell for your answer and a **check** cell:
`kubelab.exercises.check("<id>")` inspects the **live cluster** (objects, status, events) and says whether the
task is done. If not, open the hints one at a time: **1** a nudge, **2** where to look, **3** what exactly is
wrong in *your* cluster.

- Run the set-up cell first: it creates this notebook's cluster and the starting state some exercises need
  (broken on purpose: that is the exercise).
- Answers that are facts (a node name, a version, a count) go into the ConfigMap `answers`:
  `kubelab.exercises.answer("<id>", value)`.
- Stuck? `print(kubelab.exercises.solution("<id>"))` shows a model solution (spoiler).
- The lesson for these exercises: [`notebooks/{slug}.ipynb`](../notebooks/{slug}.ipynb).
"""

SETUP = """\
import kubelab

# The checks read objects and status only, so the simulated runtime is enough (and the fastest);
# runtime="process" runs the containers as real processes where this kubelab supports it.
try:
    lab = kubelab.create_cluster(name="{cluster}", config="../clusters.yml", runtime="simulated")
except TypeError:  # a kubelab without the runtime option: containers are simulated anyway
    lab = kubelab.create_cluster(name="{cluster}", config="../clusters.yml")

%load_ext kubelab
%kube use kubelab-{cluster}
{extra}kubelab.exercises.setup("{topic}")   # the starting state of this topic's exercises (idempotent)
kubelab.exercises.list().topic("{topic}")"""

KCFG = """\
KCFG = kubelab.exercises.workdir() / "practice.kubeconfig"   # the kubeconfig file of exercises 01-03
print("your practice kubeconfig:", KCFG)
"""

CLEANUP = """\
## Clean up

A scoreboard of this notebook's exercises, then the cluster is deleted (its kubeconfig context too)."""


def _cell(kind: str, source: str) -> dict[str, Any]:
    """An nbformat 4.5 cell (plain JSON: no nbformat import, no schema validation on every write)."""
    cell: dict[str, Any] = {"cell_type": kind, "id": "", "metadata": {},
                            "source": source.splitlines(keepends=True)}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def new_markdown_cell(source: str) -> dict[str, Any]:
    return _cell("markdown", source)


def new_code_cell(source: str) -> dict[str, Any]:
    return _cell("code", source)


def learner_cell(ex: Exercise) -> str:
    lines = [TOOL_HINTS.get(ex.tool, f"# your answer here -- tool: {ex.tool}")]
    if "kubelab.exercises.answer" in ex.task:
        lines.append(f'# then record it: kubelab.exercises.answer("{ex.id}", ...)')
    return "\n".join(lines)


def notebook(topic: str, exercises: list[Exercise]) -> dict[str, Any]:
    slug, description = TOPICS[topic]
    number = slug.split("-", 1)[0]
    title = slug.split("-", 1)[1].replace("-", " ").capitalize()
    cluster = f"ex{number}"
    cells = [new_markdown_cell(INTRO.format(number=number, title=title, description=description, slug=slug)),
             new_code_cell(SETUP.format(cluster=cluster, topic=topic,
                                        extra=KCFG if topic == "clusters" else ""))]
    for ex in exercises:
        cells.append(new_markdown_cell(f"## `{ex.id}` · {ex.title}\n\n{ex.task}"))
        cells.append(new_code_cell(learner_cell(ex)))
        cells.append(new_code_cell(f'kubelab.exercises.check("{ex.id}")'))
    cells.append(new_markdown_cell(CLEANUP))
    cells.append(new_code_cell(f'display(kubelab.exercises.check_topic("{topic}"))\nlab.delete_cluster()'))
    for i, cell in enumerate(cells):  # stable ids, so regenerating gives the same file
        cell["id"] = f"{topic}-{i:02d}"
    metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                "language_info": {"name": "python"}}
    return {"cells": cells, "metadata": metadata, "nbformat": 4, "nbformat_minor": 5}


def main(out: Path = HERE) -> list[Path]:
    written = []
    by_topic: dict[str, list[Exercise]] = {}
    for ex in registry().values():
        by_topic.setdefault(ex.topic, []).append(ex)
    for topic, exercises in by_topic.items():
        path = out / f"{TOPICS[topic][0]}.ipynb"
        path.write_text(json.dumps(notebook(topic, exercises), indent=1, ensure_ascii=False) + "\n",
                        encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for p in main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE):
        print(p)
