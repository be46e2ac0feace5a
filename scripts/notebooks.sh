#!/usr/bin/env bash
# Notebook CI: runs every lesson (notebooks/) and exercise notebook (exercises/) top to bottom in a FRESH virtual
# environment built only from binder/ — the files Binder builds its image from — so a green run means a Binder
# launch has what the notebooks need.
#
#   1. python3.11 -m venv (a new one each run); pip install -r binder/requirements.txt; run binder/postBuild
#      (binder/apt.txt's packages are installed on CI by scripts/setup.sh);
#   2. repo2docker --no-build --debug . checks binder/ (runtime.txt, requirements) without Docker;
#   3. pytest --nbval-lax: a notebook fails on any cell that raises; cells tagged `nbval-check-output` must also
#      print what the committed notebook stores. Those outputs are deterministic, so no sanitiser file is used.
#      Each notebook's kernel starts in the notebook's folder, with KUBECONFIG pointing at a temporary file.
#
# Prints the wall time of each phase and the peak memory (VmHWM) of the notebook kernels. Exit status: pytest's
# (collecting no notebook counts as a failure). Environment: PYTHON (default python3.11), NOTEBOOKS_VENV (where to
# build the venv; default a temporary directory, removed at the end), NOTEBOOKS_TIMEOUT (seconds for the whole
# pytest run, default 600); extra arguments go to pytest (e.g. notebooks/03-life-of-a-pod.ipynb to run one).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
work=$(mktemp -d -t kubelab-notebooks.XXXXXX)
venv=${NOTEBOOKS_VENV:-$work/venv}
cleanup() { [ -n "${monitor:-}" ] && kill "$monitor" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
t0=$(date +%s)
stamp() { echo "notebooks: $1 ($(( $(date +%s) - t0 )) s)"; }

rm -rf "$venv"
"$PY" -m venv "$venv"
pip_install() {
  "$venv/bin/python" -m pip install --quiet "$@" >>"$work/pip.log" 2>&1 || {
    tail -50 "$work/pip.log" >&2; echo "notebooks: pip install $* failed" >&2; exit 1; }
}
pip_install --upgrade pip
pip_install -r binder/requirements.txt
pip_install nbval pytest pytest-timeout jupyter-repo2docker
PATH="$venv/bin:$PATH" bash binder/postBuild
stamp "fresh venv from binder/ ready"

"$venv/bin/repo2docker" --no-build --debug . >"$work/repo2docker.log" 2>&1 || {
  cat "$work/repo2docker.log" >&2; echo "notebooks: repo2docker rejected binder/" >&2; exit 1; }
grep -q "python3.11\|python=3.11\|PYTHON_VERSION=3.11" "$work/repo2docker.log" || {
  echo "notebooks: repo2docker did not pick Python 3.11 from binder/runtime.txt" >&2; exit 1; }
stamp "repo2docker accepts binder/"

paths=("$@")
if [ ${#paths[@]} -eq 0 ]; then
  paths=(notebooks/)
  [ -d exercises ] && paths+=(exercises/)
fi

# peak resident memory of this run's notebook kernels (VmHWM), and of each kernel with the processes it started
# (the process runtime's containers), sampled twice a second
"$venv/bin/python" - "$work/memory" "$venv" <<'PY' &
import os, sys, time
out, venv = sys.argv[1], sys.argv[2].encode()
kernel_peak, tree_peak = {}, 0
def status(pid, key):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(key):
            return int(line.split()[1])
    return 0
while True:
    procs = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = open(f"/proc/{pid}/cmdline", "rb").read()
            ppid = int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
            procs[pid] = (cmd, ppid)
        except (OSError, ValueError, IndexError):
            pass
    children = {}
    for pid, (_, ppid) in procs.items():
        children.setdefault(str(ppid), []).append(pid)
    for pid, (cmd, _) in procs.items():
        if b"ipykernel" not in cmd or venv not in cmd:
            continue
        try:
            kernel_peak[pid] = max(kernel_peak.get(pid, 0), status(pid, "VmHWM:"))
            tree, todo = 0, [pid]
            while todo:
                p = todo.pop()
                tree += status(p, "VmRSS:")
                todo += children.get(p, [])
            tree_peak = max(tree_peak, tree)
        except OSError:
            pass
    with open(out, "w") as f:
        f.write(f"{len(kernel_peak)} {max(kernel_peak.values(), default=0)} {tree_peak}\n")
    time.sleep(0.5)
PY
monitor=$!

set +e
KUBECONFIG="$work/kubeconfig" KUBECACHEDIR="$work/kubecache" PATH="$venv/bin:$PATH" \
  timeout "${NOTEBOOKS_TIMEOUT:-600}" "$venv/bin/python" -m pytest -p no:cacheprovider -o addopts="" \
  --nbval-lax --nbval-current-env --nbval-cell-timeout=180 --timeout=240 "${paths[@]}"
rc=$?
set -e
read -r kernels peak_kb tree_kb <"$work/memory" || true
stamp "pytest exit status $rc; ${kernels:-0} kernels; peak RSS of a kernel $(( ${peak_kb:-0} / 1024 )) MiB, \
of a kernel with its child processes $(( ${tree_kb:-0} / 1024 )) MiB"
if [ "$rc" -eq 5 ]; then
  echo "notebooks: pytest collected no notebooks: treating as failure" >&2
  exit 1
fi
exit "$rc"
