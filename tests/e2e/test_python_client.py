"""The official kubernetes Python client against the embedded API server."""

from __future__ import annotations

import threading

import pytest
from kubernetes import client, utils, watch
from kubernetes.client.exceptions import ApiException

from tests.conftest import Cluster


@pytest.fixture
def api(cluster: Cluster):  # type: ignore[no-untyped-def]
    c = cluster.api_client()
    yield c
    c.close()


def test_crud_pods_deployments_configmaps(api, ns: str) -> None:  # type: ignore[no-untyped-def]
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    pod = core.create_namespaced_pod(ns, {
        "metadata": {"name": "p1", "labels": {"app": "x"}},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.36", "command": ["sleep", "3600"]}]}})
    assert pod.metadata.uid and pod.status.phase == "Pending"
    assert core.read_namespaced_pod("p1", ns).spec.containers[0].image == "busybox:1.36"
    assert [p.metadata.name for p in core.list_namespaced_pod(ns, label_selector="app=x").items] == ["p1"]
    pod = core.patch_namespaced_pod("p1", ns, {"metadata": {"labels": {"extra": "1"}}})
    assert pod.metadata.labels == {"app": "x", "extra": "1"}
    core.delete_namespaced_pod("p1", ns)
    with pytest.raises(ApiException) as e:
        core.read_namespaced_pod("p1", ns)
    assert e.value.status == 404

    dep = apps.create_namespaced_deployment(ns, client.V1Deployment(
        metadata=client.V1ObjectMeta(name="d"),
        spec=client.V1DeploymentSpec(
            replicas=3, selector=client.V1LabelSelector(match_labels={"app": "d"}),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels={"app": "d"}),
                spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="nginx:1.27")])))))
    assert dep.spec.replicas == 3 and dep.metadata.generation == 1
    dep.spec.replicas = 4
    dep = apps.replace_namespaced_deployment("d", ns, dep)
    assert dep.spec.replicas == 4 and dep.metadata.generation == 2
    scale = apps.read_namespaced_deployment_scale("d", ns)
    assert scale.spec.replicas == 4
    apps.delete_namespaced_deployment("d", ns)
    assert apps.list_namespaced_deployment(ns).items == []

    cm = core.create_namespaced_config_map(ns, {"metadata": {"name": "cm"}, "data": {"k": "v"}})
    cm.data["k"] = "w"
    cm = core.replace_namespaced_config_map("cm", ns, cm)
    assert core.read_namespaced_config_map("cm", ns).data == {"k": "w"}
    core.delete_namespaced_config_map("cm", ns)


def test_watch_replays_exactly_from_listed_resource_version(api, ns: str) -> None:  # type: ignore[no-untyped-def]
    core = client.CoreV1Api(api)
    core.create_namespaced_config_map(ns, {"metadata": {"name": "before"}})
    rv = core.list_namespaced_config_map(ns).metadata.resource_version
    core.create_namespaced_config_map(ns, {"metadata": {"name": "w"}, "data": {"a": "1"}})
    core.patch_namespaced_config_map("w", ns, {"data": {"a": "2"}})
    core.delete_namespaced_config_map("w", ns)
    events = []
    for ev in watch.Watch().stream(core.list_namespaced_config_map, ns, resource_version=rv, timeout_seconds=1):
        events.append((ev["type"], ev["object"].metadata.name, (ev["object"].data or {}).get("a")))
    assert events == [("ADDED", "w", "1"), ("MODIFIED", "w", "2"), ("DELETED", "w", "2")]


def test_watch_sees_live_events(api, ns: str) -> None:  # type: ignore[no-untyped-def]
    core = client.CoreV1Api(api)
    rv = core.list_namespaced_config_map(ns).metadata.resource_version
    got: list[tuple[str, str]] = []

    def run() -> None:
        for ev in watch.Watch().stream(core.list_namespaced_config_map, ns, resource_version=rv, timeout_seconds=5):
            got.append((ev["type"], ev["object"].metadata.name))
            if len(got) == 2:
                break

    t = threading.Thread(target=run)
    t.start()
    core.create_namespaced_config_map(ns, {"metadata": {"name": "live"}})
    core.delete_namespaced_config_map("live", ns)
    t.join(10)
    assert got == [("ADDED", "live"), ("DELETED", "live")]


def test_stale_update_conflicts(api, ns: str) -> None:  # type: ignore[no-untyped-def]
    core = client.CoreV1Api(api)
    cm = core.create_namespaced_config_map(ns, {"metadata": {"name": "c"}, "data": {"v": "0"}})
    stale = cm.metadata.resource_version
    core.patch_namespaced_config_map("c", ns, {"data": {"v": "1"}})
    cm.data = {"v": "2"}
    cm.metadata.resource_version = stale
    with pytest.raises(ApiException) as e:
        core.replace_namespaced_config_map("c", ns, cm)
    assert e.value.status == 409
    assert "the object has been modified" in e.value.body
    assert core.read_namespaced_config_map("c", ns).data == {"v": "1"}


def test_watch_from_compacted_revision_is_gone(cluster: Cluster, api, ns: str) -> None:  # type: ignore[no-untyped-def]
    core = client.CoreV1Api(api)
    core.create_namespaced_config_map(ns, {"metadata": {"name": "old"}})
    old_rv = core.read_namespaced_config_map("old", ns).metadata.resource_version
    core.patch_namespaced_config_map("old", ns, {"data": {"x": "1"}})
    store = cluster.server.ctx.store  # type: ignore[attr-defined]
    store.compact(store.revision)
    with pytest.raises(ApiException) as e:
        for _ in watch.Watch().stream(core.list_namespaced_config_map, ns, resource_version=old_rv,
                                      timeout_seconds=2):
            pass
    assert e.value.status == 410


def test_create_from_yaml_multi_document(api, ns: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "app.yaml"
    f.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: m1}\ndata: {a: '1'}\n---\n"
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: m2}\nspec:\n  selector: {matchLabels: {app: m2}}\n"
        "  template:\n    metadata: {labels: {app: m2}}\n    spec: {containers: [{name: c, image: nginx}]}\n---\n"
        "apiVersion: v1\nkind: Service\nmetadata: {name: m3}\nspec: {selector: {app: m2}, ports: [{port: 80}]}\n")
    created = utils.create_from_yaml(api, str(f), namespace=ns)
    kinds = sorted(type(o[0] if isinstance(o, list) else o).__name__ for o in created)
    assert kinds == ["V1ConfigMap", "V1Deployment", "V1Service"]
    assert client.AppsV1Api(api).read_namespaced_deployment("m2", ns).spec.replicas == 1


CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com", "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wg"]},
        "versions": [{"name": "v1", "served": True, "storage": True,
                      "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                          "spec": {"type": "object", "properties": {"size": {"type": "integer"}}}}}}}],
    },
}


def test_crd_then_custom_resource_crud(cluster: Cluster, api, ns: str) -> None:  # type: ignore[no-untyped-def]
    ext = client.ApiextensionsV1Api(api)
    ext.create_custom_resource_definition(CRD)
    crd = ext.read_custom_resource_definition("widgets.example.com")
    assert {c.type: c.status for c in crd.status.conditions}["Established"] == "True"
    co = client.CustomObjectsApi(api)
    w = co.create_namespaced_custom_object("example.com", "v1", ns, "widgets", {
        "apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w1"}, "spec": {"size": 3}})
    assert w["metadata"]["generation"] == 1
    got = co.get_namespaced_custom_object("example.com", "v1", ns, "widgets", "w1")
    assert got["spec"] == {"size": 3}
    co.patch_namespaced_custom_object("example.com", "v1", ns, "widgets", "w1", {"spec": {"size": 5}})
    lst = co.list_namespaced_custom_object("example.com", "v1", ns, "widgets")
    assert [i["spec"]["size"] for i in lst["items"]] == [5]
    assert "widget.example.com/w1" in cluster.kubectl("get", "wg", "-n", ns, "-o", "name").stdout
    co.delete_namespaced_custom_object("example.com", "v1", ns, "widgets", "w1")
    assert co.list_namespaced_custom_object("example.com", "v1", ns, "widgets")["items"] == []
    ext.delete_custom_resource_definition("widgets.example.com")


def test_hpa_served_in_v1_and_v2_from_one_storage(api, ns: str) -> None:  # type: ignore[no-untyped-def]
    v1, v2 = client.AutoscalingV1Api(api), client.AutoscalingV2Api(api)
    v1.create_namespaced_horizontal_pod_autoscaler(ns, {
        "metadata": {"name": "h"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                 "minReplicas": 1, "maxReplicas": 5, "targetCPUUtilizationPercentage": 60}})
    got = v2.read_namespaced_horizontal_pod_autoscaler("h", ns)
    assert got.api_version == "autoscaling/v2"
    assert got.spec.metrics[0].resource.name == "cpu"
    assert got.spec.metrics[0].resource.target.average_utilization == 60
    back = v1.read_namespaced_horizontal_pod_autoscaler("h", ns)
    assert back.api_version == "autoscaling/v1" and back.spec.target_cpu_utilization_percentage == 60
    assert [h.metadata.name for h in v1.list_namespaced_horizontal_pod_autoscaler(ns).items] == ["h"]


def test_events_served_in_core_and_events_api(api, ns: str) -> None:  # type: ignore[no-untyped-def]
    core, events = client.CoreV1Api(api), client.EventsV1Api(api)
    core.create_namespaced_event(ns, {
        "metadata": {"name": "e1"}, "involvedObject": {"kind": "Pod", "name": "p", "namespace": ns},
        "reason": "Started", "message": "Started container c", "type": "Normal",
        "eventTime": "2026-01-01T00:00:00.000000Z", "reportingComponent": "kubelet", "reportingInstance": "n1",
        "action": "Start"})
    ev = events.read_namespaced_event("e1", ns)
    assert ev.note == "Started container c" and ev.regarding.name == "p" and ev.reporting_controller == "kubelet"
