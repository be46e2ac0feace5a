"""Throughput sanity check for kubelab.store (not a test): prints one JSON object.

Measures creates/s into an empty store with some prefix watchers attached, range of 1,000 keys among 100,000,
count under a prefix, and the cost of starting a watch that replays 1,000 events.

Run: .venv/bin/python benchmarks/store.py [--keys 100000] [--watchers 50]
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from kubelab.store import Store


def pod(ns: str, name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": {"app": "bench"}},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]},
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=100_000)
    ap.add_argument("--per-namespace", type=int, default=1_000)
    ap.add_argument("--watchers", type=int, default=50)
    args = ap.parse_args()

    store = Store()
    namespaces = max(1, args.keys // args.per_namespace)
    watchers = [store.watch(f"/registry/pods/ns{i:04d}/", 1) for i in range(args.watchers)]
    objs = [
        (f"/registry/pods/ns{i % namespaces:04d}/pod-{i:07d}", pod(f"ns{i % namespaces:04d}", f"pod-{i:07d}"))
        for i in range(args.keys)
    ]
    t0 = time.perf_counter()
    for key, value in objs:
        store.create(key, value)
    create_s = time.perf_counter() - t0
    for w in watchers:
        w.close()

    prefix = "/registry/pods/ns0007/"
    runs = 20
    t0 = time.perf_counter()
    for _ in range(runs):
        kvs, _ = store.range(prefix)
    range_ms = (time.perf_counter() - t0) / runs * 1000

    t0 = time.perf_counter()
    for _ in range(runs):
        n = store.count("/registry/pods/")
    count_ms = (time.perf_counter() - t0) / runs * 1000

    t0 = time.perf_counter()
    w = store.watch("/registry/", store.revision - 1_000)
    watch_start_ms = (time.perf_counter() - t0) * 1000
    replayed = w.pending
    w.close()

    print(
        json.dumps(
            {
                "keys": args.keys,
                "watchers_during_creates": args.watchers,
                "creates_per_s": round(args.keys / create_s),
                "range_prefix_items": len(kvs),
                "range_ms": round(range_ms, 3),
                "count_all_ms": round(count_ms, 3),
                "count_all": n,
                "watch_replay_1000_ms": round(watch_start_ms, 3),
                "watch_replayed": replayed,
            }
        )
    )


if __name__ == "__main__":
    main()
