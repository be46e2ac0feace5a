"""API semantics beyond CRUD: paging, WatchList, bookmarks, metadata-only lists, generateName, finalizers,
dry run, deletecollection, binding, eviction and logs. Judged with the official client."""

from __future__ import annotations

import json

import pytest
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from tests.conftest import Cluster

POD = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}


@pytest.fixture
def core(cluster: Cluster):  # type: ignore[no-untyped-def]
    api = cluster.api_client()
    yield client.CoreV1Api(api)
    api.close()


def _raw(core, method: str, path: str, query=None, accept="application/json", body=None):  # type: ignore[no-untyped-def]
    api = core.api_client
    params = api.param_serialize(method=method, resource_path=path, query_params=query or [],
                                 header_params={"Accept": accept, "Content-Type": "application/json"},
                                 body=body, auth_settings=["BearerToken"])
    resp = api.call_api(*params)
    resp.read()
    return resp


def test_list_paging_with_limit_and_continue(core, ns: str) -> None:  # type: ignore[no-untyped-def]
    for i in range(5):
        core.create_namespaced_config_map(ns, {"metadata": {"name": f"page{i}"}})
    first = core.list_namespaced_config_map(ns, limit=2)
    assert [c.metadata.name for c in first.items] == ["kube-root-ca.crt", "page0"]
    assert first.metadata._continue and first.metadata.remaining_item_count == 4
    second = core.list_namespaced_config_map(ns, limit=2, _continue=first.metadata._continue)
    assert [c.metadata.name for c in second.items] == ["page1", "page2"]
    third = core.list_namespaced_config_map(ns, limit=2, _continue=second.metadata._continue)
    assert [c.metadata.name for c in third.items] == ["page3", "page4"]
    assert not third.metadata._continue


def test_kubectl_chunked_get(cluster: Cluster, core, ns: str) -> None:  # type: ignore[no-untyped-def]
    for i in range(7):
        core.create_namespaced_config_map(ns, {"metadata": {"name": f"chunk{i}"}})
    out = cluster.kubectl("get", "configmaps", "-n", ns, "--chunk-size=3", "-o", "name").stdout.split()
    assert out == [f"configmap/chunk{i}" for i in range(7)] + ["configmap/kube-root-ca.crt"]


def test_watchlist_sends_initial_events_then_bookmark(core, ns: str) -> None:  # type: ignore[no-untyped-def]
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}})
    r = _raw(core, "GET", f"/api/v1/namespaces/{ns}/configmaps", [
        ("watch", "true"), ("sendInitialEvents", "true"), ("allowWatchBookmarks", "true"),
        ("resourceVersionMatch", "NotOlderThan"), ("timeoutSeconds", "1")])
    events = [json.loads(line) for line in r.data.decode().splitlines() if line]
    assert [(e["type"], e["object"]["metadata"].get("name")) for e in events] == [
        ("ADDED", "a"), ("ADDED", "kube-root-ca.crt"), ("BOOKMARK", None)]
    bm = events[-1]["object"]["metadata"]
    assert bm["annotations"] == {"k8s.io/initial-events-end": "true"}
    assert int(bm["resourceVersion"]) >= int(events[0]["object"]["metadata"]["resourceVersion"])


def test_watch_with_field_selector_turns_changes_into_added_and_deleted(core, ns: str) -> None:  # type: ignore[no-untyped-def]
    core.create_namespaced_config_map(ns, {"metadata": {"name": "sel", "labels": {"on": "no"}}})
    rv = core.list_namespaced_config_map(ns).metadata.resource_version
    core.patch_namespaced_config_map("sel", ns, {"metadata": {"labels": {"on": "yes"}}})
    core.patch_namespaced_config_map("sel", ns, {"metadata": {"labels": {"on": "no"}}})
    got = [(e["type"], e["object"].metadata.labels["on"]) for e in watch.Watch().stream(
        core.list_namespaced_config_map, ns, label_selector="on=yes", resource_version=rv, timeout_seconds=1)]
    assert got == [("ADDED", "yes"), ("DELETED", "no")]


def test_partial_object_metadata_list(core, ns: str) -> None:  # type: ignore[no-untyped-def]
    core.create_namespaced_config_map(ns, {"metadata": {"name": "m", "labels": {"x": "1"}}, "data": {"k": "v"}})
    r = _raw(core, "GET", f"/api/v1/namespaces/{ns}/configmaps",
             accept="application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json")
    doc = json.loads(r.data)
    assert doc["kind"] == "PartialObjectMetadataList"
    item = next(i for i in doc["items"] if i["metadata"]["name"] == "m")
    assert item == {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": item["metadata"]}
    assert item["metadata"]["labels"] == {"x": "1"}


def test_generate_name(core, ns: str) -> None:  # type: ignore[no-untyped-def]
    a = core.create_namespaced_config_map(ns, {"metadata": {"generateName": "gen-"}})
    b = core.create_namespaced_config_map(ns, {"metadata": {"generateName": "gen-"}})
    for cm in (a, b):
        assert cm.metadata.name.startswith("gen-") and len(cm.metadata.name) == 9
        assert cm.metadata.generate_name == "gen-"
    assert a.metadata.name != b.metadata.name


def test_finalizers_hold_deletion_until_removed(core, ns: str) -> None:  # type: ignore[no-untyped-def]
    core.create_namespaced_config_map(ns, {"metadata": {"name": "fin", "finalizers": ["example.com/hold"]}})
    core.delete_namespaced_config_map("fin", ns)
    held = core.read_namespaced_config_map("fin", ns)
    assert held.metadata.deletion_timestamp is not None
    assert held.metadata.finalizers == ["example.com/hold"]
    core.patch_namespaced_config_map("fin", ns, {"metadata": {"finalizers": None}})
    with pytest.raises(ApiException) as e:
        core.read_namespaced_config_map("fin", ns)
    assert e.value.status == 404


def test_dry_run_stores_nothing(cluster: Cluster, core, ns: str) -> None:  # type: ignore[no-untyped-def]
    out = core.create_namespaced_pod(ns, POD, dry_run="All")
    assert out.metadata.name == "p" and out.spec.restart_policy == "Always"
    assert core.list_namespaced_pod(ns).items == []
    out = cluster.kubectl("create", "deployment", "dry", "--image=nginx", "--dry-run=server", "-n", ns).stdout
    assert "deployment.apps/dry created (server dry run)" in out
    assert cluster.kubectl("get", "deploy", "-n", ns, "-o", "name").stdout == ""


def test_delete_collection(core, ns: str) -> None:  # type: ignore[no-untyped-def]
    for i in range(3):
        core.create_namespaced_config_map(ns, {"metadata": {"name": f"dc{i}", "labels": {"batch": "x"}}})
    core.delete_collection_namespaced_config_map(ns, label_selector="batch=x")
    names = [c.metadata.name for c in core.list_namespaced_config_map(ns).items]
    assert names == ["kube-root-ca.crt"]


def test_binding_sets_node_and_condition(core, ns: str) -> None:  # type: ignore[no-untyped-def]
    core.create_namespaced_pod(ns, POD)
    # the server answers a binding with a Status, as kube-apiserver does (the client's V1Binding model cannot
    # hold that, a known client quirk: read the raw response)
    r = core.create_namespaced_pod_binding("p", ns, {"metadata": {"name": "p"}, "target": {
        "apiVersion": "v1", "kind": "Node", "name": "n1"}}, _preload_content=False)
    assert r.status == 201 and json.loads(r.data)["status"] == "Success"
    pod = core.read_namespaced_pod("p", ns)
    assert pod.spec.node_name == "n1"
    assert [(c.type, c.status) for c in pod.status.conditions] == [("PodScheduled", "True")]
    with pytest.raises(ApiException) as e:
        core.create_namespaced_pod_binding("p", ns, {"metadata": {"name": "p"}, "target": {"name": "n2"}},
                                           _preload_content=False)
    assert e.value.status == 409 and "already assigned" in e.value.body


def test_eviction_deletes_unbound_pod(core, ns: str) -> None:  # type: ignore[no-untyped-def]
    core.create_namespaced_pod(ns, POD)
    core.create_namespaced_pod_eviction("p", ns, {"metadata": {"name": "p", "namespace": ns}})
    assert core.list_namespaced_pod(ns).items == []


def test_logs_of_a_pod_that_has_not_started(cluster: Cluster, core, ns: str) -> None:  # type: ignore[no-untyped-def]
    core.create_namespaced_pod(ns, POD)
    p = cluster.kubectl("logs", "p", "-n", ns, check=False)
    assert p.returncode != 0
    assert 'container "c" in pod "p" is waiting to start: ContainerCreating' in p.stderr


def test_serviceaccount_token_authenticates(cluster: Cluster, core, ns: str) -> None:  # type: ignore[no-untyped-def]
    tok = cluster.kubectl("create", "token", "default", "-n", ns).stdout.strip()
    cfg = client.Configuration()
    cfg.host = cluster.url
    cfg.ssl_ca_cert = str(cluster.kubeconfig.parent / "ca.crt")
    (cluster.kubeconfig.parent / "ca.crt").write_bytes(cluster.server.pki.ca_cert_pem)  # type: ignore[attr-defined]
    cfg.api_key = {"BearerToken": tok}
    cfg.api_key_prefix = {"BearerToken": "Bearer"}
    with client.ApiClient(cfg) as api:
        assert client.CoreV1Api(api).read_namespace(ns).metadata.name == ns
