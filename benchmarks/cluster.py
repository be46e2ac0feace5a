"""Time from applying a 100-replica Deployment on kind's three-node example to all pods Running (zero image
pull delay), through the real HTTPS API with the official client; prints JSON. Target (issue 3): under 1 s.

The Deployment is created over HTTPS like `kubectl apply` would; "Running" is read from the store by a watcher
thread polling every 5 ms (so the measurement itself adds no API load).
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DEBUG = "--debug" in sys.argv
THREE = "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n- role: control-plane\n- role: worker\n" \
        "- role: worker\n"


def run_once(replicas: int, ns: str, core: object, apps: object, srv: object) -> float:
    from kubernetes import client

    assert isinstance(apps, client.AppsV1Api) and isinstance(core, client.CoreV1Api)
    core.create_namespace({"metadata": {"name": ns}})
    dep = {"metadata": {"name": "web"}, "spec": {
        "replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}},
                     "spec": {"containers": [{"name": "c", "image": "nginx:1.27",
                                              "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}}}}
    store = srv.ctx.store  # type: ignore[attr-defined]
    prefix = f"/registry/core/pods/{ns}/"
    t0 = time.perf_counter()
    apps.create_namespaced_deployment(ns, dep)
    while True:
        kvs, _ = store.range(prefix)
        running = sum(1 for kv in kvs if (kv.value.get("status") or {}).get("phase") == "Running")
        if running >= replicas:
            return time.perf_counter() - t0
        if DEBUG and int((time.perf_counter() - t0) * 10) % 10 == 0:
            bound = sum(1 for kv in kvs if (kv.value.get("spec") or {}).get("nodeName"))
            print(f"{time.perf_counter() - t0:.1f}s pods={len(kvs)} bound={bound} running={running}", flush=True)
            time.sleep(0.1)
        if time.perf_counter() - t0 > 60:
            raise RuntimeError(f"only {running}/{replicas} Running after 60 s")
        time.sleep(0.005)


def main() -> None:
    from kubernetes import client

    from kubelab.backends.embedded import EmbeddedServer, ServerConfig
    from kubelab.config import LabConfig

    d = Path(tempfile.mkdtemp())
    (d / "clusters.yml").write_text(THREE)
    lab = LabConfig(image_pull_delay=0.0, container_start_delay=0.0)
    srv = EmbeddedServer(ServerConfig(name="bench", cluster_config=d / "clusters.yml", lab=lab)).start()
    try:
        (d / "ca.crt").write_bytes(srv.pki.ca_cert_pem)
        cfg = client.Configuration()
        cfg.host = srv.url
        cfg.ssl_ca_cert = str(d / "ca.crt")
        cfg.api_key = {"BearerToken": srv.token}
        cfg.api_key_prefix = {"BearerToken": "Bearer"}
        api = client.ApiClient(cfg)
        core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
        time.sleep(1.0)  # let kube-system settle
        times = []
        for i in range(5):
            times.append(run_once(100, f"bench{i}", core, apps, srv))
            # free the nodes (110 pods each) before the next run
            core.delete_namespace(f"bench{i}")
            deadline = time.time() + 60
            while srv.ctx.store.count(f"/registry/core/pods/bench{i}/") and time.time() < deadline:  # type: ignore[attr-defined]
                time.sleep(0.05)
            time.sleep(1.0)  # let the controllers finish with the old namespace: measure a quiet cluster
        print(json.dumps({
            "deployment_100_replicas_to_running_s": {"runs": [round(t, 3) for t in times],
                                                     "median": round(statistics.median(times), 3)},
            "target_s": "< 1",
            "image_pull_delay_s": 0.0,
        }, indent=2))
    finally:
        srv.stop()


if __name__ == "__main__":
    main()
