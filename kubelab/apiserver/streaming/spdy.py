"""SPDY/3.1 framing and a server-side session: what ``kubectl port-forward`` speaks inside its WebSocket tunnel.

Mirrors the server half of k8s.io/apimachinery/pkg/util/httpstream/spdy (built on moby/spdystream), following the
SPDY/3 draft (chromium.org/spdy/spdy-protocol/spdy-protocol-draft3-1):

* a control frame is ``1 | version(15) | type(16) | flags(8) | length(24) | payload``; a data frame is
  ``0 | stream-id(31) | flags(8) | length(24) | payload``;
* SYN_STREAM / SYN_REPLY / HEADERS carry a name/value block (``count(32)``, then ``len(32) name len(32) value``
  pairs) compressed with zlib, one compression context per direction for the whole connection, primed with the
  fixed SPDY/3 dictionary;
* the client opens streams (odd ids); the server answers each with SYN_REPLY, echoes the client's PINGs, and ends
  its half of a stream with a FIN flag (an empty DATA frame).

Simplified: no flow control (spdystream ignores WINDOW_UPDATE and sends none, so neither do we), no server push,
no priorities.
"""

from __future__ import annotations

import asyncio
import struct
import zlib
from collections.abc import Awaitable, Callable

VERSION = 3
SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE = 1, 2, 3, 4, 6, 7, 8, 9
FLAG_FIN = 0x01
RST_PROTOCOL_ERROR, RST_INVALID_STREAM, RST_REFUSED_STREAM, RST_CANCEL = 1, 2, 3, 5
MAX_DATA = 32 * 1024  # bytes per DATA frame we send (the format allows 2**24 - 1)


def _spdy3_dictionary() -> bytes:
    """The SPDY/3 header-compression dictionary (a fixed byte string of the SPDY/3 draft, 1423 bytes): the
    common header names as length-prefixed strings, then status lines, dates and media types run together."""
    words = ("options head post put delete trace accept accept-charset accept-encoding accept-language "
             "accept-ranges age allow authorization cache-control connection content-base content-encoding "
             "content-language content-length content-location content-md5 content-range content-type date etag "
             "expect expires from host if-match if-modified-since if-none-match if-range if-unmodified-since "
             "last-modified location max-forwards pragma proxy-authenticate proxy-authorization range referer "
             "retry-after server te trailer transfer-encoding upgrade user-agent vary via warning www-authenticate "
             "method get status").split() + ["200 OK", "version", "HTTP/1.1", "url", "public", "set-cookie",
                                              "keep-alive", "origin"]
    prefixed = b"".join(struct.pack(">I", len(w)) + w.encode() for w in words)
    tail = ("100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
            "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized"
            "403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable"
            "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
            "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,"
            "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.")
    return prefixed + tail.encode()


DICTIONARY = _spdy3_dictionary()


class ProtocolError(Exception):
    pass


class HeaderCodec:
    """One direction's name/value blocks: a zlib stream that lives as long as the connection."""

    def __init__(self) -> None:
        self._inflate = zlib.decompressobj(zdict=DICTIONARY)
        self._deflate = zlib.compressobj(zlib.Z_BEST_COMPRESSION, zlib.DEFLATED, 15, 8, zlib.Z_DEFAULT_STRATEGY,
                                         DICTIONARY)

    def decode(self, block: bytes) -> dict[str, str]:
        try:
            raw = self._inflate.decompress(block)
        except zlib.error as e:
            raise ProtocolError(f"header block: {e}") from None
        (count,), pos, out = struct.unpack_from(">I", raw), 4, {}
        for _ in range(count):
            (n,) = struct.unpack_from(">I", raw, pos)
            name = raw[pos + 4: pos + 4 + n].decode("latin-1")
            pos += 4 + n
            (n,) = struct.unpack_from(">I", raw, pos)
            out[name] = raw[pos + 4: pos + 4 + n].decode("latin-1").split("\x00")[0]
            pos += 4 + n
        return out

    def encode(self, headers: dict[str, str]) -> bytes:
        raw = struct.pack(">I", len(headers))
        for k, v in headers.items():
            kb, vb = k.lower().encode("latin-1"), v.encode("latin-1")
            raw += struct.pack(">I", len(kb)) + kb + struct.pack(">I", len(vb)) + vb
        return self._deflate.compress(raw) + self._deflate.flush(zlib.Z_SYNC_FLUSH)


def control_frame(type_: int, flags: int, payload: bytes) -> bytes:
    return struct.pack(">HHI", 0x8000 | VERSION, type_, (flags << 24) | len(payload)) + payload


def data_frame(stream_id: int, flags: int, payload: bytes) -> bytes:
    return struct.pack(">II", stream_id & 0x7FFFFFFF, (flags << 24) | len(payload)) + payload


class Stream:
    """One SPDY stream as the server sees it: the client's bytes arrive on ``reader`` (EOF at its FIN)."""

    def __init__(self, session: Session, stream_id: int, headers: dict[str, str]) -> None:
        self.session = session
        self.id = stream_id
        self.headers = headers
        self.reader = asyncio.StreamReader()
        self.local_closed = False
        self.reset = False

    async def write(self, data: bytes) -> None:
        if self.local_closed or self.reset:
            raise ConnectionResetError(f"stream {self.id} is closed")
        for i in range(0, len(data), MAX_DATA):
            await self.session.send(data_frame(self.id, 0, data[i: i + MAX_DATA]))

    async def close(self) -> None:
        """Half-close: a FIN tells the client nothing more comes from us."""
        if self.local_closed or self.reset:
            return
        self.local_closed = True
        await self.session.send(data_frame(self.id, FLAG_FIN, b""))

    def _remote_gone(self) -> None:
        if not self.reader.at_eof():
            self.reader.feed_eof()


class Session:
    """The server end of a SPDY connection over any byte transport.

    ``read`` returns the next bytes from the client (b"" at the end); ``write`` sends bytes to it. ``on_stream``
    is called for every SYN_STREAM; returning an error string resets the stream instead of replying."""

    def __init__(self, read: Callable[[], Awaitable[bytes]], write: Callable[[bytes], Awaitable[None]],
                 on_stream: Callable[[Stream], str | None]) -> None:
        self._read = read
        self._write = write
        self._on_stream = on_stream
        self._buf = bytearray()
        self._codec = HeaderCodec()
        self._lock = asyncio.Lock()
        self.streams: dict[int, Stream] = {}
        self.closed = asyncio.Event()

    async def send(self, frame: bytes) -> None:
        if self.closed.is_set():
            raise ConnectionResetError("connection closed")
        async with self._lock:
            await self._write(frame)

    async def _take(self, n: int) -> bytes:
        while len(self._buf) < n:
            chunk = await self._read()
            if not chunk:
                raise EOFError
            self._buf += chunk
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    async def serve(self) -> None:
        """Read frames until the client goes away (EOF or GOAWAY); then every stream sees EOF."""
        try:
            while True:
                head = await self._take(8)
                word, flags_len = struct.unpack(">II", head)
                flags, length = flags_len >> 24, flags_len & 0xFFFFFF
                payload = await self._take(length)
                if word & 0x80000000:
                    if not await self._control(word & 0xFFFF, flags, payload):
                        break
                else:
                    self._data(word & 0x7FFFFFFF, flags, payload)
        except (EOFError, ConnectionError):
            pass
        finally:
            self.closed.set()
            for s in self.streams.values():
                s._remote_gone()

    async def _control(self, type_: int, flags: int, payload: bytes) -> bool:
        if type_ == SYN_STREAM:
            (sid,) = struct.unpack_from(">I", payload)
            sid &= 0x7FFFFFFF
            try:
                headers = self._codec.decode(payload[10:])
            except (ProtocolError, struct.error):
                await self.send(control_frame(GOAWAY, 0, struct.pack(">II", sid, 1)))
                return False
            if sid in self.streams or sid % 2 == 0:
                await self.send(control_frame(RST_STREAM, 0, struct.pack(">II", sid, RST_PROTOCOL_ERROR)))
                return True
            stream = Stream(self, sid, headers)
            problem = self._on_stream(stream)
            if problem is not None:
                await self.send(control_frame(RST_STREAM, 0, struct.pack(">II", sid, RST_REFUSED_STREAM)))
                return True
            self.streams[sid] = stream
            await self.send(control_frame(SYN_REPLY, 0, struct.pack(">I", sid) + self._codec.encode({})))
            if flags & FLAG_FIN:
                stream._remote_gone()
        elif type_ == RST_STREAM:
            (sid,) = struct.unpack_from(">I", payload)
            s = self.streams.pop(sid & 0x7FFFFFFF, None)
            if s is not None:
                s.reset = True
                s._remote_gone()
        elif type_ == PING:
            (pid,) = struct.unpack_from(">I", payload)
            if pid % 2 == 1:  # the client's ping: echo it; even ids would be answers to ours (we send none)
                await self.send(control_frame(PING, 0, payload[:4]))
        elif type_ == GOAWAY:
            return False
        elif type_ == HEADERS:
            self._codec.decode(payload[4:])  # keep the shared zlib context in step
        return True  # SETTINGS, WINDOW_UPDATE: nothing to do without flow control

    def _data(self, sid: int, flags: int, payload: bytes) -> None:
        s = self.streams.get(sid)
        if s is None:
            return
        if payload and not s.reader.at_eof():
            s.reader.feed_data(payload)
        if flags & FLAG_FIN:
            s._remote_gone()

    def forget(self, stream: Stream) -> None:
        self.streams.pop(stream.id, None)
