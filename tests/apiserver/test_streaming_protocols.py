"""The streaming wire pieces on their own: SPDY/3.1 frames and header blocks, a SPDY session driven by a scripted
client, the channel protocol's status messages, and the API server's container rules for exec."""

from __future__ import annotations

import asyncio
import json
import struct
import zlib

import pytest

from kubelab.api.errors import ApiError
from kubelab.apiserver.streaming import channels, spdy
from kubelab.apiserver.streaming.exec import target_container


# ------------------------------------------------------------------------------------------------ SPDY
def test_dictionary_is_the_spdy3_one() -> None:
    d = spdy.DICTIONARY
    assert len(d) == 1423
    assert d.startswith(b"\x00\x00\x00\x07options\x00\x00\x00\x04head")
    assert d.endswith(b"charset=iso-8859-1,utf-,*,enq=0.")


def test_header_blocks_share_one_zlib_stream_per_direction() -> None:
    client, server = spdy.HeaderCodec(), spdy.HeaderCodec()
    first = client.encode({"streamType": "error", "port": "80", "requestID": "0"})
    second = client.encode({"streamType": "data", "port": "80", "requestID": "0"})
    assert server.decode(first) == {"streamtype": "error", "port": "80", "requestid": "0"}
    assert server.decode(second)["streamtype"] == "data"
    # the second block alone is not decodable: it continues the first one's zlib stream
    with pytest.raises(zlib.error):
        zlib.decompressobj(zdict=spdy.DICTIONARY).decompress(second)


def test_frame_layout() -> None:
    f = spdy.control_frame(spdy.PING, 0, struct.pack(">I", 1))
    assert f == bytes([0x80, 0x03, 0x00, 0x06, 0x00, 0x00, 0x00, 0x04, 0, 0, 0, 1])
    d = spdy.data_frame(3, spdy.FLAG_FIN, b"ab")
    assert d == bytes([0, 0, 0, 3, 0x01, 0, 0, 2]) + b"ab"


class ScriptedClient:
    """The client end of a SPDY session in memory: frames to the server, parsed frames back."""

    def __init__(self) -> None:
        self.to_server: asyncio.Queue[bytes] = asyncio.Queue()
        self.from_server: list[bytes] = []
        self.codec = spdy.HeaderCodec()
        self.server_codec = spdy.HeaderCodec()  # decodes what the server compressed

    async def read(self) -> bytes:
        return await self.to_server.get()

    async def write(self, frame: bytes) -> None:
        self.from_server.append(frame)

    def syn(self, sid: int, headers: dict[str, str], fin: bool = False) -> None:
        payload = struct.pack(">IIBB", sid, 0, 0, 0) + self.codec.encode(headers)
        self.to_server.put_nowait(spdy.control_frame(spdy.SYN_STREAM, spdy.FLAG_FIN if fin else 0, payload))

    def frames(self) -> list[tuple[str, int, int, bytes]]:
        out = []
        for f in self.from_server:
            word, fl = struct.unpack(">II", f[:8])
            if word & 0x80000000:
                out.append(("ctl", word & 0xFFFF, fl >> 24, f[8:]))
            else:
                out.append(("data", word, fl >> 24, f[8:]))
        return out


def test_session_replies_resets_echoes_pings_and_delivers_data() -> None:
    asyncio.run(_session_scenario())


async def _session_scenario() -> None:
    c = ScriptedClient()
    seen: list[spdy.Stream] = []

    def on_stream(s: spdy.Stream) -> str | None:
        if "port" not in s.headers:
            return '"port" header is required'
        seen.append(s)
        return None

    session = spdy.Session(c.read, c.write, on_stream)
    task = asyncio.ensure_future(session.serve())
    c.syn(1, {"streamType": "data", "port": "80"})
    c.syn(3, {"streamType": "data"})
    c.to_server.put_nowait(spdy.control_frame(spdy.PING, 0, struct.pack(">I", 5)))
    frame = spdy.data_frame(1, spdy.FLAG_FIN, b"hello")
    c.to_server.put_nowait(frame[:5])  # a frame split across transport messages
    c.to_server.put_nowait(frame[5:])
    await asyncio.sleep(0.05)
    assert [s.id for s in seen] == [1]
    assert await seen[0].reader.read() == b"hello"
    await seen[0].write(b"x" * (spdy.MAX_DATA + 1))
    await seen[0].close()
    c.to_server.put_nowait(b"")  # transport EOF
    await asyncio.wait_for(task, 2)
    kinds = c.frames()
    reply = kinds[0]
    assert reply[:2] == ("ctl", spdy.SYN_REPLY) and struct.unpack(">I", reply[3][:4])[0] == 1
    assert kinds[1][:2] == ("ctl", spdy.RST_STREAM) and struct.unpack(">II", kinds[1][3]) == (3, 3)
    assert kinds[2] == ("ctl", spdy.PING, 0, struct.pack(">I", 5))
    data = [k for k in kinds if k[0] == "data"]
    assert [len(k[3]) for k in data] == [spdy.MAX_DATA, 1, 0] and data[-1][2] == spdy.FLAG_FIN
    assert session.closed.is_set()


# ------------------------------------------------------------------------------------------------ channels
def test_exit_code_status_is_what_clients_decode() -> None:
    st = channels.exit_code_status(["sh", "-c", "exit 3"], 3)
    assert st["status"] == "Failure" and st["reason"] == "NonZeroExitCode"
    assert st["details"]["causes"] == [{"reason": "ExitCode", "message": "3"}]
    assert "error executing command [sh -c exit 3], exit code 3" in st["message"]
    assert channels.success() == {"metadata": {}, "status": "Success"}
    err = channels.internal_error('unable to upgrade connection: container not found ("web")')
    assert err["message"] == 'Internal error occurred: unable to upgrade connection: container not found ("web")'
    assert err["reason"] == "InternalError" and err["code"] == 500


def test_resize_messages() -> None:
    assert channels.parse_resize(json.dumps({"Width": 120, "Height": 40}).encode()) == (120, 40)
    assert channels.parse_resize(b"not json") is None


# ------------------------------------------------------------------------------------------------ exec rules
def _pod(*names: str, node: str = "n1", init: tuple[str, ...] = ()) -> dict[str, object]:
    return {"metadata": {"name": "web"}, "spec": {"nodeName": node, "containers": [{"name": n} for n in names],
                                                 "initContainers": [{"name": n} for n in init]}}


@pytest.mark.parametrize(("pod", "requested", "expect"), [
    (_pod("a"), "", "a"),
    (_pod("a", "b"), "b", "b"),
    (_pod("a", init=("setup",)), "setup", "setup"),
    (_pod("a", "b"), "", "a container name must be specified for pod web, choose one of: [a b]"),
    (_pod("a", "b", init=("i",)), "", "a container name must be specified for pod web, choose one of: [a b] "
                                      "or one of the init containers: [i]"),
    (_pod("a"), "bad", "container bad is not valid for pod web"),
])
def test_target_container(pod: dict[str, object], requested: str, expect: str) -> None:
    if " " not in expect:
        assert target_container(pod, "web", requested) == expect
        return
    with pytest.raises(ApiError) as e:
        target_container(pod, "web", requested)
    assert e.value.code == 400 and e.value.message == expect
