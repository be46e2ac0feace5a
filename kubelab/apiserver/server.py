"""The HTTP layer of the API server: TLS, authentication, routing, and errors as ``Status`` objects.

Mirrors kube-apiserver's handler chain (k8s.io/apiserver/pkg/server/config.go DefaultBuildHandlerChain) in
miniature: authenticate (client certificate or bearer token, else 401), then route to discovery, OpenAPI, health,
version or a resource handler; any ``ApiError`` becomes a JSON ``Status`` with its code. aiohttp serves HTTP/1.1
with TLS and sets TCP_NODELAY on accepted sockets.

Simplified: no authorization layer (RBAC objects are stored but not enforced; every authenticated user acts as
system:masters), no admission webhooks, no audit log.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from kubelab.api.errors import ApiError, unauthorized
from kubelab.apiserver import codec, handlers, keys, requestinfo
from kubelab.apiserver.codec import dumps
from kubelab.apiserver.context import ServerContext
from kubelab.apiserver.discovery import AGGREGATED_CT, Discovery, wants_aggregated
from kubelab.apiserver.pki import ClusterPKI

log = logging.getLogger(__name__)

VERSION_INFO = {
    "major": "1", "minor": "37", "emulationMajor": "1", "emulationMinor": "37",
    "minCompatibilityMajor": "1", "minCompatibilityMinor": "36",
    "gitVersion": "v1.37.0", "gitCommit": "kubelab", "gitTreeState": "clean",
    "buildDate": "2026-08-01T00:00:00Z", "goVersion": "kubelab (python)", "compiler": "kubelab",
    "platform": "linux/amd64",
}

CTX_KEY: web.AppKey[ServerContext] = web.AppKey("ctx", ServerContext)
DISCOVERY_KEY: web.AppKey[Discovery] = web.AppKey("discovery", Discovery)
USER_KEY = keys.USER_KEY

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _status_response(err: ApiError) -> web.Response:
    return web.Response(body=dumps(err.status()), status=err.code, content_type="application/json")


def _identity(request: web.Request, ctx: ServerContext) -> tuple[str, list[str]] | None:
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        return ctx.tokens.get(auth[7:].strip())
    transport = request.transport
    peercert = transport.get_extra_info("peercert") if transport is not None else None
    return ClusterPKI.identity_from_peercert(peercert) if peercert else None


@web.middleware
async def _chain(request: web.Request, handler: Handler) -> web.StreamResponse:
    ctx = request.app[CTX_KEY]
    try:
        who = _identity(request, ctx)
        if who is None:
            raise unauthorized()
        request[USER_KEY] = who
        return await handler(request)
    except ApiError as e:
        return _status_response(e)
    except web.HTTPRequestEntityTooLarge:
        from kubelab.api.errors import too_large

        return _status_response(too_large())
    except web.HTTPException:
        raise
    except Exception as e:  # a bug must not take the server down: answer 500 like a real server would
        log.exception("internal error serving %s %s", request.method, request.path)
        return _status_response(ApiError(500, "InternalError", f"Internal error occurred: {e}"))


async def _version(request: web.Request) -> web.Response:
    return web.json_response(VERSION_INFO, dumps=lambda o: dumps(o).decode())


async def _health(request: web.Request) -> web.Response:
    ctx = request.app[CTX_KEY]
    if request.path.startswith("/readyz") and not ctx.ready:
        return web.Response(text="[-]kubelab-bootstrap failed: not finished\nreadyz check failed", status=500)
    if "verbose" in request.query:
        name = request.path.strip("/").split("/")[0]
        return web.Response(text=f"[+]ping ok\n[+]etcd ok\n{name} check passed\n")
    return web.Response(text="ok")


async def _api_root(request: web.Request) -> web.Response:
    d = request.app[DISCOVERY_KEY]
    if wants_aggregated(request.headers.get("Accept")):
        return web.Response(body=d.aggregated_api(), headers={"Content-Type": AGGREGATED_CT})
    return web.Response(body=d.api_versions(), content_type="application/json")


async def _apis_root(request: web.Request) -> web.Response:
    d = request.app[DISCOVERY_KEY]
    if wants_aggregated(request.headers.get("Accept")):
        return web.Response(body=d.aggregated_apis(), headers={"Content-Type": AGGREGATED_CT})
    return web.Response(body=d.api_group_list(), content_type="application/json")


_NOT_FOUND = ApiError(404, "NotFound", "the server could not find the requested resource")


async def _resources(request: web.Request) -> web.StreamResponse:
    ctx = request.app[CTX_KEY]
    path = request.path
    segs = [s for s in path.split("/") if s]
    d = request.app[DISCOVERY_KEY]
    # discovery documents: /api/v1, /apis/<g>, /apis/<g>/<v>
    if request.method == "GET":
        doc: bytes | None = None
        if segs[0] == "api" and len(segs) == 2:
            doc = d.resource_list("", segs[1])
            if doc is None:
                raise _NOT_FOUND
        elif segs[0] == "apis" and len(segs) == 2:
            doc = d.api_group(segs[1])
            if doc is None:
                raise _NOT_FOUND
        elif segs[0] == "apis" and len(segs) == 3:
            doc = d.resource_list(segs[1], segs[2])
            if doc is None:
                raise _NOT_FOUND
        if doc is not None:
            return web.Response(body=doc, content_type="application/json")
    info = requestinfo.parse(path, ctx.resources)
    if info is None:
        raise _NOT_FOUND
    return await handlers.handle(request, ctx, info)


async def _openapi_v3(request: web.Request) -> web.Response:
    ctx = request.app[CTX_KEY]
    tail = request.match_info.get("tail", "")
    if not tail:
        return web.Response(body=ctx.openapi.root(), content_type="application/json")
    doc = ctx.openapi.group_version(tail)
    if doc is None:
        raise _NOT_FOUND
    return web.Response(body=doc, content_type="application/json",
                        headers={"Cache-Control": "public, immutable", "ETag": '"' + (ctx.openapi.hash(tail) or "") + '"'})


async def _trace(request: web.Request) -> web.StreamResponse:
    """GET /kubelab/v1/trace?since=N[&watch=true]: the control plane's steps, for the lab's widgets."""
    ctx = request.app[CTX_KEY]
    bus = ctx.trace
    if bus is None:
        raise _NOT_FOUND
    try:
        since = int(request.query.get("since", "0") or 0)
    except ValueError:
        raise ApiError(400, "BadRequest", "since: must be an integer") from None
    if request.query.get("watch") not in ("true", "1"):
        items = [e.to_dict() for e in bus.since(since)]
        return web.Response(body=dumps({"kind": "TraceEventList", "lastSeq": bus.last_seq, "items": items}),
                            content_type="application/json")
    resp = web.StreamResponse(headers={"Content-Type": "application/json"})
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    try:
        async for ev in bus.watch(since):
            await resp.write(dumps(ev.to_dict()) + b"\n")
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    return resp


async def _not_found(request: web.Request) -> web.Response:
    raise _NOT_FOUND


def build_app(ctx: ServerContext) -> web.Application:
    # body limit a little above the API server's 3 MiB, so the 413 is ours (a Status), not aiohttp's text
    app = web.Application(middlewares=[_chain], client_max_size=codec.MAX_BODY)
    app[CTX_KEY] = ctx
    app[DISCOVERY_KEY] = Discovery(ctx.resources, f"{ctx.host}:{ctx.port}")
    r = app.router
    r.add_get("/version", _version)
    for p in ("/healthz", "/livez", "/readyz"):
        r.add_get(p, _health)
        r.add_get(p + "/{tail:.*}", _health)
    r.add_get("/api", _api_root)
    r.add_get("/api/", _api_root)
    r.add_get("/apis", _apis_root)
    r.add_get("/apis/", _apis_root)
    r.add_get("/openapi/v3", _openapi_v3)
    r.add_get("/openapi/v3/{tail:.*}", _openapi_v3)
    r.add_get("/openapi/v2", _not_found)
    r.add_get("/kubelab/v1/trace", _trace)
    r.add_route("*", "/api/{tail:.+}", _resources)
    r.add_route("*", "/apis/{tail:.+}", _resources)
    return app
