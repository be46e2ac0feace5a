"""Pods that really run, measured: on kind's three-node example, 100 busybox ``sleep 3600`` pods are created over
HTTPS (official client, one after another, as fast as the API takes them) with each runtime; prints JSON with

- the time from each pod's creation to the moment the store shows it Running (p50, p99, max), read by polling the
  store every 5 ms (no API load from the measurement);
- memory: the RSS of the pods' processes divided by the number of pods (process runtime: every process carrying
  the cluster's marker, and their descendants), and how much the cluster's own process (this one) grew while the pods started.

Image pulls take no time (``image_pull_delay=0``) so the runtimes themselves are compared. Usage:
``python benchmarks/runtime.py [--pods 100] [--runtime process|simulated|both]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

THREE = "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n- role: control-plane\n- role: worker\n" \
        "- role: worker\n"


def rss_kib(pid: int | str = "self") -> int:
    """Resident set size of a process in KiB (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def with_descendants(pids: list[int]) -> list[int]:
    """The processes and all their descendants (proot's tracees do not carry the marker themselves)."""
    seen: list[int] = []
    todo = list(pids)
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.append(pid)
        for task in Path(f"/proc/{pid}/task").glob("*/children"):
            try:
                todo += [int(c) for c in task.read_text().split()]
            except OSError:
                continue
    return seen


def process_start_s(runs: int = 20) -> float:
    """The floor a process pod cannot beat: the median wall time of ``proot true`` (what starting a container's
    process costs on this machine before it runs anything)."""
    import shutil
    import subprocess

    proot = shutil.which("proot")
    if proot is None:
        return 0.0
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([proot, "true"], check=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def measure(runtime: str, pods: int) -> dict[str, Any]:
    from kubernetes import client

    from kubelab.backends.embedded import EmbeddedServer, ServerConfig
    from kubelab.backends.processes import find
    from kubelab.config import LabConfig

    d = Path(tempfile.mkdtemp())
    (d / "clusters.yml").write_text(THREE)
    lab = LabConfig(image_pull_delay=0.0, container_start_delay=0.0)
    srv = EmbeddedServer(ServerConfig(name=f"bench-{runtime}", cluster_config=d / "clusters.yml", lab=lab,
                                      runtime=runtime)).start()
    try:
        (d / "ca.crt").write_bytes(srv.pki.ca_cert_pem)
        cfg = client.Configuration()
        cfg.host = srv.url
        cfg.ssl_ca_cert = str(d / "ca.crt")
        cfg.api_key = {"BearerToken": srv.token}
        cfg.api_key_prefix = {"BearerToken": "Bearer"}
        core = client.CoreV1Api(client.ApiClient(cfg))
        time.sleep(2.0)  # let kube-system settle
        marker = srv.control_plane.marker  # type: ignore[union-attr]
        before_pids = set(find(marker)) if marker else set()
        rss_before = rss_kib()
        store = srv.ctx.store  # type: ignore[union-attr]
        created: dict[str, float] = {}
        running: dict[str, float] = {}
        t_start = time.perf_counter()
        for i in range(pods):
            name = f"sleep-{i}"
            body: Any = {"metadata": {"name": name}, "spec": {"containers": [{
                "name": "c", "image": "busybox:1.36", "command": ["sleep", "3600"],
                "resources": {"requests": {"cpu": "10m", "memory": "8Mi"}}}]}}
            created[name] = time.perf_counter()
            core.create_namespaced_pod("default", body)
            _poll(store, running)
        while len(running) < pods:
            _poll(store, running)
            if time.perf_counter() - t_start > 300:
                raise RuntimeError(f"only {len(running)}/{pods} Running after 300 s")
            time.sleep(0.005)
        all_running_s = time.perf_counter() - t_start
        time.sleep(1.0)  # let RSS settle
        latencies = [running[n] - created[n] for n in created]
        pod_pids = with_descendants([p for p in (find(marker) if marker else []) if p not in before_pids])
        pods_rss = sum(rss_kib(p) for p in pod_pids)
        return {
            "pods": pods,
            "create_to_running_s": {"p50": round(statistics.median(latencies), 4),
                                    "p99": round(percentile(latencies, 99), 4), "max": round(max(latencies), 4)},
            "all_running_after_s": round(all_running_s, 3),
            "pod_processes": len(pod_pids),
            "pod_processes_rss_per_pod_kib": round(pods_rss / pods, 1),
            "cluster_process_growth_per_pod_kib": round((rss_kib() - rss_before) / pods, 1),
            "cluster_process_rss_mib": round(rss_kib() / 1024, 1),
        }
    finally:
        srv.stop()


def _poll(store: Any, running: dict[str, float]) -> None:
    now = time.perf_counter()
    kvs, _ = store.range("/registry/core/pods/default/")
    for kv in kvs:
        name = kv.value["metadata"]["name"]
        if name not in running and (kv.value.get("status") or {}).get("phase") == "Running":
            running[name] = now


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pods", type=int, default=100)
    parser.add_argument("--runtime", choices=["process", "simulated", "both"], default="both")
    args = parser.parse_args()
    names = ["process", "simulated"] if args.runtime == "both" else [args.runtime]
    out: dict[str, Any] = {"image_pull_delay_s": 0.0, "image": "busybox:1.36", "command": "sleep 3600"}
    for name in names:
        out[name] = measure(name, args.pods)
    if "process" in out:
        start = process_start_s()
        out["process"]["process_start_p50_s"] = round(start, 4)  # `proot true`, measured apart
        out["process"]["beyond_process_start_p50_s"] = round(out["process"]["create_to_running_s"]["p50"] - start,
                                                             4)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
