"""/openapi/v3 documents: structure, caching, custom resources, and what real kubectl does with them."""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web

from kubelab.api.resources import ResourceRegistry, ResourceType, Subresource
from kubelab.apiserver.openapi import OpenAPIDocs

WIDGET_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A widget.",
    "properties": {
        "metadata": {"type": "object"},
        "spec": {"type": "object", "description": "Desired widget.",
                 "properties": {"size": {"type": "integer", "description": "How big the widget is."}}},
    },
}


def widget_type() -> ResourceType:
    return ResourceType("example.com", "v1", "Widget", "widgets", True, ("wd",), custom=True,
                        subresources=(Subresource("status", "Widget", ("get", "patch", "update")),))


def doc(docs: OpenAPIDocs, path: str) -> dict[str, Any]:
    body = docs.group_version(path)
    assert body is not None, path
    out: dict[str, Any] = orjson.loads(body)
    return out


def refs(node: Any) -> set[str]:
    out: set[str] = set()
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                out.add(v.rsplit("/", 1)[-1])
            else:
                out |= refs(v)
    elif isinstance(node, list):
        for v in node:
            out |= refs(v)
    return out


# -- documents -----------------------------------------------------------------------------------------------


def test_root_lists_every_group_version_with_its_hash() -> None:
    docs = OpenAPIDocs(ResourceRegistry())
    root = orjson.loads(docs.root())
    paths = root["paths"]
    assert list(paths)[:2] == ["api/v1", "apis/apps/v1"]
    for gv in ("apis/autoscaling/v2", "apis/autoscaling/v1", "apis/apiextensions.k8s.io/v1",
               "apis/rbac.authorization.k8s.io/v1"):
        assert gv in paths
    for gv, entry in paths.items():
        body = docs.group_version(gv)
        assert body is not None
        h = hashlib.sha512(body).hexdigest().upper()
        assert entry == {"serverRelativeURL": f"/openapi/v3/{gv}?hash={h}"}
        assert docs.hash(gv) == h


def test_group_version_lookup() -> None:
    docs = OpenAPIDocs(ResourceRegistry())
    assert docs.group_version("/openapi/v3/api/v1?hash=ABC") == docs.group_version("api/v1")
    assert docs.group_version("openapi/v3/apis/apps/v1") is docs.group_version("apis/apps/v1")  # cached bytes
    for missing in ("api/v2", "apis/apps/v9", "apis/nope/v1", "apis/apps", "", "api"):
        assert docs.group_version(missing) is None
    assert docs.hash("apis/nope/v1") is None


def test_document_header_and_components_are_closed() -> None:
    d = doc(OpenAPIDocs(ResourceRegistry()), "api/v1")
    assert d["openapi"] == "3.0.0"
    assert d["info"] == {"title": "Kubernetes", "version": "v1.37.0"}
    schemas = d["components"]["schemas"]
    assert "io.k8s.api.core.v1.Pod" in schemas and "io.k8s.api.core.v1.PodList" in schemas
    assert "io.k8s.apimachinery.pkg.apis.meta.v1.Patch" in schemas
    assert refs(d) - set(schemas) == set()
    assert not [n for n in schemas if n.startswith("io.k8s.api.apps.")]


def test_paths_and_operations() -> None:
    d = doc(OpenAPIDocs(ResourceRegistry()), "api/v1")
    paths = d["paths"]
    pod_gvk = {"group": "", "kind": "Pod", "version": "v1"}
    coll = paths["/api/v1/namespaces/{namespace}/pods"]
    item = paths["/api/v1/namespaces/{namespace}/pods/{name}"]
    assert set(coll) == {"get", "post", "delete", "parameters"}
    assert set(item) == {"get", "put", "delete", "patch", "parameters"}
    assert coll["get"]["x-kubernetes-action"] == "list"
    assert coll["get"]["operationId"] == "listCoreV1NamespacedPod"
    assert item["patch"]["operationId"] == "patchCoreV1NamespacedPod"
    assert paths["/api/v1/pods"]["get"]["operationId"] == "listCoreV1PodForAllNamespaces"
    for op in (coll["post"], item["put"], item["patch"]):
        assert op["x-kubernetes-group-version-kind"] == pod_gvk
        names = {p["name"] for p in op["parameters"] if p["in"] == "query"}
        assert {"fieldValidation", "dryRun", "fieldManager"} <= names
    assert "force" in {p["name"] for p in item["patch"]["parameters"]}
    assert set(item["patch"]["requestBody"]["content"]) >= {
        "application/apply-patch+yaml", "application/merge-patch+json",
        "application/strategic-merge-patch+json", "application/json-patch+json"}
    assert item["get"]["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/io.k8s.api.core.v1.Pod"}
    status = paths["/api/v1/namespaces/{namespace}/pods/{name}/status"]
    assert set(status) == {"get", "put", "patch", "parameters"}
    assert status["patch"]["x-kubernetes-group-version-kind"] == pod_gvk
    assert "fieldValidation" in {p["name"] for p in status["patch"]["parameters"]}
    log = paths["/api/v1/namespaces/{namespace}/pods/{name}/log"]["get"]
    assert "text/plain" in log["responses"]["200"]["content"]
    exec_ = paths["/api/v1/namespaces/{namespace}/pods/{name}/exec"]
    assert exec_["get"]["x-kubernetes-action"] == "connect"
    assert exec_["post"]["x-kubernetes-group-version-kind"]["kind"] == "PodExecOptions"
    eviction = paths["/api/v1/namespaces/{namespace}/pods/{name}/eviction"]["post"]
    assert eviction["x-kubernetes-group-version-kind"] == {
        "group": "policy", "kind": "Eviction", "version": "v1"}
    assert "/api/v1/nodes/{name}" in paths and "/api/v1/namespaces/{namespace}/nodes" not in paths
    # Binding can only be created; Namespace has no deletecollection
    assert set(paths["/api/v1/namespaces/{namespace}/bindings"]) == {"post", "parameters"}
    assert "delete" not in paths["/api/v1/namespaces"]


def test_scale_subresource_speaks_autoscaling() -> None:
    d = doc(OpenAPIDocs(ResourceRegistry()), "apis/apps/v1")
    scale = d["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]
    assert scale["patch"]["x-kubernetes-group-version-kind"] == {
        "group": "autoscaling", "kind": "Scale", "version": "v1"}
    assert scale["patch"]["operationId"] == "patchAppsV1NamespacedDeploymentScale"
    assert "io.k8s.api.autoscaling.v1.Scale" in d["components"]["schemas"]
    deploy = d["components"]["schemas"]["io.k8s.api.apps.v1.Deployment"]
    assert deploy["x-kubernetes-group-version-kind"] == [
        {"group": "apps", "kind": "Deployment", "version": "v1"}]


def test_operation_ids_for_dotted_groups() -> None:
    d = doc(OpenAPIDocs(ResourceRegistry()), "apis/rbac.authorization.k8s.io/v1")
    op = d["paths"]["/apis/rbac.authorization.k8s.io/v1/clusterroles/{name}"]["patch"]
    assert op["operationId"] == "patchRbacAuthorizationV1ClusterRole"
    assert op["tags"] == ["rbacAuthorization_v1"]


def test_custom_resource_schema_and_invalidation() -> None:
    reg = ResourceRegistry()
    docs = OpenAPIDocs(reg)
    before = docs.root()
    assert b"apis/example.com/v1" not in before
    reg.add(widget_type())
    assert b'"apis/example.com/v1"' in docs.root()
    d = doc(docs, "apis/example.com/v1")
    schemas = d["components"]["schemas"]
    plain = schemas["com.example.v1.Widget"]
    assert plain["x-kubernetes-group-version-kind"] == [
        {"group": "example.com", "kind": "Widget", "version": "v1"}]
    assert plain["x-kubernetes-preserve-unknown-fields"] is True
    assert schemas["com.example.v1.WidgetList"]["x-kubernetes-group-version-kind"][0]["kind"] == "WidgetList"
    assert refs(d) - set(schemas) == set()
    patch = d["paths"]["/apis/example.com/v1/namespaces/{namespace}/widgets/{name}"]["patch"]
    assert "fieldValidation" in {p["name"] for p in patch["parameters"]}
    assert "/apis/example.com/v1/namespaces/{namespace}/widgets/{name}/status" in d["paths"]

    old_hash = docs.hash("apis/example.com/v1")
    given = dict(WIDGET_SCHEMA)
    docs.set_custom_schema("example.com", "v1", "Widget", given)
    given["description"] = "mutated afterwards"  # the docs keep their own copy
    widget = doc(docs, "apis/example.com/v1")["components"]["schemas"]["com.example.v1.Widget"]
    assert widget["description"] == "A widget."
    assert widget["properties"]["spec"]["properties"]["size"]["type"] == "integer"
    assert widget["properties"]["metadata"]["allOf"] == [
        {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}]
    assert docs.hash("apis/example.com/v1") != old_hash
    assert f"hash={docs.hash('apis/example.com/v1')}".encode() in docs.root()
    assert WIDGET_SCHEMA["properties"]["metadata"] == {"type": "object"}  # caller's dict untouched

    reg.remove_group_resource("example.com", "widgets")
    assert docs.group_version("apis/example.com/v1") is None
    assert b"example.com" not in docs.root()


# -- real kubectl -------------------------------------------------------------------------------------------


def _kubectl() -> str | None:
    here = Path(sys.executable).parent / "kubectl"
    return str(here) if here.exists() else shutil.which("kubectl")


class FakeAPIServer:
    """Throwaway plain-http server: legacy discovery, /openapi/v3 from OpenAPIDocs, POST echo, else 404."""

    def __init__(self, registry: ResourceRegistry, docs: OpenAPIDocs) -> None:
        self.registry, self.docs = registry, docs
        self.requests: list[tuple[str, str]] = []
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()
        assert self._ready.wait(10)

    def stop(self) -> None:
        async def shutdown() -> None:
            if self._runner is not None:
                await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())
        self._loop.run_forever()
        self._loop.close()

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self._ready.set()

    def _resources(self, group: str, version: str) -> dict[str, Any]:
        res: list[dict[str, Any]] = []
        for t in self.registry.in_group_version(group, version):
            res.append({"name": t.plural, "singularName": t.singular, "namespaced": t.namespaced,
                        "kind": t.kind, "verbs": list(t.verbs), "shortNames": list(t.short_names),
                        "categories": list(t.categories)})
            for s in t.subresources:
                e: dict[str, Any] = {"name": f"{t.plural}/{s.name}", "singularName": "",
                                     "namespaced": t.namespaced, "kind": s.kind, "verbs": list(s.verbs)}
                if s.group:
                    e["group"], e["version"] = s.group, s.version
                res.append(e)
        return {"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": f"{group}/{version}" if group else version, "resources": res}

    async def _handle(self, req: web.Request) -> web.Response:
        self.requests.append((req.method, str(req.rel_url)))
        path = req.path.rstrip("/")

        def js(obj: Any, status: int = 200) -> web.Response:
            return web.Response(body=orjson.dumps(obj), status=status, content_type="application/json")

        if path == "/api":
            return js({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]})
        if path == "/apis":
            groups = []
            for g, versions in self.registry.groups():
                if g:
                    gvs = [{"groupVersion": f"{g}/{v}", "version": v} for v in versions]
                    groups.append({"name": g, "versions": gvs, "preferredVersion": gvs[0]})
            return js({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
        parts = path.strip("/").split("/")
        if path == "/api/v1" or (len(parts) == 3 and parts[0] == "apis"
                                 and self.registry.in_group_version(parts[1], parts[2])):
            return js(self._resources("" if parts[0] == "api" else parts[1], parts[-1]))
        if path == "/openapi/v3":
            return web.Response(body=self.docs.root(), content_type="application/json")
        if path.startswith("/openapi/v3/"):
            body = self.docs.group_version(path)
            if body is not None:
                return web.Response(body=body, content_type="application/json")
        if req.method == "POST":
            return web.Response(body=await req.read(), status=201, content_type="application/json")
        return js({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                   "message": "not found", "reason": "NotFound", "code": 404}, 404)


@pytest.fixture(scope="module")
def server() -> Iterator[FakeAPIServer]:
    if _kubectl() is None:
        pytest.skip("kubectl not installed")
    reg = ResourceRegistry()
    reg.add(widget_type())
    docs = OpenAPIDocs(reg)
    docs.set_custom_schema("example.com", "v1", "Widget", WIDGET_SCHEMA)
    srv = FakeAPIServer(reg, docs)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def kube_env(server: FakeAPIServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("kubehome")
    cfg = home / "kubeconfig"
    cfg.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- name: t\n  cluster: {{server: 'http://127.0.0.1:{server.port}'}}\n"
        "contexts:\n- name: t\n  context: {cluster: t, user: u}\n"
        "current-context: t\nusers:\n- name: u\n  user: {}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
    env.update({"KUBECONFIG": str(cfg), "HOME": str(home)})
    return env


def kubectl(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    exe = _kubectl()
    assert exe is not None
    return subprocess.run([exe, *args], env=env, input=stdin, capture_output=True, text=True, timeout=60)


def test_kubectl_explain_pod(kube_env: dict[str, str]) -> None:
    r = kubectl(kube_env, "explain", "pod")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert out.startswith("KIND:       Pod\nVERSION:    v1\n")
    assert "DESCRIPTION:\n    Pod is a collection of containers that can run on a host." in out
    assert "FIELDS:\n  apiVersion\t<string>\n" in out
    for line in ("  metadata\t<ObjectMeta>", "  spec\t<PodSpec>", "  status\t<PodStatus>"):
        assert line in out


def test_kubectl_explain_pod_containers(kube_env: dict[str, str]) -> None:
    r = kubectl(kube_env, "explain", "pods.spec.containers")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "FIELD: containers <[]Container>" in out
    assert "List of containers belonging to the pod." in out
    assert "  name\t<string> -required-\n" in out
    assert "  imagePullPolicy\t<string>\n    Image pull policy." in out
    assert "  ports\t<[]ContainerPort>\n" in out
    assert "  resources\t<ResourceRequirements>\n" in out


def test_kubectl_explain_deployment_paths(kube_env: dict[str, str]) -> None:
    r = kubectl(kube_env, "explain", "deployment.spec.template.spec.containers")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("GROUP:      apps\nKIND:       Deployment\nVERSION:    v1\n")
    assert "FIELD: containers <[]Container>" in r.stdout
    assert "  image\t<string>\n    Container image name." in r.stdout

    r = kubectl(kube_env, "explain", "deployment.spec.replicas")
    assert r.returncode == 0, r.stderr
    assert "FIELD: replicas <integer>" in r.stdout
    assert "DESCRIPTION:\n    Number of desired pods." in r.stdout

    r = kubectl(kube_env, "explain", "deployment.spec.strategy.rollingUpdate.maxSurge")
    assert r.returncode == 0, r.stderr
    assert "FIELD: maxSurge <IntOrString>" in r.stdout

    r = kubectl(kube_env, "explain", "pods.spec.containers.resources.limits")
    assert r.returncode == 0, r.stderr
    assert "FIELD: limits <map[string]Quantity>" in r.stdout

    r = kubectl(kube_env, "explain", "deployment.spec.nosuchfield")
    assert r.returncode != 0
    assert 'field "nosuchfield" does not exist' in r.stderr


def test_kubectl_explain_custom_resource(kube_env: dict[str, str]) -> None:
    r = kubectl(kube_env, "explain", "widgets.spec.size")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("GROUP:      example.com\nKIND:       Widget\nVERSION:    v1\n")
    assert "FIELD: size <integer>" in r.stdout and "How big the widget is." in r.stdout


DEPLOY_YAML = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx}]
"""


def test_kubectl_apply_sends_strict_field_validation(server: FakeAPIServer, kube_env: dict[str, str]) -> None:
    server.requests.clear()
    r = kubectl(kube_env, "apply", "-f", "-", "--dry-run=server", stdin=DEPLOY_YAML)
    assert r.returncode == 0, r.stderr
    assert "deployment.apps/web created (server dry run)" in r.stdout
    posts = [url for method, url in server.requests if method == "POST"]
    assert len(posts) == 1
    assert posts[0].startswith("/apis/apps/v1/namespaces/default/deployments?")
    assert "fieldValidation=Strict" in posts[0] and "dryRun=All" in posts[0]
    gets = [url for method, url in server.requests if method == "GET"]
    assert any(u.startswith("/openapi/v3/apis/apps/v1?hash=") for u in gets)


def test_kubectl_create_custom_resource_sends_strict(server: FakeAPIServer, kube_env: dict[str, str]) -> None:
    server.requests.clear()
    widget = ("apiVersion: example.com/v1\nkind: Widget\n"
              "metadata: {name: w, namespace: default}\nspec: {size: 2}\n")
    r = kubectl(kube_env, "create", "-f", "-", stdin=widget)
    assert r.returncode == 0, r.stderr
    posts = [url for method, url in server.requests if method == "POST"]
    assert posts and "fieldValidation=Strict" in posts[0]
