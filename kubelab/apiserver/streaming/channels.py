"""The WebSocket channel protocol of exec and attach (``v5.channel.k8s.io`` and its predecessors).

Mirrors k8s.io/apimachinery/pkg/util/httpstream/wsstream (the server's channel multiplexing) and the stream
semantics of k8s.io/apimachinery/pkg/util/remotecommand: every binary message starts with one byte naming the
channel, the rest is payload:

    0 stdin (client -> server)     1 stdout     2 stderr     3 error: one metav1.Status, written last
    4 resize (client -> server): {"Width": 80, "Height": 24}
    255 close (v5 only): the client closed the channel named by the next byte (stdin EOF)

``base64.channel.k8s.io`` variants send text messages whose first character is the channel digit and whose payload
is base64; they are kept for old clients. kubectl 1.37 offers only v5; the official Python client offers v5 and v4.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMsgType, web

STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
V5, V4 = "v5.channel.k8s.io", "v4.channel.k8s.io"
PROTOCOLS = (V5, V4, "v4.base64.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io",
             "base64.channel.k8s.io")


@dataclass
class Inbound:
    """A message from the client: data for a channel, a resize, or the close of a channel."""

    channel: int
    data: bytes = b""
    closed: bool = False


class ChannelConn:
    """One upgraded exec/attach connection: decode client messages, encode server output per channel."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.protocol = ws.ws_protocol or ""
        self.base64 = "base64" in self.protocol
        self.v5 = self.protocol == V5

    @classmethod
    async def accept(cls, request: web.Request) -> ChannelConn:
        # timeout: how long close() waits for the client's close frame (the Python client may never send one)
        ws = web.WebSocketResponse(protocols=PROTOCOLS, autoping=True, max_msg_size=16 * 1024 * 1024, timeout=3.0)
        await ws.prepare(request)
        return cls(ws)

    async def send(self, channel: int, data: bytes) -> None:
        if self.ws.closed:
            raise ConnectionResetError("websocket closed")
        if self.base64:
            await self.ws.send_str(chr(ord("0") + channel) + base64.b64encode(data).decode())
        else:
            await self.ws.send_bytes(bytes([channel]) + data)

    async def send_status(self, status: dict[str, Any]) -> None:
        """The error channel's one message. v1/v2 carried only a message string; v3+ carry the Status."""
        if self.protocol in ("channel.k8s.io", "v2.channel.k8s.io", "base64.channel.k8s.io"):
            if status.get("status") != "Success":
                await self.send(ERROR, str(status.get("message", "")).encode())
            return
        await self.send(ERROR, json.dumps(status, separators=(",", ":")).encode())

    async def receive(self) -> Inbound | None:
        """The next client message; None when the connection is gone."""
        while True:
            msg = await self.ws.receive()
            if msg.type == WSMsgType.BINARY:
                raw: bytes = msg.data
                if not raw:
                    continue
                if raw[0] == CLOSE and self.v5:
                    return Inbound(raw[1] if len(raw) > 1 else STDIN, closed=True)
                return Inbound(raw[0], raw[1:])
            if msg.type == WSMsgType.TEXT:
                text: str = msg.data
                if not text:
                    continue
                if not self.base64:  # a text frame on a binary protocol (the Python client writes str so)
                    if ord(text[0]) == CLOSE and self.v5:
                        return Inbound(ord(text[1]) if len(text) > 1 else STDIN, closed=True)
                    return Inbound(ord(text[0]), text[1:].encode())
                try:
                    return Inbound(ord(text[0]) - ord("0"), base64.b64decode(text[1:]))
                except ValueError:
                    continue
            if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                return None

    async def close(self) -> None:
        if not self.ws.closed:
            await self.ws.close()


def parse_resize(data: bytes) -> tuple[int, int] | None:
    """remotecommand.TerminalSize as JSON: {"Width": 80, "Height": 24}."""
    try:
        obj = json.loads(data)
        return int(obj.get("Width") or obj.get("width") or 0), int(obj.get("Height") or obj.get("height") or 0)
    except (ValueError, TypeError, AttributeError):
        return None


def success() -> dict[str, Any]:
    return {"metadata": {}, "status": "Success"}


def exit_code_status(cmd: list[str], code: int) -> dict[str, Any]:
    """The status the kubelet's streaming server writes for a command that exited non-zero (the runtime's
    CodeExitError); clients turn the ExitCode cause into their own exit code."""
    return {
        "metadata": {}, "status": "Failure",
        "message": f"command terminated with non-zero exit code: error executing command {_go_list(cmd)}, "
                   f"exit code {code}",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }


def internal_error(message: str) -> dict[str, Any]:
    """apierrors.NewInternalError: what the API server writes when it cannot reach or run the stream."""
    return {
        "metadata": {}, "status": "Failure", "message": f"Internal error occurred: {message}",
        "reason": "InternalError", "details": {"causes": [{"message": message}]}, "code": 500,
    }


def _go_list(items: list[str]) -> str:
    """Go's %v of a []string: [sh -c exit 3]."""
    return "[" + " ".join(items) + "]"
