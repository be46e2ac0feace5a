"""Admission plugins through the registry path (as every write takes): ResourceQuota (and its controller),
LimitRanger, DefaultTolerationSeconds, DefaultStorageClass."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kubelab.api.errors import ApiError
from kubelab.apiserver import admission
from kubelab.client import Client
from kubelab.config import LabConfig
from kubelab.controllers.resourcequota import ResourceQuotaController
from tests.harness import Harness

Obj = dict[str, Any]


def lab(config: LabConfig | None = None) -> tuple[Harness, Client]:
    h = Harness(config=config)
    admission.install(h.ctx, h.config)
    return h, h.client("admin")


def pod(name: str, resources: Obj | None = None, **spec: Any) -> Obj:
    c: Obj = {"name": "app", "image": "nginx:1.27"}
    if resources is not None:
        c["resources"] = resources
    return {"metadata": {"name": name}, "spec": dict(spec, containers=[c])}


def forbidden(fn: Any) -> ApiError:
    with pytest.raises(ApiError) as e:
        fn()
    assert e.value.code == 403 and e.value.reason == "Forbidden", e.value.message
    return e.value


# ------------------------------------------------------------------------------------------------ ResourceQuota
def test_quota_rejects_the_third_pod() -> None:
    h, c = lab()
    c.create("resourcequotas", {"metadata": {"name": "q"}, "spec": {"hard": {"pods": "2"}}}, "default")
    c.create("pods", pod("p1"), "default")
    c.create("pods", pod("p2"), "default")
    err = forbidden(lambda: c.create("pods", pod("p3"), "default"))
    assert err.message == ('pods "p3" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, '
                           'limited: pods=2')
    assert err.details == {"name": "p3", "group": "", "kind": "pods"}
    assert c.try_get("pods", "p3", "default") is None
    # finished pods no longer count against "pods"
    p1 = c.get("pods", "p1", "default")
    c.update_status("pods", dict(p1, status=dict(p1["status"], phase="Succeeded")))
    c.create("pods", pod("p3"), "default")


def test_quota_compute_resources_need_requests_and_fit() -> None:
    h, c = lab()
    c.create("resourcequotas", {"metadata": {"name": "compute"}, "spec": {"hard": {
        "requests.cpu": "1", "requests.memory": "1Gi", "limits.memory": "2Gi"}}}, "default")
    err = forbidden(lambda: c.create("pods", pod("bare"), "default"))
    assert err.message == ('pods "bare" is forbidden: failed quota: compute: must specify limits.memory for: app; '
                           'requests.cpu for: app; requests.memory for: app')
    small = {"requests": {"cpu": "600m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}}
    c.create("pods", pod("a", small), "default")
    err = forbidden(lambda: c.create("pods", pod("b", small), "default"))
    assert err.message == ('pods "b" is forbidden: exceeded quota: compute, requested: requests.cpu=600m, '
                           'used: requests.cpu=600m, limited: requests.cpu=1')


def test_quota_counts_objects_and_invalid_objects_get_422_first() -> None:
    h, c = lab()
    c.create("resourcequotas", {"metadata": {"name": "objs"}, "spec": {"hard": {
        "count/configmaps": "2", "services.nodeports": "1"}}}, "default")
    c.create("configmaps", {"metadata": {"name": "one"}}, "default")  # kube-root-ca.crt is the other
    err = forbidden(lambda: c.create("configmaps", {"metadata": {"name": "two"}}, "default"))
    assert "requested: count/configmaps=1, used: count/configmaps=2, limited: count/configmaps=2" in err.message
    svc: Obj = {"metadata": {"name": "np"}, "spec": {"type": "NodePort", "selector": {"app": "x"},
                                                     "ports": [{"port": 80, "name": "a"}, {"port": 81, "name": "b"}]}}
    err = forbidden(lambda: c.create("services", svc, "default"))
    assert "requested: services.nodeports=2, used: services.nodeports=0, limited: services.nodeports=1" in err.message
    c.create("resourcequotas", {"metadata": {"name": "pods"}, "spec": {"hard": {"pods": "0"}}}, "default")
    with pytest.raises(ApiError) as e:
        c.create("pods", {"metadata": {"name": "bad"}, "spec": {"containers": []}}, "default")
    assert e.value.code == 422


def test_quota_controller_keeps_status_used() -> None:
    async def scenario() -> None:
        h, c = lab()
        ctrl = ResourceQuotaController(h.client("x"), h.informers, h.config, h.trace)
        task = asyncio.create_task(ctrl.run())
        h.informers.start()
        await h.settle()
        c.create("resourcequotas", {"metadata": {"name": "q"}, "spec": {"hard": {
            "pods": "5", "requests.cpu": "2", "count/deployments.apps": "3"}}}, "default")
        await h.advance(0.1)
        assert c.get("resourcequotas", "q", "default")["status"] == {
            "hard": {"count/deployments.apps": "3", "pods": "5", "requests.cpu": "2"},
            "used": {"count/deployments.apps": "0", "pods": "0", "requests.cpu": "0"}}
        c.create("pods", pod("a", {"requests": {"cpu": "250m"}}), "default")
        c.create("pods", pod("b", {"requests": {"cpu": "500m"}}), "default")
        c.create("deployments.apps", {"metadata": {"name": "d"}, "spec": {
            "selector": {"matchLabels": {"a": "b"}},
            "template": {"metadata": {"labels": {"a": "b"}}, "spec": pod("x")["spec"]}}}, "default")
        await h.advance(0.1)
        used = c.get("resourcequotas", "q", "default")["status"]["used"]
        assert used == {"count/deployments.apps": "1", "pods": "2", "requests.cpu": "750m"}
        c.delete("pods", "a", "default")
        await h.advance(0.1)
        assert c.get("resourcequotas", "q", "default")["status"]["used"]["pods"] == "1"
        assert ctrl.client.manager == "resourcequota-controller"
        ctrl.shutdown()
        h.informers.stop()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(scenario())


# ------------------------------------------------------------------------------------------------ LimitRanger
LIMITS = {"metadata": {"name": "limits"}, "spec": {"limits": [{
    "type": "Container", "default": {"cpu": "500m", "memory": "256Mi"}, "defaultRequest": {"cpu": "100m"},
    "max": {"cpu": "1"}, "min": {"cpu": "50m"}}]}}


def test_limit_range_defaults_container_resources() -> None:
    h, c = lab()
    c.create("limitranges", LIMITS, "default")
    out = c.create("pods", pod("web"), "default")
    res = out["spec"]["containers"][0]["resources"]
    assert res == {"limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "100m", "memory": "256Mi"}}
    assert out["metadata"]["annotations"]["kubernetes.io/limit-ranger"] == (
        "LimitRanger plugin set: cpu, memory request for container app; cpu, memory limit for container app")
    assert out["status"]["qosClass"] == "Burstable"
    # what the user set is kept; only the missing pieces are filled in
    mine = c.create("pods", pod("mine", {"limits": {"cpu": "800m"}}), "default")
    assert mine["spec"]["containers"][0]["resources"] == {
        "limits": {"cpu": "800m", "memory": "256Mi"}, "requests": {"cpu": "800m", "memory": "256Mi"}}


def test_limit_range_min_max_violations_are_forbidden() -> None:
    h, c = lab()
    c.create("limitranges", LIMITS, "default")
    err = forbidden(lambda: c.create("pods", pod("big", {"limits": {"cpu": "2"}}), "default"))
    assert err.message == 'pods "big" is forbidden: maximum cpu usage per Container is 1, but limit is 2'
    err = forbidden(lambda: c.create("pods", pod("tiny", {"requests": {"cpu": "10m"}, "limits": {"cpu": "20m"}}),
                                     "default"))
    assert err.message == 'pods "tiny" is forbidden: minimum cpu usage per Container is 50m, but request is 10m'
    c.create("limitranges", {"metadata": {"name": "storage"}, "spec": {"limits": [{
        "type": "PersistentVolumeClaim", "max": {"storage": "1Gi"}}]}}, "default")
    err = forbidden(lambda: c.create("persistentvolumeclaims", {"metadata": {"name": "huge"}, "spec": {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "5Gi"}}}}, "default"))
    assert err.message == ('persistentvolumeclaims "huge" is forbidden: maximum storage usage per '
                           'PersistentVolumeClaim is 1Gi, but request is 5Gi')


# ------------------------------------------------------------------------------------------------ defaults
def test_default_toleration_seconds_follow_the_lab_config() -> None:
    h, c = lab()
    tols = c.create("pods", pod("a"), "default")["spec"]["tolerations"]
    assert tols == [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
                     "tolerationSeconds": 10},
                    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
                     "tolerationSeconds": 10}]
    own = [{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
            "tolerationSeconds": 60}]
    tols = c.create("pods", pod("b", tolerations=own), "default")["spec"]["tolerations"]
    assert [t["tolerationSeconds"] for t in tols] == [60, 10]  # the user's stays; the added one is the lab's
    h2, c2 = lab(LabConfig.realistic())
    assert {t["tolerationSeconds"] for t in c2.create("pods", pod("a"), "default")["spec"]["tolerations"]} == {300}


def test_default_storage_class_for_claims_without_one() -> None:
    h, c = lab()
    spec = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
    assert c.create("persistentvolumeclaims", {"metadata": {"name": "a"}, "spec": dict(spec)},
                    "default")["spec"]["storageClassName"] == "standard"
    assert c.create("persistentvolumeclaims", {"metadata": {"name": "b"}, "spec": dict(spec, storageClassName="")},
                    "default")["spec"]["storageClassName"] == ""


def test_install_is_idempotent() -> None:
    h, c = lab()
    n = len(h.ctx.registry.mutating_hooks)
    admission.install(h.ctx, h.config)
    assert len(h.ctx.registry.mutating_hooks) == n
