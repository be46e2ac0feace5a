"""The ``/openapi/v3`` documents: one per group-version, plus the root index that points at them.

Mirrors kube-apiserver's OpenAPI v3 service (k8s.io/kube-openapi handler3): ``GET /openapi/v3`` lists
``{"paths": {"api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=<SHA512>"}, ...}}`` and each
``GET /openapi/v3/<gv>`` returns that group-version's document: REST paths with their operations and the
component schemas of its kinds. Two clients depend on it:

* ``kubectl apply/create`` look for a ``fieldValidation`` query parameter on the PATCH operation of the kind's
  path and, when found, send ``fieldValidation=Strict`` instead of validating client-side;
* ``kubectl explain`` reads ``components.schemas`` (found through ``x-kubernetes-group-version-kind``).

Documents are built lazily per group-version and cached as serialised bytes; the cache is dropped when the
resource registry changes (CRDs come and go) or a custom resource's schema is set. Simplified: no deprecated
``/watch/`` paths, no group-level documents (``apis/apps``), no ``/openapi/v2``.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any

import orjson

from kubelab.api.resources import ResourceRegistry, ResourceType, Subresource
from kubelab.api.schema import (
    PATCH_REF,
    component_name,
    component_schemas,
    model_for,
    model_info,
    ref,
    reversed_group,
)

KUBERNETES_VERSION = "v1.37.0"
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
LIST_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"
STATUS = "io.k8s.apimachinery.pkg.apis.meta.v1.Status"
DELETE_OPTIONS = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"
API_RESOURCE_LIST = "io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList"

_COMMON_ROOTS = ("V1Status", "V1DeleteOptions", "V1WatchEvent", "V1APIResourceList", PATCH_REF)
_CONNECT = ("attach", "exec", "portforward", "proxy")
_OBJECT_TYPES = ("application/json", "application/yaml", "application/vnd.kubernetes.protobuf")
_LIST_TYPES = _OBJECT_TYPES + (
    "application/json;stream=watch", "application/vnd.kubernetes.protobuf;stream=watch")
_PATCH_TYPES = (
    "application/apply-patch+yaml", "application/json-patch+json", "application/merge-patch+json",
    "application/strategic-merge-patch+json",
)


def _q(name: str, description: str, type_: str = "string") -> dict[str, Any]:
    return {"name": name, "in": "query", "description": description,
            "schema": {"type": type_, "uniqueItems": True}}


P_PRETTY = _q("pretty", "If 'true', the output is pretty printed.")
P_DRY_RUN = _q("dryRun", "When present, modifications are not persisted. Valid value: All.")
P_FIELD_MANAGER = _q("fieldManager", "Name of the actor making these changes (at most 128 characters).")
P_FIELD_VALIDATION = _q(
    "fieldValidation",
    "How the server handles fields of the request body that the schema does not know, or that are "
    "duplicated: Ignore (drop them silently), Warn (drop them and return a warning per field, the "
    "default) or Strict (fail the request with BadRequest).",
)
P_FORCE = _q("force", "Apply requests only: take over conflicting fields from other managers.", "boolean")
P_GRACE = _q("gracePeriodSeconds", "Seconds before the object is deleted; 0 deletes immediately.", "integer")
P_PROPAGATION = _q("propagationPolicy", "Garbage collection of dependents: Orphan, Background or Foreground.")
P_ORPHAN = _q("orphanDependents", "Deprecated: use propagationPolicy.", "boolean")
P_IGNORE_READ_ERRORS = _q(
    "ignoreStoreReadErrorWithClusterBreakingPotential",
    "Delete even when the object cannot be read from storage (unsafe).", "boolean",
)
LIST_PARAMS = [
    _q("allowWatchBookmarks", "Ask for BOOKMARK watch events.", "boolean"),
    _q("continue", "The continue token of a previous paged list."),
    _q("fieldSelector", "Restrict the returned objects by their fields."),
    _q("labelSelector", "Restrict the returned objects by their labels."),
    _q("limit", "Maximum number of objects to return in one page.", "integer"),
    _q("resourceVersion", "Which version of the data the request may be served from."),
    _q("resourceVersionMatch", "How resourceVersion applies to list calls: Exact or NotOlderThan."),
    _q("sendInitialEvents", "Start a watch with synthetic ADDED events for the current state.", "boolean"),
    _q("timeoutSeconds", "Timeout for the list/watch call.", "integer"),
    _q("watch", "Watch for changes instead of listing.", "boolean"),
]
DELETE_PARAMS = [P_DRY_RUN, P_GRACE, P_IGNORE_READ_ERRORS, P_ORPHAN, P_PROPAGATION]
WRITE_PARAMS = [P_DRY_RUN, P_FIELD_MANAGER, P_FIELD_VALIDATION]
SUB_PARAMS: dict[str, list[dict[str, Any]]] = {
    "log": [
        _q("container", "The container to stream logs of (defaults to the only container)."),
        _q("follow", "Follow the log stream.", "boolean"),
        _q("limitBytes", "Stop after this many bytes.", "integer"),
        _q("previous", "Logs of the previous, terminated container instance.", "boolean"),
        _q("sinceSeconds", "Only logs newer than this many seconds.", "integer"),
        _q("tailLines", "Only the last this many lines.", "integer"),
        _q("timestamps", "Prefix every line with an RFC 3339 timestamp.", "boolean"),
    ],
    "exec": [
        _q("command", "The command to run."), _q("container", "Container to run the command in."),
        _q("stderr", "Redirect stderr.", "boolean"), _q("stdin", "Redirect stdin.", "boolean"),
        _q("stdout", "Redirect stdout.", "boolean"), _q("tty", "Allocate a TTY.", "boolean"),
    ],
    "attach": [
        _q("container", "Container to attach to."), _q("stderr", "Redirect stderr.", "boolean"),
        _q("stdin", "Redirect stdin.", "boolean"), _q("stdout", "Redirect stdout.", "boolean"),
        _q("tty", "Allocate a TTY.", "boolean"),
    ],
    "portforward": [_q("ports", "Ports to forward.", "integer")],
}


def _path_param(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "description": description, "required": True,
            "schema": {"type": "string", "uniqueItems": True}}


P_NAMESPACE = _path_param("namespace", "object name and auth scope, such as for teams and projects")


def gv_path(group: str, version: str) -> str:
    """Root-index key of a group-version: "api/v1" or "apis/<group>/<version>"."""
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _ident(group: str, version: str) -> tuple[str, str]:
    """operationId stem and tag: ("CoreV1", "core_v1"), ("RbacAuthorizationV1", "rbacAuthorization_v1")."""
    base = group.removesuffix(".k8s.io") if group else "core"
    parts = [p for p in base.replace("-", ".").split(".") if p]
    camel = "".join(p[:1].upper() + p[1:] for p in parts)
    return camel + version[:1].upper() + version[1:], camel[:1].lower() + camel[1:] + "_" + version


def _content(types: tuple[str, ...], schema: dict[str, Any]) -> dict[str, Any]:
    return {t: {"schema": schema} for t in types}


def _ok(schema: dict[str, Any], codes: tuple[str, ...] = ("200",), types: tuple[str, ...] = _OBJECT_TYPES,
        ) -> dict[str, Any]:
    out: dict[str, Any] = {
        c: {"description": _CODE_TEXT[c], "content": _content(types, schema)} for c in codes}
    out["401"] = {"description": "Unauthorized"}
    return out


_CODE_TEXT = {"200": "OK", "201": "Created", "202": "Accepted"}


class _DocBuilder:
    """Builds one group-version document."""

    def __init__(self, group: str, version: str, types: list[ResourceType],
                 custom_schemas: dict[tuple[str, str, str], dict[str, Any] | None]) -> None:
        self.group, self.version, self.types = group, version, types
        self.custom_schemas = custom_schemas
        self.stem, self.tag = _ident(group, version)
        self.base = "/" + gv_path(group, version)
        self.roots: list[str] = list(_COMMON_ROOTS)
        self.extra: dict[str, dict[str, Any]] = {}  # custom resource components

    # -- schema references ---------------------------------------------------------------------------------
    def _kind_ref(self, rt: ResourceType, group: str, version: str, kind: str) -> dict[str, Any] | None:
        if rt.custom and (group, version, kind) == (rt.group, rt.version, rt.kind):
            return ref(self._custom_component(rt))
        name = model_for(group, version, kind)
        if name is None:
            return None
        self.roots.append(name)
        return ref(component_name(name))

    def _list_ref(self, rt: ResourceType) -> dict[str, Any] | None:
        if rt.custom:
            self._custom_component(rt)
            return ref(self._custom_name(rt) + "List")
        name = rt.model + "List"
        if model_info(name) is None:
            return None
        self.roots.append(name)
        return ref(component_name(name))

    def _custom_name(self, rt: ResourceType) -> str:
        return f"{reversed_group(rt.group)}.{rt.version}.{rt.kind}"

    def _custom_component(self, rt: ResourceType) -> str:
        name = self._custom_name(rt)
        if name in self.extra:
            return name
        gvk = {"group": rt.group, "kind": rt.kind, "version": rt.version}
        raw = self.custom_schemas.get((rt.group, rt.version, rt.kind))
        schema: dict[str, Any] = orjson.loads(orjson.dumps(raw)) if isinstance(raw, dict) else {
            "type": "object", "x-kubernetes-preserve-unknown-fields": True}
        schema.setdefault("type", "object")
        props = schema.setdefault("properties", {})
        pod = model_info("V1Pod")
        api_desc = pod.fields["apiVersion"].description if pod else ""
        kind_desc = pod.fields["kind"].description if pod else ""
        props["apiVersion"] = {"type": "string", "description": api_desc}
        props["kind"] = {"type": "string", "description": kind_desc}
        props["metadata"] = {"allOf": [ref(OBJECT_META)], "description": "Standard object's metadata."}
        schema["x-kubernetes-group-version-kind"] = [gvk]
        self.extra[name] = schema
        self.extra[name + "List"] = {
            "description": f"{rt.kind}List is a list of {rt.kind}",
            "type": "object",
            "properties": {
                "apiVersion": {"type": "string", "description": api_desc},
                "items": {"type": "array", "description": f"List of {rt.plural}.", "items": ref(name)},
                "kind": {"type": "string", "description": kind_desc},
                "metadata": {"allOf": [ref(LIST_META)], "description": "Standard list metadata."},
            },
            "required": ["items"],
            "x-kubernetes-group-version-kind": [{**gvk, "kind": rt.list_kind}],
        }
        self.roots.extend(["V1ObjectMeta", "V1ListMeta"])
        return name

    # -- operations ----------------------------------------------------------------------------------------
    def _op(
        self, op_id: str, action: str, gvk: dict[str, str], description: str, params: list[dict[str, Any]],
        responses: dict[str, Any], body: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        op: dict[str, Any] = {"tags": [self.tag], "description": description, "operationId": op_id}
        if params:
            op["parameters"] = params
        if body is not None:
            op["requestBody"] = body
        op["responses"] = responses
        op["x-kubernetes-action"] = action
        op["x-kubernetes-group-version-kind"] = gvk
        return op

    def resource_paths(self, rt: ResourceType, paths: dict[str, Any]) -> None:
        gvk = {"group": rt.group, "kind": rt.kind, "version": rt.version}
        obj = self._kind_ref(rt, rt.group, rt.version, rt.kind) or {"type": "object"}
        lst = self._list_ref(rt) or {"type": "object"}
        status = ref(STATUS)
        ns = "Namespaced" if rt.namespaced else ""
        stem, kind = self.stem, rt.kind
        coll = f"{self.base}/namespaces/{{namespace}}/{rt.plural}" if rt.namespaced else (
            f"{self.base}/{rt.plural}")
        item = coll + "/{name}"
        name_param = _path_param("name", f"name of the {kind}")
        verbs = set(rt.verbs)
        body = {"required": True, "content": {"*/*": {"schema": obj}}}

        c: dict[str, Any] = {}
        if "list" in verbs:
            c["get"] = self._op(f"list{stem}{ns}{kind}", "list", gvk, f"list or watch objects of kind {kind}",
                                LIST_PARAMS, _ok(lst, types=_LIST_TYPES))
        if "create" in verbs:
            c["post"] = self._op(f"create{stem}{ns}{kind}", "post", gvk, f"create a {kind}", WRITE_PARAMS,
                                 _ok(obj, ("200", "201", "202")), body)
        if "deletecollection" in verbs:
            c["delete"] = self._op(
                f"delete{stem}Collection{ns}{kind}", "deletecollection", gvk, f"delete collection of {kind}",
                LIST_PARAMS + DELETE_PARAMS, _ok(status), self._delete_body())
        if c:
            c["parameters"] = ([P_NAMESPACE] if rt.namespaced else []) + [P_PRETTY]
            paths[coll] = c

        i: dict[str, Any] = {}
        if "get" in verbs:
            i["get"] = self._op(f"read{stem}{ns}{kind}", "get", gvk, f"read the specified {kind}", [],
                                _ok(obj))
        if "update" in verbs:
            i["put"] = self._op(f"replace{stem}{ns}{kind}", "put", gvk, f"replace the specified {kind}",
                                WRITE_PARAMS, _ok(obj, ("200", "201")), body)
        if "delete" in verbs:
            i["delete"] = self._op(
                f"delete{stem}{ns}{kind}", "delete", gvk, f"delete a {kind}", DELETE_PARAMS,
                _ok(obj if rt.custom else status, ("200", "202")),
                self._delete_body())
        if "patch" in verbs:
            i["patch"] = self._op(
                f"patch{stem}{ns}{kind}", "patch", gvk, f"partially update the specified {kind}",
                WRITE_PARAMS + [P_FORCE], _ok(obj, ("200", "201")), self._patch_body(rt))
        if i:
            i["parameters"] = [name_param] + ([P_NAMESPACE] if rt.namespaced else []) + [P_PRETTY]
            paths[item] = i

        if rt.namespaced and "list" in verbs:
            paths[f"{self.base}/{rt.plural}"] = {
                "get": self._op(f"list{stem}{kind}ForAllNamespaces", "list", gvk,
                                f"list or watch objects of kind {kind}", LIST_PARAMS,
                                _ok(lst, types=_LIST_TYPES)),
                "parameters": [P_PRETTY],
            }
        for sub in rt.subresources:
            self._sub_paths(rt, sub, item, name_param, paths)

    def _delete_body(self) -> dict[str, Any]:
        return {"content": {"*/*": {"schema": ref(DELETE_OPTIONS)}}}

    def _patch_body(self, rt: ResourceType) -> dict[str, Any]:
        """kubectl apply sends a strategic merge patch only where the patch operation lists that type, so custom
        resources (which the server cannot strategically merge) leave it out, as the real server's documents do."""
        self.roots.append(PATCH_REF)
        types = tuple(t for t in _PATCH_TYPES if not (rt.custom and "strategic" in t))
        return {"required": True, "content": _content(types, ref(PATCH_REF))}

    def _sub_paths(self, rt: ResourceType, sub: Subresource, item: str, name_param: dict[str, Any],
                   paths: dict[str, Any]) -> None:
        g, v = (sub.group, sub.version) if sub.group else (rt.group, rt.version)
        gvk = {"group": g, "kind": sub.kind, "version": v}
        ns = "Namespaced" if rt.namespaced else ""
        sub_camel = {"portforward": "Portforward"}.get(sub.name, sub.name[:1].upper() + sub.name[1:])
        stem = f"{self.stem}{ns}{rt.kind}{sub_camel}"
        params = [name_param] + ([P_NAMESPACE] if rt.namespaced else []) + [P_PRETTY]
        verbs = set(sub.verbs)
        p: dict[str, Any] = {}
        if sub.name in _CONNECT:
            extra = SUB_PARAMS.get(sub.name, [])
            text = {"200": {"description": "OK", "content": {"*/*": {"schema": {"type": "string"}}}},
                    "401": {"description": "Unauthorized"}}
            for verb, method in (("get", "get"), ("create", "post")):
                if verb in verbs:
                    p[method] = self._op(
                        f"connect{self.stem}{method.capitalize()}{ns}{rt.kind}{sub_camel}", "connect", gvk,
                        f"connect {method.upper()} requests to {sub.name} of {rt.kind}", extra, text)
            params = params[:-1]
        elif sub.name == "log":
            text = {"200": {"description": "OK", "content": _content(("text/plain",), {"type": "string"})},
                    "401": {"description": "Unauthorized"}}
            p["get"] = self._op(f"read{stem}", "get", gvk, f"read log of the specified {rt.kind}",
                                SUB_PARAMS["log"], text)
        else:
            obj = self._kind_ref(rt, g, v, sub.kind) or {"type": "object"}
            body = {"required": True, "content": {"*/*": {"schema": obj}}}
            if "get" in verbs:
                p["get"] = self._op(f"read{stem}", "get", gvk, f"read {sub.name} of the specified {rt.kind}",
                                    [], _ok(obj))
            if "create" in verbs:
                p["post"] = self._op(f"create{stem}", "post", gvk, f"create {sub.name} of a {rt.kind}",
                                     WRITE_PARAMS, _ok(obj, ("200", "201", "202")), body)
            if "update" in verbs:
                p["put"] = self._op(
                    f"replace{stem}", "put", gvk, f"replace {sub.name} of the specified {rt.kind}",
                    WRITE_PARAMS, _ok(obj, ("200", "201")), body)
            if "patch" in verbs:
                p["patch"] = self._op(
                    f"patch{stem}", "patch", gvk, f"partially update {sub.name} of the specified {rt.kind}",
                    WRITE_PARAMS + [P_FORCE], _ok(obj, ("200", "201")), self._patch_body(rt))
        if p:
            p["parameters"] = params
            paths[f"{item}/{sub.name}"] = p

    def build(self) -> dict[str, Any]:
        paths: dict[str, Any] = {
            self.base + "/": {"get": {
                "tags": [self.tag], "description": "get available resources",
                "operationId": f"get{self.stem}APIResources",
                "responses": _ok(ref(API_RESOURCE_LIST), types=_OBJECT_TYPES),
            }},
        }
        for rt in sorted(self.types, key=lambda t: t.plural):
            self.resource_paths(rt, paths)
        schemas = component_schemas(self.roots)
        schemas.update(self.extra)
        return {
            "openapi": "3.0.0",
            "info": {"title": "Kubernetes", "version": KUBERNETES_VERSION},
            "paths": paths,
            "components": {
                "schemas": dict(sorted(schemas.items())),
                "securitySchemes": {"BearerToken": {
                    "type": "apiKey", "description": "Bearer Token authentication", "name": "authorization",
                    "in": "header"}},
            },
            "security": [{"BearerToken": []}],
        }


class OpenAPIDocs:
    """Serves ``/openapi/v3`` and ``/openapi/v3/<gv>`` from the registry; lazily built, cached as bytes.

    Thread-safe. The cache follows ``registry.generation`` and ``set_custom_schema``.
    """

    def __init__(self, registry: ResourceRegistry) -> None:
        self.registry = registry
        self._lock = threading.RLock()
        self._generation = -1
        self._docs: dict[str, bytes] = {}  # gv path -> document
        self._hashes: dict[str, str] = {}
        self._root: bytes | None = None
        self._custom: dict[tuple[str, str, str], dict[str, Any] | None] = {}

    # -- public --------------------------------------------------------------------------------------------
    def root(self) -> bytes:
        """Body of GET /openapi/v3."""
        with self._lock:
            self._sync()
            if self._root is None:
                paths = {}
                for gv in self.group_versions():
                    h = self.hash(gv)
                    paths[gv] = {"serverRelativeURL": f"/openapi/v3/{gv}?hash={h}"}
                self._root = orjson.dumps({"paths": paths})
            return self._root

    def group_version(self, path: str) -> bytes | None:
        """Body of GET /openapi/v3/<gv>, or None when no such group-version is served (-> 404).

        ``path`` may be "api/v1", "apis/apps/v1" or the request path "/openapi/v3/apis/apps/v1?hash=...".
        """
        key = self._key(path)
        with self._lock:
            self._sync()
            doc = self._docs.get(key)
            if doc is not None:
                return doc
            gv = self._parse(key)
            if gv is None:
                return None
            types = self.registry.in_group_version(*gv)
            if not types:
                return None
            doc = orjson.dumps(_DocBuilder(gv[0], gv[1], types, self._custom).build())
            self._docs[key] = doc
            self._hashes[key] = hashlib.sha512(doc).hexdigest().upper()
            return doc

    def hash(self, path: str) -> str | None:
        """SHA-512 (upper-case hex) of a group-version document: the root's ``?hash=``, usable as ETag."""
        key = self._key(path)
        with self._lock:
            if self.group_version(key) is None:
                return None
            return self._hashes.get(key)

    def group_versions(self) -> list[str]:
        """Root-index keys of every served group-version, in discovery order."""
        out = []
        for group, versions in self.registry.groups():
            for v in versions:
                out.append(gv_path(group, v))
        return out

    def set_custom_schema(self, group: str, version: str, kind: str, schema: dict[str, Any] | None) -> None:
        """Publish (or, with None, forget) a custom resource's ``openAPIV3Schema`` for ``group/version``."""
        with self._lock:
            if schema is None:
                self._custom.pop((group, version, kind), None)
            else:
                self._custom[(group, version, kind)] = orjson.loads(orjson.dumps(schema))  # a private copy
            self._docs.pop(gv_path(group, version), None)
            self._hashes.pop(gv_path(group, version), None)
            self._root = None

    def invalidate(self) -> None:
        with self._lock:
            self._docs.clear()
            self._hashes.clear()
            self._root = None

    def warm(self) -> None:
        """Build every document now (e.g. from a background thread after start-up)."""
        self.root()

    # -- internals -----------------------------------------------------------------------------------------
    def _sync(self) -> None:
        gen = self.registry.generation
        if gen != self._generation:
            self._generation = gen
            self._docs.clear()
            self._hashes.clear()
            self._root = None

    @staticmethod
    def _key(path: str) -> str:
        key = path.split("?", 1)[0].strip("/")
        return key.removeprefix("openapi/v3").strip("/")

    @staticmethod
    def _parse(key: str) -> tuple[str, str] | None:
        parts = key.split("/")
        if len(parts) == 2 and parts[0] == "api":
            return "", parts[1]
        if len(parts) == 3 and parts[0] == "apis":
            return parts[1], parts[2]
        return None
