"""Scheduler throughput and memory (not a test): prints one JSON object.

Two throughput measurements, each with the default profile at 100 and at 1,000 nodes (8 cpu / 16Gi / 110 pods,
kind-like labels; pods ask 100m cpu / 128Mi):

* ``framework``: scheduling cycles on the framework alone, a fake binder assuming each pod into the cache
  (what the plugins and the runtime cost); ``no_reuse`` turns off the per-signature reuse of node-local results;
* ``in_process``: the real ``Scheduler`` component on an in-process API server (registry + store, as
  tests/harness builds it): pods are created first, then the scheduler pops, filters, scores, binds through
  pods/binding, records the Scheduled event and the informers deliver the binding back — until every pod is bound.

Pod kinds: ``plain`` (no owner) and ``replicaset`` (owned by a ReplicaSet, so the system default spreading
constraints apply).

Rates are pods per second of process CPU time (best of ``--repeats``), so other load on the machine does not
skew them. The scheduler buffers its Events (as client-go's broadcaster does) and writes them when it goes idle:
``in_process`` stops the clock when every pod is bound, ``in_process_with_events`` when the Scheduled events
are written too (creating an Event through the registry costs about as much as a scheduling cycle).

Memory: a separate process creates 1,000 nodes and 10,000 pods in a real store, runs the scheduler until all
are bound, and reports its resident set size (VmRSS).

Targets: >= 1,000 pods/s at 1,000 nodes; < 500 MB with 1,000 nodes and 10,000 pods.
Run: .venv/bin/python benchmarks/scheduler.py [--pods 2000] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from kubelab.api.resources import ResourceRegistry  # noqa: E402
from kubelab.apiserver import subresources  # noqa: E402,F401  (imported now, not on the first bind)
from kubelab.apiserver.bootstrap import Bootstrap  # noqa: E402
from kubelab.apiserver.context import ServerContext  # noqa: E402
from kubelab.apiserver.pki import ClusterPKI  # noqa: E402
from kubelab.apiserver.registry import Registry  # noqa: E402
from kubelab.client import Client, InformerFactory  # noqa: E402
from kubelab.clock import SystemClock  # noqa: E402
from kubelab.config import LabConfig  # noqa: E402
from kubelab.scheduler import Scheduler  # noqa: E402
from kubelab.scheduler import scheduler as scheduler_module  # noqa: E402
from kubelab.scheduler.framework import Cache, Framework, Handle, PodInfo, default_profile  # noqa: E402
from kubelab.scheduler.framework.cache import StaticListers  # noqa: E402
from kubelab.store import Store  # noqa: E402
from kubelab.trace import TraceBus  # noqa: E402

Obj = dict[str, Any]
KIND_LABELS = {"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
               "kubernetes.io/os": "linux"}
RES = {"cpu": "8", "memory": "16Gi", "pods": "110"}


def node(i: int) -> Obj:
    name = f"worker-{i:04d}"
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {**KIND_LABELS, "kubernetes.io/hostname": name}},
            "spec": {}, "status": {"capacity": RES, "allocatable": RES,
                                   "conditions": [{"type": "Ready", "status": "True"}]}}


def pod(i: int, kind: str, ns: str = "bench") -> Obj:
    meta: Obj = {"name": f"{kind}-{i:05d}", "namespace": ns, "labels": {"app": f"app-{i % 20}"}}
    if kind == "replicaset":
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": f"app-{i % 20}",
                                    "uid": f"rs-{i % 20}", "controller": True}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": {"schedulerName": "default-scheduler", "containers": [
                {"name": "app", "image": "nginx:1.27",
                 "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}]}}


def replicasets(ns: str = "bench") -> list[Obj]:
    return [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": f"app-{k}", "namespace": ns},
             "spec": {"replicas": 1, "selector": {"matchLabels": {"app": f"app-{k}"}},
                      "template": {"metadata": {"labels": {"app": f"app-{k}"}},
                                   "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}}}
            for k in range(20)]


# ---------------------------------------------------------------------------------------------- framework only
def bench_framework(nodes: int, pods: int, kind: str, memoize: bool = True) -> float:
    cache = Cache(StaticListers(replicasets()))
    for i in range(nodes):
        cache.add_node(node(i))
    fw = Framework(default_profile(), Handle(cache=cache), memoize=memoize)
    infos = [PodInfo(pod(i, kind)) for i in range(pods)]
    gc.collect()
    t0 = time.process_time()
    for pi in infos:
        res = fw.schedule(pi)
        assert res.node, res.message
        cache.assume_pod(pi, res.node)  # the fake binder
    return pods / (time.process_time() - t0)


# ---------------------------------------------------------------------------------------------- in process
_PKI: ClusterPKI | None = None


def server() -> ServerContext:
    global _PKI
    clock = SystemClock()
    store = Store(clock=clock)
    resources = ResourceRegistry()
    ctx = ServerContext(store=store, resources=resources, registry=Registry(store, resources, clock, seed=1),
                        clock=clock)
    ctx.trace = TraceBus(clock)
    if _PKI is None:
        _PKI = ClusterPKI.generate()
    Bootstrap(ctx, _PKI.ca_cert_pem, seed=1).run(None)
    return ctx


async def run_scheduler(nodes: int, pods: int, kind: str) -> dict[str, Any]:
    ctx = server()
    admin = Client(ctx, "bench")
    admin.create("namespaces", {"metadata": {"name": "bench"}})
    for rs in replicasets():
        admin.create("replicasets.apps", rs, "bench")
    for i in range(nodes):
        n = node(i)
        status = n.pop("status")
        created = admin.create("nodes", n)
        admin.update_status("nodes", dict(created, status=status))
    informers = InformerFactory(Client(ctx, "informers"))
    scheduler_module.EVENT_BUFFER = pods + 1  # keep the Scheduled events buffered until the burst is bound
    sched = Scheduler(Client(ctx, "default-scheduler"), informers, LabConfig(), ctx.trace)
    informers.start()
    await informers.wait_synced()
    t0 = time.perf_counter()
    for i in range(pods):
        admin.create("pods", pod(i, kind), "bench")
    create_s = time.perf_counter() - t0
    for _ in range(20):
        await asyncio.sleep(0)  # informers queue the new pods
    gc.collect()
    t0 = time.process_time()
    task = asyncio.get_running_loop().create_task(sched.run())
    while sched.scheduled < pods:
        await asyncio.sleep(0)
        if task.done():
            task.result()
    bound = time.process_time() - t0
    while sched._events:  # the Scheduled events still buffered
        await asyncio.sleep(0)
    with_events = time.process_time() - t0
    sched.stop()
    task.cancel()
    informers.stop()
    return {"pods_per_s": round(pods / bound), "pods_per_s_with_events": round(pods / with_events),
            "creates_per_s": round(pods / create_s), "sched": sched, "ctx": ctx}


def bench_in_process(nodes: int, pods: int, kind: str) -> tuple[int, int]:
    out = asyncio.run(run_scheduler(nodes, pods, kind))
    return out["pods_per_s"], out["pods_per_s_with_events"]


# ---------------------------------------------------------------------------------------------- memory
def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_child(nodes: int, pods: int) -> None:
    before = rss_mb()
    out = asyncio.run(run_scheduler(nodes, pods, "replicaset"))
    gc.collect()
    sched: Scheduler = out["sched"]
    print(json.dumps({"nodes": nodes, "pods": pods, "bound": sched.scheduled, "rss_mb": round(rss_mb()),
                      "rss_before_mb": round(before), "pods_per_s": out["pods_per_s"],
                      "cache_pods": sched.cache.pod_count}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pods", type=int, default=2000)
    ap.add_argument("--quick", action="store_true", help="fewer pods, no memory run")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--memory-child", nargs=2, type=int, metavar=("NODES", "PODS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.memory_child:
        memory_child(*args.memory_child)
        return
    pods = 300 if args.quick else args.pods
    repeats = 1 if args.quick else args.repeats
    result: dict[str, Any] = {
        "pods": pods, "pod_requests": "100m cpu, 128Mi", "clock": "process CPU time, best of repeats",
        "framework": {}, "in_process": {}, "in_process_with_events": {}}
    for nodes in (100, 1000):
        for kind in ("plain", "replicaset"):
            key = f"{nodes}_nodes_{kind}_pods_per_s"
            result["framework"][key] = round(max(bench_framework(nodes, pods, kind) for _ in range(repeats)))
            runs = [bench_in_process(nodes, pods, kind) for _ in range(repeats)]
            result["in_process"][key] = max(r[0] for r in runs)
            result["in_process_with_events"][key] = max(r[1] for r in runs)
        result["framework"][f"{nodes}_nodes_plain_no_reuse_pods_per_s"] = round(
            max(bench_framework(nodes, pods, "plain", memoize=False) for _ in range(repeats)))
    if not args.quick:
        child = subprocess.run([sys.executable, __file__, "--memory-child", "1000", "10000"], capture_output=True,
                               text=True, check=True)
        result["memory"] = json.loads(child.stdout.strip().splitlines()[-1])
    result["targets"] = {"in_process_1000_nodes_pods_per_s": ">= 1000", "memory_1000_nodes_10000_pods_mb": "< 500"}
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
