#!/usr/bin/env bash
# Installs what tests/browser (real JupyterLab in headless chromium, driven by Playwright) needs:
#   - Debian chromium at /usr/bin/chromium (apt; `playwright install` cannot download browsers here)
#   - jupyterlab and playwright in .venv
# Idempotent. Never fails the caller: without apt (or root) it prints a warning and exits 0, and the
# browser test then skips itself with the reason.
set -uo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"

if [ ! -x /usr/bin/chromium ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "browser-deps: WARNING: apt-get not available; /usr/bin/chromium missing -> browser tests will skip" >&2
  elif [ "$(id -u)" != 0 ] && ! command -v sudo >/dev/null 2>&1; then
    echo "browser-deps: WARNING: not root and no sudo; cannot apt-get install chromium -> browser tests will skip" >&2
  else
    SUDO=""; [ "$(id -u)" != 0 ] && SUDO="sudo -n"
    export DEBIAN_FRONTEND=noninteractive
    echo "browser-deps: apt-get install -y chromium"
    if ! $SUDO apt-get install -y -q chromium >/dev/null; then
      echo "browser-deps: install failed; running apt-get update and retrying"
      $SUDO apt-get update -q >/dev/null || true
      $SUDO apt-get install -y -q chromium >/dev/null \
        || echo "browser-deps: WARNING: could not install chromium -> browser tests will skip" >&2
    fi
  fi
fi

if [ ! -x "$PY" ]; then
  echo "browser-deps: WARNING: $PY not found (run scripts/setup.sh first) -> browser tests will skip" >&2
  exit 0
fi
if ! "$PY" -c "import importlib.util as u, sys; sys.exit(any(u.find_spec(m) is None for m in ('jupyterlab', 'playwright', 'ipykernel')))" >/dev/null 2>&1; then
  echo "browser-deps: pip install jupyterlab playwright"
  "$PY" -m pip install -q jupyterlab playwright \
    || echo "browser-deps: WARNING: pip install jupyterlab playwright failed -> browser tests will skip" >&2
fi
exit 0
