#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and opens the lessons: JupyterLab on notebooks/01-architecture.ipynb, rooted at the
# repository so the exercise notebooks (exercises/) and clusters.yml are reachable from the lessons. Installs
# JupyterLab into .venv from binder/requirements.txt (what Binder uses) the first time. Extra arguments go to
# JupyterLab (e.g. --no-browser --port 8899).
#
# `bash scripts/start.sh cluster [kubelab up options]` starts only an embedded three-node Kubernetes cluster
# (clusters.yml, kind's multi-node example) for real kubectl in a terminal (e.g. --name demo --port 6443, or
# --config another.yml). Ctrl-C stops either.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ "${1:-}" = cluster ]; then
  shift
  if [[ " $* " == *" --config "* ]]; then
    exec .venv/bin/kubelab up "$@"
  fi
  exec .venv/bin/kubelab up --config clusters.yml "$@"
fi
if ! .venv/bin/python -c "import jupyterlab" >/dev/null 2>&1; then
  .venv/bin/python -m pip install --quiet -r binder/requirements.txt
fi
export PATH="$PWD/.venv/bin:$PATH"  # kubectl and graphviz's dot for the kernels
root_flag=()
[ "$(id -u)" = 0 ] && root_flag=(--allow-root)
exec .venv/bin/python -m jupyterlab --ServerApp.ip=127.0.0.1 --ServerApp.root_dir="$PWD" \
  --LabApp.default_url=/lab/tree/notebooks/01-architecture.ipynb "${root_flag[@]}" "$@"
