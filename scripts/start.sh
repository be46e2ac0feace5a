#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and starts the main job: an embedded three-node Kubernetes cluster (clusters.yml,
# kind's multi-node example) that real kubectl can use. Extra arguments go to `kubelab up` (e.g. --name demo
# --port 6443, or --config another.yml). Ctrl-C stops the cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [[ " $* " == *" --config "* ]]; then
  exec .venv/bin/kubelab up "$@"
fi
exec .venv/bin/kubelab up --config clusters.yml "$@"
