"""Node lifecycle and taint eviction: a kubelet that stops renewing its Lease makes its node Unknown and tainted;
pods leave per their tolerations; a returning heartbeat lifts the taints. Fake clock, no sockets."""

from __future__ import annotations

import asyncio
from typing import Any

from kubelab.apiserver import admission
from kubelab.client import Client
from kubelab.clock import rfc3339, rfc3339_micro
from kubelab.controllers.nodelifecycle import NodeLifecycleController, reconcile_taints
from kubelab.controllers.runner import Controller
from kubelab.controllers.tainteviction import (
    TaintEvictionController,
    matching_tolerations,
    min_toleration_seconds,
)
from tests.harness import Harness

Obj = dict[str, Any]
LEASES = "leases.coordination.k8s.io"


# ------------------------------------------------------------------------------------------------ a fake kubelet
def renew_lease(c: Client, node: str) -> None:
    now = rfc3339_micro(c.clock.now())
    if c.try_get(LEASES, node, "kube-node-lease") is None:
        c.create(LEASES, {"metadata": {"name": node}, "spec": {
            "holderIdentity": node, "leaseDurationSeconds": 40, "renewTime": now}}, "kube-node-lease")
    else:
        c.patch(LEASES, node, {"spec": {"renewTime": now}}, "kube-node-lease")


def post_ready(c: Client, node: str) -> None:
    now = rfc3339(c.clock.now())
    n = c.get("nodes", node)
    conds = [{"type": t, "status": "False", "reason": f"KubeletHas{r}", "message": m, "lastHeartbeatTime": now,
              "lastTransitionTime": now}
             for t, r, m in (("MemoryPressure", "SufficientMemory", "kubelet has sufficient memory available"),
                             ("DiskPressure", "NoDiskPressure", "kubelet has no disk pressure"),
                             ("PIDPressure", "SufficientPID", "kubelet has sufficient PID available"))]
    conds.append({"type": "Ready", "status": "True", "reason": "KubeletReady",
                  "message": "kubelet is posting ready status", "lastHeartbeatTime": now, "lastTransitionTime": now})
    c.update_status("nodes", dict(n, status=dict(n.get("status") or {}, conditions=conds)))


def make_node(c: Client, name: str) -> None:
    c.create("nodes", {"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}}})
    renew_lease(c, name)
    post_ready(c, name)


def running_pod(c: Client, name: str, node: str, tolerations: list[Obj] | None = None) -> Obj:
    spec: Obj = {"containers": [{"name": "app", "image": "nginx:1.27"}]}
    if tolerations is not None:
        spec["tolerations"] = tolerations
    c.create("pods", {"metadata": {"name": name, "labels": {"app": "web"}}, "spec": spec}, "default")
    c.bind("default", name, node)
    p = c.get("pods", name, "default")
    now = rfc3339(c.clock.now())
    return c.update_status("pods", dict(p, status=dict(p["status"], phase="Running", conditions=[
        {"type": "Ready", "status": "True", "lastTransitionTime": now, "lastProbeTime": None}])))


def taint_keys(c: Client, node: str) -> set[str]:
    return {f"{t['key']}:{t['effect']}" for t in (c.get("nodes", node).get("spec") or {}).get("taints") or []}


def events(c: Client, reason: str, ns: str = "default") -> list[Obj]:
    return [e for e in c.list("events", ns) if e["reason"] == reason]


async def start(h: Harness, *ctrls: Controller) -> list[asyncio.Task[None]]:
    tasks = [asyncio.create_task(ctrl.run()) for ctrl in ctrls]
    h.informers.start()
    await h.settle()
    return tasks


async def stop(h: Harness, ctrls: tuple[Controller, ...], tasks: list[asyncio.Task[None]]) -> None:
    for ctrl in ctrls:
        ctrl.shutdown()
    h.informers.stop()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def controllers(h: Harness) -> tuple[NodeLifecycleController, TaintEvictionController]:
    return (NodeLifecycleController(h.client("x"), h.informers, h.config, h.trace),
            TaintEvictionController(h.client("x"), h.informers, h.config, h.trace))


# ------------------------------------------------------------------------------------------------ scenarios
def test_silent_node_goes_unknown_tainted_and_pods_leave_per_tolerations() -> None:
    async def scenario() -> None:
        h = Harness()
        admission.install(h.ctx, h.config)  # default tolerations: lab 10 s
        c = h.client("kubelet")
        make_node(c, "n1")
        default = running_pod(c, "default-tol", "n1")
        assert {t.get("tolerationSeconds") for t in default["spec"]["tolerations"]} == {10}
        running_pod(c, "short-tol", "n1", [{"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                                            "effect": "NoExecute", "tolerationSeconds": 2}])
        running_pod(c, "forever", "n1", [{"operator": "Exists"}])
        ctrls = controllers(h)
        tasks = await start(h, *ctrls)
        for _ in range(5):  # the kubelet renews its lease every second: all is well
            await h.advance(1)
            renew_lease(c, "n1")
        assert c.get("nodes", "n1")["status"]["conditions"][-1]["status"] == "True"
        assert taint_keys(c, "n1") == set()

        await h.advance(6.5)  # no renewal for longer than node_monitor_grace_period (6 s)
        node = c.get("nodes", "n1")
        ready = next(x for x in node["status"]["conditions"] if x["type"] == "Ready")
        assert (ready["status"], ready["reason"], ready["message"]) == (
            "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.")
        assert taint_keys(c, "n1") == {"node.kubernetes.io/unreachable:NoSchedule",
                                        "node.kubernetes.io/unreachable:NoExecute"}
        assert all(t.get("timeAdded") for t in node["spec"]["taints"])
        assert [e["message"] for e in events(c, "NodeNotReady")
                if e["involvedObject"]["kind"] == "Node"] == ["Node n1 status is now: NodeNotReady"]
        pod_ready = [x for x in c.get("pods", "forever", "default")["status"]["conditions"] if x["type"] == "Ready"]
        assert pod_ready[0]["status"] == "False"  # MarkPodsNotReady

        await h.advance(1)
        assert not c.get("pods", "short-tol", "default")["metadata"].get("deletionTimestamp")
        await h.advance(1.5)  # 2 s toleration over
        short = c.get("pods", "short-tol", "default")
        assert short["metadata"].get("deletionTimestamp")
        assert any(x["type"] == "DisruptionTarget" and x["reason"] == "DeletionByTaintManager"
                   for x in short["status"]["conditions"])
        assert not c.get("pods", "default-tol", "default")["metadata"].get("deletionTimestamp")
        await h.advance(8)  # default toleration (10 s) over
        assert c.get("pods", "default-tol", "default")["metadata"].get("deletionTimestamp")
        assert sorted(e["message"] for e in events(c, "TaintManagerEviction")) == [
            "Marking for deletion Pod default/default-tol", "Marking for deletion Pod default/short-tol"]
        assert events(c, "TaintManagerEviction")[0]["source"]["component"] == "taint-eviction-controller"

        # lab: nobody finishes graceful deletion on an unreachable node, so the pods go when grace ends
        await h.advance(31)
        names = {p["metadata"]["name"] for p in c.list("pods", "default")}
        assert names == {"forever"}
        await stop(h, ctrls, tasks)

    asyncio.run(scenario())


def test_untolerated_noexecute_taint_evicts_at_once() -> None:
    async def scenario() -> None:
        h = Harness()
        c = h.client("kubelet")
        make_node(c, "n1")
        running_pod(c, "plain", "n1")
        running_pod(c, "tolerant", "n1", [{"key": "dedicated", "operator": "Equal", "value": "db",
                                           "effect": "NoExecute"}])
        ctrls = controllers(h)
        tasks = await start(h, *ctrls)
        n = c.get("nodes", "n1")
        c.update("nodes", dict(n, spec=dict(n.get("spec") or {}, taints=[
            {"key": "dedicated", "value": "db", "effect": "NoExecute"}])))
        renew_lease(c, "n1")
        await h.settle()
        await h.advance(0.1)
        assert c.get("pods", "plain", "default")["metadata"].get("deletionTimestamp")
        assert not c.get("pods", "tolerant", "default")["metadata"].get("deletionTimestamp")
        assert [e["message"] for e in events(c, "TaintManagerEviction")] == ["Marking for deletion Pod default/plain"]
        await stop(h, ctrls, tasks)

    asyncio.run(scenario())


def test_heartbeat_resumes_taints_removed_and_pending_eviction_cancelled() -> None:
    async def scenario() -> None:
        h = Harness()
        admission.install(h.ctx, h.config)
        c = h.client("kubelet")
        make_node(c, "n1")
        running_pod(c, "web", "n1")
        ctrls = controllers(h)
        tasks = await start(h, *ctrls)
        await h.advance(7)
        assert "node.kubernetes.io/unreachable:NoExecute" in taint_keys(c, "n1")
        await h.advance(3)  # 3 of the 10 tolerated seconds pass
        renew_lease(c, "n1")  # the kubelet is back
        post_ready(c, "n1")
        await h.advance(1)
        assert taint_keys(c, "n1") == set()
        await h.advance(10)
        assert not c.get("pods", "web", "default")["metadata"].get("deletionTimestamp")
        assert [e["message"] for e in events(c, "TaintManagerEviction")] == ["Cancelling deletion of Pod default/web"]
        registered = [e for e in events(c, "RegisteredNode")]
        assert registered[0]["message"] == "Node n1 event: Registered Node n1 in Controller"
        assert registered[0]["source"]["component"] == "node-controller"
        await stop(h, ctrls, tasks)

    asyncio.run(scenario())


def test_not_ready_node_gets_not_ready_taints_and_cordon_gets_unschedulable() -> None:
    async def scenario() -> None:
        h = Harness()
        c = h.client("kubelet")
        make_node(c, "n1")
        ctrls = controllers(h)
        tasks = await start(h, *ctrls)
        n = c.get("nodes", "n1")
        conds = [dict(x, status="False", reason="KubeletNotReady") if x["type"] == "Ready" else x
                 for x in n["status"]["conditions"]]
        c.update_status("nodes", dict(n, status=dict(n["status"], conditions=conds)))
        c.patch("nodes", "n1", {"spec": {"unschedulable": True}})
        await h.advance(0.5)
        assert taint_keys(c, "n1") == {"node.kubernetes.io/not-ready:NoSchedule",
                                        "node.kubernetes.io/not-ready:NoExecute",
                                        "node.kubernetes.io/unschedulable:NoSchedule"}
        await stop(h, ctrls, tasks)

    asyncio.run(scenario())


def test_pure_helpers() -> None:
    taints = [{"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}]
    ok, used = matching_tolerations(taints, [{"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                                              "effect": "NoExecute", "tolerationSeconds": 300}])
    assert ok and min_toleration_seconds(used) == 300
    assert matching_tolerations(taints, [{"key": "other", "operator": "Exists"}]) == (False, [])
    assert min_toleration_seconds([{"operator": "Exists"}]) == -1
    assert min_toleration_seconds([{"operator": "Exists", "tolerationSeconds": 0}]) == 0
    user = {"key": "gpu", "value": "yes", "effect": "NoSchedule"}
    out = reconcile_taints([user, {"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"}],
                           set(), {"node.kubernetes.io/unreachable"}, "2026-01-01T00:00:00Z")
    assert out == [user, {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute",
                          "timeAdded": "2026-01-01T00:00:00Z"}]
