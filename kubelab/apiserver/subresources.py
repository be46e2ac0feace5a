"""Subresources: status, scale, binding, eviction, log and serviceaccount token.

Mirrors the small REST storages next to each kind in kubernetes pkg/registry (StatusREST, ScaleREST,
BindingREST, EvictionREST, LogREST, TokenREST). exec, attach and portforward (ExecREST, AttachREST,
PortForwardREST) live in ``kubelab.apiserver.streaming``.

Simplified: tokens are random opaque strings kept in memory
(not signed JWTs) and authenticate as the service account.
"""

from __future__ import annotations

import datetime as _dt
import secrets
from typing import Any

from aiohttp import web

from kubelab.api import errors
from kubelab.api.errors import ApiError
from kubelab.api.resources import ResourceType
from kubelab.apiserver import codec
from kubelab.apiserver.codec import Accept
from kubelab.apiserver.context import ServerContext
from kubelab.apiserver.requestinfo import RequestInfo
from kubelab.clock import rfc3339
from kubelab.store import RevisionMismatch

_SUCCESS = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}


async def handle(request: web.Request, ctx: ServerContext, info: RequestInfo) -> web.StreamResponse:
    from kubelab.apiserver import handlers

    rt, ns, name, sub = info.rt, info.namespace, info.name, info.subresource
    method = request.method
    if sub == "status":
        accept = Accept.parse(request.headers.get("Accept"), request.query.get("includeObject"))
        if method == "GET":
            return handlers._encode_one(ctx, rt, ctx.registry.get(rt, ns, name), accept)
        if method == "PUT":
            opts = handlers._write_options(request)
            obj = codec.decode_body(await handlers._read_body(request), handlers.content_type(request))
            return handlers.json_response(ctx.registry.update(rt, ns, name, obj, opts, subresource="status"))
        if method == "PATCH":
            return await handlers.patch(request, ctx, rt, ns, name, accept, "status")
    elif sub == "scale":
        return await _scale(request, ctx, rt, ns, name)
    elif sub == "binding" and method == "POST":
        body = codec.decode_body(await handlers._read_body(request), handlers.content_type(request))
        body.setdefault("metadata", {}).setdefault("name", name)
        if body["metadata"]["name"] != name:
            raise errors.bad_request(f"name in URL does not match name in Binding object: {name}")
        return await create_binding(ctx, ns, body)
    elif sub == "eviction" and method == "POST":
        from kubelab.apiserver.admission import check_eviction

        body = codec.decode_body(await handlers._read_body(request), handlers.content_type(request))
        pod_rt = ctx.resources.lookup("", "v1", "pods")
        assert pod_rt is not None
        dry_run = "dryRun" in request.query
        pod = ctx.registry.get(pod_rt, ns, name)
        try:
            check_eviction(ctx, pod, dry_run=dry_run)  # PodDisruptionBudgets: 429 while none may be disrupted
        except ApiError as e:
            resp = handlers.json_response(e.status(), e.code)
            retry = (e.details or {}).get("retryAfterSeconds")
            if retry:
                resp.headers["Retry-After"] = str(retry)
            return resp
        ctx.registry.delete(pod_rt, ns, name, body.get("deleteOptions") or {}, dry_run=dry_run)
        return handlers.json_response(_SUCCESS, 201)
    elif sub == "log" and method == "GET":
        return await _log(request, ctx, rt, ns, name)
    elif sub in ("exec", "attach", "portforward") and rt.plural == "pods":
        from kubelab.apiserver import streaming

        return await streaming.serve(request, ctx, rt, ns, name, sub)
    elif sub == "token" and method == "POST":
        body = codec.decode_body(await handlers._read_body(request), handlers.content_type(request))
        return handlers.json_response(issue_token(ctx, ns or "default", name, body), 201)
    elif sub == "finalize" and method == "PUT":
        obj = codec.decode_body(await handlers._read_body(request), handlers.content_type(request))

        opts = handlers._write_options(request)
        return handlers.json_response(ctx.registry.update(rt, ns, name, obj, opts, subresource="finalize"))
    raise errors.method_not_allowed(method, f"{rt.plural}/{sub}")


# ------------------------------------------------------------------------ scale
def _scale_of(rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
    from kubelab.api.selectors import selector_to_string

    m = obj["metadata"]
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    return {
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {k: m[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in m},
        "spec": {"replicas": spec.get("replicas", 1)},
        "status": {"replicas": status.get("replicas", 0),
                   "selector": selector_to_string(spec.get("selector") or {})},
    }


async def _scale(request: web.Request, ctx: ServerContext, rt: ResourceType, ns: str | None,
                 name: str) -> web.Response:
    from kubelab.api.patch import apply_patch
    from kubelab.apiserver import handlers

    if request.method == "GET":
        return handlers.json_response(_scale_of(rt, ctx.registry.get(rt, ns, name)))
    if request.method not in ("PUT", "PATCH"):
        raise errors.method_not_allowed(request.method, f"{rt.plural}/scale")
    opts = handlers._write_options(request)
    body = await handlers._read_body(request)
    ct = handlers.content_type(request)
    scale_rt = ResourceType("autoscaling", "v1", "Scale", "scale", True, model="V1Scale")

    def mutate(cur: dict[str, Any]) -> dict[str, Any]:
        scale = _scale_of(rt, cur)
        if request.method == "PUT":
            new_scale = codec.decode_body(body, ct)
        else:
            new_scale = apply_patch(ct, scale, body, scale_rt, field_manager=opts.field_manager, force=False,
                                    now_iso=rfc3339(ctx.clock.now()))
        rv = (new_scale.get("metadata") or {}).get("resourceVersion")
        if rv and rv != cur["metadata"].get("resourceVersion"):
            raise errors.conflict(rt.group, rt.plural, name, errors.STALE_RV)
        replicas = (new_scale.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
            raise errors.invalid("Scale", "autoscaling", name, [errors.FieldError(
                "spec.replicas", "Invalid value", "must be greater than or equal to 0", replicas)])
        new = dict(cur)
        new["metadata"] = dict(cur["metadata"])
        new["spec"] = dict(cur.get("spec") or {}, replicas=replicas)
        return new

    out = ctx.registry.update_with(rt, ns, name, mutate, opts)
    return handlers.json_response(_scale_of(rt, out))


# ------------------------------------------------------------------------ binding
async def create_binding(ctx: ServerContext, ns: str | None, binding: dict[str, Any]) -> web.Response:
    """pods/binding over HTTP: answers a Status, as kube-apiserver does."""
    from kubelab.apiserver import handlers

    bind_pod(ctx, ns, binding)
    return handlers.json_response(_SUCCESS, 201)


def bind_pod(ctx: ServerContext, ns: str | None, binding: dict[str, Any]) -> dict[str, Any]:
    """pods/binding: set spec.nodeName once, and the PodScheduled condition (as the scheduler's bind does)."""
    pod_rt = ctx.resources.lookup("", "v1", "pods")
    assert pod_rt is not None
    name = (binding.get("metadata") or {}).get("name", "")
    target = binding.get("target") or {}
    node = target.get("name")
    if not node:
        raise errors.invalid("Binding", "", name, [errors.FieldError("target.name", "Required value")])
    if target.get("kind") not in (None, "", "Node"):
        raise errors.invalid("Binding", "", name, [errors.FieldError(
            "target.kind", "Unsupported value", 'supported values: "Node"', target.get("kind"))])
    now = rfc3339(ctx.clock.now())

    def bind(cur: dict[str, Any]) -> dict[str, Any]:
        if cur["metadata"].get("deletionTimestamp"):
            raise errors.conflict("", "pods", name, "pod is being deleted, cannot be assigned to a host")
        if (cur.get("spec") or {}).get("nodeName"):
            raise errors.conflict("", "pods", name,
                                  f"pod {name} is already assigned to node \"{cur['spec']['nodeName']}\"")
        new = dict(cur)
        new["metadata"] = dict(cur["metadata"])
        new["spec"] = dict(cur.get("spec") or {}, nodeName=node)
        status = dict(cur.get("status") or {})
        conds = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
        conds.append({"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": now})
        status["conditions"] = conds
        new["status"] = status
        return new

    # binding changes spec.nodeName, which the pod update rules forbid to clients: go around them like upstream's
    # BindingREST, which writes the pod directly.
    key = pod_rt.key(ns, name)
    for _ in range(5):
        kv = ctx.store.get(key)
        if kv is None:
            raise errors.not_found("", "pods", name)
        new = bind(kv.value)
        try:
            kv2 = ctx.store.update(key, new, expected_revision=kv.mod_revision)
        except RevisionMismatch:
            continue
        ctx.registry._traced("put", pod_rt, kv2)
        return kv2.value
    raise errors.conflict("", "pods", name, errors.STALE_RV)


# ------------------------------------------------------------------------ log
async def _log(request: web.Request, ctx: ServerContext, rt: ResourceType, ns: str | None,
               name: str) -> web.StreamResponse:
    pod = ctx.registry.get(rt, ns, name)
    containers = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or []]
    container = request.query.get("container", "")
    if not container:
        if len(containers) != 1:
            raise errors.bad_request(
                f"a container name must be specified for pod {name}, choose one of: [{' '.join(containers)}]")
        container = containers[0]
    init = [c.get("name") for c in (pod.get("spec") or {}).get("initContainers") or []]
    if container not in containers and container not in init:
        raise errors.bad_request(f"container {container} is not valid for pod {name}")
    if ctx.log_provider is None or not (pod.get("spec") or {}).get("nodeName"):
        reason = "ContainerCreating"
        raise errors.bad_request(f'container "{container}" in pod "{name}" is waiting to start: {reason}')
    # the first chunk before the response starts, so a provider's error (container waiting, no previous
    # container) still reaches the client as a Status, not as a broken stream
    chunks = ctx.log_provider(pod, container, dict(request.query))
    try:
        first: bytes | None = await chunks.__anext__()
    except StopAsyncIteration:
        first = None
    resp = web.StreamResponse(status=200, headers={"Content-Type": "text/plain"})
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    try:
        if first is not None:
            await resp.write(first)
            async for chunk in chunks:
                await resp.write(chunk)
    except ConnectionResetError:
        return resp  # the client went away (kubectl logs -f stopped): nothing more to write
    finally:
        await chunks.aclose()  # type: ignore[attr-defined]
    try:
        await resp.write_eof()
    except ConnectionResetError:
        pass
    return resp


# ------------------------------------------------------------------------ token
def issue_token(ctx: ServerContext, ns: str, sa_name: str, request_obj: dict[str, Any]) -> dict[str, Any]:
    sa_rt = ctx.resources.lookup("", "v1", "serviceaccounts")
    assert sa_rt is not None
    sa = ctx.registry.get(sa_rt, ns, sa_name)
    spec = dict(request_obj.get("spec") or {})
    expiration = int(spec.get("expirationSeconds") or 3600)
    if expiration < 600:
        raise errors.invalid("TokenRequest", "authentication.k8s.io", sa_name, [errors.FieldError(
            "spec.expirationSeconds", "Invalid value", "may not specify a duration less than 10 minutes",
            expiration)])
    spec["expirationSeconds"] = expiration
    spec.setdefault("audiences", ["https://kubernetes.default.svc.cluster.local"])
    token = "kubelab." + secrets.token_urlsafe(32)
    ctx.tokens[token] = (f"system:serviceaccount:{ns}:{sa_name}",
                         ["system:serviceaccounts", f"system:serviceaccounts:{ns}", "system:authenticated"])
    exp = ctx.clock.now() + _dt.timedelta(seconds=expiration)
    return {
        "kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"name": sa_name, "namespace": ns, "creationTimestamp": None,
                     "uid": sa["metadata"].get("uid")},
        "spec": spec,
        "status": {"token": token, "expirationTimestamp": rfc3339(exp)},
    }


__all__ = ["handle", "create_binding", "issue_token", "ApiError"]
