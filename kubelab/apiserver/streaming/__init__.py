"""Streaming subresources: ``pods/exec``, ``pods/attach`` and ``pods/portforward``.

In Kubernetes these are connect verbs: the API server checks the request, then proxies an upgraded connection to
the pod's kubelet, whose streaming server (staging/src/k8s.io/kubelet/pkg/cri/streaming) runs the command or
dials the port through the container runtime. kubelab keeps the wire protocols real, because real kubectl and the
official client are the judges (``channels``: the WebSocket channel protocol of exec/attach; ``spdy``: SPDY/3.1
framing for port-forward's tunnel), and replaces the API server -> kubelet hop by a provider call on the
``ServerContext`` (``exec_provider``, ``attach_provider``, ``portforward_provider``; see
``kubelab.kubelet.streaming``).
"""

from __future__ import annotations

from aiohttp import web

from kubelab.api import errors
from kubelab.api.resources import ResourceType
from kubelab.apiserver.context import ServerContext


async def serve(request: web.Request, ctx: ServerContext, rt: ResourceType, ns: str | None, name: str,
                sub: str) -> web.StreamResponse:
    """Dispatch a streaming subresource; GET (WebSocket) and POST are both accepted, as upstream's connect verbs."""
    from kubelab.apiserver.streaming import exec as exec_
    from kubelab.apiserver.streaming import portforward

    if request.method not in ("GET", "POST"):
        raise errors.method_not_allowed(request.method, f"{rt.plural}/{sub}")
    pod = ctx.registry.get(rt, ns, name)
    if sub == "portforward":
        return await portforward.serve(request, ctx, pod)
    return await exec_.serve(request, ctx, pod, attach=(sub == "attach"))


__all__ = ["serve"]
