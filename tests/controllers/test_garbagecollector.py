"""The garbage collector with the Deployment and ReplicaSet controllers and a fake kubelet: background deletion
of dependents, orphaning, foreground deletion (the owner goes last), and dangling references among live owners."""

from __future__ import annotations

import asyncio
from typing import Any

from kubelab.client import Client
from kubelab.controllers.deployment import DeploymentController
from kubelab.controllers.garbagecollector import GarbageCollector
from kubelab.controllers.replicaset import ReplicaSetController
from tests.controllers.test_replicaset import FakeKubelet, lab, running
from tests.harness import Harness

Obj = dict[str, Any]
DEPLOY = "deployments.apps"
RS = "replicasets.apps"


def web(replicas: int = 2) -> Obj:
    return {"metadata": {"name": "web"}, "spec": {
        "replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}},
                     "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}}}


def control_plane(h: Harness) -> tuple[GarbageCollector, DeploymentController, ReplicaSetController]:
    return (GarbageCollector(h.client("generic-garbage-collector"), h.informers, h.config, h.trace),
            DeploymentController(h.client("deployment-controller"), h.informers, h.config, h.trace),
            ReplicaSetController(h.client("replicaset-controller"), h.informers, h.config, h.trace))


def names(c: Client, resource: str) -> list[str]:
    return sorted(o["metadata"]["name"] for o in c.list(resource, "default"))


def test_background_deletion_removes_replica_sets_and_their_pods() -> None:
    async def scenario() -> None:
        h = lab()
        c = h.client("test")
        FakeKubelet(h)
        async with running(h, *control_plane(h)):
            c.create(DEPLOY, web(), "default")
            await h.advance(1)
            assert len(names(c, RS)) == 1 and len(names(c, "pods")) == 2
            c.delete(DEPLOY, "web", "default")  # kubectl delete: Background
            await h.advance(1)
            assert names(c, DEPLOY) == [] and names(c, RS) == [] and names(c, "pods") == []
            deleted = [e for e in h.trace.since(0)
                       if e.component == "controller-manager/garbagecollector" and e.action == "delete"]
            assert {e.kind for e in deleted} == {"ReplicaSet", "Pod"}

    asyncio.run(scenario())


def test_orphan_keeps_dependents_and_drops_their_owner_references() -> None:
    async def scenario() -> None:
        h = lab()
        c = h.client("test")
        FakeKubelet(h)
        async with running(h, *control_plane(h)):
            c.create(DEPLOY, web(), "default")
            await h.advance(1)
            (rs_name,) = names(c, RS)
            pods = names(c, "pods")
            c.delete(DEPLOY, "web", "default", propagation_policy="Orphan")
            await h.advance(1)
            assert names(c, DEPLOY) == []
            rs = c.get(RS, rs_name, "default")
            assert not rs["metadata"].get("ownerReferences") and rs["spec"]["replicas"] == 2
            assert names(c, "pods") == pods  # still owned by the (now orphaned) replica set
            assert all(p["metadata"]["ownerReferences"][0]["name"] == rs_name for p in c.list("pods", "default"))

    asyncio.run(scenario())


def test_foreground_deletion_removes_the_owner_last() -> None:
    async def scenario() -> None:
        h = lab()
        c = h.client("test")
        FakeKubelet(h)
        order: list[str] = []
        async with running(h, *control_plane(h)):
            c.create(DEPLOY, web(), "default")
            await h.advance(1)
            for res in ("pods", RS, DEPLOY):
                h.informers.informer(res).add_handler(
                    on_delete=lambda o: order.append(o["kind"] if "kind" in o else "?"))
            c.delete(DEPLOY, "web", "default", propagation_policy="Foreground")
            d = c.try_get(DEPLOY, "web", "default")
            assert d is not None and d["metadata"]["deletionTimestamp"] and \
                "foregroundDeletion" in d["metadata"]["finalizers"]
            await h.advance(2)
            assert names(c, DEPLOY) == [] and names(c, RS) == [] and names(c, "pods") == []
            assert order == ["Pod", "Pod", "ReplicaSet", "Deployment"]

    asyncio.run(scenario())


def test_dangling_reference_is_removed_when_another_owner_lives() -> None:
    async def scenario() -> None:
        h = lab()
        c = h.client("test")
        async with running(h, control_plane(h)[0]):
            a = c.create("configmaps", {"metadata": {"name": "a"}}, "default")
            b = c.create("configmaps", {"metadata": {"name": "b"}}, "default")
            refs = [{"apiVersion": "v1", "kind": "ConfigMap", "name": o["metadata"]["name"],
                     "uid": o["metadata"]["uid"]} for o in (a, b)]
            c.create("configmaps", {"metadata": {"name": "child", "ownerReferences": refs}}, "default")
            c.create("configmaps", {"metadata": {"name": "ghost-child", "ownerReferences": [
                dict(refs[0], name="never", uid="00000000-0000-4000-8000-000000000000")]}}, "default")
            await h.advance(0.5)
            assert "ghost-child" not in names(c, "configmaps")  # its only owner never existed
            c.delete("configmaps", "a", "default")
            await h.advance(0.5)
            child = c.get("configmaps", "child", "default")
            assert [r["name"] for r in child["metadata"]["ownerReferences"]] == ["b"]
            c.delete("configmaps", "b", "default")
            await h.advance(0.5)
            assert "child" not in names(c, "configmaps")

    asyncio.run(scenario())
