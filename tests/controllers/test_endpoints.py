"""The Endpoints and EndpointSlice controllers follow pod readiness: addresses move from notReadyAddresses to
addresses, slice conditions flip, named target ports resolve from container ports, deleted pods leave, and the
API server's own ``kubernetes`` Service is left alone. Fake clock, fake kubelet."""

from __future__ import annotations

import asyncio
from typing import Any

from kubelab.client import Client
from kubelab.controllers.endpoints import TRIGGER_TIME, EndpointsController, build_subsets, find_port
from kubelab.controllers.endpointslice import EndpointSliceController
from kubelab.controllers.garbagecollector import GarbageCollector
from tests.controllers.test_replicaset import FakeKubelet, lab, running
from tests.harness import Harness

Obj = dict[str, Any]
SLICES = "endpointslices.discovery.k8s.io"


def controllers(h: Harness) -> tuple[EndpointsController, EndpointSliceController, GarbageCollector]:
    return (EndpointsController(h.client("endpoint-controller"), h.informers, h.config, h.trace),
            EndpointSliceController(h.client("endpointslice-controller"), h.informers, h.config, h.trace),
            GarbageCollector(h.client("generic-garbage-collector"), h.informers, h.config, h.trace))


def pod(c: Client, name: str, app: str = "web") -> Obj:
    return c.create("pods", {"metadata": {"name": name, "labels": {"app": app}}, "spec": {"containers": [
        {"name": "app", "image": "nginx:1.27", "ports": [{"name": "http", "containerPort": 8080}]}]}}, "default")


def service(c: Client, name: str = "web", **spec: Any) -> Obj:
    spec = {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}], **spec}
    return c.create("services", {"metadata": {"name": name, "labels": {"team": "a"}}, "spec": spec}, "default")


def slices(c: Client, svc: str = "web") -> list[Obj]:
    return [s for s in c.list(SLICES, "default") if s["metadata"]["labels"].get("kubernetes.io/service-name") == svc]


def test_endpoints_and_slices_follow_readiness() -> None:
    async def scenario() -> None:
        h = lab()
        c = h.client("test")
        kubelet = FakeKubelet(h, ready_after=None)
        async with running(h, *controllers(h)):
            svc = service(c)
            await h.advance(0.5)
            ep = c.get("endpoints", "web", "default")
            assert not ep.get("subsets") and ep["metadata"]["labels"] == {"team": "a"}
            (placeholder,) = slices(c)
            assert placeholder["endpoints"] == [] and not placeholder.get("ports")

            p1, p2 = pod(c, "web-1"), pod(c, "web-2")
            pod(c, "other", app="db")
            await h.advance(0.5)
            ep = c.get("endpoints", "web", "default")
            (subset,) = ep["subsets"]
            assert "addresses" not in subset and len(subset["notReadyAddresses"]) == 2
            assert subset["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
            assert ep["metadata"]["annotations"][TRIGGER_TIME]

            kubelet.make_ready("default", "web-1")
            await h.advance(0.5)
            (subset,) = c.get("endpoints", "web", "default")["subsets"]
            ready, = subset["addresses"]
            ip1 = c.get("pods", "web-1", "default")["status"]["podIP"]
            assert ready == {"ip": ip1, "nodeName": "node-1", "targetRef": {
                "kind": "Pod", "namespace": "default", "name": "web-1", "uid": p1["metadata"]["uid"]}}
            assert [a["targetRef"]["name"] for a in subset["notReadyAddresses"]] == ["web-2"]

            (es,) = slices(c)
            assert es["metadata"]["name"].startswith("web-") and len(es["metadata"]["name"]) == len("web-") + 5
            assert es["addressType"] == "IPv4"
            assert es["metadata"]["labels"] == {"team": "a", "kubernetes.io/service-name": "web",
                                                "endpointslice.kubernetes.io/managed-by":
                                                    "endpointslice-controller.k8s.io"}
            assert es["metadata"]["ownerReferences"] == [{"apiVersion": "v1", "kind": "Service", "name": "web",
                                                          "uid": svc["metadata"]["uid"], "controller": True,
                                                          "blockOwnerDeletion": True}]
            assert es["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
            by_name = {e["targetRef"]["name"]: e for e in es["endpoints"]}
            assert by_name["web-1"]["conditions"] == {"ready": True, "serving": True, "terminating": False}
            assert by_name["web-2"]["conditions"] == {"ready": False, "serving": False, "terminating": False}
            assert by_name["web-1"]["nodeName"] == "node-1" and by_name["web-1"]["addresses"] == [ip1]
            assert by_name["web-2"]["targetRef"]["uid"] == p2["metadata"]["uid"]

            c.delete("pods", "web-2", "default")
            await h.advance(0.5)
            (subset,) = c.get("endpoints", "web", "default")["subsets"]
            assert "notReadyAddresses" not in subset and len(subset["addresses"]) == 1
            assert [e["targetRef"]["name"] for e in slices(c)[0]["endpoints"]] == ["web-1"]

            c.delete("services", "web", "default")
            await h.advance(0.5)
            assert c.try_get("endpoints", "web", "default") is None
            assert slices(c) == []  # the garbage collector follows the slices' owner reference

    asyncio.run(scenario())


def test_the_api_servers_own_service_is_left_alone() -> None:
    async def scenario() -> None:
        h = lab()
        c = h.client("test")
        before = (c.get("endpoints", "kubernetes", "default"), c.get(SLICES, "kubernetes", "default"))
        async with running(h, *controllers(h)):
            await h.advance(0.5)
            after = (c.get("endpoints", "kubernetes", "default"), c.get(SLICES, "kubernetes", "default"))
            assert [o["metadata"]["resourceVersion"] for o in after] == \
                [o["metadata"]["resourceVersion"] for o in before]
            assert slices(c, "kubernetes") == [before[1]]

    asyncio.run(scenario())


def test_terminating_pods_are_serving_but_not_ready_in_slices() -> None:
    async def scenario() -> None:
        h = lab()
        c = h.client("test")
        ctl = EndpointSliceController(h.client("endpointslice-controller"), h.informers, h.config, h.trace)
        ep_ctl = EndpointsController(h.client("endpoint-controller"), h.informers, h.config, h.trace)
        h.informers.start()
        await h.informers.wait_synced()
        service(c)
        pod(c, "web-1")
        c.bind("default", "web-1", "node-1")
        p = c.get("pods", "web-1", "default")
        c.update_status("pods", dict(p, status={"phase": "Running", "podIP": "10.244.0.9", "conditions": [
            {"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}))
        c.delete("pods", "web-1", "default")  # graceful: it has a node, so it lingers while terminating
        await h.settle()
        ctl.sync_service("default/web")
        ep_ctl.sync_service("default/web")
        es = c.list(SLICES, "default")
        (mine,) = [s for s in es if s["metadata"]["labels"].get("kubernetes.io/service-name") == "web"]
        assert mine["endpoints"][0]["conditions"] == {"ready": False, "serving": True, "terminating": True}
        assert not c.get("endpoints", "web", "default").get("subsets")
        h.informers.stop()

    asyncio.run(scenario())


def test_port_resolution_and_subset_packing() -> None:
    p: Obj = {"metadata": {"name": "a", "namespace": "default", "uid": "u1"},
         "spec": {"containers": [{"name": "c", "ports": [{"name": "http", "containerPort": 8080},
                                                         {"name": "dns", "containerPort": 53, "protocol": "UDP"}]}]},
         "status": {"podIP": "10.0.0.2", "phase": "Running",
                    "conditions": [{"type": "Ready", "status": "True"}]}}
    assert find_port(p, {"port": 80, "targetPort": "http"}) == 8080
    assert find_port(p, {"port": 80, "targetPort": 9090}) == 9090
    assert find_port(p, {"port": 53, "targetPort": "dns", "protocol": "UDP"}) == 53
    assert find_port(p, {"port": 53, "targetPort": "dns"}) is None  # TCP asked, only UDP named dns
    q = dict(p, metadata={"name": "b", "namespace": "default", "uid": "u2"},
             spec={"containers": [{"name": "c"}]}, status=dict(p["status"], podIP="10.0.0.1"))
    svc: Obj = {"metadata": {"name": "s", "namespace": "default"},
           "spec": {"ports": [{"name": "web", "port": 80, "targetPort": "http"}]}}
    (subset,) = build_subsets(svc, [p, q])  # q has no port named http: left out
    assert [a["ip"] for a in subset["addresses"]] == ["10.0.0.2"]
    svc["spec"]["ports"] = [{"name": "web", "port": 80, "targetPort": 80}]
    (subset,) = build_subsets(svc, [p, q])
    assert [a["ip"] for a in subset["addresses"]] == ["10.0.0.1", "10.0.0.2"]  # sorted by IP
