"""The Deployment controller with the ReplicaSet controller and a fake kubelet, step by step on a fake clock:
the first rollout, a rolling update that honours maxSurge/maxUnavailable, revisions and a rollback that reuses
the old ReplicaSet, Recreate, scaling, pause, the progress deadline and revision history cleanup."""

from __future__ import annotations

import asyncio
from typing import Any

from kubelab.client import Client
from kubelab.controllers import deployment_util as du
from kubelab.controllers.deployment import DeploymentController
from kubelab.controllers.podutil import POD_TEMPLATE_HASH_LABEL, compute_hash, controller_ref
from kubelab.controllers.replicaset import ReplicaSetController
from tests.controllers.test_replicaset import FakeKubelet, events, lab, running
from tests.harness import Harness

Obj = dict[str, Any]
DEPLOY = "deployments.apps"
RS = "replicasets.apps"


def deployment(name: str = "web", replicas: int = 4, image: str = "nginx:1.27", **spec: Any) -> Obj:
    spec.setdefault("strategy", {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}})
    return {"metadata": {"name": name}, "spec": {
        "replicas": replicas, "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}},
                     "spec": {"containers": [{"name": "app", "image": image}]}}, **spec}}


def controllers(h: Harness) -> tuple[DeploymentController, ReplicaSetController]:
    return (DeploymentController(h.client("deployment-controller"), h.informers, h.config, h.trace),
            ReplicaSetController(h.client("replicaset-controller"), h.informers, h.config, h.trace))


def sets(c: Client, name: str = "web") -> dict[str, Obj]:
    return {rs["metadata"]["name"]: rs for rs in c.list(RS, "default") if rs["metadata"]["name"].startswith(name)}


def live_pods(c: Client) -> list[Obj]:
    return [p for p in c.list("pods", "default") if not p["metadata"].get("deletionTimestamp")]


def rolled_out(d: Obj) -> bool:
    """What `kubectl rollout status` waits for."""
    st, n = d.get("status") or {}, d["spec"]["replicas"]
    return st.get("observedGeneration", 0) >= d["metadata"]["generation"] and \
        st.get("updatedReplicas", 0) == n and st.get("replicas", 0) == n and st.get("availableReplicas", 0) == n


class Watcher:
    """Watches the cluster from the side: the largest total of ReplicaSet sizes and the fewest available pods
    seen at any moment, and the order in which pods of each set came and went."""

    def __init__(self, h: Harness) -> None:
        self.c = h.client("watcher")
        self.max_desired = 0
        self.min_available: int | None = None
        self.log: list[tuple[str, str]] = []
        h.informers.informer(RS).add_handler(self._rs, lambda old, new: self._rs(new))
        h.informers.informer("pods").add_handler(self._pod, lambda old, new: self._pod(new), self._pod)

    def _rs(self, _: Obj) -> None:
        total = sum(rs["spec"]["replicas"] for rs in self.c.list(RS, "default"))
        self.max_desired = max(self.max_desired, total)

    def _pod(self, _: Obj) -> None:
        ready = sum(1 for p in live_pods(self.c) if any(
            c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions") or []))
        self.min_available = ready if self.min_available is None else min(self.min_available, ready)


def test_first_rollout_status_conditions_and_events() -> None:
    async def scenario() -> None:
        h = lab()
        c = h.client("test")
        FakeKubelet(h, ready_after=1.0)
        async with running(h, *controllers(h)):
            c.create(DEPLOY, deployment(), "default")
            await h.advance(0.5)
            d = c.get(DEPLOY, "web", "default")
            assert d["status"]["conditions"][-1]["reason"] in ("NewReplicaSetCreated", "ReplicaSetUpdated")
            assert not rolled_out(d)
            await h.advance(2)
            d = c.get(DEPLOY, "web", "default")
            assert rolled_out(d)
            (name, rs), = sets(c).items()
            h_ = rs["metadata"]["labels"][POD_TEMPLATE_HASH_LABEL]
            assert name == f"web-{h_}" and rs["spec"]["selector"]["matchLabels"][POD_TEMPLATE_HASH_LABEL] == h_
            assert rs["spec"]["template"]["metadata"]["labels"] == {"app": "web", POD_TEMPLATE_HASH_LABEL: h_}
            assert rs["metadata"]["annotations"] == {du.REVISION: "1", du.DESIRED_REPLICAS: "4",
                                                     du.MAX_REPLICAS: "5"}
            assert controller_ref(rs) == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                                          "uid": d["metadata"]["uid"], "controller": True,
                                          "blockOwnerDeletion": True}
            assert all(p["metadata"]["labels"][POD_TEMPLATE_HASH_LABEL] == h_ for p in live_pods(c))
            assert d["metadata"]["annotations"][du.REVISION] == "1"
            st = d["status"]
            assert {k: st.get(k) for k in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas",
                                           "observedGeneration")} == {
                "replicas": 4, "updatedReplicas": 4, "readyReplicas": 4, "availableReplicas": 4,
                "observedGeneration": 1}
            conds = {x["type"]: x for x in st["conditions"]}
            assert (conds["Available"]["status"], conds["Available"]["reason"], conds["Available"]["message"]) == \
                ("True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
            assert (conds["Progressing"]["status"], conds["Progressing"]["reason"]) == \
                ("True", "NewReplicaSetAvailable")
            assert conds["Progressing"]["message"] == f'ReplicaSet "{name}" has successfully progressed.'
            scaling = events(c, "ScalingReplicaSet")
            assert [e["message"] for e in scaling] == [f"Scaled up replica set {name} from 0 to 4"]
            assert scaling[0]["source"]["component"] == "deployment-controller"
            steps = {(e.component, e.action, e.kind) for e in h.trace.since(0)}
            assert ("controller-manager/deployment", "create", "ReplicaSet") in steps
            assert ("controller-manager/replicaset", "create", "Pod") in steps

    asyncio.run(scenario())


def test_rolling_update_honours_surge_and_unavailable_then_rollback_reuses_the_old_set() -> None:
    async def scenario() -> None:
        h = lab()
        c = h.client("test")
        FakeKubelet(h, ready_after=1.0)
        async with running(h, *controllers(h)):
            c.create(DEPLOY, deployment(), "default")
            await h.advance(3)
            assert rolled_out(c.get(DEPLOY, "web", "default"))
            (old_name,) = sets(c)
            watcher = Watcher(h)
            c.patch(DEPLOY, "web", {"metadata": {"annotations": {du.CHANGE_CAUSE: "image 1.28"}},
                                    "spec": {"template": {"spec": {"containers": [
                                        {"name": "app", "image": "nginx:1.28"}]}}}}, "default",
                    patch_type="strategic")
            for _ in range(20):
                await h.advance(0.5)
                if rolled_out(c.get(DEPLOY, "web", "default")) and len(live_pods(c)) == 4:
                    break
            d = c.get(DEPLOY, "web", "default")
            assert rolled_out(d), d["status"]
            assert watcher.max_desired == 5  # replicas + maxSurge, never more
            assert watcher.min_available is not None and watcher.min_available >= 3  # replicas - maxUnavailable
            rs = sets(c)
            (new_name,) = [n for n in rs if n != old_name]
            assert rs[old_name]["spec"]["replicas"] == 0 and rs[new_name]["spec"]["replicas"] == 4
            assert rs[old_name]["metadata"]["annotations"][du.REVISION] == "1"
            assert rs[new_name]["metadata"]["annotations"][du.REVISION] == "2"
            assert rs[new_name]["metadata"]["annotations"][du.CHANGE_CAUSE] == "image 1.28"  # rollout history
            assert d["metadata"]["annotations"][du.REVISION] == "2"
            assert {p["spec"]["containers"][0]["image"] for p in live_pods(c)} == {"nginx:1.28"}
            msgs = [e["message"] for e in events(c, "ScalingReplicaSet")]
            assert msgs[1] == f"Scaled up replica set {new_name} from 0 to 1"
            assert msgs[2] == f"Scaled down replica set {old_name} from 4 to 3"
            assert msgs[-1].startswith(f"Scaled down replica set {old_name} from ") and msgs[-1].endswith(" to 0")

            # rollback as `kubectl rollout undo` does it: put the old template back
            old_template = dict(rs[old_name]["spec"]["template"])
            old_template["metadata"] = {"labels": {"app": "web"}}
            c.patch(DEPLOY, "web", [{"op": "replace", "path": "/spec/template", "value": old_template}],
                    "default", patch_type="json")
            for _ in range(20):
                await h.advance(0.5)
                if rolled_out(c.get(DEPLOY, "web", "default")) and len(live_pods(c)) == 4:
                    break
            rs = sets(c)
            assert set(rs) == {old_name, new_name}  # no third set: the old one came back
            assert rs[old_name]["spec"]["replicas"] == 4 and rs[new_name]["spec"]["replicas"] == 0
            assert rs[old_name]["metadata"]["annotations"][du.REVISION] == "3"
            assert rs[old_name]["metadata"]["annotations"][du.REVISION_HISTORY] == "1"
            assert c.get(DEPLOY, "web", "default")["metadata"]["annotations"][du.REVISION] == "3"
            assert {p["spec"]["containers"][0]["image"] for p in live_pods(c)} == {"nginx:1.27"}

    asyncio.run(scenario())


def test_recreate_removes_every_old_pod_before_starting_new_ones() -> None:
    async def scenario() -> None:
        h = lab()
        c = h.client("test")
        FakeKubelet(h, ready_after=1.0, terminate_after=2.0)  # old pods take a while to stop
        async with running(h, *controllers(h)):
            c.create(DEPLOY, deployment(replicas=3, strategy={"type": "Recreate"}), "default")
            await h.advance(3)
            (old_name,) = sets(c)
            overlap: list[int] = []

            def on_pod(pod: Obj) -> None:
                images = {p["spec"]["containers"][0]["image"] for p in c.list("pods", "default")}
                if "nginx:1.28" in images:
                    overlap.append(len(images))

            h.informers.informer("pods").add_handler(on_pod, lambda old, new: on_pod(new))
            c.patch(DEPLOY, "web", {"spec": {"template": {"spec": {"containers": [
                {"name": "app", "image": "nginx:1.28"}]}}}}, "default", patch_type="strategic")
            await h.advance(1.5)
            assert len(sets(c)) == 1 and all(p["metadata"].get("deletionTimestamp")
                                             for p in c.list("pods", "default"))  # still stopping
            await h.advance(4)
            d = c.get(DEPLOY, "web", "default")
            assert rolled_out(d)
            assert overlap and set(overlap) == {1}  # never an old and a new pod at the same time
            msgs = [e["message"] for e in events(c, "ScalingReplicaSet")]
            new_name = next(n for n in sets(c) if n != old_name)
            assert msgs[1:] == [f"Scaled down replica set {old_name} from 3 to 0",
                                f"Scaled up replica set {new_name} from 0 to 3"]

    asyncio.run(scenario())


def test_scaling_pause_and_restart() -> None:
    async def scenario() -> None:
        h = lab()
        c = h.client("test")
        FakeKubelet(h, ready_after=0.5)
        async with running(h, *controllers(h)):
            c.create(DEPLOY, deployment(replicas=2), "default")
            await h.advance(2)
            c.patch(DEPLOY, "web", {"spec": {"replicas": 5}}, "default")
            await h.advance(2)
            (name, rs), = sets(c).items()
            assert rs["spec"]["replicas"] == 5 and rs["metadata"]["annotations"][du.DESIRED_REPLICAS] == "5"
            assert events(c, "ScalingReplicaSet")[-1]["message"] == f"Scaled up replica set {name} from 2 to 5"
            assert rolled_out(c.get(DEPLOY, "web", "default"))
            # paused: a template change makes no new set; scaling still applies
            c.patch(DEPLOY, "web", {"spec": {"paused": True}}, "default")
            c.patch(DEPLOY, "web", {"spec": {"replicas": 3, "template": {"spec": {"containers": [
                {"name": "app", "image": "nginx:1.28"}]}}}}, "default", patch_type="strategic")
            await h.advance(2)
            assert list(sets(c)) == [name] and sets(c)[name]["spec"]["replicas"] == 3
            prog = du.get_condition(c.get(DEPLOY, "web", "default")["status"], "Progressing")
            assert prog is not None and (prog["status"], prog["reason"], prog["message"]) == \
                ("Unknown", "DeploymentPaused", "Deployment is paused")
            c.patch(DEPLOY, "web", {"spec": {"paused": False}}, "default")
            await h.advance(4)
            assert len(sets(c)) == 2 and rolled_out(c.get(DEPLOY, "web", "default"))
            # kubectl rollout restart is just one more template change
            c.patch(DEPLOY, "web", {"spec": {"template": {"metadata": {"annotations": {
                "kubectl.kubernetes.io/restartedAt": "2026-01-01T00:00:00Z"}}}}}, "default")
            await h.advance(4)
            d = c.get(DEPLOY, "web", "default")
            assert len(sets(c)) == 3 and rolled_out(d) and d["metadata"]["annotations"][du.REVISION] == "3"

    asyncio.run(scenario())


def test_progress_deadline_exceeded_when_pods_never_get_ready() -> None:
    async def scenario() -> None:
        h = lab()
        c = h.client("test")
        FakeKubelet(h, ready_after=None)
        async with running(h, *controllers(h)):
            c.create(DEPLOY, deployment(replicas=2, progressDeadlineSeconds=10), "default")
            await h.advance(5)
            prog = du.get_condition(c.get(DEPLOY, "web", "default")["status"], "Progressing")
            assert prog is not None and prog["status"] == "True"
            await h.advance(8)
            d = c.get(DEPLOY, "web", "default")
            prog = du.get_condition(d["status"], "Progressing")
            (name,) = sets(c)
            assert prog is not None and (prog["status"], prog["reason"], prog["message"]) == \
                ("False", "ProgressDeadlineExceeded", f'ReplicaSet "{name}" has timed out progressing.')
            avail = du.get_condition(d["status"], "Available")
            assert avail is not None and (avail["status"], avail["reason"]) == ("False", "MinimumReplicasUnavailable")
            assert d["status"]["unavailableReplicas"] == 2

    asyncio.run(scenario())


def test_revision_history_limit_deletes_the_oldest_empty_sets() -> None:
    async def scenario() -> None:
        h = lab()
        c = h.client("test")
        FakeKubelet(h, ready_after=0.2)
        async with running(h, *controllers(h)):
            c.create(DEPLOY, deployment(replicas=1, revisionHistoryLimit=1), "default")
            await h.advance(2)
            for tag in ("1.28", "1.29", "1.30"):
                c.patch(DEPLOY, "web", {"spec": {"template": {"spec": {"containers": [
                    {"name": "app", "image": f"nginx:{tag}"}]}}}}, "default", patch_type="strategic")
                await h.advance(3)
            revs = sorted(int(rs["metadata"]["annotations"][du.REVISION]) for rs in sets(c).values())
            assert revs == [3, 4]  # the current one plus one old one

    asyncio.run(scenario())


def test_hash_collision_bumps_collision_count_and_picks_another_name() -> None:
    async def scenario() -> None:
        h = lab()
        c = h.client("test")
        FakeKubelet(h)
        async with running(h, *controllers(h)):
            d = c.create(DEPLOY, deployment(replicas=1, paused=True), "default")  # paused: no set yet
            await h.advance(0.5)
            assert sets(c) == {}
            taken = compute_hash(d["spec"]["template"])
            squatter = deployment(f"web-{taken}", replicas=0, image="busybox")  # someone else's set, that name
            squatter["spec"]["selector"] = {"matchLabels": {"app": "other"}}
            squatter["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
            del squatter["spec"]["strategy"]
            c.create(RS, squatter, "default")
            c.patch(DEPLOY, "web", {"spec": {"paused": False}}, "default")
            await h.advance(1)
            d = c.get(DEPLOY, "web", "default")
            assert d["status"]["collisionCount"] == 1 and rolled_out(d)
            ours = f"web-{compute_hash(d['spec']['template'], 1)}"
            assert set(sets(c)) == {f"web-{taken}", ours}
            assert sets(c)[ours]["metadata"]["annotations"][du.REVISION] == "1"

    asyncio.run(scenario())


def test_pure_helpers_round_like_upstream() -> None:
    assert du.resolve_fenceposts("25%", "25%", 10) == (3, 2)  # surge rounds up, unavailable down
    assert du.resolve_fenceposts("0%", "1%", 10) == (0, 1)  # both 0 would deadlock: allow one unavailable
    assert du.resolve_fenceposts(0, "10%", 5) == (0, 1)
    d = deployment(replicas=10, strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%",
                                                                                     "maxUnavailable": "25%"}})
    assert du.max_surge(d) == 3 and du.max_unavailable(d) == 2
    rec = deployment(strategy={"type": "Recreate"})
    assert du.max_surge(rec) == 0 and du.max_unavailable(rec) == 0
    t = deployment()["spec"]["template"]
    assert compute_hash(t) == compute_hash(dict(t)) and compute_hash(t) != compute_hash(t, 1)
