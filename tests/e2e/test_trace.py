"""The trace stream: a client's write shows up as the API server's step and the store's revision."""

from __future__ import annotations

import json

from tests.conftest import Cluster
from tests.e2e.test_bad_input import Raw


def test_trace_reports_request_and_store_write(cluster: Cluster, ns: str) -> None:
    raw = Raw(cluster)
    _, before = raw("GET", "/kubelab/v1/trace")
    since = before["lastSeq"]
    cluster.kubectl("create", "configmap", "traced", "--from-literal=a=b", "-n", ns)
    _, after = raw("GET", f"/kubelab/v1/trace?since={since}")
    steps = [(e["component"], e["action"], e["name"]) for e in after["items"] if e["name"] == "traced"]
    assert ("etcd", "put", "traced") in steps and ("apiserver", "post", "traced") in steps
    put = next(e for e in after["items"] if e["component"] == "etcd" and e["name"] == "traced")
    got = json.loads(cluster.kubectl("get", "configmap", "traced", "-n", ns, "-o", "json").stdout)
    assert str(put["revision"]) == got["metadata"]["resourceVersion"]
    assert put["message"].startswith("etcd put /registry/core/configmaps/")
    status, anon = Raw(cluster, authenticated=False)("GET", "/kubelab/v1/trace")
    assert status == 401
