"""REST verbs on resources: get, list, watch, create, update, patch, delete, deletecollection.

Mirrors k8s.io/apiserver/pkg/endpoints/handlers: decode the request, call the generic registry, encode the answer
in the shape the client accepts (object, Table or PartialObjectMetadata). Subresources live in subresources.py,
watch streaming in watch.py.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from kubelab.api import errors
from kubelab.api.errors import ApiError
from kubelab.api.resources import ResourceType
from kubelab.api.tables import to_table
from kubelab.apiserver import codec, reviews, subresources, watch
from kubelab.apiserver.codec import Accept, dumps
from kubelab.apiserver.context import ServerContext
from kubelab.apiserver.keys import USER_KEY
from kubelab.apiserver.registry import WriteOptions
from kubelab.apiserver.requestinfo import RequestInfo
from kubelab.apiserver.strategies import RETURNS_DELETED_OBJECT

PATCH_TYPES = (
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
)


def json_response(obj: Any, status: int = 200, content_type: str = codec.JSON,
                  warnings: list[str] | None = None) -> web.Response:
    resp = web.Response(body=dumps(obj), status=status, headers={"Content-Type": content_type})
    for w in warnings or ():
        resp.headers.add("Warning", '299 - "' + w.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return resp


def content_type(request: web.Request) -> str:
    """The request's media type; none at all means JSON, as the API server's negotiation decides."""
    raw = request.headers.get("Content-Type", "")
    return raw.split(";", 1)[0].strip().lower() or codec.JSON


def _write_options(request: web.Request, default_validation: str = "Warn") -> WriteOptions:
    q = request.query
    dry = q.getall("dryRun", [])
    for d in dry:
        if d != "All":
            raise errors.bad_request(f'dryRun: Unsupported value: "{d}": supported values: "All"')
    fv = q.get("fieldValidation", default_validation) or default_validation
    if fv not in ("Ignore", "Warn", "Strict"):
        raise errors.bad_request(f"fieldValidation: Invalid value: {fv!r}: must be one of Ignore, Warn or Strict")
    return WriteOptions(dry_run=bool(dry), field_manager=q.get("fieldManager", ""), field_validation=fv,
                        user_agent=request.headers.get("User-Agent", ""))


async def _read_body(request: web.Request) -> bytes:
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise errors.too_large() from None


def _encode_one(ctx: ServerContext, rt: ResourceType, obj: dict[str, Any], accept: Accept) -> web.Response:
    if accept.table:
        return json_response(to_table(rt, [obj], ctx.clock.now(), include_object=accept.include_object,
                                      columns=ctx.printer_columns(rt),
                                      resource_version=obj["metadata"].get("resourceVersion", "")),
                             content_type=codec.TABLE_CT)
    if accept.partial:
        return json_response(codec.partial_object(obj), content_type=codec.PARTIAL_CT)
    return json_response(obj)


def trace_request(request: web.Request, ctx: ServerContext, rt: ResourceType, obj: dict[str, Any] | None,
                  name: str = "", sub: str = "") -> None:
    """Report a client's write as the API server's step ("POST deployments web") for the lab's flow graph."""
    if ctx.trace is None or "dryRun" in request.query:
        return
    meta = (obj or {}).get("metadata") or {}
    name = meta.get("name") or name
    what = f"{rt.plural}/{sub}" if sub else rt.plural
    agent = request.headers.get("User-Agent", "").split("/", 1)[0]
    ctx.trace.emit("apiserver", request.method.lower(), obj=obj, kind=rt.kind, name=name,
                   message=f"{request.method} {what} {name}", client=agent)


async def handle(request: web.Request, ctx: ServerContext, info: RequestInfo) -> web.StreamResponse:
    rt, ns, name, sub = info.rt, info.namespace, info.name, info.subresource
    if rt.namespaced and name and ns is None:
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    method = request.method
    if sub:
        return await subresources.handle(request, ctx, info)
    accept = Accept.parse(request.headers.get("Accept"), request.query.get("includeObject"))
    if method == "GET":
        if name:
            if request.query.get("watch") in ("true", "1") or "/watch/" in request.path:
                return await watch.serve(request, ctx, rt, ns, accept, name=name)
            return _encode_one(ctx, rt, ctx.registry.get(rt, ns, name), accept)
        if request.query.get("watch") in ("true", "1") or "/watch/" in request.path:
            return await watch.serve(request, ctx, rt, ns, accept)
        return _list(request, ctx, rt, ns, accept)
    if method == "POST" and not name:
        return await _create(request, ctx, rt, ns, accept)
    if method == "PUT" and name:
        opts = _write_options(request)
        obj = codec.decode_body(await _read_body(request), content_type(request))
        out = ctx.registry.update(rt, ns, name, obj, opts)
        trace_request(request, ctx, rt, out)
        return _with_warnings(_encode_one(ctx, rt, out, accept), opts)
    if method == "PATCH" and name:
        return await patch(request, ctx, rt, ns, name, accept, "")
    if method == "DELETE":
        if name:
            return await _delete(request, ctx, rt, ns, name)
        return await _delete_collection(request, ctx, rt, ns)
    raise errors.method_not_allowed(method, rt.plural)


def _with_warnings(resp: web.Response, opts: WriteOptions) -> web.Response:
    for w in opts.warnings:
        resp.headers.add("Warning", '299 - "' + w.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return resp


def _list(request: web.Request, ctx: ServerContext, rt: ResourceType, ns: str | None,
          accept: Accept) -> web.Response:
    q = request.query
    try:
        limit = int(q.get("limit") or 0)
    except ValueError:
        raise errors.bad_request(f"limit: Invalid value: {q.get('limit')!r}") from None
    items, rv, cont, remaining = ctx.registry.list(rt, ns, q.get("labelSelector", ""), q.get("fieldSelector", ""),
                                                   limit, q.get("continue", ""))
    if accept.table:
        return json_response(
            to_table(rt, items, ctx.clock.now(), include_object=accept.include_object, resource_version=rv,
                     columns=ctx.printer_columns(rt),
                     continue_token=cont, remaining=remaining),
            content_type=codec.TABLE_CT)
    meta: dict[str, Any] = {"resourceVersion": rv}
    if cont:
        meta["continue"] = cont
        if remaining is not None:
            meta["remainingItemCount"] = remaining
    if accept.partial:
        return json_response({"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
                              "items": [codec.partial_object(o) for o in items]}, content_type=codec.PARTIAL_LIST_CT)
    return json_response({"kind": rt.list_kind, "apiVersion": rt.api_version, "metadata": meta, "items": items})


async def _create(request: web.Request, ctx: ServerContext, rt: ResourceType, ns: str | None,
                  accept: Accept) -> web.Response:
    if rt.namespaced and ns is None:
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    if "create" not in rt.verbs:
        raise errors.method_not_allowed("POST", rt.plural)
    opts = _write_options(request)
    obj = codec.decode_body(await _read_body(request), content_type(request))
    if rt.kind == "Binding":
        return await subresources.create_binding(ctx, ns, obj)
    if rt.kind in reviews.REVIEW_KINDS:
        return json_response(reviews.answer(ctx, rt, obj, request[USER_KEY]), 201)
    out = ctx.registry.create(rt, ns, obj, opts)
    trace_request(request, ctx, rt, out)
    return _with_warnings(_status(_encode_one(ctx, rt, out, accept), 201), opts)


def _status(resp: web.Response, code: int) -> web.Response:
    resp.set_status(code)
    return resp


async def patch(request: web.Request, ctx: ServerContext, rt: ResourceType, ns: str | None, name: str,
                accept: Accept, subresource: str) -> web.Response:
    from kubelab.api.patch import apply_patch

    ct = content_type(request)
    if ct not in PATCH_TYPES:
        raise ApiError(415, "UnsupportedMediaType",
                       f"the body of the request was in an unknown format - accepted media types include: "
                       f"{', '.join(PATCH_TYPES)}")
    is_apply = ct == "application/apply-patch+yaml"
    opts = _write_options(request, "Strict" if is_apply else "Warn")
    if is_apply:
        if not opts.field_manager:
            raise errors.bad_request("fieldManager: Required value: is required for apply patch")
        opts.operation = "Apply"
    force = request.query.get("force") in ("true", "1")
    if force and not is_apply:
        raise errors.bad_request("force: Invalid value: true: may not be specified for non-apply patch")
    body = await _read_body(request)
    now_iso = ctx.registry._now_iso()

    if is_apply and ctx.store.get(rt.key(ns, name)) is None and not subresource:
        obj = apply_patch(ct, None, body, rt, field_manager=opts.field_manager, force=force, now_iso=now_iso)
        obj.setdefault("metadata", {})
        if obj["metadata"].get("name", name) != name:
            raise errors.bad_request(
                f"the name of the object ({obj['metadata'].get('name')}) does not match the name on the URL ({name})")
        obj["metadata"]["name"] = name
        out = ctx.registry.create(rt, ns, obj, opts)
        trace_request(request, ctx, rt, out, sub=subresource)
        return _with_warnings(_status(_encode_one(ctx, rt, out, accept), 201), opts)

    def mutate(current: dict[str, Any]) -> dict[str, Any]:
        return apply_patch(ct, current, body, rt, field_manager=opts.field_manager, force=force, now_iso=now_iso)

    out = ctx.registry.update_with(rt, ns, name, mutate, opts, subresource=subresource)
    trace_request(request, ctx, rt, out, sub=subresource)
    return _with_warnings(_encode_one(ctx, rt, out, accept), opts)


def _delete_options(body: bytes, request: web.Request) -> dict[str, Any]:
    opts: dict[str, Any] = {}
    if body.strip():
        opts = codec.decode_body(body, content_type(request) or codec.JSON)
    q = request.query
    if "gracePeriodSeconds" in q:
        opts["gracePeriodSeconds"] = int(q["gracePeriodSeconds"])
    if "propagationPolicy" in q:
        opts["propagationPolicy"] = q["propagationPolicy"]
    pp = opts.get("propagationPolicy")
    if pp is not None and pp not in ("Orphan", "Background", "Foreground"):
        raise errors.bad_request(
            f'propagationPolicy: Unsupported value: "{pp}": supported values: "Foreground", "Background", "Orphan"')
    if q.getall("dryRun", []):
        opts["dryRun"] = ["All"]
    return opts


async def _delete(request: web.Request, ctx: ServerContext, rt: ResourceType, ns: str | None,
                  name: str) -> web.Response:
    options = _delete_options(await _read_body(request), request)
    obj, gone = ctx.registry.delete(rt, ns, name, options, dry_run=bool(options.get("dryRun")))
    trace_request(request, ctx, rt, obj, name)
    if not gone or rt.kind in RETURNS_DELETED_OBJECT or rt.custom:
        return json_response(obj)
    meta = obj.get("metadata", {})
    return json_response({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
        "details": {"name": name, "group": rt.group, "kind": rt.plural, "uid": meta.get("uid")},
    })


async def _delete_collection(request: web.Request, ctx: ServerContext, rt: ResourceType,
                             ns: str | None) -> web.Response:
    if "deletecollection" not in rt.verbs:
        raise errors.method_not_allowed("DELETE", rt.plural)
    options = _delete_options(await _read_body(request), request)
    q = request.query
    items, rv, _, _ = ctx.registry.list(rt, ns, q.get("labelSelector", ""), q.get("fieldSelector", ""))
    deleted = []
    for obj in items:
        m = obj["metadata"]
        try:
            out, _gone = ctx.registry.delete(rt, m.get("namespace"), m["name"], options,
                                             dry_run=bool(options.get("dryRun")))
            deleted.append(out)
        except ApiError as e:
            if e.code != 404:
                raise
    return json_response({"kind": rt.list_kind, "apiVersion": rt.api_version,
                          "metadata": {"resourceVersion": str(ctx.store.revision)}, "items": deleted})
