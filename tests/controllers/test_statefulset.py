"""The StatefulSet controller with a fake kubelet: ordered creation (web-1 only once web-0 is Running and
Ready), scale down from the highest ordinal, Parallel management, claims from volumeClaimTemplates, rolling
updates with a partition.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from kubelab.client import Client
from kubelab.controllers.statefulset import StatefulSetController, parent_and_ordinal
from tests.conftest import Cluster
from tests.controllers.test_job import events, kjson, reap_terminating, run_pod, start, stop, wait_for
from tests.controllers.test_job import lab as lab  # noqa: F401  (the module-scoped cluster fixture)
from tests.harness import Harness

Obj = dict[str, Any]
STS = "statefulsets.apps"


def statefulset(name: str, replicas: int, claims: bool = False, **spec: Any) -> Obj:
    out: Obj = {"metadata": {"name": name}, "spec": {
        "serviceName": "nginx", "replicas": replicas, "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}}, "spec": {
            # (upstream accepts volumeMounts of a claim template's name; kubelab's validation does not yet)
            "containers": [{"name": "nginx", "image": "nginx:1.27"}]}},
        **spec}}
    if claims:
        out["spec"]["volumeClaimTemplates"] = [{"metadata": {"name": "www"}, "spec": {
            "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]
    return out


def names(c: Client, sts: str) -> list[str]:
    pods = [p for p in c.list("pods", "default", label_selector=f"app={sts}")
            if not p["metadata"].get("deletionTimestamp")]
    return [p["metadata"]["name"] for p in sorted(pods, key=lambda p: parent_and_ordinal(p)[1])]


def ready(c: Client, *pods: str) -> None:
    for p in pods:
        run_pod(c, p)


# ------------------------------------------------------------------------------------------------ scenarios
def test_ordered_ready_creates_one_at_a_time_and_scales_down_from_the_top() -> None:
    async def scenario() -> None:
        h = Harness()
        c = h.client("kubelet")
        ctrl = StatefulSetController(h.client("x"), h.informers, h.config, h.trace)
        tasks = await start(h, ctrl)
        sts = c.create(STS, statefulset("web", 3), "default")
        await h.settle()
        assert names(c, "web") == ["web-0"]
        pod = c.get("pods", "web-0", "default")
        rev = c.list("controllerrevisions.apps", "default")[0]
        assert rev["metadata"]["name"].startswith("web-") and rev["revision"] == 1
        hash_ = rev["metadata"]["name"][len("web-"):]
        assert rev["metadata"]["labels"]["controller.kubernetes.io/hash"] == hash_
        assert pod["metadata"]["labels"] == {"app": "web", "statefulset.kubernetes.io/pod-name": "web-0",
                                             "apps.kubernetes.io/pod-index": "0",
                                             "controller-revision-hash": rev["metadata"]["name"]}
        assert (pod["spec"]["hostname"], pod["spec"]["subdomain"]) == ("web-0", "nginx")
        assert pod["metadata"]["ownerReferences"][0] == {"apiVersion": "apps/v1", "kind": "StatefulSet",
                                                         "name": "web", "uid": sts["metadata"]["uid"],
                                                         "controller": True, "blockOwnerDeletion": True}
        assert [(e["message"], e["source"]["component"]) for e in events(c, "SuccessfulCreate")] == [
            ("create Pod web-0 in StatefulSet web successful", "statefulset-controller")]
        st = c.get(STS, "web", "default")["status"]
        assert (st["replicas"], st.get("readyReplicas", 0), st["currentRevision"], st["updateRevision"]) == (
            1, 0, rev["metadata"]["name"], rev["metadata"]["name"])

        await h.advance(5)
        assert names(c, "web") == ["web-0"]  # waits for web-0 to be Running and Ready
        run_pod(c, "web-0", ready=False)
        await h.settle()
        assert names(c, "web") == ["web-0"]
        ready(c, "web-0")
        await h.settle()
        assert names(c, "web") == ["web-0", "web-1"]
        await h.advance(1)
        ready(c, "web-1")
        await h.settle()
        assert names(c, "web") == ["web-0", "web-1", "web-2"]
        ready(c, "web-2")
        await h.settle()
        st = c.get(STS, "web", "default")["status"]
        assert (st["replicas"], st["readyReplicas"], st["availableReplicas"], st["currentReplicas"],
                st["updatedReplicas"], st["observedGeneration"]) == (3, 3, 3, 3, 3, 1)
        created = [e["message"] for e in events(c, "SuccessfulCreate")]
        assert "create Pod web-1 in StatefulSet web successful" in created

        await h.advance(1)  # (events are named <object>.<ns time>: keep them apart on the fake clock)
        c.patch(STS, "web", {"spec": {"replicas": 1}}, "default")
        await h.settle()
        assert c.get("pods", "web-2", "default")["metadata"].get("deletionTimestamp")
        assert not c.get("pods", "web-1", "default")["metadata"].get("deletionTimestamp")
        await h.advance(1)
        reap_terminating(c)
        await h.settle()
        # only once web-2 is gone
        assert c.get("pods", "web-1", "default")["metadata"].get("deletionTimestamp")
        reap_terminating(c)
        await h.settle()
        assert names(c, "web") == ["web-0"]
        assert sorted(e["message"] for e in events(c, "SuccessfulDelete")) == [
            "delete Pod web-1 in StatefulSet web successful",
            "delete Pod web-2 in StatefulSet web successful"]
        await stop(h, (ctrl,), tasks)

    asyncio.run(scenario())


def test_volume_claim_templates_make_one_claim_per_ordinal_and_keep_them() -> None:
    async def scenario() -> None:
        h = Harness()
        c = h.client("kubelet")
        ctrl = StatefulSetController(h.client("x"), h.informers, h.config, h.trace)
        tasks = await start(h, ctrl)
        c.create(STS, statefulset("web", 2, claims=True, podManagementPolicy="Parallel"), "default")
        await h.settle()
        for i in (0, 1):
            pod = c.get("pods", f"web-{i}", "default")
            vol = {"name": "www", "persistentVolumeClaim": {"claimName": f"www-web-{i}"}}
            assert vol in pod["spec"]["volumes"]
            pvc = c.get("persistentvolumeclaims", f"www-web-{i}", "default")
            assert pvc["metadata"]["labels"] == {"app": "web"}
            assert pvc["spec"]["resources"]["requests"]["storage"] == "1Gi"
            assert "ownerReferences" not in pvc["metadata"]  # retention policy Retain (the default)
        # (the claim and pod events of one sync share a fake-clock instant; see the note in test_job)
        assert "create Claim www-web-0 Pod web-0 in StatefulSet web success" in [
            e["message"] for e in events(c, "SuccessfulCreate")]
        c.patch(STS, "web", {"spec": {"replicas": 1}}, "default")
        await h.settle()
        reap_terminating(c)
        await h.settle()
        assert names(c, "web") == ["web-0"]
        assert c.try_get("persistentvolumeclaims", "www-web-1", "default") is not None  # claims are retained
        c.patch(STS, "web", {"spec": {"replicas": 2}}, "default")
        await h.settle()
        assert c.get("pods", "web-1", "default")["spec"]["volumes"][0]["persistentVolumeClaim"] == {
            "claimName": "www-web-1"}  # the same claim again
        await stop(h, (ctrl,), tasks)

    asyncio.run(scenario())


def test_parallel_creates_all_at_once_and_failed_pods_are_replaced() -> None:
    async def scenario() -> None:
        h = Harness()
        c = h.client("kubelet")
        ctrl = StatefulSetController(h.client("x"), h.informers, h.config, h.trace)
        tasks = await start(h, ctrl)
        c.create(STS, statefulset("db", 3, podManagementPolicy="Parallel"), "default")
        await h.settle()
        assert names(c, "db") == ["db-0", "db-1", "db-2"]
        ready(c, "db-0", "db-1", "db-2")
        await h.settle()
        pod = c.get("pods", "db-1", "default")
        uid = pod["metadata"]["uid"]
        c.update_status("pods", dict(pod, status=dict(pod["status"], phase="Failed")))
        await h.settle()
        reap_terminating(c)
        await h.settle()
        again = c.get("pods", "db-1", "default")
        assert again["metadata"]["uid"] != uid and again["status"]["phase"] == "Pending"  # same name, new pod
        await stop(h, (ctrl,), tasks)

    asyncio.run(scenario())


def test_rolling_update_goes_from_the_highest_ordinal_down_to_the_partition() -> None:
    async def scenario() -> None:
        h = Harness()
        c = h.client("kubelet")
        ctrl = StatefulSetController(h.client("x"), h.informers, h.config, h.trace)
        tasks = await start(h, ctrl)
        c.create(STS, statefulset("web", 3, podManagementPolicy="Parallel",
                                  updateStrategy={"type": "RollingUpdate",
                                                  "rollingUpdate": {"partition": 1}}),
                 "default")
        await h.settle()
        ready(c, "web-0", "web-1", "web-2")
        await h.settle()
        first = c.get(STS, "web", "default")["status"]["currentRevision"]
        c.patch(STS, "web", {"spec": {"template": {"spec": {"containers": [
            {"name": "nginx", "image": "nginx:1.28"}]}}}}, "default", patch_type="strategic")
        await h.settle()
        st = c.get(STS, "web", "default")["status"]
        second = st["updateRevision"]
        assert second != first and st["currentRevision"] == first
        assert c.get("pods", "web-2", "default")["metadata"].get("deletionTimestamp")
        assert not c.get("pods", "web-1", "default")["metadata"].get("deletionTimestamp")
        reap_terminating(c)
        await h.settle()
        web2 = c.get("pods", "web-2", "default")
        assert web2["metadata"]["labels"]["controller-revision-hash"] == second
        assert web2["spec"]["containers"][0]["image"] == "nginx:1.28"
        assert not c.get("pods", "web-1", "default")["metadata"].get("deletionTimestamp")  # waits for web-2
        ready(c, "web-2")
        await h.settle()
        reap_terminating(c)
        await h.settle()
        ready(c, "web-1")
        await h.settle()
        images = {n: c.get("pods", n, "default")["spec"]["containers"][0]["image"] for n in names(c, "web")}
        assert images == {"web-0": "nginx:1.27", "web-1": "nginx:1.28", "web-2": "nginx:1.28"}  # partition 1
        st = c.get(STS, "web", "default")["status"]
        assert (st["currentReplicas"], st["updatedReplicas"], st["currentRevision"]) == (1, 2, first)
        c.patch(STS, "web", {"spec": {"updateStrategy": {"rollingUpdate": {"partition": 0}}}}, "default")
        await h.settle()
        reap_terminating(c)
        await h.settle()
        ready(c, "web-0")
        await h.settle()
        st = c.get(STS, "web", "default")["status"]
        assert (st["currentReplicas"], st["updatedReplicas"], st["currentRevision"]) == (3, 3, second)
        await stop(h, (ctrl,), tasks)

    asyncio.run(scenario())


def test_kubectl_rollout_status_undo_and_scale(lab: Cluster) -> None:
    k = lab.kubectl
    k("create", "namespace", "sts-e2e")
    k("apply", "-n", "sts-e2e", "-f", "-", input=json.dumps(
        {"apiVersion": "apps/v1", "kind": "StatefulSet", **statefulset("web", 3, claims=True)}))
    k("rollout", "status", "-n", "sts-e2e", "sts/web", "--timeout=60s", timeout=70)
    rows = [r.split()[:3] for r in k("get", "pvc", "-n", "sts-e2e").stdout.splitlines()[1:]]
    assert [r[0] for r in rows] == ["www-web-0", "www-web-1", "www-web-2"]
    first = kjson(lab, "get", "sts", "web", "-n", "sts-e2e")["status"]["currentRevision"]
    k("set", "image", "-n", "sts-e2e", "sts/web", "nginx=nginx:1.28")
    out = k("rollout", "status", "-n", "sts-e2e", "sts/web", "--timeout=60s", timeout=70).stdout
    assert "partitioned roll out complete: 3 new pods have been updated..." in out
    st = kjson(lab, "get", "sts", "web", "-n", "sts-e2e")["status"]
    assert st["currentRevision"] == st["updateRevision"] != first and st["updatedReplicas"] == 3
    k("rollout", "undo", "-n", "sts-e2e", "sts/web")
    k("rollout", "status", "-n", "sts-e2e", "sts/web", "--timeout=60s", timeout=70)
    st = kjson(lab, "get", "sts", "web", "-n", "sts-e2e")["status"]
    assert st["currentRevision"] == first  # the old revision is reused (renumbered), not recreated
    revs = kjson(lab, "get", "controllerrevisions", "-n", "sts-e2e")["items"]
    assert sorted(r["revision"] for r in revs) == [2, 3]
    k("scale", "-n", "sts-e2e", "sts/web", "--replicas=1")
    wait_for(lambda: k("get", "pods", "-n", "sts-e2e", "-o", "name").stdout.split() == ["pod/web-0"])
