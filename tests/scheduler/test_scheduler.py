"""End to end, in process: a kind-like cluster (control plane + 2 workers) on tests/harness, the scheduler
running on the loop, pods created through the API; results read back through the API (nodeName, PodScheduled,
Events) as kubectl would show them."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from kubelab.client import Client
from kubelab.scheduler import Scheduler
from tests.harness import Harness

Obj = dict[str, Any]
KIND_LABELS = {"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
               "kubernetes.io/os": "linux"}
CP, W1, W2 = "local-control-plane", "local-worker", "local-worker2"
BIG_POD_MESSAGE = ("0/3 nodes are available: 1 node(s) had untolerated taint(s), 2 Insufficient cpu. no new claims "
                   "to deallocate, preemption: 0/3 nodes are available: 3 Preemption is not helpful for "
                   "scheduling.")


def create_node(c: Client, name: str, *, control_plane: bool = False, cpu: str = "8", memory: str = "16Gi",
                labels: dict[str, str] | None = None, taints: list[Obj] | None = None) -> Obj:
    """As kind registers a node: labels and taints on create, then capacity and Ready through node status."""
    all_labels = {**KIND_LABELS, "kubernetes.io/hostname": name, **(labels or {})}
    spec: Obj = {}
    if control_plane:
        all_labels.update({"node-role.kubernetes.io/control-plane": "",
                           "node.kubernetes.io/exclude-from-external-load-balancers": ""})
        spec["taints"] = [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]
    if taints:
        spec["taints"] = [*spec.get("taints", []), *taints]
    n = c.create("nodes", {"metadata": {"name": name, "labels": all_labels}, "spec": spec})
    res = {"cpu": cpu, "memory": memory, "pods": "110"}
    n = dict(n, status={"capacity": res, "allocatable": dict(res),
                        "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                        "message": "kubelet is posting ready status"}]})
    return c.update_status("nodes", n)


def make_pod(name: str, *, cpu: str | None = None, labels: dict[str, str] | None = None, **spec: Any) -> Obj:
    container: Obj = {"name": "app", "image": "nginx:1.27"}
    if cpu:
        container["resources"] = {"requests": {"cpu": cpu}}
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": {"containers": [container], **spec}}


@dataclass
class Lab:
    h: Harness
    c: Client  # an admin-ish client for the test's own writes
    sched: Scheduler

    def create(self, p: Obj, ns: str = "default") -> Obj:
        return self.c.create("pods", p, ns)

    def node_of(self, name: str, ns: str = "default") -> str | None:
        return self.c.get("pods", name, ns)["spec"].get("nodeName")

    def events(self, name: str, ns: str = "default") -> list[Obj]:
        return [e for e in self.c.list("events", ns) if e["involvedObject"].get("name") == name]

    def condition(self, name: str, ns: str = "default") -> Obj | None:
        conds = (self.c.get("pods", name, ns).get("status") or {}).get("conditions") or []
        return next((x for x in conds if x["type"] == "PodScheduled"), None)


@asynccontextmanager
async def kind_cluster(before_start: Callable[[Lab], None] | None = None) -> AsyncIterator[Lab]:
    h = Harness()
    c = h.client("test")
    sched = Scheduler(h.client("default-scheduler"), h.informers, h.config, h.trace)
    lab = Lab(h, c, sched)
    create_node(c, CP, control_plane=True)
    create_node(c, W1)
    create_node(c, W2)
    if before_start is not None:
        before_start(lab)
    h.informers.start()
    task = asyncio.get_running_loop().create_task(sched.run())
    await h.settle()
    try:
        yield lab
    finally:
        sched.stop()
        task.cancel()
        h.informers.stop()
        await asyncio.sleep(0)


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(scenario())  # type: ignore[arg-type]


def test_six_replicas_spread_three_and_three_over_the_workers() -> None:
    def burst(lab: Lab) -> None:  # all six are pending before the scheduler starts: one burst
        for i in range(6):
            lab.create(make_pod(f"web-{i}", labels={"app": "web", "pod-template-hash": "5d4b"}))

    async def scenario() -> None:
        async with kind_cluster(burst) as lab:
            placed = Counter(lab.node_of(f"web-{i}") for i in range(6))
            assert placed == {W1: 3, W2: 3}
            ev = lab.events("web-0")
            assert [(e["reason"], e["type"], e["source"]["component"]) for e in ev] == [
                ("Scheduled", "Normal", "default-scheduler")]
            assert ev[0]["message"] == f"Successfully assigned default/web-0 to {lab.node_of('web-0')}"
            cond = lab.condition("web-0")
            assert cond is not None and cond["status"] == "True"
            d = lab.sched.last_decision("default", "web-5")
            assert d is not None and d.node == lab.node_of("web-5")
            assert d.summary.startswith(f"Scheduled on {d.node}: highest score")
            actions = [(e.action, e.name) for e in lab.h.trace.since(0) if e.component == "scheduler"]
            assert ("filter", "web-0") in actions and ("score", "web-0") in actions and ("bind", "web-0") in actions

    run(scenario)


def test_replicaset_pods_spread_by_default_constraints() -> None:
    async def scenario() -> None:
        async with kind_cluster() as lab:
            rs = lab.c.create("replicasets.apps", {"metadata": {"name": "web-5d4b"}, "spec": {
                "replicas": 4, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}}, "spec": make_pod("x")["spec"]}}}, "default")
            owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5d4b",
                     "uid": rs["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}
            await lab.h.settle()
            for i in range(4):
                p = make_pod(f"web-5d4b-{i}", cpu="500m", labels={"app": "web"})
                p["metadata"]["ownerReferences"] = [owner]
                lab.create(p)
            await lab.h.settle()
            assert Counter(lab.node_of(f"web-5d4b-{i}") for i in range(4)) == {W1: 2, W2: 2}
            d = lab.sched.last_decision("default", "web-5d4b-3")
            assert d is not None and "PodTopologySpread" in d.weights

    run(scenario)


def test_too_big_pod_stays_pending_then_lands_on_a_new_big_node() -> None:
    async def scenario() -> None:
        async with kind_cluster() as lab:
            lab.create(make_pod("big", cpu="100"))
            await lab.h.settle()
            assert lab.node_of("big") is None
            ev = lab.events("big")
            assert [(e["reason"], e["type"], e["message"], e["source"]["component"]) for e in ev] == [
                ("FailedScheduling", "Warning", BIG_POD_MESSAGE, "default-scheduler")]
            cond = lab.condition("big")
            assert cond is not None
            assert (cond["status"], cond["reason"], cond["message"]) == ("False", "Unschedulable", BIG_POD_MESSAGE)
            d = lab.sched.last_decision("default", "big")
            assert d is not None and d.summary == (
                f"Pending: 0/3 nodes fit; {CP}: untolerated taint {{node-role.kubernetes.io/control-plane: }}; "
                f"{W1}: Insufficient cpu; {W2}: Insufficient cpu")
            assert lab.sched.pending()["unschedulable"] == ["default/big"]

            # nothing changes: no retry (and no new event) before the cluster changes
            await lab.h.advance(5)
            assert lab.node_of("big") is None and lab.events("big")[0]["count"] == 1

            create_node(lab.c, "local-worker3", cpu="128", memory="256Gi")
            await lab.h.advance(1)  # past the backoff
            assert lab.node_of("big") == "local-worker3"
            assert [e["reason"] for e in lab.events("big")] == ["FailedScheduling", "Scheduled"]

    run(scenario)


def test_placement_rules_place_pods_as_upstream_would() -> None:
    async def scenario() -> None:
        async with kind_cluster() as lab:
            lab.c.patch("nodes", W2, {"metadata": {"labels": {"disktype": "ssd"}}})
            lab.c.patch("nodes", W1, {"metadata": {"labels": {"zone": "blue"}}})
            await lab.h.settle()
            lab.create(make_pod("selector", nodeSelector={"disktype": "ssd"}))
            lab.create(make_pod("affinity", affinity={"nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["blue"]}]}]}}}))
            lab.create(make_pod("on-cp", nodeSelector={"node-role.kubernetes.io/control-plane": ""},
                                tolerations=[{"key": "node-role.kubernetes.io/control-plane",
                                              "operator": "Exists", "effect": "NoSchedule"}]))
            lab.create(make_pod("no-toleration", nodeSelector={"node-role.kubernetes.io/control-plane": ""}))
            await lab.h.settle()
            assert lab.node_of("selector") == W2
            assert lab.node_of("affinity") == W1
            assert lab.node_of("on-cp") == CP
            assert lab.node_of("no-toleration") is None
            cond = lab.condition("no-toleration")
            assert cond is not None and cond["message"] == (
                "0/3 nodes are available: 1 node(s) had untolerated taint(s), 2 node(s) didn't match Pod's node "
                "affinity/selector. no new claims to deallocate, preemption: 0/3 nodes are available: 3 "
                "Preemption is not helpful for scheduling.")

    run(scenario)


def test_pod_anti_affinity_by_hostname() -> None:
    anti = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "cache"}}, "topologyKey": "kubernetes.io/hostname"}]}}

    async def scenario() -> None:
        async with kind_cluster() as lab:
            for i in range(3):
                lab.create(make_pod(f"cache-{i}", labels={"app": "cache"}, affinity=anti))
            await lab.h.settle()
            placed = {lab.node_of(f"cache-{i}") for i in range(3)}
            assert {W1, W2} <= placed and None in placed  # one per worker; the third has nowhere to go
            pending = next(f"cache-{i}" for i in range(3) if lab.node_of(f"cache-{i}") is None)
            cond = lab.condition(pending)
            assert cond is not None and cond["message"] == (
                "0/3 nodes are available: 1 node(s) had untolerated taint(s), 2 node(s) didn't match pod "
                "anti-affinity rules. no new claims to deallocate, preemption: 0/3 nodes are available: 1 "
                "Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.")
            # one of the others goes away: the pending one is retried and takes its place
            gone = next(f"cache-{i}" for i in range(3) if lab.node_of(f"cache-{i}") == W1)
            lab.c.delete("pods", gone, "default", grace_period_seconds=0)
            await lab.h.advance(1)
            assert lab.node_of(pending) == W1

    run(scenario)


def test_preemption_nominates_and_evicts_lower_priority_pods() -> None:
    async def scenario() -> None:
        async with kind_cluster() as lab:
            lab.c.create("priorityclasses.scheduling.k8s.io",
                         {"metadata": {"name": "high"}, "value": 1000})
            for i, node in enumerate((W1, W1, W2, W2)):
                lab.create(make_pod(f"filler-{i}", cpu="3", nodeSelector={"kubernetes.io/hostname": node}))
            await lab.h.advance(1)  # events are named by time: keep the victim's two events apart
            lab.create(make_pod("vip", cpu="4", priorityClassName="high"))
            await lab.h.settle()
            vip = lab.c.get("pods", "vip", "default")
            nominated = vip["status"].get("nominatedNodeName")
            assert nominated in (W1, W2) and not vip["spec"].get("nodeName")
            victims = [p for p in lab.c.list("pods", "default") if p["metadata"].get("deletionTimestamp")]
            assert len(victims) == 1 and victims[0]["spec"]["nodeName"] == nominated
            victim = victims[0]["metadata"]["name"]
            assert [e["reason"] for e in lab.events(victim)][-1] == "Preempted"
            assert any(c["type"] == "DisruptionTarget" for c in victims[0]["status"]["conditions"])
            # a retry while the victim is still terminating does not preempt anyone else
            await lab.h.advance(1)
            lab.c.patch("pods", "vip", {"metadata": {"labels": {"retry": "now"}}}, "default")
            await lab.h.advance(1)
            assert len([p for p in lab.c.list("pods", "default") if p["metadata"].get("deletionTimestamp")]) == 1
            cond = lab.condition("vip")
            assert cond is not None and cond["message"].endswith(
                "preemption: not eligible due to a terminating pod on the nominated node.")
            # the kubelet would now stop the victim; do its part
            lab.c.delete("pods", victim, "default", grace_period_seconds=0)
            await lab.h.advance(1)
            assert lab.node_of("vip") == nominated

    run(scenario)


def test_deleted_pending_pod_leaves_the_queue() -> None:
    async def scenario() -> None:
        async with kind_cluster() as lab:
            lab.create(make_pod("big", cpu="100"))
            await lab.h.settle()
            assert "default/big" in lab.sched.pending()["unschedulable"]
            lab.c.delete("pods", "big", "default")
            await lab.h.settle()
            assert lab.sched.pending()["unschedulable"] == []
            assert lab.sched.last_decision("default", "big") is None

    run(scenario)


def test_other_schedulers_pods_are_left_alone() -> None:
    async def scenario() -> None:
        async with kind_cluster() as lab:
            lab.create(make_pod("mine"))
            lab.create(make_pod("theirs", schedulerName="my-scheduler"))
            await lab.h.settle()
            assert lab.node_of("mine") in (W1, W2)
            assert lab.node_of("theirs") is None and lab.events("theirs") == []

    run(scenario)
