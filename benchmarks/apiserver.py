"""Benchmark the embedded API server through the official Python client; prints JSON.

Measures, with the server in its own process (so client and server do not share a GIL):
- GET one pod: p50/p99 latency through the official client, and the same GET against a bare aiohttp handler with
  the same TLS set-up (the floor), so the ratio shows what kubelab adds;
- LIST 1,000 pods as a Table (the request kubectl makes), through the official client: p50/p99;
- creates per second: 16 concurrent aiohttp clients POSTing pods, and the official client alone, sequentially.
Targets (issue 2): GET p50 within 3x the floor; LIST 1,000 as Table under 100 ms; at least 1,000 creates/s.
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


def start(kind: str) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    info = Path(tempfile.mkdtemp()) / "info.json"
    env = dict(os.environ, PYTHONPATH=str(HERE.parent))
    proc = subprocess.Popen([sys.executable, str(HERE / "_serve.py"), kind, str(info)], env=env)
    deadline = time.monotonic() + 60
    while not info.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{kind} server did not start")
        time.sleep(0.05)
    return proc, json.loads(info.read_text())


def client_for(info: dict[str, str]) -> Any:
    from kubernetes import client

    cfg = client.Configuration()
    cfg.host = info["url"]
    cfg.ssl_ca_cert = info["ca"]
    cfg.cert_file = info["cert"]
    cfg.key_file = info["key"]
    return client.ApiClient(cfg)


def pct(samples: list[float], p: float) -> float:
    s = sorted(samples)
    return round(s[min(len(s) - 1, int(len(s) * p))] * 1000, 3)


def time_calls(fn: Any, n: int, warmup: int = 20) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


async def concurrent_creates(info: dict[str, str], ns: str, total: int, workers: int = 16) -> float:
    import aiohttp

    ctx = ssl.create_default_context(cafile=info["ca"])
    ctx.load_cert_chain(info["cert"], info["key"])
    url = f"{info['url']}/api/v1/namespaces/{ns}/pods"
    counter = iter(range(total))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx, limit=workers)) as s:
        async def worker() -> None:
            for i in counter:
                body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"c{i}"},
                        "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}
                async with s.post(url, json=body) as r:
                    if r.status != 201:
                        raise RuntimeError(await r.text())
                    await r.read()

        t = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(workers)))
        return total / (time.perf_counter() - t)


def main() -> None:
    from kubernetes import client

    results: dict[str, Any] = {}
    floor_proc, floor = start("floor")
    kl_proc, kl = start("kubelab")
    try:
        fapi = client.CoreV1Api(client_for(floor))
        floor_get = time_calls(lambda: fapi.read_namespaced_pod("p0", "bench"), 500)

        api = client_for(kl)
        core = client.CoreV1Api(api)
        core.create_namespace({"metadata": {"name": "bench"}})
        pod = {"metadata": {"name": "p0"}, "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}
        core.create_namespaced_pod("bench", pod)
        get = time_calls(lambda: core.read_namespaced_pod("p0", "bench"), 500)

        t = time.perf_counter()
        for i in range(1, 300):
            core.create_namespaced_pod("bench", {**pod, "metadata": {"name": f"p{i}"}})
        seq_rate = 299 / (time.perf_counter() - t)
        core.create_namespace({"metadata": {"name": "many"}})
        conc_rate = asyncio.run(concurrent_creates(kl, "many", 1000))

        def list_table() -> None:
            r = core.list_namespaced_pod("many", _preload_content=False, _headers={"Accept": TABLE})
            table = json.loads(r.data)
            assert len(table["rows"]) == 1000

        lst = time_calls(list_table, 30, warmup=3)

        def list_json() -> None:
            assert len(core.list_namespaced_pod("many").items) == 1000

        lst_json = time_calls(list_json, 5, warmup=1)

        results = {
            "get_pod_p50_ms": pct(get, 0.5), "get_pod_p99_ms": pct(get, 0.99),
            "floor_get_p50_ms": pct(floor_get, 0.5), "floor_get_p99_ms": pct(floor_get, 0.99),
            "get_p50_ratio_to_floor": round(pct(get, 0.5) / pct(floor_get, 0.5), 2),
            "list_1000_pods_table_p50_ms": pct(lst, 0.5), "list_1000_pods_table_p99_ms": pct(lst, 0.99),
            "list_1000_pods_json_typed_p50_ms": pct(lst_json, 0.5),
            "creates_per_s_concurrent_16": round(conc_rate, 1),
            "creates_per_s_official_client_sequential": round(seq_rate, 1),
            "targets": {"get_p50_ratio_to_floor": "<= 3", "list_1000_pods_table_p50_ms": "< 100",
                        "creates_per_s_concurrent_16": ">= 1000"},
        }
    finally:
        for p in (floor_proc, kl_proc):
            p.terminate()
            p.wait(10)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
