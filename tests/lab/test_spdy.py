"""The SPDY/3.1 codec (``lab/api/spdy.py``) and the kubelet's port-forward session on it
(``lab/api/spdy_forward.py``), without a lab: a fake pod whose port is a local echo server."""

from __future__ import annotations

import asyncio
import struct
import zlib
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from gloomon.lab.api import spdy
from gloomon.lab.api.spdy_forward import SpdyPortForward
from gloomon.lab.cluster.store import Pod

FRAMES: list[spdy.Frame] = [
    spdy.SynStream(1, {"streamtype": ["error"], "port": ["8001"], "requestid": ["0"]}),
    spdy.SynStream(3, {"streamtype": ["data"], "port": ["8001"], "requestid": ["0"]}, priority=2, fin=True),
    spdy.SynReply(1),
    spdy.HeadersFrame(3, {"a": ["1", "2"]}, fin=True),
    spdy.DataFrame(3, b"GET / HTTP/1.1\r\n\r\n"),
    spdy.DataFrame(3, b"", fin=True),
    spdy.RstStream(3, spdy.RstStatus.CANCEL),
    spdy.Settings(((0, 4, 100),)),
    spdy.Ping(1),
    spdy.WindowUpdate(3, 65536),
    spdy.GoAway(3, 0),
]


def test_frames_round_trip_fed_a_byte_at_a_time() -> None:
    encoder = spdy.Encoder()  # one per direction: the header blocks share its zlib stream
    raw = b"".join(encoder.encode(f) for f in FRAMES)
    decoder, out = spdy.Decoder(), []
    for i in range(len(raw)):  # a websocket tunnel may cut the stream anywhere
        out += decoder.feed(raw[i : i + 1])
    assert out == FRAMES


def test_frame_headers_are_spdy3_layout() -> None:
    syn = spdy.Encoder().encode(spdy.SynStream(5, {"port": ["1"]}, fin=True))
    word, kind, flags_length = struct.unpack_from(">HHI", syn)
    assert word == 0x8000 | 3 and kind == 1  # control bit, version 3, SYN_STREAM
    assert flags_length >> 24 == spdy.FLAG_FIN and flags_length & 0xFFFFFF == len(syn) - 8
    assert struct.unpack_from(">I", syn, 8)[0] == 5
    data = spdy.Encoder().encode(spdy.DataFrame(7, b"abc", fin=True))
    assert data == struct.pack(">II", 7, (1 << 24) | 3) + b"abc"


def test_header_blocks_share_one_zlib_stream_with_the_spdy3_dictionary() -> None:
    encoder = spdy.Encoder()
    first = encoder.encode(spdy.SynReply(1, {"x": ["1"]}))
    second = encoder.encode(spdy.SynReply(3, {"x": ["1"]}))
    # the first block opens a zlib stream whose FDICT id is the dictionary's Adler-32
    assert struct.unpack_from(">I", first, 14)[0] == zlib.adler32(spdy.DICTIONARY)
    assert len(second) < len(first)  # the second refers back to the first
    assert spdy.Decoder().feed(first + second) == [
        spdy.SynReply(1, {"x": ["1"]}),
        spdy.SynReply(3, {"x": ["1"]}),
    ]
    with pytest.raises(spdy.SpdyError):  # a fresh stream cannot start mid-session
        spdy.Decoder().feed(second)


@pytest.mark.parametrize(
    "block",
    [
        spdy.encode_header_block({"x": ["1"]})[:-1],  # short
        struct.pack(">I", 1) + struct.pack(">I", 1) + b"X" + struct.pack(">I", 0),  # upper case
        struct.pack(">I", 2) + (struct.pack(">I", 1) + b"x" + struct.pack(">I", 0)) * 2,  # repeated
    ],
)
def test_bad_header_blocks_are_errors(block: bytes) -> None:
    with pytest.raises(spdy.SpdyError):
        spdy.decode_header_block(block)


def test_stream_id_zero_and_unknown_types_are_errors() -> None:
    with pytest.raises(spdy.SpdyError):
        spdy.Decoder().feed(struct.pack(">II", 0, 0))
    with pytest.raises(spdy.SpdyError):
        spdy.Decoder().feed(struct.pack(">HHI", 0x8003, 42, 0))


# ------------------------------------------------------------------------------------------ session


@pytest_asyncio.fixture
async def echo_pod() -> AsyncIterator[Pod]:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(1024):
            writer.write(data.upper())
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield Pod("p", "ns", {}, [], "10.0.0.1", port_map={8001: port})
    server.close()


class Client:
    """The client side of a session: kubectl's frames in, the session's frames out."""

    def __init__(self, pod: Pod) -> None:
        self.encoder, self.decoder = spdy.Encoder(), spdy.Decoder()
        self.received: list[spdy.Frame] = []
        self.session = SpdyPortForward(pod, self._write)
        self.arrived = asyncio.Event()

    async def _write(self, data: bytes) -> None:
        self.received += self.decoder.feed(data)
        self.arrived.set()

    async def send(self, *frames: spdy.Frame) -> None:
        await self.session.feed(b"".join(self.encoder.encode(f) for f in frames))

    async def until(self, accept: type | spdy.Frame) -> list[spdy.Frame]:
        async with asyncio.timeout(10):
            while not any(
                f == accept or (isinstance(accept, type) and isinstance(f, accept)) for f in self.received
            ):
                self.arrived.clear()
                await self.arrived.wait()
        return self.received


def streams(port: str, request: str = "0") -> tuple[spdy.SynStream, spdy.SynStream]:
    return (
        spdy.SynStream(1, {"streamtype": ["error"], "port": [port], "requestid": [request]}),
        spdy.SynStream(3, {"streamtype": ["data"], "port": [port], "requestid": [request]}),
    )


async def test_a_pair_is_bridged_and_closed_like_the_kubelet_does(echo_pod: Pod) -> None:
    client = Client(echo_pod)
    error, data = streams("8001")
    await client.send(error, spdy.DataFrame(1, b"", fin=True), data, spdy.DataFrame(3, b"hello"))
    await client.until(spdy.DataFrame(3, b"HELLO"))
    assert client.received[:2] == [spdy.SynReply(1), spdy.SynReply(3)]
    await client.send(spdy.DataFrame(3, b"", fin=True))  # local connection closed: the pod sees EOF
    await client.until(spdy.DataFrame(3, b"", fin=True))
    assert spdy.DataFrame(1, b"", fin=True) in client.received  # the error stream ends empty
    await client.session.close()


async def test_refused_port_is_written_to_the_error_stream(echo_pod: Pod) -> None:
    client = Client(echo_pod)
    await client.send(*streams("7777"))
    received = await client.until(spdy.DataFrame(1, b"", fin=True))
    message = b"".join(f.data for f in received if isinstance(f, spdy.DataFrame) and f.stream_id == 1)
    assert message.startswith(b"error forwarding port 7777 to pod ") and b"connection refused" in message


async def test_bad_streams_are_reset_and_pings_echoed(echo_pod: Pod) -> None:
    client = Client(echo_pod)
    await client.send(spdy.SynStream(1, {"streamtype": ["data"]}), spdy.Ping(1))
    received = await client.until(spdy.Ping)
    assert spdy.RstStream(1, spdy.RstStatus.CANCEL) in received and spdy.Ping(1) in received
    await client.send(spdy.SynStream(3, {"streamtype": ["bogus"], "port": ["8001"]}))
    await client.until(spdy.RstStream(3, spdy.RstStatus.CANCEL))
    await client.session.close()
