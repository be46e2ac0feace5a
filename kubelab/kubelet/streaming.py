"""kubectl exec, attach and port-forward, kubelet side: find the pod's kubelet, then its container or sandbox.

Mirrors the kubelet's GetExec / GetAttach / GetPortForward (pkg/kubelet/kubelet_pods.go: the container must be
running, else ``container not found ("web")``; the pod must have a sandbox on this node, else
``pod not found ("web_default")``) and the CRI streaming server behind them, which calls the runtime's Exec,
Attach and PortForward (staging/src/k8s.io/kubelet/pkg/cri/streaming). ``make_exec_provider`` and friends return
the providers ``ServerContext.exec_provider`` / ``attach_provider`` / ``portforward_provider`` expect. They raise
``ApiError`` whose message is what the API server reports when its hop to the kubelet fails (``unable to upgrade
connection: ...``, ``error dialing backend: ...``), so kubectl shows the same words as against a real cluster.

The simulated runtime runs no processes: its ``exec``/``attach``/``port_forward`` raise CRI ``Unimplemented``
with a message that names the process runtime (``kubelab up --runtime process``).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kubelab.api.errors import ApiError
from kubelab.kubelet.runtime import CONTAINER_RUNNING, CRIError, ExecSession

if TYPE_CHECKING:
    from kubelab.apiserver.context import AttachProvider, ExecProvider, PortDialer, PortForwardProvider
    from kubelab.kubelet.kubelet import Kubelet

Obj = dict[str, Any]


def kubelet_for(kubelets: Mapping[str, Kubelet], pod: Obj) -> Kubelet:
    """The pod's node's kubelet, or the API server's dial error when it is down (stopped node)."""
    node = (pod.get("spec") or {}).get("nodeName", "")
    kl = kubelets.get(node)
    if kl is None or not kl.running:
        ip = kl.spec.internal_ip if kl is not None else node
        raise ApiError(500, "InternalError", f"error dialing backend: dial tcp {ip}:10250: connect: connection refused")
    return kl


def running_container_id(kl: Kubelet, pod: Obj, container: str) -> str:
    """findContainer: the running instance of ``container`` in the pod, from the kubelet's view of its runtime."""
    w = kl.worker_for_pod(pod)
    for cs in (w.attempts.get(container, []) if w is not None else []):
        if cs.state == CONTAINER_RUNNING:
            return cs.id
    raise ApiError(404, "NotFound", f'unable to upgrade connection: container not found ("{container}")')


def _exec_failure(e: Exception) -> ApiError:
    """A runtime refusal before the stream exists (no such container, no streaming support) reads as the
    kubelet's failed upgrade; a process that cannot start reads as the streaming server's exec error."""
    if isinstance(e, CRIError) and e.code in ("Unimplemented", "NotFound"):
        return ApiError(500, "InternalError", f"unable to upgrade connection: {e}")
    detail = e.desc if isinstance(e, CRIError) else str(e)
    return ApiError(500, "InternalError", f"error executing command in container: {detail}")


def make_exec_provider(kubelets: Mapping[str, Kubelet]) -> ExecProvider:
    """(pod, container, command, tty, stdin) -> the runtime's ExecSession."""

    async def provider(pod: Obj, container: str, cmd: list[str], tty: bool, stdin: bool) -> ExecSession:
        kl = kubelet_for(kubelets, pod)
        cid = running_container_id(kl, pod, container)
        try:
            return await kl.runtime.exec(cid, cmd, tty=tty, stdin=stdin)
        except (CRIError, OSError) as e:
            raise _exec_failure(e) from None

    return provider


def make_attach_provider(kubelets: Mapping[str, Kubelet]) -> AttachProvider:
    """(pod, container, tty, stdin) -> the runtime's ExecSession on the container's own streams."""

    async def provider(pod: Obj, container: str, tty: bool, stdin: bool) -> ExecSession:
        kl = kubelet_for(kubelets, pod)
        cid = running_container_id(kl, pod, container)
        try:
            return await kl.runtime.attach(cid, tty=tty, stdin=stdin)
        except CRIError as e:
            if e.code in ("Unimplemented", "NotFound"):
                raise ApiError(500, "InternalError", f"unable to upgrade connection: {e}") from None
            raise ApiError(500, "InternalError", f"error attaching to container: {e.desc}") from None

    return provider


class SandboxDialer:
    """Port-forward into one pod sandbox's network (the CRI streaming server's PortForward)."""

    def __init__(self, kl: Kubelet, sandbox_id: str) -> None:
        self.kl = kl
        self.sandbox_id = sandbox_id

    async def dial(self, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        sid = self.sandbox_id
        # containerd's streaming server: the dial happens in the sandbox's network namespace
        in_netns = f'failed to execute portforward in network namespace "/var/run/netns/cni-{_uuidish(sid)}": '
        try:
            return await self.kl.runtime.port_forward(sid, port)
        except CRIError as e:  # the runtime's own words (not a gRPC status: the stream is already up)
            detail = (in_netns if e.desc.startswith("failed to connect") else "") + e.desc
        except ConnectionRefusedError:
            detail = (f'{in_netns}failed to connect to localhost:{port} inside namespace "{sid}", IPv4: dial tcp4 '
                      f"127.0.0.1:{port}: connect: connection refused IPv6 dial tcp6 [::1]:{port}: connect: "
                      "connection refused ")
        except OSError as e:
            detail = f'{in_netns}failed to connect to localhost:{port} inside namespace "{sid}": {e.strerror or e}'
        raise ApiError(500, "InternalError", f"error forwarding port {port} to pod {sid}, uid : {detail}")


def make_portforward_provider(kubelets: Mapping[str, Kubelet]) -> PortForwardProvider:
    """pod -> a dialer into its sandbox; checked before the client's connection is upgraded."""

    async def provider(pod: Obj) -> PortDialer:
        meta = pod.get("metadata") or {}
        kl = kubelet_for(kubelets, pod)
        w = kl.worker_for_pod(pod)
        sid = w.sandbox_id if w is not None and w.sandbox_ready else None
        if not sid:
            raise ApiError(404, "NotFound", f'unable to upgrade connection: pod not found '
                                            f'("{meta.get("name")}_{meta.get("namespace")}")')
        if not getattr(kl.runtime, "real", False):
            # the CRI PortForward call happens before the upgrade: a runtime without streaming refuses here
            try:
                _, writer = await kl.runtime.port_forward(sid, 1)
                writer.close()
            except CRIError as e:
                if e.code == "Unimplemented":
                    raise ApiError(500, "InternalError", f"unable to upgrade connection: {e}") from None
            except OSError:
                pass  # a runtime that dials: nothing listens on port 1, which is fine
        return SandboxDialer(kl, sid)

    return provider


def _uuidish(s: str) -> str:
    h = hashlib.sha256(s.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"
