#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and starts the main job: an embedded Kubernetes cluster that real kubectl can use.
# Extra arguments go to `kubelab up` (e.g. --name demo --port 6443). Ctrl-C stops the cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/kubelab up "$@"
