"""The protobuf wire format, read side: varints, tags, length-delimited payloads.

Mirrors the subset of https://protobuf.dev/programming-guides/encoding/ that Kubernetes' generated codecs
(gogo-style ``Marshal``/``Unmarshal`` in k8s.io/api) use: wire types 0 (varint), 1 (64-bit), 2 (length-delimited)
and 5 (32-bit); deprecated groups (3/4) are skipped as a conforming parser would. Simplified: no schema
knowledge here (see decode.py) and no writer.
"""

from __future__ import annotations

from collections.abc import Iterator

VARINT, FIXED64, LENGTH_DELIMITED, START_GROUP, END_GROUP, FIXED32 = 0, 1, 2, 3, 4, 5

_MAX_DEPTH = 100  # nesting limit for skipped groups, as Go's generated skip function has none but recursion


class WireError(ValueError):
    """The bytes are not a well-formed protobuf message."""


def read_varint(buf: bytes | memoryview, pos: int) -> tuple[int, int]:
    """Decode an unsigned varint (at most 10 bytes, 64 bits) at ``pos``; return (value, next position)."""
    result = shift = 0
    end = len(buf)
    while True:
        if pos >= end:
            raise WireError("unexpected end of data in varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result & 0xFFFF_FFFF_FFFF_FFFF, pos
        shift += 7
        if shift >= 70:
            raise WireError("varint is longer than 10 bytes")


def to_int64(v: int) -> int:
    """Two's-complement reinterpretation of a 64-bit varint, as Go's ``int64(v)``."""
    return v - (1 << 64) if v >= 1 << 63 else v


def to_int32(v: int) -> int:
    """Go's ``int32(v)`` of a decoded varint: keep the low 32 bits, signed."""
    v &= 0xFFFF_FFFF
    return v - (1 << 32) if v >= 1 << 31 else v


def iter_fields(buf: bytes | memoryview) -> Iterator[tuple[int, int, int | memoryview]]:
    """Yield (field number, wire type, value) for each field in a message, in wire order.

    The value is an int for varint and fixed-width fields (fixed ones little-endian, unsigned) and a
    memoryview into ``buf`` for length-delimited ones. Groups are skipped.
    """
    mv = memoryview(buf)
    pos, end = 0, len(mv)
    while pos < end:
        key, pos = read_varint(mv, pos)
        number, wire_type = key >> 3, key & 7
        if number <= 0 or number > 0x1FFF_FFFF:
            raise WireError(f"illegal field number {number}")
        if wire_type == VARINT:
            value, pos = read_varint(mv, pos)
            yield number, wire_type, value
        elif wire_type == LENGTH_DELIMITED:
            length, pos = read_varint(mv, pos)
            if length > end - pos:
                raise WireError(f"length {length} of field {number} runs past the end of the data")
            yield number, wire_type, mv[pos:pos + length]
            pos += length
        elif wire_type == FIXED64:
            if pos + 8 > end:
                raise WireError("unexpected end of data in 64-bit field")
            yield number, wire_type, int.from_bytes(mv[pos:pos + 8], "little")
            pos += 8
        elif wire_type == FIXED32:
            if pos + 4 > end:
                raise WireError("unexpected end of data in 32-bit field")
            yield number, wire_type, int.from_bytes(mv[pos:pos + 4], "little")
            pos += 4
        elif wire_type == START_GROUP:
            pos = _skip_group(mv, pos, number, 1)
        else:
            raise WireError(f"unexpected wire type {wire_type} for field {number}")


def _skip_group(mv: memoryview, pos: int, number: int, depth: int) -> int:
    if depth > _MAX_DEPTH:
        raise WireError("groups nested too deeply")
    end = len(mv)
    while pos < end:
        key, pos = read_varint(mv, pos)
        inner, wire_type = key >> 3, key & 7
        if wire_type == END_GROUP:
            if inner != number:
                raise WireError(f"end of group {inner} inside group {number}")
            return pos
        if wire_type == VARINT:
            _, pos = read_varint(mv, pos)
        elif wire_type == LENGTH_DELIMITED:
            length, pos = read_varint(mv, pos)
            pos += length
        elif wire_type == FIXED64:
            pos += 8
        elif wire_type == FIXED32:
            pos += 4
        elif wire_type == START_GROUP:
            pos = _skip_group(mv, pos, inner, depth + 1)
        else:
            raise WireError(f"unexpected wire type {wire_type} in group {number}")
        if pos > end:
            raise WireError("unexpected end of data in group")
    raise WireError(f"group {number} is not closed")


def iter_packed_varints(payload: memoryview) -> Iterator[int]:
    """The values of a packed repeated varint field."""
    pos, end = 0, len(payload)
    while pos < end:
        value, pos = read_varint(payload, pos)
        yield value
