"""pods/exec and pods/attach: the API server's checks, the WebSocket upgrade, and the stream pump.

Mirrors three upstream pieces in one place:

* ExecREST / AttachREST (pkg/registry/core/pod/rest/subresources.go) and ``streamLocation`` in
  pkg/registry/core/pod/strategy.go: the pod must exist, the container must be one of the pod's (or the only
  one), and the pod must be bound to a node, else a 4xx Status before any upgrade;
* the StreamTranslator (staging/src/k8s.io/client-go/tools/remotecommand/proxy): the API server accepts the
  client's ``v5.channel.k8s.io`` WebSocket itself, then reaches the kubelet; whatever goes wrong from there on is
  written on the error channel as an InternalError Status (kubectl prints its message);
* the kubelet's ServeExec / ServeAttach (staging/src/k8s.io/kubelet/pkg/cri/streaming/remotecommand): copy
  stdin/stdout/stderr, apply resizes, and finish with Success or NonZeroExitCode (cause ExitCode) on channel 3.

A plain SPDY upgrade (kubectl's fallback, client-go's SPDY executor) is handed to ``spdyexec``.

The kubelet side (finding the container and its runtime) is ``ServerContext.exec_provider`` /
``attach_provider``, set by the control plane from ``kubelab.kubelet.streaming``.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from aiohttp import web

from kubelab.api import errors
from kubelab.api.errors import ApiError
from kubelab.apiserver.context import ServerContext, StreamSession
from kubelab.apiserver.streaming import channels, spdyexec, upgrade
from kubelab.apiserver.streaming.channels import ChannelConn

OUTPUT_GRACE = 2.0  # seconds to drain output after the process exits (a background child may hold the pipe)


def _flag(query: Any, name: str) -> bool:
    return str(query.get(name, "")).lower() in ("true", "1", "yes")


def target_container(pod: dict[str, Any], name: str, requested: str) -> str:
    """streamLocation's container rules (pkg/registry/core/pod/strategy.go)."""
    spec = pod.get("spec") or {}
    containers = [c.get("name", "") for c in spec.get("containers") or []]
    init = [c.get("name", "") for c in spec.get("initContainers") or []]
    ephemeral = [c.get("name", "") for c in spec.get("ephemeralContainers") or []]
    if not requested:
        if len(containers) == 1:
            return containers[0]
        if not containers:
            raise errors.bad_request(f"a container name must be specified for pod {name}")
        msg = f"a container name must be specified for pod {name}, choose one of: [{' '.join(containers)}]"
        if init:
            msg += f" or one of the init containers: [{' '.join(init)}]"
        raise errors.bad_request(msg)
    if requested not in containers + init + ephemeral:
        raise errors.bad_request(f"container {requested} is not valid for pod {name}")
    return requested


async def serve(request: web.Request, ctx: ServerContext, pod: dict[str, Any], attach: bool) -> web.StreamResponse:
    """GET (WebSocket) or POST pods/exec|attach. ``pod`` is the stored pod (404 already handled)."""
    q = request.query
    name = pod["metadata"]["name"]
    container = target_container(pod, name, q.get("container", ""))
    if not (pod.get("spec") or {}).get("nodeName"):
        raise errors.bad_request(f"pod {name} does not have a host assigned")
    command = list(q.getall("command", []))
    stdin, stdout, stderr, tty = _flag(q, "stdin"), _flag(q, "stdout"), _flag(q, "stderr"), _flag(q, "tty")
    if not attach and not command:
        raise errors.bad_request("you must specify at least one command for the container")
    if not (stdin or stdout or stderr):
        raise errors.bad_request("you must specify at least 1 of stdin, stdout, stderr")

    async def start() -> StreamSession:
        """The hop to the kubelet (its errors: ApiError with what the API server reports)."""
        if attach and ctx.attach_provider is not None:
            return await ctx.attach_provider(pod, container, tty, stdin)
        if not attach and ctx.exec_provider is not None:
            return await ctx.exec_provider(pod, container, command, tty, stdin)
        raise ApiError(500, "InternalError", "unable to upgrade connection: no kubelet serves this cluster's nodes")

    if not web.WebSocketResponse(protocols=channels.PROTOCOLS).can_prepare(request).ok:
        if not upgrade.wants_spdy(request):
            raise ApiError(400, "BadRequest", "Upgrade request required")
        return await spdyexec.serve(request, start, command, stdin=stdin, stdout=stdout, stderr=stderr, tty=tty,
                                    attach=attach)
    conn = await ChannelConn.accept(request)
    try:
        # the streaming server's handshake: an empty message on the lowest channel the client reads
        await conn.send(channels.STDOUT if stdout else channels.STDERR if (stderr and not tty) else channels.ERROR,
                        b"")
        try:
            session = await start()
        except ApiError as e:  # behind the StreamTranslator: the client's WebSocket is already up
            await conn.send_status(channels.internal_error(e.message))
            return conn.ws
        status = await pump(conn, session, stdin=stdin, stdout=stdout, stderr=stderr and not tty, tty=tty)
        if status is not None:
            if attach or status == 0:
                await conn.send_status(channels.success())
            else:
                await conn.send_status(channels.exit_code_status(command, status))
    except ConnectionError:
        pass
    finally:
        await conn.close()
    return conn.ws


async def pump(conn: ChannelConn, session: StreamSession, *, stdin: bool, stdout: bool, stderr: bool,
               tty: bool) -> int | None:
    """Copy between the WebSocket channels and the session until the process exits (its exit code) or the client
    goes away (None; an exec'd process is killed then, an attached container keeps running)."""

    async def copy_out(reader: asyncio.StreamReader, channel: int, forward: bool) -> None:
        while True:
            chunk = await reader.read(64 * 1024)
            if not chunk:
                return
            if forward:
                await conn.send(channel, chunk)

    async def copy_in() -> None:
        while True:
            m = await conn.receive()
            if m is None:
                return
            if m.channel == channels.STDIN:
                if m.closed:
                    session.close_stdin()
                elif stdin and m.data:
                    try:
                        await session.write(m.data)
                    except (ConnectionError, OSError):
                        pass  # the process closed its stdin or exited: later input has nowhere to go
            elif m.channel == channels.RESIZE and tty and not m.closed:
                size = channels.parse_resize(m.data)
                if size is not None and size[0] > 0 and size[1] > 0:
                    session.resize(*size)

    outs: list[asyncio.Task[None]] = []
    if session.stdout is not None:
        outs.append(asyncio.ensure_future(copy_out(session.stdout, channels.STDOUT, stdout)))
    if session.stderr is not None:
        outs.append(asyncio.ensure_future(copy_out(session.stderr, channels.STDERR, stderr)))
    inbound = asyncio.ensure_future(copy_in())
    waiter = asyncio.ensure_future(session.wait())
    try:
        await asyncio.wait({inbound, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if not waiter.done():  # the client left: an exec'd process is killed, an attach session detached
            session.kill()
            return None
        code = waiter.result()
        if outs:
            done, _ = await asyncio.wait(outs, timeout=OUTPUT_GRACE)
            if any(isinstance(t.exception(), ConnectionError) for t in done):
                return None
        return code
    finally:
        tasks: list[asyncio.Future[Any]] = [inbound, waiter, *outs]
        for f in tasks:
            if not f.done():
                f.cancel()
        for f in tasks:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await f
