"""The control loop end to end, judged by real kubectl against `kubelab up --config` with kind's three-node
example: nodes, scheduling, Deployments and rollouts, self-healing, node failure, Jobs, CronJobs, events."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests import helpers
from tests.conftest import Cluster
from tests.helpers import THREE_NODES, embedded_cluster


@pytest.fixture(scope="module")
def kind3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    d = tmp_path_factory.mktemp("kind3")
    cfg = d / "clusters.yml"
    cfg.write_text(THREE_NODES)
    with embedded_cluster(d, "local", cluster_config=cfg, control_plane=True) as c:
        yield c


def wait_for(fn: Callable[[], Any], timeout: float = 30, interval: float = 0.2) -> Any:
    return helpers.wait_for(fn, timeout, interval)


def pods(c: Cluster, ns: str, selector: str = "") -> list[dict]:  # type: ignore[type-arg]
    args = ["get", "pods", "-n", ns, "-o", "json"] + (["-l", selector] if selector else [])
    return json.loads(c.kubectl(*args).stdout)["items"]  # type: ignore[no-any-return]


def test_nodes_are_kinds_three_ready_nodes(kind3: Cluster) -> None:
    out = wait_for(lambda: (o := kind3.kubectl("get", "nodes").stdout).count(" Ready ") == 3 and o)
    rows = [line.split() for line in out.splitlines()[1:]]
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("local-control-plane", "Ready", "control-plane"), ("local-worker", "Ready", "<none>"),
        ("local-worker2", "Ready", "<none>")]
    assert all(r[4] == "v1.37.0" for r in rows)
    wide = kind3.kubectl("get", "nodes", "-o", "wide").stdout
    assert "containerd://" in wide and "172.18.0.2" in wide


def test_kube_system_looks_like_kinds(kind3: Cluster) -> None:
    def listing() -> str | None:
        out = kind3.kubectl("get", "pods", "-n", "kube-system", "-o", "wide").stdout
        names = [line.split()[0] for line in out.splitlines()[1:]]
        want = ["etcd-local-control-plane", "kube-apiserver-local-control-plane",
                "kube-controller-manager-local-control-plane", "kube-scheduler-local-control-plane"]
        ok = all(n in names for n in want) and sum(n.startswith("kube-proxy-") for n in names) == 3 \
            and sum(n.startswith("coredns-") for n in names) == 2
        running = all(line.split()[2] == "Running" for line in out.splitlines()[1:])
        return out if ok and running else None

    out = wait_for(listing, 30)
    assert "kube-apiserver-local-control-plane" in out


def test_deployment_spreads_over_workers_and_rolls(kind3: Cluster) -> None:
    k = kind3.kubectl
    k("create", "namespace", "roll")
    k("create", "deployment", "web", "--image=nginx:1.27", "--replicas=6", "-n", "roll")
    k("rollout", "status", "deployment/web", "-n", "roll", "--timeout=60s", timeout=70)
    ps = pods(kind3, "roll", "app=web")
    assert len(ps) == 6 and all(p["status"]["phase"] == "Running" for p in ps)
    spread = Counter(p["spec"]["nodeName"] for p in ps)
    assert spread == {"local-worker": 3, "local-worker2": 3}

    k("set", "image", "deployment/web", "nginx=nginx:1.28", "-n", "roll")
    k("rollout", "status", "deployment/web", "-n", "roll", "--timeout=60s", timeout=70)
    ps = pods(kind3, "roll", "app=web")
    assert {p["spec"]["containers"][0]["image"] for p in ps} == {"nginx:1.28"} and len(ps) == 6
    hist = k("rollout", "history", "deployment/web", "-n", "roll").stdout
    assert [line.split()[0] for line in hist.splitlines() if line[:1].isdigit()] == ["1", "2"]
    k("rollout", "undo", "deployment/web", "-n", "roll")
    k("rollout", "status", "deployment/web", "-n", "roll", "--timeout=60s", timeout=70)
    dep = json.loads(k("get", "deploy", "web", "-n", "roll", "-o", "json").stdout)
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"

    # self-healing: a deleted replica comes back
    victim = pods(kind3, "roll", "app=web")[0]["metadata"]["name"]
    k("delete", "pod", victim, "-n", "roll")
    wait_for(lambda: len([p for p in pods(kind3, "roll", "app=web")
                          if p["status"]["phase"] == "Running" and p["metadata"]["name"] != victim
                          and not p["metadata"].get("deletionTimestamp")]) == 6, 30)


def test_describe_pod_shows_the_life_of_a_pod(kind3: Cluster) -> None:
    kind3.kubectl("run", "life", "--image=nginx:1.25", "-n", "default")  # a tag no earlier test pulled
    wait_for(lambda: pods(kind3, "default", "run=life")[0]["status"]["phase"] == "Running")
    out = kind3.kubectl("describe", "pod", "life", "-n", "default").stdout
    events = out.split("Events:")[1]
    order = [r for r in ("Scheduled", "Pulling", "Pulled", "Created", "Started") if r in events]
    assert order == ["Scheduled", "Pulling", "Pulled", "Created", "Started"]
    idx = [events.index(r) for r in order]
    assert idx == sorted(idx)


def test_pod_too_big_for_any_node_stays_pending_with_real_message(kind3: Cluster) -> None:
    kind3.kubectl("run", "huge", "--image=nginx", "--overrides",
                  json.dumps({"spec": {"containers": [{"name": "huge", "image": "nginx",
                                                       "resources": {"requests": {"cpu": "100"}}}]}}))
    ev = wait_for(lambda: [line for line in kind3.kubectl("get", "events", "--field-selector",
                                                          "involvedObject.name=huge").stdout.splitlines()
                           if "FailedScheduling" in line])
    # kube-scheduler 1.37's wording (older releases printed the taint itself)
    assert "0/3 nodes are available: 1 node(s) had untolerated taint(s), 2 Insufficient cpu." in ev[0]
    assert "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling." in ev[0]
    assert pods(kind3, "default", "run=huge")[0]["status"]["phase"] == "Pending"


def test_job_completes_and_failing_job_fails_at_backoff_limit(kind3: Cluster) -> None:
    k = kind3.kubectl
    k("create", "namespace", "jobs")
    k("apply", "-n", "jobs", "-f", "-", input=json.dumps({
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "three"},
        "spec": {"completions": 3, "template": {"spec": {"restartPolicy": "Never", "containers": [
            {"name": "c", "image": "busybox:1.36", "command": ["echo", "done"]}]}}}}))
    k("apply", "-n", "jobs", "-f", "-", input=json.dumps({
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "fails"},
        "spec": {"backoffLimit": 2, "template": {"spec": {"restartPolicy": "Never", "containers": [
            {"name": "c", "image": "busybox:1.36", "command": ["sh", "-c", "exit 1"]}]}}}}))
    k("wait", "--for=condition=Complete", "job/three", "-n", "jobs", "--timeout=60s", timeout=70)
    k("wait", "--for=condition=Failed", "job/fails", "-n", "jobs", "--timeout=90s", timeout=100)
    job = json.loads(k("get", "job", "fails", "-n", "jobs", "-o", "json").stdout)
    failed = [c for c in job["status"]["conditions"] if c["type"] == "Failed"][0]
    assert failed["reason"] == "BackoffLimitExceeded" and job["status"]["failed"] == 3
    assert json.loads(k("get", "job", "three", "-n", "jobs", "-o", "json").stdout)["status"]["succeeded"] == 3


def test_scheduling_constraints_place_pods_as_kube_scheduler(kind3: Cluster) -> None:
    k = kind3.kubectl
    k("create", "namespace", "place")
    k("label", "node", "local-worker2", "disk=ssd", "--overwrite")
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "ssd"},
           "spec": {"nodeSelector": {"disk": "ssd"}, "containers": [{"name": "c", "image": "nginx"}]}}
    k("apply", "-n", "place", "-f", "-", input=json.dumps(pod))
    affinity_pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "not-ssd"}, "spec": {
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "disk", "operator": "NotIn", "values": ["ssd"]}]}]}}},
        "containers": [{"name": "c", "image": "nginx"}]}}
    k("apply", "-n", "place", "-f", "-", input=json.dumps(affinity_pod))
    on_cp = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "on-cp"}, "spec": {
        "nodeSelector": {"node-role.kubernetes.io/control-plane": ""},
        "tolerations": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}],
        "containers": [{"name": "c", "image": "nginx"}]}}
    k("apply", "-n", "place", "-f", "-", input=json.dumps(on_cp))
    spread = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "apart"}, "spec": {
        "replicas": 3, "selector": {"matchLabels": {"app": "apart"}},
        "template": {"metadata": {"labels": {"app": "apart"}}, "spec": {
            "affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {"matchLabels": {"app": "apart"}}, "topologyKey": "kubernetes.io/hostname"}]}},
            "containers": [{"name": "c", "image": "nginx"}]}}}}
    k("apply", "-n", "place", "-f", "-", input=json.dumps(spread))

    def placed() -> dict[str, str] | None:
        ps = pods(kind3, "place")
        out = {p["metadata"]["name"]: p["spec"].get("nodeName", "") for p in ps}
        apart = [n for name, n in out.items() if name.startswith("apart-")]
        done = all(out.get(n) for n in ("ssd", "not-ssd", "on-cp")) and len(apart) == 3 and \
            sum(1 for n in apart if n) == 2
        return out if done else None

    out = wait_for(placed)
    assert out["ssd"] == "local-worker2" and out["not-ssd"] == "local-worker"
    assert out["on-cp"] == "local-control-plane"
    apart = sorted(n for name, n in out.items() if name.startswith("apart-") and n)
    assert apart == ["local-worker", "local-worker2"]  # the third replica has nowhere to go: Pending


def test_a_failed_node_s_pods_move_to_the_other_worker(kind3: Cluster) -> None:
    k = kind3.kubectl
    k("create", "namespace", "failover")
    k("create", "deployment", "web", "--image=nginx", "--replicas=4", "-n", "failover")
    k("rollout", "status", "deployment/web", "-n", "failover", "--timeout=60s", timeout=70)
    kind3.server.control_plane.stop_kubelet("local-worker")  # type: ignore[attr-defined]
    try:
        wait_for(lambda: "NotReady" in k("get", "node", "local-worker").stdout, 30)
        taints = json.loads(k("get", "node", "local-worker", "-o", "json").stdout)["spec"].get("taints", [])
        assert {"node.kubernetes.io/unreachable"} <= {t["key"] for t in taints}

        def moved() -> bool:
            live = [p for p in pods(kind3, "failover", "app=web") if not p["metadata"].get("deletionTimestamp")]
            return len(live) == 4 and all(p["spec"].get("nodeName") == "local-worker2" and
                                          p["status"]["phase"] == "Running" for p in live)

        wait_for(moved, 60)
    finally:
        kind3.server.control_plane.start_kubelet("local-worker")  # type: ignore[attr-defined]
    wait_for(lambda: " Ready " in k("get", "node", "local-worker").stdout, 30)


def test_cronjob_creates_jobs_as_the_clock_advances(tmp_path_factory: pytest.TempPathFactory) -> None:
    from kubelab.backends.embedded import EmbeddedServer, ServerConfig
    from kubelab.clock import ScaledClock
    from kubelab.kubeconfig import write_context

    d = tmp_path_factory.mktemp("fast")
    # a minute of cluster time every two seconds: the CronJob fires without a long wait
    srv = EmbeddedServer(ServerConfig(name="fast", control_plane=True, clock=ScaledClock(30))).start()
    kc = d / "kubeconfig"
    write_context(kc, "kubelab-fast", srv.url, srv.pki.ca_cert_pem, srv.pki.admin_cert_pem, srv.pki.admin_key_pem)
    c = Cluster(srv, kc, "kubelab-fast")
    try:
        c.kubectl("create", "cronjob", "tick", "--image=busybox:1.36", "--schedule=*/1 * * * *", "--",
                  "echo", "tick")
        jobs = wait_for(lambda: len(j := json.loads(c.kubectl("get", "jobs", "-o", "json").stdout)["items"]) >= 2
                        and j, 30)
        assert all(j["metadata"]["name"].startswith("tick-") for j in jobs)
        assert all(j["metadata"]["ownerReferences"][0]["kind"] == "CronJob" for j in jobs)
        cj = json.loads(c.kubectl("get", "cronjob", "tick", "-o", "json").stdout)
        assert cj["status"].get("lastScheduleTime")
    finally:
        srv.stop()


def test_cordon_and_drain_honour_a_disruption_budget(kind3: Cluster) -> None:
    k = kind3.kubectl
    k("create", "namespace", "drain")
    k("create", "deployment", "db", "--image=redis:7", "--replicas=2", "-n", "drain")
    k("rollout", "status", "deployment/db", "-n", "drain", "--timeout=60s", timeout=70)
    k("create", "poddisruptionbudget", "db", "--selector=app=db", "--min-available=1", "-n", "drain")
    wait_for(lambda: json.loads(k("get", "pdb", "db", "-n", "drain", "-o", "json").stdout)
             .get("status", {}).get("disruptionsAllowed") == 1)
    assert "node/local-worker cordoned" in k("cordon", "local-worker").stdout
    assert "SchedulingDisabled" in k("get", "node", "local-worker").stdout
    try:
        out = k("drain", "local-worker", "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=60s",
                timeout=70).stdout
        assert "node/local-worker drained" in out
        live = [p for p in pods(kind3, "drain", "app=db") if not p["metadata"].get("deletionTimestamp")]
        assert all(p["spec"].get("nodeName") != "local-worker" for p in live)
        wait_for(lambda: sum(p["status"]["phase"] == "Running" for p in pods(kind3, "drain", "app=db")
                             if not p["metadata"].get("deletionTimestamp")) == 2, 30)
    finally:
        k("uncordon", "local-worker")
