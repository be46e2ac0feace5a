"""exec and attach over a plain SPDY/3.1 upgrade: one SPDY stream per standard stream.

Mirrors the kubelet's remotecommand server (staging/src/k8s.io/kubelet/pkg/cri/streaming/remotecommand/
httpstream.go): the client negotiates ``v4.channel.k8s.io`` (or an older version) in ``X-Stream-Protocol-Version``,
then opens streams whose ``streamType`` header says ``error``, ``stdin``, ``stdout``, ``stderr`` or ``resize``
(newline-separated TerminalSize JSON, v3+). The server waits until every expected stream is there, runs the
command, closes the output streams at the process's end and writes the result on the error stream: a Status
(v4: Success, or NonZeroExitCode with an ExitCode cause) or, for v1-v3, just the message text.

Reached when kubectl's WebSocket attempt fails, with ``KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false``, or from
client-go programs that build a SPDY executor.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from aiohttp import web

from kubelab.api.errors import ApiError
from kubelab.apiserver.context import StreamSession
from kubelab.apiserver.streaming import channels, spdy, upgrade

PROTOCOLS = ("v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io")
STREAM_CREATION_TIMEOUT = 30.0
OUTPUT_GRACE = 2.0


async def serve(request: web.Request, start: Any, command: list[str], *, stdin: bool, stdout: bool, stderr: bool,
                tty: bool, attach: bool) -> web.StreamResponse:
    """``start()`` asks the kubelet for the session; its refusal is the kubelet's non-101 answer (kubectl prints
    ``unable to upgrade connection: <text>``), so it runs before the upgrade."""
    protocol = upgrade.negotiate(request, PROTOCOLS) or "channel.k8s.io"
    try:
        session: StreamSession = await start()
    except ApiError as e:
        text = e.message.removeprefix("unable to upgrade connection: ")
        if text == e.message:
            raise
        return web.Response(status=e.code, text=text)
    pipe = await upgrade.upgrade(request, protocol)
    expected = {"error"} | {name for name, on in (("stdin", stdin), ("stdout", stdout),
                                                  ("stderr", stderr and not tty)) if on}
    if tty and protocol in ("v4.channel.k8s.io", "v3.channel.k8s.io"):
        expected.add("resize")
    streams: dict[str, spdy.Stream] = {}
    complete = asyncio.Event()

    def on_stream(s: spdy.Stream) -> str | None:
        kind = s.headers.get("streamtype", "")
        if kind not in ("error", "stdin", "stdout", "stderr", "resize") or kind in streams:
            return f"unexpected stream of type {kind!r}"
        streams[kind] = s
        if expected <= streams.keys():
            complete.set()
        return None

    conn = spdy.Session(pipe.read, pipe.write, on_stream)
    serving = asyncio.ensure_future(conn.serve())
    try:
        gone = asyncio.ensure_future(conn.closed.wait())
        await asyncio.wait({gone, asyncio.ensure_future(complete.wait())}, timeout=STREAM_CREATION_TIMEOUT,
                           return_when=asyncio.FIRST_COMPLETED)
        gone.cancel()
        if not complete.is_set():
            session.kill()  # (an attach session: detached)
            return pipe.response
        code = await _pump(conn, streams, session)
        if code is None:
            return pipe.response
        for kind in ("stdout", "stderr"):
            if kind in streams:
                await streams[kind].close()
        if attach or code == 0:
            status: dict[str, Any] = channels.success()
        else:
            status = channels.exit_code_status(command, code)
        err = streams["error"]
        if protocol == "v4.channel.k8s.io":
            await err.write(json.dumps(status, separators=(",", ":")).encode())
        elif status["status"] != "Success":
            await err.write(status["message"].encode())
        await err.close()
        await asyncio.sleep(0.05)  # let the last frames leave before the connection closes
    except ConnectionError:
        pass
    finally:
        serving.cancel()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await serving
        pipe.close()
    return pipe.response


async def _pump(conn: spdy.Session, streams: dict[str, spdy.Stream], session: StreamSession) -> int | None:
    async def copy_out(reader: asyncio.StreamReader, kind: str) -> None:
        target = streams.get(kind)
        while chunk := await reader.read(64 * 1024):
            if target is not None:
                await target.write(chunk)

    async def copy_in(s: spdy.Stream) -> None:
        while chunk := await s.reader.read(64 * 1024):
            with contextlib.suppress(ConnectionError, OSError):
                await session.write(chunk)
        session.close_stdin()

    async def resizes(s: spdy.Stream) -> None:
        while line := await s.reader.readline():
            size = channels.parse_resize(line)
            if size is not None and size[0] > 0 and size[1] > 0:
                session.resize(*size)

    tasks: list[asyncio.Future[Any]] = []
    outs: list[asyncio.Future[Any]] = []
    if session.stdout is not None:
        outs.append(asyncio.ensure_future(copy_out(session.stdout, "stdout")))
    if session.stderr is not None:
        outs.append(asyncio.ensure_future(copy_out(session.stderr, "stderr")))
    if "stdin" in streams:
        tasks.append(asyncio.ensure_future(copy_in(streams["stdin"])))
    if "resize" in streams:
        tasks.append(asyncio.ensure_future(resizes(streams["resize"])))
    waiter = asyncio.ensure_future(session.wait())
    gone = asyncio.ensure_future(conn.closed.wait())
    tasks += [waiter, gone, *outs]
    try:
        await asyncio.wait({waiter, gone}, return_when=asyncio.FIRST_COMPLETED)
        if not waiter.done():  # the client left: an exec'd process is killed, an attach session detached
            session.kill()
            return None
        if outs:
            await asyncio.wait(outs, timeout=OUTPUT_GRACE)
        return int(waiter.result())
    finally:
        for t in tasks:
            if not t.done():
                t.cancel()
        for t in tasks:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await t
