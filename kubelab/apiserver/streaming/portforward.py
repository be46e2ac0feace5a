"""pods/portforward: SPDY/3.1 tunnelled through a WebSocket, as kubectl 1.37 speaks it.

Mirrors PortForwardREST (pkg/registry/core/pod/rest/subresources.go: the pod must be bound to a node), the API
server's TunnelingHandler (staging/src/k8s.io/apiserver/pkg/util/proxy/streamtunnel.go: the client's WebSocket
offers ``SPDY/3.1+portforward.k8s.io``; its binary messages carry the SPDY byte stream; the WebSocket is accepted
only once the kubelet side is reachable, so a kubelet error is an ordinary HTTP error and kubectl's fallback
reports it), and the kubelet's httpStreamHandler (staging/src/k8s.io/kubelet/pkg/cri/streaming/portforward/
httpstream.go): per forwarded connection the client opens an ``error`` and a ``data`` stream with the same
``requestID`` and ``port`` headers; the pair is served by dialling the port in the pod's network and copying
bytes both ways; a failure is written as text on the error stream (kubectl logs it and drops the connection).

The older non-tunnelled WebSocket protocol of the official Python client (``v4.channel.k8s.io``, two channels per
port announced in ``?ports=``, each opened with the port as two little-endian bytes) is served too.

A plain SPDY upgrade (POST, ``Upgrade: SPDY/3.1``, ``X-Stream-Protocol-Version: portforward.k8s.io``: kubectl's
fallback, and what client-go's SPDY dialer sends) is served by the same stream handling.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import WSMsgType, web

from kubelab.api import errors
from kubelab.api.errors import ApiError
from kubelab.apiserver.context import PortDialer, ServerContext
from kubelab.apiserver.streaming import spdy, upgrade

TUNNEL_PROTOCOL = "SPDY/3.1+portforward.k8s.io"
CHANNEL_PROTOCOLS = ("v4.channel.k8s.io", "portforward.k8s.io")
STREAM_CREATION_TIMEOUT = 30.0  # the kubelet's streamCreationTimeout: how long a half pair may wait


async def serve(request: web.Request, ctx: ServerContext, pod: dict[str, Any]) -> web.StreamResponse:
    name = pod["metadata"]["name"]
    if not (pod.get("spec") or {}).get("nodeName"):
        raise errors.bad_request(f"pod {name} does not have a host assigned")
    if ctx.portforward_provider is None:
        raise ApiError(500, "InternalError", "unable to upgrade connection: no kubelet serves this cluster's nodes")
    ws = web.WebSocketResponse(protocols=(TUNNEL_PROTOCOL, *CHANNEL_PROTOCOLS), autoping=True,
                               max_msg_size=16 * 1024 * 1024, timeout=3.0)
    # the kubelet's errors come before the upgrade, as behind the tunnel handler; kubectl then retries with a
    # SPDY upgrade (POST), which must meet the same error, not a different one
    dialer = await ctx.portforward_provider(pod)
    ready = ws.can_prepare(request)
    if not ready.ok:
        if not upgrade.wants_spdy(request):
            raise ApiError(400, "BadRequest", "Upgrade request required")
        pipe = await upgrade.upgrade(request, upgrade.negotiate(request, ("portforward.k8s.io",)))
        try:
            await serve_spdy(pipe.read, pipe.write, dialer)
        finally:
            pipe.close()
        return pipe.response
    ports: list[int] = []
    if ready.protocol != TUNNEL_PROTOCOL:
        ports = _query_ports(request)
    await ws.prepare(request)
    try:
        if ws.ws_protocol == TUNNEL_PROTOCOL:
            await _serve_tunnel(ws, dialer)
        else:
            await _serve_channels(ws, dialer, ports)
    finally:
        if not ws.closed:
            await ws.close()
    return ws


# ------------------------------------------------------------------------------------------------ SPDY
async def _serve_tunnel(ws: web.WebSocketResponse, dialer: PortDialer) -> None:
    async def read() -> bytes:
        while True:
            msg = await ws.receive()
            if msg.type == WSMsgType.BINARY:
                if msg.data:
                    return bytes(msg.data)
            elif msg.type == WSMsgType.TEXT:
                continue
            else:
                return b""

    async def write(frame: bytes) -> None:
        if ws.closed:
            raise ConnectionResetError("websocket closed")
        await ws.send_bytes(frame)

    await serve_spdy(read, write, dialer)


async def serve_spdy(read: Callable[[], Awaitable[bytes]], write: Callable[[bytes], Awaitable[None]],
                     dialer: PortDialer) -> None:
    """The kubelet's httpStreamHandler over a SPDY byte stream (tunnelled or plainly upgraded)."""
    pairs: dict[str, dict[str, spdy.Stream]] = {}
    tasks: set[asyncio.Task[None]] = set()

    def on_stream(stream: spdy.Stream) -> str | None:
        h = stream.headers
        port, kind = h.get("port", ""), h.get("streamtype", "")
        if not port:
            return '"port" header is required'
        if not port.isdigit() or not 0 < int(port) < 65536:
            return f'unable to parse "{port}" as a port'
        if kind not in ("error", "data"):
            return f'invalid stream type "{kind}"' if kind else '"streamType" header is required'
        # old clients without requestID: pair consecutive error/data streams (httpStreamHandler.requestID)
        rid = h.get("requestid") or str(stream.id if kind == "error" else stream.id - 2)
        pair = pairs.setdefault(rid, {})
        if kind in pair:
            return f"{kind} stream already assigned"
        pair[kind] = stream
        if len(pair) == 1:
            _spawn(tasks, _expire(pairs, rid, pair))
        if "error" in pair and "data" in pair:
            pairs.pop(rid, None)
            _spawn(tasks, _forward(session, dialer, pair["data"], pair["error"]))
        return None

    session = spdy.Session(read, write, on_stream)
    try:
        await session.serve()
    finally:
        for t in list(tasks):
            t.cancel()
        for t in list(tasks):
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await t


def _spawn(tasks: set[asyncio.Task[None]], coro: Any) -> None:
    t = asyncio.ensure_future(coro)
    tasks.add(t)
    t.add_done_callback(tasks.discard)


async def _expire(pairs: dict[str, dict[str, spdy.Stream]], rid: str, pair: dict[str, spdy.Stream]) -> None:
    await asyncio.sleep(STREAM_CREATION_TIMEOUT)
    if pairs.get(rid) is pair:
        pairs.pop(rid, None)
        err = pair.get("error")
        if err is not None:
            with contextlib.suppress(ConnectionError):
                await err.write(f"(request={rid}) timed out waiting for streams".encode())
                await err.close()


async def _forward(session: spdy.Session, dialer: PortDialer, data: spdy.Stream, err: spdy.Stream) -> None:
    """One forwarded connection: dial the pod's port, copy both ways, report a failure on the error stream."""
    port = int(data.headers["port"])
    try:
        try:
            reader, writer = await dialer.dial(port)
        except ApiError as e:
            await err.write(e.message.encode())
            return
        try:
            await _splice(data.reader, data.write, reader, writer)
        finally:
            writer.close()
    except ConnectionError:
        pass
    finally:
        for s in (data, err):
            with contextlib.suppress(ConnectionError):
                await s.close()
        session.forget(data)
        session.forget(err)


async def _splice(client_in: asyncio.StreamReader, client_write: Any, pod_in: asyncio.StreamReader,
                  pod_out: asyncio.StreamWriter) -> None:
    """Copy client -> pod (half-closing the pod side at the client's EOF) and pod -> client; done when the pod
    side ends or the client stream is gone."""

    async def up() -> None:
        while True:
            chunk = await client_in.read(64 * 1024)
            if not chunk:
                if pod_out.can_write_eof():
                    with contextlib.suppress(OSError):
                        pod_out.write_eof()
                return
            pod_out.write(chunk)
            await pod_out.drain()

    async def down() -> None:
        while True:
            chunk = await pod_in.read(64 * 1024)
            if not chunk:
                return
            await client_write(chunk)

    up_t, down_t = asyncio.ensure_future(up()), asyncio.ensure_future(down())
    try:
        await asyncio.wait({down_t, up_t}, return_when=asyncio.FIRST_COMPLETED)
        if up_t.done() and not down_t.done():
            await down_t  # the client finished sending; the pod's answer still comes
    finally:
        for t in (up_t, down_t):
            t.cancel()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await t


# ------------------------------------------------------------------------------------------------ channels
def _query_ports(request: web.Request) -> list[int]:
    raw = [p for v in request.query.getall("ports", []) for p in v.split(",") if p]
    if not raw:
        raise errors.bad_request("query parameter \"port\" is required")
    out = []
    for p in raw:
        if not p.isdigit() or not 0 < int(p) < 65536:
            raise errors.bad_request(f'unable to parse "{p}" as a port')
        out.append(int(p))
    return out


async def _serve_channels(ws: web.WebSocketResponse, dialer: PortDialer, ports: list[int]) -> None:
    """The kubelet's websocket port-forward: data channel 2i and error channel 2i+1 for the i-th port."""
    conns: dict[int, asyncio.StreamWriter] = {}
    tasks: set[asyncio.Task[None]] = set()
    lock = asyncio.Lock()

    async def send(ch: int, data: bytes) -> None:
        async with lock:
            if not ws.closed:
                await ws.send_bytes(bytes([ch]) + data)

    async def down(i: int, reader: asyncio.StreamReader) -> None:
        while chunk := await reader.read(64 * 1024):
            await send(2 * i, chunk)
        conns.pop(i).close()
        if not conns:  # every port's connection has ended: nothing more can flow (one connection per port)
            await ws.close()

    for i, port in enumerate(ports):
        await send(2 * i, struct.pack("<H", port))
        await send(2 * i + 1, struct.pack("<H", port))
        try:
            reader, writer = await dialer.dial(port)
        except ApiError as e:
            await send(2 * i + 1, e.message.encode())
            continue
        conns[i] = writer
        _spawn(tasks, down(i, reader))
    try:
        async for msg in ws:
            if msg.type != WSMsgType.BINARY or len(msg.data) < 1:
                continue
            ch, payload = msg.data[0], msg.data[1:]
            w = conns.get(ch // 2) if ch % 2 == 0 else None
            if w is not None and payload:
                w.write(payload)
                await w.drain()
    finally:
        for t in list(tasks):
            t.cancel()
        for w in conns.values():
            w.close()
