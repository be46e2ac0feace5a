"""Bad input gets what a real API server gives: a Status with the right code, nothing stored, still serving."""

from __future__ import annotations

import json
import ssl
import tempfile
from pathlib import Path

import pytest
import urllib3

from tests.conftest import Cluster


class Raw:
    """Plain HTTPS requests with the admin client certificate (or none), to send what clients never would."""

    def __init__(self, cluster: Cluster, authenticated: bool = True) -> None:
        srv = cluster.server
        self.base = cluster.url
        d = Path(tempfile.mkdtemp())
        (d / "ca.crt").write_bytes(srv.pki.ca_cert_pem)  # type: ignore[attr-defined]
        kw: dict[str, str] = {"ca_certs": str(d / "ca.crt")}
        if authenticated:
            (d / "tls.crt").write_bytes(srv.pki.admin_cert_pem)  # type: ignore[attr-defined]
            (d / "tls.key").write_bytes(srv.pki.admin_key_pem)  # type: ignore[attr-defined]
            kw.update(cert_file=str(d / "tls.crt"), key_file=str(d / "tls.key"))
        self.http = urllib3.PoolManager(cert_reqs=ssl.CERT_REQUIRED, **kw)

    def __call__(self, method: str, path: str, body: bytes | str | None = None,
                 content_type: str = "application/json", headers: dict[str, str] | None = None
                 ) -> tuple[int, dict]:  # type: ignore[type-arg]
        h = {"Content-Type": content_type, **(headers or {})}
        r = self.http.request(method, self.base + path, body=body, headers=h, retries=False)
        try:
            data = json.loads(r.data)
        except ValueError:
            data = {"raw": r.data.decode(errors="replace")}
        return r.status, data


@pytest.fixture
def raw(cluster: Cluster) -> Raw:
    return Raw(cluster)


def _count(raw: Raw, path: str) -> int:
    status, data = raw("GET", path)
    assert status == 200
    return len(data["items"])


def _assert_status(status: int, data: dict, code: int, reason: str, *needles: str) -> None:  # type: ignore[type-arg]
    assert status == code, data
    assert data["kind"] == "Status" and data["status"] == "Failure"
    assert data["code"] == code and data["reason"] == reason, data
    for n in needles:
        assert n in data["message"], data["message"]


def _still_serving(raw: Raw) -> None:
    status, data = raw("GET", "/api/v1/namespaces/default")
    assert status == 200 and data["metadata"]["name"] == "default"


def test_malformed_json(raw: Raw, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps"
    status, data = raw("POST", path, b'{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {')
    _assert_status(status, data, 400, "BadRequest", "json")
    assert _count(raw, path) == 1  # kube-root-ca.crt only
    _still_serving(raw)


def test_malformed_yaml(raw: Raw, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps"
    status, data = raw("POST", path, "apiVersion: v1\nkind: ConfigMap\nmetadata: [name: x\n", "application/yaml")
    _assert_status(status, data, 400, "BadRequest", "yaml")
    assert _count(raw, path) == 1
    _still_serving(raw)


def test_unknown_resource_and_kind(raw: Raw, ns: str) -> None:
    status, data = raw("GET", f"/api/v1/namespaces/{ns}/gizmos")
    _assert_status(status, data, 404, "NotFound", "the server could not find the requested resource")
    status, data = raw("POST", f"/api/v1/namespaces/{ns}/configmaps",
                       json.dumps({"apiVersion": "v1", "kind": "Gizmo", "metadata": {"name": "g"}}))
    _assert_status(status, data, 400, "BadRequest", "Gizmo")
    _still_serving(raw)


def test_invalid_name(raw: Raw, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps"
    status, data = raw("POST", path, json.dumps({"metadata": {"name": "Bad_Name"}}))
    _assert_status(status, data, 422, "Invalid", 'ConfigMap "Bad_Name" is invalid', "metadata.name",
                   "RFC 1123 subdomain")
    assert data["details"]["causes"][0]["field"] == "metadata.name"
    assert _count(raw, path) == 1


def test_missing_required_field(raw: Raw, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/pods"
    status, data = raw("POST", path, json.dumps({"metadata": {"name": "p"}, "spec": {"containers": []}}))
    _assert_status(status, data, 422, "Invalid", 'Pod "p" is invalid', "spec.containers: Required value")
    status, data = raw("POST", path, json.dumps({"metadata": {"name": "p"},
                                                 "spec": {"containers": [{"name": "c"}]}}))
    _assert_status(status, data, 422, "Invalid", "spec.containers[0].image: Required value")
    assert _count(raw, path) == 0


def test_unknown_field_under_strict(raw: Raw, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps?fieldValidation=Strict"
    status, data = raw("POST", path, json.dumps({"metadata": {"name": "s"}, "dta": {"a": "b"}}))
    _assert_status(status, data, 400, "BadRequest", 'strict decoding error: unknown field "dta"')
    assert _count(raw, f"/api/v1/namespaces/{ns}/configmaps") == 1
    # without Strict the field is dropped and the client warned, as a real server does
    r = raw.http.request("POST", raw.base + f"/api/v1/namespaces/{ns}/configmaps",
                         body=json.dumps({"metadata": {"name": "w"}, "dta": {"a": "b"}}),
                         headers={"Content-Type": "application/json"})
    assert r.status == 201 and 'unknown field \\"dta\\"' in r.headers.get("Warning", "")
    assert "dta" not in json.loads(r.data)


def test_change_to_immutable_field(raw: Raw, ns: str) -> None:
    path = f"/apis/apps/v1/namespaces/{ns}/deployments"
    dep = {"metadata": {"name": "d"}, "spec": {"selector": {"matchLabels": {"app": "d"}}, "template": {
        "metadata": {"labels": {"app": "d"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}
    status, created = raw("POST", path, json.dumps(dep))
    assert status == 201
    status, data = raw("PATCH", path + "/d", json.dumps({"spec": {"selector": {"matchLabels": {"app": "e"}},
                                                                  "template": {"metadata": {"labels": {"app": "e"}}}}}),
                       "application/merge-patch+json")
    _assert_status(status, data, 422, "Invalid", "spec.selector", "field is immutable")
    status, now = raw("GET", path + "/d")
    assert now["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


def test_stale_resource_version(raw: Raw, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps"
    _, cm = raw("POST", path, json.dumps({"metadata": {"name": "c"}, "data": {"v": "1"}}))
    raw("PATCH", path + "/c", json.dumps({"data": {"v": "2"}}), "application/merge-patch+json")
    cm["data"] = {"v": "3"}
    status, data = raw("PUT", path + "/c", json.dumps(cm))
    _assert_status(status, data, 409, "Conflict", "the object has been modified")
    assert raw("GET", path + "/c")[1]["data"] == {"v": "2"}


def test_unsupported_content_type(raw: Raw, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps"
    status, data = raw("POST", path, b"name=x", "application/x-www-form-urlencoded")
    _assert_status(status, data, 415, "UnsupportedMediaType", "application/x-www-form-urlencoded")
    status, data = raw("PATCH", path + "/kube-root-ca.crt", b"{}", "text/plain")
    _assert_status(status, data, 415, "UnsupportedMediaType")
    _still_serving(raw)


def test_twenty_megabyte_body(raw: Raw, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps"
    big = json.dumps({"metadata": {"name": "big"}, "data": {"a": "x" * (20 * 1024 * 1024)}})
    status, data = raw("POST", path, big)
    _assert_status(status, data, 413, "RequestEntityTooLarge", "limit is 3145728")
    assert _count(raw, path) == 1
    _still_serving(raw)


def test_unauthenticated_request(cluster: Cluster) -> None:
    anon = Raw(cluster, authenticated=False)
    status, data = anon("GET", "/api/v1/namespaces")
    _assert_status(status, data, 401, "Unauthorized", "Unauthorized")
    status, data = anon("GET", "/api/v1/namespaces", headers={"Authorization": "Bearer not-a-token"})
    _assert_status(status, data, 401, "Unauthorized")
    status, data = anon("GET", "/version")
    assert status == 401


def test_invalid_service_does_not_leak_its_cluster_ip(raw: Raw, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/services"
    bad = {"metadata": {"name": "bad"}, "spec": {"clusterIP": "10.96.77.77", "ports": [{"port": 70000}]}}
    status, data = raw("POST", path, json.dumps(bad))
    _assert_status(status, data, 422, "Invalid", "spec.ports[0].port")
    good = {"metadata": {"name": "good"}, "spec": {"clusterIP": "10.96.77.77", "ports": [{"port": 80}]}}
    status, data = raw("POST", path, json.dumps(good))
    assert status == 201, data
    assert data["spec"]["clusterIP"] == "10.96.77.77"
