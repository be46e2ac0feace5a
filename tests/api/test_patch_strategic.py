"""Strategic merge patch: hand-written cases from the upstream semantics, each also checked against kubectl's own
implementation (``kubectl patch --local``, Go struct tags compiled into kubectl), a sweep of the merge facts of
every list reachable from the built-in kinds, and the ``kubectl apply`` re-apply of a Deployment with the real
3-way patch kubectl sends (captured from a throwaway server)."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kubelab.api.errors import ApiError
from kubelab.api.patch import STRATEGIC_MERGE_PATCH, apply_patch
from kubelab.api.patch.facts import LIST_FACTS
from kubelab.api.patch.schema import struct_fields
from kubelab.api.resources import BUILTIN, ResourceType

KUBECTL = shutil.which("kubectl", path=str(Path(__file__).resolve().parents[2] / ".venv" / "bin")) or shutil.which(
    "kubectl"
)
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl not installed")
NOW = "2026-01-02T03:04:05Z"


def rt_of(kind: str) -> ResourceType:
    return next(r for r in BUILTIN if r.kind == kind and r.preferred)


def smp(obj: dict[str, Any], patch: Any, kind: str | None = None) -> dict[str, Any]:
    rt = rt_of(kind or obj["kind"])
    body = patch if isinstance(patch, bytes) else json.dumps(patch).encode()
    return apply_patch(STRATEGIC_MERGE_PATCH, obj, body, rt, field_manager=None, force=False, now_iso=NOW)


def kubectl_env(home: str) -> dict[str, str]:
    return {"HOME": home, "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "KUBECONFIG": os.devnull}


def kubectl_patch(obj: dict[str, Any], patch: Any, ptype: str = "strategic") -> tuple[int, Any, str]:
    """kubectl patch --local: (returncode, result object or None, stderr)."""
    assert KUBECTL
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "obj.json"
        f.write_text(json.dumps(obj))
        r = subprocess.run(
            [KUBECTL, "patch", "--local", "-f", str(f), "--type", ptype, "-p", json.dumps(patch), "-o", "json"],
            capture_output=True, text=True, env=kubectl_env(d), timeout=60,
        )
    return r.returncode, (json.loads(r.stdout) if r.returncode == 0 else None), r.stderr


def pod(spec: dict[str, Any] | None = None, **meta: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", **meta},
            "spec": spec or {"containers": [{"name": "app", "image": "busybox"}]}}


def deployment(spec_extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web", "tier": "fe"}},
        "spec": {
            "replicas": 2, "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
                {"name": "web", "image": "nginx:1", "env": [{"name": "A", "value": "1"}, {"name": "C", "value": "3"}],
                 "ports": [{"containerPort": 80, "protocol": "TCP"}]},
                {"name": "side", "image": "busybox", "args": ["a", "b"]},
            ]}},
            **(spec_extra or {}),
        },
    }


def containers(o: dict[str, Any]) -> list[dict[str, Any]]:
    return o["spec"]["template"]["spec"]["containers"] if o["kind"] == "Deployment" else o["spec"]["containers"]


# (name, object, patch, check(result)) — check states the expected semantics by hand.
CASES: list[tuple[str, dict[str, Any], Any, Any]] = [
    ("map merge and null deletes", deployment(), {"metadata": {"labels": {"tier": None, "new": "x"}}},
     lambda r: r["metadata"]["labels"] == {"app": "web", "new": "x"}),
    ("scalar replace", deployment(), {"spec": {"replicas": 5}}, lambda r: r["spec"]["replicas"] == 5),
    ("containers merge by name", deployment(),
     {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:2"}]}}}},
     lambda r: [c["image"] for c in containers(r)] == ["nginx:2", "busybox"]
     and containers(r)[0]["env"] == [{"name": "A", "value": "1"}, {"name": "C", "value": "3"}]),
    ("new container goes first, live ones keep their order", deployment(),
     {"spec": {"template": {"spec": {"containers": [{"name": "new", "image": "x"}]}}}},
     lambda r: [c["name"] for c in containers(r)] == ["new", "web", "side"]),
    ("env merge by name appends", deployment(),
     {"spec": {"template": {"spec": {"containers": [{"name": "web", "env": [{"name": "B", "value": "2"}]}]}}}},
     lambda r: [e["name"] for e in containers(r)[0]["env"]] == ["B", "A", "C"]),
    ("$setElementOrder orders the merged list", deployment(),
     {"spec": {"template": {"spec": {"containers": [{"name": "web", "$setElementOrder/env": [
         {"name": "A"}, {"name": "B"}, {"name": "C"}], "env": [{"name": "B", "value": "2"}]}]}}}},
     lambda r: [e["name"] for e in containers(r)[0]["env"]] == ["A", "B", "C"]),
    ("$setElementOrder alone reorders", deployment(),
     {"spec": {"template": {"spec": {"$setElementOrder/containers": [{"name": "side"}, {"name": "web"}]}}}},
     lambda r: [c["name"] for c in containers(r)] == ["side", "web"]),
    ("$patch: delete on a list item", deployment(),
     {"spec": {"template": {"spec": {"containers": [{"name": "side", "$patch": "delete"}]}}}},
     lambda r: [c["name"] for c in containers(r)] == ["web"]),
    ("$patch: replace on a list", deployment(),
     {"spec": {"template": {"spec": {"containers": [{"name": "only", "image": "x"}, {"$patch": "replace"}]}}}},
     lambda r: containers(r) == [{"name": "only", "image": "x"}]),
    ("$patch: replace on a map", deployment(),
     {"metadata": {"labels": {"$patch": "replace", "z": "1"}}}, lambda r: r["metadata"]["labels"] == {"z": "1"}),
    ("$patch: delete on a map empties it", deployment(),
     {"spec": {"strategy": {"$patch": "delete"}}}, lambda r: r["spec"]["strategy"] == {}),
    ("$retainKeys drops unlisted keys", deployment(),
     {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate", "rollingUpdate": None}}},
     lambda r: r["spec"]["strategy"] == {"type": "Recreate"}),
    ("$retainKeys on a volume switches its source",
     pod({"containers": [{"name": "a", "image": "x"}], "volumes": [{"name": "v", "emptyDir": {}}]}),
     {"spec": {"volumes": [{"name": "v", "$retainKeys": ["configMap", "name"], "configMap": {"name": "cm"}}]}},
     lambda r: r["spec"]["volumes"] == [{"name": "v", "configMap": {"name": "cm"}}]),
    ("args (no strategy) replace", deployment(),
     {"spec": {"template": {"spec": {"containers": [{"name": "side", "args": ["c"]}]}}}},
     lambda r: containers(r)[1]["args"] == ["c"]),
    ("ports merge by containerPort", deployment(),
     {"spec": {"template": {"spec": {"containers": [{"name": "web", "ports": [{"containerPort": 80, "name": "http"},
                                                                              {"containerPort": 443}]}]}}}},
     lambda r: containers(r)[0]["ports"] == [{"containerPort": 80, "protocol": "TCP", "name": "http"},
                                             {"containerPort": 443}]),
    ("finalizers are a merged set", pod(finalizers=["a", "b"]), {"metadata": {"finalizers": ["c", "a"]}},
     lambda r: r["metadata"]["finalizers"] == ["c", "a", "b"]),
    ("$deleteFromPrimitiveList", pod(finalizers=["a", "b", "c"]),
     {"metadata": {"$deleteFromPrimitiveList/finalizers": ["b"]}}, lambda r: r["metadata"]["finalizers"] == ["a", "c"]),
    ("$setElementOrder on a primitive list", pod(finalizers=["a", "b"]),
     {"metadata": {"$setElementOrder/finalizers": ["b", "c", "a"], "finalizers": ["c"]}},
     lambda r: r["metadata"]["finalizers"] == ["b", "c", "a"]),
    ("tolerations have no merge key: replaced",
     pod({"containers": [{"name": "a", "image": "x"}], "tolerations": [{"key": "k1", "operator": "Exists"}]}),
     {"spec": {"tolerations": [{"key": "k2", "operator": "Exists"}]}},
     lambda r: r["spec"]["tolerations"] == [{"key": "k2", "operator": "Exists"}]),
    ("ownerReferences merge by uid",
     pod(ownerReferences=[{"apiVersion": "v1", "kind": "X", "name": "a", "uid": "1"}]),
     {"metadata": {"ownerReferences": [{"apiVersion": "v1", "kind": "X", "name": "b", "uid": "2"}]}},
     lambda r: [o["uid"] for o in r["metadata"]["ownerReferences"]] == ["2", "1"]),
    ("hostAliases merge by ip",
     pod({"containers": [{"name": "a", "image": "x"}], "hostAliases": [{"ip": "1.1.1.1", "hostnames": ["a"]}]}),
     {"spec": {"hostAliases": [{"ip": "1.1.1.1", "hostnames": ["b"]}, {"ip": "2.2.2.2", "hostnames": ["c"]}]}},
     lambda r: r["spec"]["hostAliases"] == [{"ip": "1.1.1.1", "hostnames": ["b"]}, {"ip": "2.2.2.2", "hostnames": ["c"]}]),
    ("imagePullSecrets merge by name",
     pod({"containers": [{"name": "a", "image": "x"}], "imagePullSecrets": [{"name": "s1"}]}),
     {"spec": {"imagePullSecrets": [{"name": "s2"}]}},
     lambda r: r["spec"]["imagePullSecrets"] == [{"name": "s2"}, {"name": "s1"}]),
    ("status conditions merge by type",
     {**pod(), "status": {"conditions": [{"type": "Ready", "status": "False"}, {"type": "X", "status": "True"}]}},
     {"status": {"conditions": [{"type": "Ready", "status": "True"}]}},
     lambda r: r["status"]["conditions"] == [{"type": "Ready", "status": "True"}, {"type": "X", "status": "True"}]),
    ("nulls inside new content are dropped", deployment(),
     {"spec": {"template": {"spec": {"nodeSelector": {"a": "1", "b": None}}}}},
     lambda r: r["spec"]["template"]["spec"]["nodeSelector"] == {"a": "1"}),
    ("a new field whose value is a directive map is not added", deployment(),
     {"spec": {"template": {"spec": {"securityContext": {"$patch": "delete"}}}}},
     lambda r: "securityContext" not in r["spec"]["template"]["spec"]),
    ("service ports merge by port",
     {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
      "spec": {"selector": {"app": "a"}, "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]}},
     {"spec": {"ports": [{"port": 80, "targetPort": 9090}, {"port": 443, "targetPort": 8443}]}},
     lambda r: r["spec"]["ports"] == [{"port": 80, "targetPort": 9090, "protocol": "TCP"},
                                      {"port": 443, "targetPort": 8443}]),
    ("topologySpreadConstraints merge by topologyKey",
     pod({"containers": [{"name": "a", "image": "x"}], "topologySpreadConstraints": [
         {"topologyKey": "zone", "maxSkew": 1, "whenUnsatisfiable": "DoNotSchedule"}]}),
     {"spec": {"topologySpreadConstraints": [{"topologyKey": "zone", "maxSkew": 2}]}},
     lambda r: r["spec"]["topologySpreadConstraints"] == [
         {"topologyKey": "zone", "maxSkew": 2, "whenUnsatisfiable": "DoNotSchedule"}]),
    ("type change replaces", deployment(), {"spec": {"template": {"spec": {"containers": {"a": 1}}}}},
     lambda r: r["spec"]["template"]["spec"]["containers"] == {"a": 1}),
    ("delete and add in one list", deployment(),
     {"spec": {"template": {"spec": {"$setElementOrder/containers": [{"name": "new"}, {"name": "web"}],
                                     "containers": [{"name": "new", "image": "n"}, {"name": "side", "$patch": "delete"}]}}}},
     lambda r: [c["name"] for c in containers(r)] == ["new", "web"]),
]


@pytest.mark.parametrize("name,obj,patch,check", CASES, ids=[c[0] for c in CASES])
def test_strategic_cases(name: str, obj: dict[str, Any], patch: Any, check: Any) -> None:
    before = copy.deepcopy(obj)
    result = smp(obj, patch)
    assert obj == before, "current must not be mutated"
    assert check(result), json.dumps(result, indent=1)


@needs_kubectl
@pytest.mark.parametrize("name,obj,patch,check", [c for c in CASES if c[0] != "type change replaces"],
                         ids=[c[0] for c in CASES if c[0] != "type change replaces"])
def test_strategic_cases_match_kubectl(name: str, obj: dict[str, Any], patch: Any, check: Any) -> None:
    rc, expected, err = kubectl_patch(obj, patch)
    assert rc == 0, err
    assert smp(obj, patch) == expected


ERROR_CASES = [
    ("missing merge key", {"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}},
     500, "map: map[image:x] does not contain declared merge key: name"),
    ("patch key not in $retainKeys", {"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {"maxSurge": 2}}}},
     400, "invalid patch format of retainKeys"),
    ("$retainKeys not a list", {"spec": {"strategy": {"$retainKeys": "type"}}}, 400, "invalid patch format of retainKeys"),
    ("$deleteFromPrimitiveList without a field", {"metadata": {"$deleteFromPrimitiveList": ["a"]}},
     400, "invalid patch format of primitive list"),
    ("unknown $patch", {"spec": {"strategy": {"$patch": "frobnicate"}}}, 500, "unknown patch type: frobnicate in map"),
    ("$patch: merge on a list", {"spec": {"template": {"spec": {"containers": [{"$patch": "merge"}]}}}},
     500, "merging lists cannot yet be specified in the patch"),
    ("patch out of $setElementOrder", {"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "web"}], "containers": [{"name": "other", "image": "x"}]}}}},
     500, "doesn't match $setElementOrder list"),
]


@pytest.mark.parametrize("name,patch,code,message", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_strategic_errors(name: str, patch: Any, code: int, message: str) -> None:
    with pytest.raises(ApiError) as ei:
        smp(deployment(), patch)
    assert ei.value.code == code
    assert message in ei.value.message
    if KUBECTL:
        rc, _, err = kubectl_patch(deployment(), patch)
        assert rc != 0, f"kubectl accepted a patch we reject: {err}"


def test_bad_json_and_non_object() -> None:
    with pytest.raises(ApiError) as ei:
        smp(deployment(), b"{nope")
    assert ei.value.code == 400 and ei.value.message.startswith("invalid character")
    with pytest.raises(ApiError) as ei:
        smp(deployment(), b"[1]")
    assert ei.value.code == 400 and "cannot unmarshal array" in ei.value.message


def test_custom_resources_reject_strategic_merge_patch() -> None:
    rt = ResourceType("example.com", "v1", "Widget", "widgets", True, custom=True)
    with pytest.raises(ApiError) as ei:
        apply_patch(STRATEGIC_MERGE_PATCH, {"apiVersion": "example.com/v1", "kind": "Widget"}, b"{}", rt,
                    field_manager=None, force=False, now_iso=NOW)
    assert ei.value.code == 415 and ei.value.reason == "UnsupportedMediaType"
    assert ei.value.message == (
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, "
        "application/apply-patch+cbor"
    )


def test_untouched_subtrees_are_shared_not_copied() -> None:
    obj = deployment()
    result = smp(obj, {"metadata": {"labels": {"x": "y"}}})
    assert result["spec"] is obj["spec"]
    assert result["metadata"] is not obj["metadata"]


# --- the merge facts, checked against kubectl's Go struct tags ---------------------------------------------------


def _scalar_sample(model: str, wire: str) -> Any:
    import kubernetes.client.models as models

    for name, info in getattr(models, model).model_fields.items():
        if (info.serialization_alias or info.alias or name) == wire:
            s = str(info.annotation)
            return 1 if "int" in s and "str" not in s else "x"
    return "x"


def _build(path: list[tuple[Any, ...]], leaf: dict[str, Any]) -> dict[str, Any]:
    doc: Any = leaf
    for step in reversed(path):
        if step[0] == "field":
            doc = {step[1]: doc}
        elif step[0] == "item":
            doc = [{**doc, step[1]: step[2]}]
        else:
            doc = {"k": doc}
    return doc  # type: ignore[no-any-return]


def _probe(model: str, wire: str, rt: ResourceType, path: list[tuple[Any, ...]], elem_kind: str) -> str:
    """What kubectl does with one list field: "merge:<key>", "merge" (primitive), "replace" or an error."""
    def root(body: dict[str, Any]) -> dict[str, Any]:
        meta = {"name": "x", **body.pop("metadata", {})}
        return {"apiVersion": rt.group_version, "kind": rt.kind, "metadata": meta, **body}

    if elem_kind == "struct":
        orig, patch = _build(path, {wire: [{}]}), _build(path, {wire: [{}]})
    else:
        a, b = ("a", "b") if isinstance(_scalar_sample(model, wire), str) else (1, 2)
        orig, patch = _build(path, {wire: [a]}), _build(path, {wire: [b]})
    rc, out, err = kubectl_patch(root(orig), root(patch))
    if rc != 0:
        m = re.search(r"does not contain declared merge key: (\S+)", err)
        return "merge:" + m.group(1) if m else "error"
    cur = out
    for step in path:
        cur = cur.get(step[1], {}) if step[0] == "field" else (cur[0] if step[0] == "item" else cur.get("k", {}))
    val = cur.get(wire)
    if elem_kind == "struct":
        return "replace" if val == [{}] else f"?{val}"
    return "merge" if isinstance(val, list) and len(val) == 2 else "replace"


def _expected(model: str, wire: str) -> str:
    fact = LIST_FACTS.get((model, wire))
    if fact is None or fact.strategy != "merge":
        return "replace"
    return "merge:" + fact.merge_key if fact.merge_key else "merge"


def _reachable_lists() -> Iterator[list[tuple[str, str, ResourceType, list[tuple[Any, ...]], str]]]:
    """Breadth-first over the built-in kinds, descending through merged lists; yields one batch per level."""
    seen: set[str] = set()
    frontier = [(rt.model, rt, []) for rt in BUILTIN if rt.group != "apiextensions.k8s.io"]
    while frontier:
        batch = []
        nxt = []
        for model, rt, path in frontier:
            if model in seen:
                continue
            seen.add(model)
            for wire, sch in struct_fields(model).items():
                if not path and wire in ("apiVersion", "kind"):
                    continue
                if sch.kind == "struct":
                    nxt.append((sch.model, rt, path + [("field", wire)]))
                elif sch.kind == "map" and sch.elem is not None and sch.elem.kind == "struct":
                    nxt.append((sch.elem.model, rt, path + [("field", wire), ("mapkey",)]))
                elif sch.kind == "list" and sch.elem is not None and sch.elem.kind in ("struct", "scalar"):
                    batch.append((model, wire, rt, path, sch.elem.kind))
                    if sch.elem.kind == "struct" and sch.merge_key:
                        key = sch.merge_key
                        nxt.append((sch.elem.model, rt, path + [("field", wire),
                                                                ("item", key, _scalar_sample(sch.elem.model, key))]))
        yield batch
        frontier = nxt


@needs_kubectl
def test_merge_facts_match_kubectl_for_every_reachable_list() -> None:
    from concurrent.futures import ThreadPoolExecutor

    mismatches = []
    checked = 0
    with ThreadPoolExecutor(16) as pool:
        for batch in _reachable_lists():
            results = list(pool.map(lambda t: _probe(*t), batch))
            for (model, wire, *_), got in zip(batch, results, strict=True):
                if wire == "managedFields":  # kubectl drops managedFields locally
                    continue
                checked += 1
                if got != _expected(model, wire):
                    mismatches.append((model, wire, got, _expected(model, wire)))
    assert checked > 100
    assert not mismatches


# --- kubectl apply's 3-way patch, captured from a throwaway server ------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _CaptureServer:
    """Just enough API server for `kubectl apply` of a Deployment: discovery, GET, POST, and PATCH (recorded and
    applied with our strategic merge patch)."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.store: dict[str, dict[str, Any]] = {}
        self.patches: list[tuple[str, bytes, dict[str, Any]]] = []  # (content type, body, live object before)
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from aiohttp import web

        asyncio.set_event_loop(self.loop)
        rt = rt_of("Deployment")
        base = "/apis/apps/v1/namespaces/default/deployments"

        def status(code: int, reason: str, msg: str) -> web.Response:
            return web.json_response({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason,
                                      "code": code, "message": msg}, status=code)

        async def handle(req: web.Request) -> web.Response:
            p = req.path
            if p == "/api":
                return web.json_response({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                    {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]})
            if p == "/apis":
                gv = {"groupVersion": "apps/v1", "version": "v1"}
                return web.json_response({"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                    {"name": "apps", "versions": [gv], "preferredVersion": gv}]})
            if p == "/api/v1":
                return web.json_response({"kind": "APIResourceList", "groupVersion": "v1", "resources": []})
            if p == "/apis/apps/v1":
                return web.json_response({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "apps/v1",
                                          "resources": [{"name": "deployments", "singularName": "deployment",
                                                         "namespaced": True, "kind": "Deployment",
                                                         "verbs": ["create", "get", "list", "patch", "update"]}]})
            if p == base and req.method == "POST":
                obj = await req.json()
                obj["metadata"].update(namespace="default", uid="u1", resourceVersion="1")
                self.store[obj["metadata"]["name"]] = obj
                return web.json_response(obj, status=201)
            if p.startswith(base + "/"):
                name = p[len(base) + 1:]
                if name not in self.store:
                    return status(404, "NotFound", f'deployments.apps "{name}" not found')
                if req.method == "GET":
                    return web.json_response(self.store[name])
                if req.method == "PATCH":
                    body = await req.read()
                    live = self.store[name]
                    self.patches.append((req.headers["Content-Type"], body, live))
                    try:
                        new = apply_patch(req.headers["Content-Type"], live, body, rt, field_manager="kubectl",
                                          force=False, now_iso=NOW)
                    except ApiError as e:
                        return web.json_response(e.status(), status=e.code)
                    self.store[name] = new
                    return web.json_response(new)
            return status(404, "NotFound", "the server could not find the requested resource")

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handle)
        runner = web.AppRunner(app)
        self.loop.run_until_complete(runner.setup())
        self.loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port).start())
        self.ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(runner.cleanup())

    def __enter__(self) -> _CaptureServer:
        self.thread.start()
        self.ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def _kubectl_apply(server: _CaptureServer, manifest: str, home: str) -> None:
    assert KUBECTL
    f = Path(home) / "m.yaml"
    f.write_text(manifest)
    r = subprocess.run([KUBECTL, "-s", f"http://127.0.0.1:{server.port}", "--validate=false", "-n", "default",
                        "apply", "-f", str(f)], capture_output=True, text=True, env=kubectl_env(home), timeout=60)
    assert r.returncode == 0, r.stderr


FIRST = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web, tier: fe}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1
        env: [{name: A, value: "1"}, {name: C, value: "3"}]
      - name: side
        image: busybox
"""
SECOND = (FIRST.replace("nginx:1", "nginx:2").replace(", tier: fe", "")
          .replace('{name: A, value: "1"}, {name: C', '{name: A, value: "1"}, {name: B, value: "2"}, {name: C'))


@needs_kubectl
def test_kubectl_reapply_of_a_deployment() -> None:
    with tempfile.TemporaryDirectory() as home, _CaptureServer() as server:
        _kubectl_apply(server, FIRST, home)
        live = server.store["web"]
        live["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = "IfNotPresent"  # a server default
        _kubectl_apply(server, SECOND, home)
        assert len(server.patches) == 1
        ctype, body, before = server.patches[0]
        assert ctype == STRATEGIC_MERGE_PATCH
        sent = json.loads(body)
        assert sent["metadata"]["labels"] == {"tier": None}
        assert "$setElementOrder/containers" in sent["spec"]["template"]["spec"]
        result = server.store["web"]

        # What kubectl apply asked for, with the server-side default kept.
        assert result["metadata"]["labels"] == {"app": "web"}
        web, side = result["spec"]["template"]["spec"]["containers"]
        assert web["image"] == "nginx:2" and web["imagePullPolicy"] == "IfNotPresent"
        assert [e["name"] for e in web["env"]] == ["A", "B", "C"]
        assert side == {"name": "side", "image": "busybox"}
        last = json.loads(result["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"])
        assert last["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:2"

        # And exactly what kubectl's own strategic merge makes of that patch.
        strip = {k: v for k, v in result.items()}
        strip["metadata"] = {k: v for k, v in result["metadata"].items() if k != "managedFields"}
        rc, expected, err = kubectl_patch(before, sent)
        assert rc == 0, err
        expected["metadata"].pop("managedFields", None)
        assert strip == expected
