#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs every check: lint, type check, and the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/browser-deps.sh  # chromium + JupyterLab + Playwright for the real-browser test (skipped without them)
export PATH="$PWD/.venv/bin:$PATH"
echo "== ruff"; ruff check kubelab tests benchmarks
echo "== mypy"; mypy
echo "== notebooks (fresh venv from binder/)"; bash scripts/notebooks.sh
echo "== pytest"
set +e
python -m pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: treating as failure" >&2
  exit 1
fi
exit "$rc"
