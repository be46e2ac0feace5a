"""kubectl logs: the API server's pods/log asks the pod's kubelet, which reads the container's log from the runtime.

Mirrors the kubelet's GetKubeletContainerLogs (validateContainerLogStatus picks the container: the running one,
the last terminated one, or with ``previous`` the one before; a waiting container answers 400 with the kubelet's
message) and kuberuntime's ReadLogs (tailLines, timestamps in RFC3339Nano, limitBytes, sinceSeconds/sinceTime,
follow until the container stops). ``make_log_provider`` returns the ``LogProvider`` the API server's
``ServerContext.log_provider`` expects; it raises ``ApiError`` before yielding anything, so the API server can
answer with a Status when it calls the provider before it starts the response.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from kubelab.api import errors
from kubelab.api.errors import ApiError
from kubelab.clock import parse_time, rfc3339_nano
from kubelab.kubelet.runtime import Runtime
from kubelab.kubelet.status import container_status

if TYPE_CHECKING:
    from kubelab.apiserver.context import LogProvider
    from kubelab.kubelet.kubelet import Kubelet

Obj = dict[str, Any]


def _truthy(v: str | None) -> bool:
    return (v or "").lower() in ("true", "1", "yes")


def container_id_for_logs(kl: Kubelet, pod: Obj, container: str, previous: bool) -> str:
    """validateContainerLogStatus, from the kubelet's own view of the pod's containers."""
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    pod_name = meta.get("name", "")
    w = kl.worker_for_pod(pod)
    spec_c = next((c for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
                   if c.get("name") == container), {"name": container})
    attempts = w.attempts.get(container, []) if w is not None else []
    reason = w.reasons.get(container) if w is not None else None
    cs = container_status(spec_c, attempts, reason, "ContainerCreating", kl.clock.now())
    state, last = cs.get("state") or {}, (cs.get("lastState") or {}).get("terminated")
    if previous:
        if not last or not last.get("containerID"):
            raise errors.bad_request(f'previous terminated container "{container}" in pod "{pod_name}" not found')
        return str(last["containerID"]).partition("://")[2]
    if "running" in state or "terminated" in state:
        return str(cs.get("containerID", "")).partition("://")[2]
    if last and last.get("containerID"):
        return str(last["containerID"]).partition("://")[2]
    why = (state.get("waiting") or {}).get("reason") or "ContainerCreating"
    if why == "ErrImagePull":
        why = "image can't be pulled"
    elif why == "ImagePullBackOff":
        why = "trying and failing to pull image"
    raise errors.bad_request(f'container "{container}" in pod "{pod_name}" is waiting to start: {why}')


async def stream_logs(runtime: Runtime, container_id: str, params: Mapping[str, str],
                      now: _dt.datetime) -> AsyncIterator[bytes]:
    tail = int(params["tailLines"]) if params.get("tailLines") not in (None, "") else None
    limit = int(params["limitBytes"]) if params.get("limitBytes") not in (None, "") else None
    since: _dt.datetime | None = None
    if params.get("sinceSeconds"):
        since = now - _dt.timedelta(seconds=int(params["sinceSeconds"]))
    elif params.get("sinceTime"):
        since = parse_time(params["sinceTime"])
    stamps = _truthy(params.get("timestamps"))
    sent = 0
    async for entry in runtime.logs(container_id, tail=tail, follow=_truthy(params.get("follow"))):
        if since is not None and entry.time < since:
            continue
        data = ((rfc3339_nano(entry.time) + " ") if stamps else "") + entry.line + "\n"
        chunk = data.encode()
        if limit is not None:
            chunk = chunk[: max(limit - sent, 0)]
        if chunk:
            sent += len(chunk)
            yield chunk
        if limit is not None and sent >= limit:
            return


def make_log_provider(kubelets: Mapping[str, Kubelet]) -> LogProvider:
    """The API server's log provider: (pod, container, query params) -> async byte chunks."""

    def provider(pod: Obj, container: str, params: dict[str, str]) -> AsyncIterator[bytes]:
        meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
        node = spec.get("nodeName", "")
        kl = kubelets.get(node)
        if kl is None or not kl.running:
            ip = kl.spec.internal_ip if kl is not None else node
            url = f"https://{ip}:10250/containerLogs/{meta.get('namespace')}/{meta.get('name')}/{container}"
            raise ApiError(500, "InternalError",
                           f'Get "{url}": dial tcp {ip}:10250: connect: connection refused')
        cid = container_id_for_logs(kl, pod, container, _truthy(params.get("previous")))
        return stream_logs(kl.runtime, cid, params, kl.clock.now())

    return provider
