"""The plain SPDY/3.1 upgrade (``Connection: Upgrade``, ``Upgrade: SPDY/3.1``) on an aiohttp connection.

Mirrors k8s.io/apimachinery/pkg/util/httpstream (Handshake: the client lists ``X-Stream-Protocol-Version``
headers, the server answers 101 with the one it picked, or 403 ``unable to upgrade: unable to negotiate
protocol``) and httpstream/spdy's ResponseUpgrader. After the 101 the connection is a raw byte pipe: aiohttp's
upgraded-connection hook (``set_parser``, as its WebSocket support uses) hands us the bytes, and writes go out on
the response unframed. kubectl uses this only when its WebSocket upgrade fails (or when told to:
``KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false``, ``KUBECTL_PORT_FORWARD_WEBSOCKETS=false``); client-go programs that
build a SPDY executor use it always.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from kubelab.api.errors import ApiError

SPDY = "SPDY/3.1"


def wants_spdy(request: web.Request) -> bool:
    return request.headers.get("Upgrade", "").lower() == SPDY.lower() and \
        "upgrade" in request.headers.get("Connection", "").lower()


def negotiate(request: web.Request, supported: Sequence[str]) -> str:
    """The first of the client's protocol versions the server supports (httpstream.Handshake)."""
    offered = [p.strip() for v in request.headers.getall("X-Stream-Protocol-Version", []) for p in v.split(",")]
    for p in offered:
        if p in supported:
            return p
    if not offered:
        return ""
    raise ApiError(403, "Forbidden", f"unable to upgrade: unable to negotiate protocol: client supports {offered}, "
                                     f"server supports {list(supported)}")


class _RawParser:
    """What aiohttp feeds an upgraded connection's bytes to (the interface its WebSocketReader has)."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        self.queue.put_nowait(bytes(data))
        return False, b""

    def feed_eof(self) -> None:
        self.queue.put_nowait(b"")


class SpdyPipe:
    """An upgraded connection: ``read`` the client's bytes (b"" at the end), ``write`` ours."""

    def __init__(self, request: web.Request, response: web.StreamResponse, parser: _RawParser) -> None:
        self.request = request
        self.response = response
        self._parser = parser
        self.eof = False

    async def read(self) -> bytes:
        if self.eof:
            return b""
        data = await self._parser.queue.get()
        self.eof = not data
        return data

    async def write(self, data: bytes) -> None:
        transport = self.request.transport
        if transport is None or transport.is_closing():
            raise ConnectionResetError("connection closed")
        await self.response.write(data)

    def close(self) -> None:
        transport = self.request.transport
        if transport is not None:
            transport.close()


async def upgrade(request: web.Request, protocol: str) -> SpdyPipe:
    """Answer 101 Switching Protocols and take the connection over."""
    headers = {"Connection": "Upgrade", "Upgrade": SPDY}
    if protocol:
        headers["X-Stream-Protocol-Version"] = protocol
    resp = web.StreamResponse(status=101, headers=headers)
    await resp.prepare(request)
    parser = _RawParser()
    proto: Any = request.protocol
    proto.set_parser(parser)
    proto.keep_alive(False)
    return SpdyPipe(request, resp, parser)
