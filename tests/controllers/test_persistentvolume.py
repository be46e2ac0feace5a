"""The PV binder and the local-path provisioner: static binding, WaitForFirstConsumer provisioning once a consumer
pod is scheduled, and reclaim policies. Fake clock, no sockets."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kubelab.api.errors import ApiError
from kubelab.apiserver import admission
from kubelab.client import Client
from kubelab.controllers.localpath import LocalPathProvisioner
from kubelab.controllers.persistentvolume import PersistentVolumeController, find_best_match
from kubelab.controllers.runner import Controller
from tests.harness import Harness

Obj = dict[str, Any]
PVC, PV = "persistentvolumeclaims", "persistentvolumes"


@pytest.fixture(autouse=True)
def unique_event_names(monkeypatch: pytest.MonkeyPatch) -> None:
    """Client.event names events <object>.<clock ns>; with a fake clock two events on one object in one instant
    collide (409) and the second is lost. Until the client retries with another suffix, do that here."""
    create = Client.create

    def create_retrying(self: Client, resource: str, obj: Obj, namespace: str | None = None) -> Obj:
        name = (obj.get("metadata") or {}).get("name")
        for i in range(50):
            try:
                return create(self, resource, obj, namespace)
            except ApiError as e:
                if resource != "events" or e.code != 409:
                    raise
                obj = dict(obj, metadata=dict(obj["metadata"], name=f"{name}{i:x}"))
        raise AssertionError("event names kept colliding")

    monkeypatch.setattr(Client, "create", create_retrying)


def pv(name: str, size: str, cls: str = "manual", modes: tuple[str, ...] = ("ReadWriteOnce",),
       policy: str = "Retain", path: str = "/mnt/data", labels: dict[str, str] | None = None) -> Obj:
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": {
        "capacity": {"storage": size}, "accessModes": list(modes), "storageClassName": cls,
        "persistentVolumeReclaimPolicy": policy, "hostPath": {"path": path}}}


def pvc(name: str, size: str, cls: str | None = "manual", modes: tuple[str, ...] = ("ReadWriteOnce",)) -> Obj:
    spec: Obj = {"accessModes": list(modes), "resources": {"requests": {"storage": size}}}
    if cls is not None:
        spec["storageClassName"] = cls
    return {"metadata": {"name": name}, "spec": spec}


def reasons(c: Client, name: str) -> list[str]:
    return [e["reason"] for e in sorted(c.list("events", "default", field_selector=f"involvedObject.name={name}"),
                                        key=lambda e: e["metadata"]["resourceVersion"])]


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


def controllers(h: Harness) -> tuple[PersistentVolumeController, LocalPathProvisioner]:
    return (PersistentVolumeController(h.client("x"), h.informers, h.config, h.trace),
            LocalPathProvisioner(h.client("x"), h.informers, h.config, h.trace))


def test_claim_binds_to_smallest_matching_volume_and_is_released_on_delete() -> None:
    async def scenario() -> None:
        h = Harness()
        c = h.client("admin")
        c.create(PV, pv("pv-big", "5Gi"))
        c.create(PV, pv("pv-small", "1Gi"))
        c.create(PV, pv("pv-tiny", "100Mi"))
        c.create(PV, pv("pv-other-class", "1Gi", cls="fast"))
        c.create(PV, pv("pv-rwx", "1Gi", modes=("ReadWriteMany",)))
        ctrls = controllers(h)
        tasks = await start(h, *ctrls)
        await h.advance(0.2)
        assert {v["metadata"]["name"]: v["status"]["phase"] for v in c.list(PV)} == dict.fromkeys(
            ["pv-big", "pv-other-class", "pv-rwx", "pv-small", "pv-tiny"], "Available")
        c.create(PVC, pvc("data", "500Mi"), "default")
        await h.advance(0.2)
        claim = c.get(PVC, "data", "default")
        vol = c.get(PV, "pv-small")
        assert claim["spec"]["volumeName"] == "pv-small"
        assert claim["status"] == {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}}
        assert claim["metadata"]["annotations"] == {"pv.kubernetes.io/bind-completed": "yes",
                                                   "pv.kubernetes.io/bound-by-controller": "yes"}
        assert vol["status"]["phase"] == "Bound"
        assert vol["spec"]["claimRef"]["name"] == "data" and vol["spec"]["claimRef"]["uid"] == claim["metadata"]["uid"]
        assert vol["metadata"]["annotations"] == {"pv.kubernetes.io/bound-by-controller": "yes"}

        c.delete(PVC, "data", "default")  # Retain: the volume keeps the data and waits for an admin
        await h.advance(0.2)
        assert c.get(PV, "pv-small")["status"]["phase"] == "Released"

        c.create(PV, pv("pv-del", "1Gi", cls="del", policy="Delete", path="/mnt/keep"))
        c.create(PV, pv("pv-tmp", "1Gi", cls="tmp", policy="Delete", path="/tmp/scratch"))
        c.create(PVC, pvc("a", "1Gi", cls="del"), "default")
        c.create(PVC, pvc("b", "1Gi", cls="tmp"), "default")
        await h.advance(0.2)
        assert c.get(PVC, "a", "default")["status"]["phase"] == "Bound"
        c.delete(PVC, "a", "default")
        c.delete(PVC, "b", "default")
        await h.advance(0.2)
        failed = c.get(PV, "pv-del")
        assert failed["status"]["phase"] == "Failed"
        assert failed["status"]["message"] == "host_path deleter only supports /tmp/.+ but received provided /mnt/keep"
        assert "VolumeFailedDelete" in reasons(c, "pv-del")
        assert c.try_get(PV, "pv-tmp") is None  # the hostPath deleter handles /tmp
        await stop(h, ctrls, tasks)

    asyncio.run(scenario())


def test_local_path_provisions_after_consumer_pod_is_scheduled() -> None:
    async def scenario() -> None:
        h = Harness()
        admission.install(h.ctx, h.config)
        c = h.client("admin")
        c.create("nodes", {"metadata": {"name": "local-worker", "labels": {"kubernetes.io/hostname": "local-worker"}}})
        ctrls = controllers(h)
        tasks = await start(h, *ctrls)
        claim = c.create(PVC, pvc("data", "256Mi", cls=None), "default")
        assert claim["spec"]["storageClassName"] == "standard"  # DefaultStorageClass admission
        await h.advance(0.2)
        assert c.get(PVC, "data", "default")["status"]["phase"] == "Pending"
        assert reasons(c, "data") == ["WaitForFirstConsumer"]
        ev = c.list("events", "default")[0]
        assert ev["message"] == "waiting for first consumer to be created before binding"
        assert ev["source"]["component"] == "persistentvolume-controller"

        c.create("pods", {"metadata": {"name": "app"}, "spec": {
            "containers": [{"name": "app", "image": "busybox:1.36", "volumeMounts": [{"name": "d", "mountPath": "/d"}]}],
            "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]}}, "default")
        await h.advance(0.2)
        assert reasons(c, "data")[-1] == "WaitForPodScheduled"
        assert c.list(PV) == []

        c.bind("default", "app", "local-worker")  # the scheduler places the pod
        await h.advance(0.3)
        claim = c.get(PVC, "data", "default")
        uid = claim["metadata"]["uid"]
        assert claim["metadata"]["annotations"]["volume.kubernetes.io/selected-node"] == "local-worker"
        assert claim["metadata"]["annotations"]["volume.kubernetes.io/storage-provisioner"] == "rancher.io/local-path"
        assert claim["status"]["phase"] == "Bound" and claim["spec"]["volumeName"] == f"pvc-{uid}"
        vol = c.get(PV, f"pvc-{uid}")
        assert vol["status"]["phase"] == "Bound"
        assert vol["spec"]["hostPath"] == {"path": f"/var/local-path-provisioner/pvc-{uid}_default_data",
                                           "type": "DirectoryOrCreate"}
        assert vol["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"] == [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": ["local-worker"]}]
        assert vol["spec"]["persistentVolumeReclaimPolicy"] == "Delete"
        assert vol["spec"]["storageClassName"] == "standard"
        assert vol["metadata"]["annotations"]["pv.kubernetes.io/provisioned-by"] == "rancher.io/local-path"
        assert reasons(c, "data")[-3:] == ["ExternalProvisioning", "Provisioning", "ProvisioningSucceeded"]
        succeeded = [e for e in c.list("events", "default") if e["reason"] == "ProvisioningSucceeded"][0]
        assert succeeded["message"] == f"Successfully provisioned volume pvc-{uid}"

        c.delete("pods", "app", "default", grace_period_seconds=0)
        c.delete(PVC, "data", "default")  # reclaim policy Delete: the provisioner removes the volume
        await h.advance(0.3)
        assert c.list(PV) == []
        await stop(h, ctrls, tasks)

    asyncio.run(scenario())


def test_find_best_match_rules() -> None:
    def avail(o: Obj) -> Obj:
        return dict(o, status={"phase": "Available"})

    claim = {"metadata": {"name": "c", "namespace": "default", "uid": "u1"},
             "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
                      "storageClassName": "manual", "selector": {"matchLabels": {"tier": "gold"}}}}
    vols = [avail(pv("a", "2Gi", labels={"tier": "gold"})), avail(pv("b", "1Gi", labels={"tier": "silver"})),
            avail(pv("c", "10Gi", labels={"tier": "gold"}))]
    assert find_best_match(vols, claim, False)["metadata"]["name"] == "a"  # type: ignore[index]
    assert find_best_match(vols, claim, True) is None  # delayed binding: only pre-bound volumes
    prebound = avail(pv("p", "5Gi"))
    prebound["spec"]["claimRef"] = {"name": "c", "namespace": "default"}
    assert find_best_match([*vols, prebound], claim, True)["metadata"]["name"] == "p"  # type: ignore[index]
