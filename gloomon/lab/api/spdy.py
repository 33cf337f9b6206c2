"""SPDY/3.1 framing, the dialect Kubernetes' streaming uses (moby/spdystream): a codec, no I/O.

``kubectl port-forward`` speaks SPDY/3.1 to the kubelet, either over a plain HTTP upgrade
(``Upgrade: SPDY/3.1``) or tunnelled in a websocket (subprotocol ``SPDY/3.1+portforward.k8s.io``,
each binary message an arbitrary slice of the SPDY byte stream). What is implemented is what that
dialect uses (draft-mbelshe-httpbis-spdy-00 for the layouts):

* every frame has an 8-byte header; a control frame ``1 | version(15)=3 | type(16) | flags(8) |
  length(24)``, a data frame ``0 | stream id(31) | flags(8) | length(24)``; ``FLAG_FIN`` (0x01) ends the
  sender's half of a stream, ``FLAG_UNIDIRECTIONAL`` (0x02, SYN_STREAM only) says the receiver will not
  send;
* SYN_STREAM (stream id, associated-to id, 3-bit priority, slot, header block), SYN_REPLY and HEADERS
  (stream id, header block), RST_STREAM (stream id, status), SETTINGS, PING (32-bit id: odd from the
  client, even from the server; the receiver echoes the other side's), GOAWAY (last good stream id,
  status), WINDOW_UPDATE (spdystream ignores flow control, and so does its peer here);
* a header block is ``count(32)`` then, per header, ``len(32) name len(32) value`` with lower-case
  names and several values joined by NUL; blocks are zlib-compressed with the SPDY/3 dictionary, one
  zlib stream per direction for the whole session, each block ending in a sync flush.

Both directions are here (the lab is the server; tests drive it as a client), as :class:`Encoder` and
:class:`Decoder`.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from enum import IntEnum

VERSION = 3
FLAG_FIN = 0x01
FLAG_UNIDIRECTIONAL = 0x02
#: the largest payload a frame's 24-bit length can carry
MAX_LENGTH = (1 << 24) - 1


class FrameType(IntEnum):
    SYN_STREAM = 1
    SYN_REPLY = 2
    RST_STREAM = 3
    SETTINGS = 4
    PING = 6
    GOAWAY = 7
    HEADERS = 8
    WINDOW_UPDATE = 9


class RstStatus(IntEnum):
    PROTOCOL_ERROR = 1
    INVALID_STREAM = 2
    REFUSED_STREAM = 3
    UNSUPPORTED_VERSION = 4
    CANCEL = 5
    INTERNAL_ERROR = 6
    FLOW_CONTROL_ERROR = 7
    STREAM_IN_USE = 8
    STREAM_ALREADY_CLOSED = 9


def _dictionary() -> bytes:
    """The SPDY/3 header-compression dictionary (spec §2.6.10.1): length-prefixed header names and
    common values, then a run of status lines, dates and media types."""
    words = [
        "options",
        "head",
        "post",
        "put",
        "delete",
        "trace",
        "accept",
        "accept-charset",
        "accept-encoding",
        "accept-language",
        "accept-ranges",
        "age",
        "allow",
        "authorization",
        "cache-control",
        "connection",
        "content-base",
        "content-encoding",
        "content-language",
        "content-length",
        "content-location",
        "content-md5",
        "content-range",
        "content-type",
        "date",
        "etag",
        "expect",
        "expires",
        "from",
        "host",
        "if-match",
        "if-modified-since",
        "if-none-match",
        "if-range",
        "if-unmodified-since",
        "last-modified",
        "location",
        "max-forwards",
        "pragma",
        "proxy-authenticate",
        "proxy-authorization",
        "range",
        "referer",
        "retry-after",
        "server",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "vary",
        "via",
        "warning",
        "www-authenticate",
        "method",
        "get",
        "status",
    ]
    words += ["200 OK", "version", "HTTP/1.1", "url", "public", "set-cookie", "keep-alive", "origin"]
    tail = (
        "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
        "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request"
        "401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented"
        "503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 "
        "Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,"
        "application/xml,application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age="
        "gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0."
    )
    return b"".join(struct.pack(">I", len(w)) + w.encode() for w in words) + tail.encode()


DICTIONARY = _dictionary()

Headers = dict[str, list[str]]


class SpdyError(Exception):
    """The peer sent something SPDY/3.1 does not allow; the session cannot go on."""


@dataclass(frozen=True, slots=True)
class DataFrame:
    stream_id: int
    data: bytes
    fin: bool = False


@dataclass(frozen=True, slots=True)
class SynStream:
    stream_id: int
    headers: Headers
    associated_to: int = 0
    priority: int = 0
    fin: bool = False
    unidirectional: bool = False


@dataclass(frozen=True, slots=True)
class SynReply:
    stream_id: int
    headers: Headers = field(default_factory=dict)
    fin: bool = False


@dataclass(frozen=True, slots=True)
class HeadersFrame:
    stream_id: int
    headers: Headers
    fin: bool = False


@dataclass(frozen=True, slots=True)
class RstStream:
    stream_id: int
    status: int


@dataclass(frozen=True, slots=True)
class Settings:
    #: ``(flags, id, value)`` per entry
    entries: tuple[tuple[int, int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class Ping:
    ping_id: int


@dataclass(frozen=True, slots=True)
class GoAway:
    last_good_stream_id: int
    status: int = 0


@dataclass(frozen=True, slots=True)
class WindowUpdate:
    stream_id: int
    delta: int


Frame = DataFrame | SynStream | SynReply | HeadersFrame | RstStream | Settings | Ping | GoAway | WindowUpdate


def encode_header_block(headers: Headers) -> bytes:
    """The uncompressed block: names lower-cased, a header's values joined by NUL."""
    out = [struct.pack(">I", len(headers))]
    for name, values in headers.items():
        raw_name, raw_value = name.lower().encode(), "\x00".join(values).encode()
        out += [struct.pack(">I", len(raw_name)), raw_name, struct.pack(">I", len(raw_value)), raw_value]
    return b"".join(out)


def _string(raw: bytes, pos: int) -> tuple[str, int]:
    """The length-prefixed string at ``pos`` and the position after it."""
    (n,) = struct.unpack_from(">I", raw, pos)
    if pos + 4 + n > len(raw):
        raise SpdyError("header block shorter than its lengths")
    return raw[pos + 4 : pos + 4 + n].decode(), pos + 4 + n


def decode_header_block(raw: bytes) -> Headers:
    """Parse an uncompressed block; upper-case or repeated names and a short block are errors."""
    try:
        (count,) = struct.unpack_from(">I", raw, 0)
        pos, headers = 4, {}
        for _ in range(count):
            name, pos = _string(raw, pos)
            value, pos = _string(raw, pos)
            if name != name.lower():
                raise SpdyError(f"header was not lowercased: {name!r}")
            if name in headers:
                raise SpdyError(f"multiple headers with same name: {name!r}")
            headers[name] = value.split("\x00")
    except (struct.error, UnicodeDecodeError) as exc:
        raise SpdyError(f"malformed header block: {exc}") from exc
    if pos != len(raw):
        raise SpdyError("header block longer than its headers")
    return headers


def _control(kind: FrameType, flags: int, payload: bytes) -> bytes:
    if len(payload) > MAX_LENGTH:
        raise SpdyError("frame too large")
    return struct.pack(">HHI", 0x8000 | VERSION, kind, (flags << 24) | len(payload)) + payload


class Encoder:
    """Frames to bytes for one direction of a session (it owns that direction's zlib stream, so frames
    must be written in the order they were encoded)."""

    def __init__(self) -> None:
        self._zlib = zlib.compressobj(9, zlib.DEFLATED, 15, zdict=DICTIONARY)

    def _block(self, headers: Headers) -> bytes:
        return self._zlib.compress(encode_header_block(headers)) + self._zlib.flush(zlib.Z_SYNC_FLUSH)

    def encode(self, frame: Frame) -> bytes:
        fin = FLAG_FIN if getattr(frame, "fin", False) else 0
        if isinstance(frame, DataFrame):
            if not 0 < frame.stream_id < 1 << 31 or len(frame.data) > MAX_LENGTH:
                raise SpdyError("invalid data frame")
            return struct.pack(">II", frame.stream_id, (fin << 24) | len(frame.data)) + frame.data
        if frame_stream_id(frame) == 0 and not isinstance(frame, Settings | Ping | GoAway):
            raise SpdyError("stream id zero is disallowed")
        if isinstance(frame, SynStream):
            flags = fin | (FLAG_UNIDIRECTIONAL if frame.unidirectional else 0)
            head = struct.pack(">IIBB", frame.stream_id, frame.associated_to, (frame.priority & 7) << 5, 0)
            return _control(FrameType.SYN_STREAM, flags, head + self._block(frame.headers))
        if isinstance(frame, SynReply | HeadersFrame):
            kind = FrameType.SYN_REPLY if isinstance(frame, SynReply) else FrameType.HEADERS
            return _control(kind, fin, struct.pack(">I", frame.stream_id) + self._block(frame.headers))
        if isinstance(frame, RstStream):
            return _control(FrameType.RST_STREAM, 0, struct.pack(">II", frame.stream_id, frame.status))
        if isinstance(frame, Settings):
            body = struct.pack(">I", len(frame.entries)) + b"".join(
                struct.pack(">II", (f << 24) | i, v) for f, i, v in frame.entries
            )
            return _control(FrameType.SETTINGS, 0, body)
        if isinstance(frame, Ping):
            return _control(FrameType.PING, 0, struct.pack(">I", frame.ping_id))
        if isinstance(frame, GoAway):
            return _control(FrameType.GOAWAY, 0, struct.pack(">II", frame.last_good_stream_id, frame.status))
        return _control(FrameType.WINDOW_UPDATE, 0, struct.pack(">II", frame.stream_id, frame.delta))


def frame_stream_id(frame: Frame) -> int:
    """The stream a frame is about; 0 for session frames (SETTINGS, PING, GOAWAY)."""
    return int(getattr(frame, "stream_id", 0))


class Decoder:
    """Bytes to frames for the other direction: :meth:`feed` takes any slice of the stream (a TCP read, a
    websocket message) and returns the frames completed so far."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._zlib = zlib.decompressobj(15, zdict=DICTIONARY)

    def feed(self, data: bytes) -> list[Frame]:
        self._buffer += data
        frames: list[Frame] = []
        while len(self._buffer) >= 8:
            first, word = struct.unpack_from(">II", self._buffer, 0)
            length = word & 0xFFFFFF
            if len(self._buffer) < 8 + length:
                break
            payload = bytes(self._buffer[8 : 8 + length])
            del self._buffer[: 8 + length]
            flags = word >> 24
            if first & 0x80000000:
                frames.append(self._control((first >> 16) & 0x7FFF, first & 0xFFFF, flags, payload))
            else:
                if first == 0:
                    raise SpdyError("stream id zero is disallowed")
                frames.append(DataFrame(first, payload, bool(flags & FLAG_FIN)))
        return frames

    def _headers(self, block: bytes) -> Headers:
        try:
            raw = self._zlib.decompress(block)
        except zlib.error as exc:
            raise SpdyError(f"bad compressed header block: {exc}") from exc
        return decode_header_block(raw)

    def _control(self, version: int, kind: int, flags: int, payload: bytes) -> Frame:
        if version != VERSION:
            raise SpdyError(f"unsupported SPDY version {version}")
        fin = bool(flags & FLAG_FIN)
        try:
            if kind == FrameType.SYN_STREAM:
                sid, assoc, prio, _slot = struct.unpack_from(">IIBB", payload, 0)
                headers = self._headers(payload[10:])
                unidirectional = bool(flags & FLAG_UNIDIRECTIONAL)
                frame: Frame = SynStream(
                    sid & 0x7FFFFFFF, headers, assoc & 0x7FFFFFFF, prio >> 5, fin, unidirectional
                )
            elif kind in (FrameType.SYN_REPLY, FrameType.HEADERS):
                (sid,) = struct.unpack_from(">I", payload, 0)
                headers = self._headers(payload[4:])
                cls = SynReply if kind == FrameType.SYN_REPLY else HeadersFrame
                frame = cls(sid & 0x7FFFFFFF, headers, fin)
            elif kind == FrameType.RST_STREAM:
                sid, status = struct.unpack(">II", payload)
                if status == 0:
                    raise SpdyError("RST_STREAM with status 0")
                frame = RstStream(sid & 0x7FFFFFFF, status)
            elif kind == FrameType.SETTINGS:
                (count,) = struct.unpack_from(">I", payload, 0)
                pairs = [struct.unpack_from(">II", payload, 4 + 8 * i) for i in range(count)]
                frame = Settings(tuple((fi >> 24, fi & 0xFFFFFF, v) for fi, v in pairs))
            elif kind == FrameType.PING:
                (ping_id,) = struct.unpack(">I", payload)
                frame = Ping(ping_id)
            elif kind == FrameType.GOAWAY:
                last, status = struct.unpack(">II", payload)
                frame = GoAway(last & 0x7FFFFFFF, status)
            elif kind == FrameType.WINDOW_UPDATE:
                sid, delta = struct.unpack(">II", payload)
                frame = WindowUpdate(sid & 0x7FFFFFFF, delta & 0x7FFFFFFF)
            else:
                raise SpdyError(f"unknown control frame type {kind}")
        except struct.error as exc:
            raise SpdyError(f"invalid control frame (type {kind}): {exc}") from exc
        if frame_stream_id(frame) == 0 and kind not in (FrameType.SETTINGS, FrameType.PING, FrameType.GOAWAY):
            raise SpdyError("stream id zero is disallowed")
        return frame
