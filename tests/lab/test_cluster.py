"""The ``Cluster`` facade against a real embedded cluster (kind's three-node example), judged by real kubectl:
create_cluster, apply (YAML text and dicts), wait, get as DataFrames, describe, logs, delete, reuse by name,
and two clusters side by side."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import kubelab
from kubelab.lab import Cluster, KubectlError
from kubelab.lab.frames import table_to_frame
from tests import helpers
from tests.helpers import THREE_NODES

WEB_YAML = """\
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
"""


def deployment(name: str, replicas: int = 1) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}}}


def wait_for(fn: Callable[[], Any], timeout: float = 30, interval: float = 0.2) -> Any:
    return helpers.wait_for(fn, timeout, interval)


@pytest.fixture(scope="module")
def kubeconfig(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("lab") / "kubeconfig"


@pytest.fixture(scope="module")
def lab(kubeconfig: Path) -> Iterator[Cluster]:
    cfg = kubeconfig.parent / "clusters.yml"
    cfg.write_text(THREE_NODES)
    c = kubelab.create_cluster(name="labtest", config=str(cfg), kubeconfig=kubeconfig)
    try:
        yield c
    finally:
        c.delete_cluster()


def kubectl_json(c: Cluster, *args: str) -> Any:
    return json.loads(c.kubectl([*args, "-o", "json"]))


def test_create_cluster_writes_a_private_context(lab: Cluster, kubeconfig: Path) -> None:
    assert (lab.name, lab.backend, lab.context) == ("labtest", "embedded", "kubelab-labtest")
    assert lab.kubeconfig == kubeconfig and kubeconfig.stat().st_mode & 0o777 == 0o600
    assert lab.url == lab.server.url and lab.url.startswith("https://127.0.0.1:")
    assert "kubelab-labtest" in lab.kubectl("config get-contexts -o name")
    html = lab._repr_html_()
    assert "labtest-worker2" in html and "embedded" in html and lab.url in html


def test_get_nodes_has_three_rows(lab: Cluster) -> None:
    wait_for(lambda: (df := lab.get("nodes")).shape[0] == 3 and bool((df["STATUS"] == "Ready").all()))
    nodes = lab.get("nodes")
    assert list(nodes["NAME"]) == ["labtest-control-plane", "labtest-worker", "labtest-worker2"]
    assert list(nodes.columns) == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert "INTERNAL-IP" in lab.get("nodes", wide=True).columns


def test_apply_yaml_text_then_wait_and_get_pods(lab: Cluster) -> None:
    applied = lab.apply(WEB_YAML)
    assert [(o["kind"], o["metadata"]["name"]) for o in applied] == [("Namespace", "shop"), ("Deployment", "web")]
    assert applied[1]["metadata"]["managedFields"][0]["manager"] == "kubelab"
    dep = lab.wait("deployment/web", condition="Available", timeout=30, namespace="shop")
    assert dep["status"]["availableReplicas"] == 2
    wait_for(lambda: all(p["status"]["phase"] == "Running"
                         for p in kubectl_json(lab, "get", "pods", "-n", "shop")["items"]))

    df = lab.get("pods", namespace="shop")
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    truth = kubectl_json(lab, "get", "pods", "-n", "shop")["items"]
    assert sorted(df["NAME"]) == sorted(p["metadata"]["name"] for p in truth)
    assert set(df["STATUS"]) == {p["status"]["phase"] for p in truth} == {"Running"}
    assert set(df["READY"]) == {"1/1"}
    assert list(lab.get("pods", namespace="shop", selector="app=nope").columns) == list(df.columns)
    assert len(lab.get("po", namespace="shop", selector="app=web")) == 2

    one = lab.get("deployment", "web", namespace="shop")
    assert list(one["NAME"]) == ["web"] and list(one["READY"]) == ["2/2"]


def test_apply_is_idempotent_and_takes_a_dict(lab: Cluster) -> None:
    first = lab.apply(deployment("api"))
    again = lab.apply([deployment("api", replicas=2)])
    assert first[0]["metadata"]["uid"] == again[0]["metadata"]["uid"]
    lab.wait("deployment/api", timeout=30)
    truth = kubectl_json(lab, "get", "deployment", "api")
    assert truth["spec"]["replicas"] == 2 and truth["metadata"]["namespace"] == "default"


def test_apply_a_file(lab: Cluster, tmp_path: Path) -> None:
    path = tmp_path / "cm.yaml"
    path.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: '1'\n")
    assert lab.apply(path)[0]["data"] == {"a": "1"}
    assert kubectl_json(lab, "get", "configmap", "settings")["data"] == {"a": "1"}


def test_all_namespaces_adds_namespace_first(lab: Cluster) -> None:
    df = lab.get("pods", all_namespaces=True)
    assert list(df.columns) == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert {"kube-system", "shop"} <= set(df["NAMESPACE"])


def test_describe_contains_events(lab: Cluster) -> None:
    out = lab.describe("deployment", "web", namespace="shop")
    assert "Name:" in out and "web" in out and "Events:" in out and "ScalingReplicaSet" in out


def test_logs_of_a_busybox_pod(lab: Cluster) -> None:
    lab.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "hello"},
               "spec": {"restartPolicy": "Never",
                        "containers": [{"name": "c", "image": "busybox", "command": ["echo", "hello"]}]}})
    wait_for(lambda: kubectl_json(lab, "get", "pod", "hello")["status"]["phase"] == "Succeeded")
    assert lab.logs("hello") == "hello\n"
    assert lab.logs("hello", container="c", tail=1) == "hello\n"


def test_wait_times_out_with_the_last_state(lab: Cluster) -> None:
    with pytest.raises(TimeoutError, match="missing"):
        lab.wait("deployment/missing", timeout=0.3)


def test_delete_by_name_and_by_selector(lab: Cluster) -> None:
    lab.apply([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"x{i}", "labels": {"k": "v"}}}
               for i in range(3)])
    assert lab.delete("cm", "x0") == ["x0"]
    assert sorted(lab.delete("configmaps", selector="k=v")) == ["x1", "x2"]
    names = [i["metadata"]["name"] for i in kubectl_json(lab, "get", "configmaps")["items"]]
    assert not any(n.startswith("x") for n in names)


def test_kubectl_runs_the_real_binary_and_raises_with_stderr(lab: Cluster) -> None:
    assert "labtest-worker" in lab.kubectl("get nodes -o name")
    with pytest.raises(KubectlError, match="NotFound|not found") as info:
        lab.kubectl(["get", "pod", "does-not-exist"])
    assert info.value.returncode != 0 and info.value.stderr
    assert lab.kubectl("get pod does-not-exist", check=False) == ""


def test_stop_node_makes_it_not_ready(lab: Cluster) -> None:
    lab.stop_node("labtest-worker2")
    try:
        wait_for(lambda: lab.get("node", "labtest-worker2")["STATUS"][0] != "Ready", timeout=30)
    finally:
        lab.start_node("labtest-worker2")
    wait_for(lambda: lab.get("node", "labtest-worker2")["STATUS"][0] == "Ready", timeout=30)


def test_widgets(lab: Cluster) -> None:
    try:
        import kubelab.notebook.widgets  # noqa: F401
    except ImportError:
        with pytest.raises(NotImplementedError, match="widgets"):
            lab.flow()
        return
    nodes, pods = lab._nodes_and_pods()
    assert len(nodes) == 3 and pods
    running = kubectl_json(lab, "get", "pods", "-n", "shop")["items"][0]["metadata"]["name"]
    frame = lab.explain_scheduling(f"pod/{running}", namespace="shop")
    assert isinstance(frame, pd.DataFrame) and len(frame) >= 1


def test_same_name_reuses_the_cluster(lab: Cluster, kubeconfig: Path) -> None:
    cfg = kubeconfig.parent / "clusters.yml"
    again = kubelab.create_cluster(name="labtest", config=str(cfg), kubeconfig=kubeconfig)
    assert again is lab and again.server is lab.server


def test_two_clusters_at_once(lab: Cluster, kubeconfig: Path) -> None:
    other = kubelab.create_cluster(name="second", kubeconfig=kubeconfig)
    try:
        assert other.url != lab.url and other.context == "kubelab-second"
        wait_for(lambda: len(other.get("nodes")) == 1)
        assert list(other.get("nodes")["NAME"]) == ["second-control-plane"]
        assert len(lab.get("nodes")) == 3
        other.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "only-here"}})
        assert lab.kubectl("get configmap only-here", check=False) == ""
        # a changed config replaces the running cluster with a fresh one
        fresh = kubelab.create_cluster(name="second", config=THREE_NODES, kubeconfig=kubeconfig)
        assert fresh is not other and fresh.server is not other.server
        other = fresh
        assert "only-here" not in other.kubectl("get configmaps -o name")
    finally:
        other.delete_cluster()
    assert "kubelab-second" not in lab.kubectl("config get-contexts -o name")
    assert "kubelab-labtest" in lab.kubectl("config get-contexts -o name")


def test_connect_to_an_existing_context(lab: Cluster, kubeconfig: Path) -> None:
    c = kubelab.connect(context="kubelab-labtest", kubeconfig=kubeconfig)
    assert c.backend == "kubeconfig" and c.url == lab.url
    assert len(c.get("nodes")) == 3
    with pytest.raises(ValueError, match="not found"):
        kubelab.connect(context="nope", kubeconfig=kubeconfig)


def test_table_to_frame_hides_wide_columns() -> None:
    table = {"columnDefinitions": [{"name": "Name", "priority": 0}, {"name": "Node", "priority": 1}],
             "rows": [{"cells": ["a", "n1"], "object": {"metadata": {"namespace": "ns"}}}]}
    assert list(table_to_frame(table).columns) == ["NAME"]
    df = table_to_frame(table, wide=True, namespace_column=True)
    assert df.values.tolist() == [["ns", "a", "n1"]]
