"""The DaemonSet controller on a kind-like cluster (a tainted control-plane node and two workers), with a fake
scheduler+kubelet that binds each daemon pod to the node its affinity names and reports it Running and Ready.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from kubelab.client import Client
from kubelab.controllers.daemonset import (
    DaemonSetController,
    add_daemon_tolerations,
    node_should_run,
    target_node,
)
from tests.conftest import Cluster
from tests.controllers.test_job import events, kjson, reap_terminating, run_pod, start, stop
from tests.controllers.test_job import lab as lab  # noqa: F401  (the module-scoped cluster fixture)
from tests.harness import Harness

Obj = dict[str, Any]
DS = "daemonsets.apps"
CONTROL_PLANE_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}
DAEMON_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
]


def make_nodes(c: Client) -> None:
    for name in ("local-control-plane", "local-worker", "local-worker2"):
        labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}
        spec: Obj = {}
        if name.endswith("control-plane"):
            labels["node-role.kubernetes.io/control-plane"] = ""
            spec["taints"] = [CONTROL_PLANE_TAINT]
        c.create("nodes", {"metadata": {"name": name, "labels": labels}, "spec": spec})


def daemonset(name: str, tolerations: list[Obj] | None = None, node_selector: dict[str, str] | None = None,
              **spec: Any) -> Obj:
    pod_spec: Obj = {"containers": [{"name": "agent", "image": "fluentd:v1.16"}]}
    if tolerations is not None:
        pod_spec["tolerations"] = tolerations
    if node_selector is not None:
        pod_spec["nodeSelector"] = node_selector
    return {"metadata": {"name": name}, "spec": {
        "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}}, "spec": pod_spec}, **spec}}


def ds_pods(c: Client, name: str) -> list[Obj]:
    return sorted((p for p in c.list("pods", "default", label_selector=f"app={name}")
                   if not p["metadata"].get("deletionTimestamp")), key=lambda p: target_node(p) or "")


def schedule_and_run(c: Client, name: str) -> None:
    """What the scheduler and kubelet would do: bind to the affinity's node, then Running and Ready."""
    for p in ds_pods(c, name):
        if p["status"].get("phase") != "Running":
            run_pod(c, p["metadata"]["name"], node=target_node(p) or "")


# ------------------------------------------------------------------------------------------------ scenarios
def test_one_pod_per_untainted_node_with_affinity_and_tolerations() -> None:
    async def scenario() -> None:
        h = Harness()
        c = h.client("kubectl")
        make_nodes(c)
        ctrl = DaemonSetController(h.client("x"), h.informers, h.config, h.trace)
        tasks = await start(h, ctrl)
        ds = c.create(DS, daemonset("logs"), "default")
        await h.settle()
        pods = ds_pods(c, "logs")
        assert [target_node(p) for p in pods] == ["local-worker", "local-worker2"]
        revs = c.list("controllerrevisions.apps", "default")
        assert len(revs) == 1 and revs[0]["revision"] == 1
        hash_ = revs[0]["metadata"]["labels"]["controller-revision-hash"]
        assert revs[0]["metadata"]["name"] == f"logs-{hash_}"
        assert revs[0]["data"]["spec"]["template"]["$patch"] == "replace"
        for p in pods:
            meta, spec = p["metadata"], p["spec"]
            assert meta["generateName"] == "logs-" and "nodeName" not in spec
            assert spec["affinity"] == {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchFields": [
                    {"key": "metadata.name", "operator": "In", "values": [target_node(p)]}]}]}}}
            assert spec["tolerations"] == DAEMON_TOLERATIONS  # no tolerationSeconds: never evicted
            assert meta["labels"] == {"app": "logs", "controller-revision-hash": hash_}
            assert meta["ownerReferences"] == [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "logs",
                                                "uid": ds["metadata"]["uid"], "controller": True,
                                                "blockOwnerDeletion": True}]
        created = sorted(e["message"] for e in events(c, "SuccessfulCreate"))
        assert created[0].startswith("Created pod: logs-")
        st = c.get(DS, "logs", "default")["status"]
        assert (st["desiredNumberScheduled"], st["currentNumberScheduled"], st["numberReady"],
                st["numberMisscheduled"], st["numberUnavailable"]) == (2, 2, 0, 0, 2)
        schedule_and_run(c, "logs")
        await h.settle()
        st = c.get(DS, "logs", "default")["status"]
        assert (st["numberReady"], st["numberAvailable"], st["updatedNumberScheduled"],
                st["observedGeneration"]) == (2, 2, 2, 1)
        assert "numberUnavailable" not in st
        await stop(h, (ctrl,), tasks)

    asyncio.run(scenario())


def test_tolerating_the_control_plane_taint_and_following_nodes() -> None:
    async def scenario() -> None:
        h = Harness()
        c = h.client("kubectl")
        make_nodes(c)
        ctrl = DaemonSetController(h.client("x"), h.informers, h.config, h.trace)
        tasks = await start(h, ctrl)
        c.create(DS, daemonset("everywhere", tolerations=[
            {"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}]),
            "default")
        c.create(DS, daemonset("ssd", node_selector={"disk": "ssd"}), "default")
        await h.settle()
        assert [target_node(p) for p in ds_pods(c, "everywhere")] == [
            "local-control-plane", "local-worker", "local-worker2"]
        assert ds_pods(c, "ssd") == []
        c.patch("nodes", "local-worker2", {"metadata": {"labels": {"disk": "ssd"}}})
        c.create("nodes", {"metadata": {"name": "local-worker3", "labels": {"disk": "ssd"}}})
        await h.settle()
        assert [target_node(p) for p in ds_pods(c, "ssd")] == ["local-worker2", "local-worker3"]
        assert len(ds_pods(c, "everywhere")) == 4
        c.patch("nodes", "local-worker3", {"metadata": {"labels": {"disk": None}}})
        await h.settle()
        assert [target_node(p) for p in ds_pods(c, "ssd")] == ["local-worker2"]
        await stop(h, (ctrl,), tasks)

    asyncio.run(scenario())


def test_rolling_update_replaces_one_node_at_a_time() -> None:
    async def scenario() -> None:
        h = Harness()
        c = h.client("kubelet")
        make_nodes(c)
        c.create("nodes", {"metadata": {"name": "local-worker3"}})
        ctrl = DaemonSetController(h.client("x"), h.informers, h.config, h.trace)
        tasks = await start(h, ctrl)
        c.create(DS, daemonset("agent"), "default")
        await h.settle()
        schedule_and_run(c, "agent")
        await h.settle()
        old_hash = ds_pods(c, "agent")[0]["metadata"]["labels"]["controller-revision-hash"]
        c.patch(DS, "agent", {"spec": {"template": {"spec": {"containers": [
            {"name": "agent", "image": "fluentd:v1.17"}]}}}}, "default", patch_type="strategic")
        await h.settle()
        revs = sorted(c.list("controllerrevisions.apps", "default"), key=lambda r: r["revision"])
        assert [r["revision"] for r in revs] == [1, 2]
        new_hash = revs[1]["metadata"]["labels"]["controller-revision-hash"]
        assert new_hash != old_hash
        seen_new: list[str] = []
        for _ in range(3):
            deleting = [p for p in c.list("pods", "default") if p["metadata"].get("deletionTimestamp")]
            assert len(deleting) == 1  # maxUnavailable 1
            reap_terminating(c)
            await h.settle()
            fresh = [p for p in ds_pods(c, "agent")
                     if p["metadata"]["labels"]["controller-revision-hash"] == new_hash]
            assert len(fresh) == len(seen_new) + 1
            schedule_and_run(c, "agent")
            seen_new = [p["metadata"]["name"] for p in fresh]
            await h.settle()
        pods = ds_pods(c, "agent")
        assert len(pods) == 3 and {p["spec"]["containers"][0]["image"] for p in pods} == {"fluentd:v1.17"}
        st = c.get(DS, "agent", "default")["status"]
        assert (st["updatedNumberScheduled"], st["numberAvailable"], st["observedGeneration"]) == (3, 3, 2)
        await stop(h, (ctrl,), tasks)

    asyncio.run(scenario())


def test_placement_rules() -> None:
    spec: Obj = {"containers": []}
    add_daemon_tolerations(spec)
    node: Obj = {"metadata": {"name": "n", "labels": {}}, "spec": {"taints": [CONTROL_PLANE_TAINT]}}
    assert node_should_run(node, spec) == (False, True)  # NoSchedule: no new pod, a running one may stay
    node["spec"]["taints"] = [{"key": "dedicated", "value": "db", "effect": "NoExecute"}]
    assert node_should_run(node, spec) == (False, False)
    node["spec"]["taints"] = [{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}]
    assert node_should_run(node, spec) == (True, True)  # cordoned nodes still get daemon pods
    host: Obj = {"hostNetwork": True}
    add_daemon_tolerations(host)
    assert host["tolerations"][-1] == {"key": "node.kubernetes.io/network-unavailable", "operator": "Exists",
                                       "effect": "NoSchedule"}
    aff = {"containers": [], "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}]}}}}
    assert node_should_run({"metadata": {"name": "n", "labels": {"zone": "a"}}}, aff) == (True, True)
    assert node_should_run({"metadata": {"name": "n", "labels": {"zone": "b"}}}, aff) == (False, False)


def test_kubectl_daemonset_rollout(lab: Cluster) -> None:
    k = lab.kubectl
    k("create", "namespace", "ds-e2e")
    k("apply", "-n", "ds-e2e", "-f", "-", input=json.dumps({"apiVersion": "apps/v1", "kind": "DaemonSet",
                                                           **daemonset("agent")}))
    k("rollout", "status", "-n", "ds-e2e", "ds/agent", "--timeout=60s", timeout=70)
    pods = kjson(lab, "get", "pods", "-n", "ds-e2e")["items"]
    # bound by the scheduler, to the nodes the affinity named
    assert sorted(p["spec"]["nodeName"] for p in pods) == ["ctl-worker", "ctl-worker2"]
    row = k("get", "ds", "agent", "-n", "ds-e2e").stdout.splitlines()[1].split()
    assert row[1:6] == ["2", "2", "2", "2", "2"]  # DESIRED CURRENT READY UP-TO-DATE AVAILABLE
    k("set", "image", "-n", "ds-e2e", "ds/agent", "agent=fluentd:v1.17")
    out = k("rollout", "status", "-n", "ds-e2e", "ds/agent", "--timeout=60s", timeout=70).stdout
    assert 'daemon set "agent" successfully rolled out' in out
    images = {p["spec"]["containers"][0]["image"] for p in kjson(lab, "get", "pods", "-n", "ds-e2e")["items"]
              if not p["metadata"].get("deletionTimestamp")}
    assert images == {"fluentd:v1.17"}
    history = k("rollout", "history", "-n", "ds-e2e", "ds/agent").stdout
    assert history.split()[-4:] == ["1", "<none>", "2", "<none>"]
