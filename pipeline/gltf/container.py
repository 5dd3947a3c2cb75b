"""The GLB container, split and packed in one place: a 12-byte header, a JSON chunk, then an optional BIN chunk.

It imports nothing heavy, so `vitrina check` can read a GLB's JSON without loading the glTF reader."""

from __future__ import annotations

import io
import struct
from typing import BinaryIO

MAGIC = b"glTF"
VERSION = 2
JSON_CHUNK = b"JSON"
BIN_CHUNK = b"BIN\x00"
HEADER_BYTES = 20  # the file header and the first chunk's header


class ContainerError(ValueError):
    """The bytes are not a well-formed GLB; the message says how, in the designer's terms."""


def json_chunk_length(header: bytes) -> int | None:
    """From a GLB's first HEADER_BYTES bytes: its JSON chunk's length, or None when they do not start a GLB whose
    first chunk is JSON."""
    if len(header) < HEADER_BYTES or header[:4] != MAGIC or header[16:20] != JSON_CHUNK:
        return None
    length: int = struct.unpack_from("<I", header, 12)[0]
    return length


def split(raw: bytes) -> tuple[bytes, bytes | None]:
    """(the JSON chunk, the first BIN chunk or None) of a GLB; ContainerError when the layout is broken."""
    return read_split(io.BytesIO(raw), len(raw))


def read_split(handle: BinaryIO, size: int) -> tuple[bytes, bytes | None]:
    """`split` of a GLB file of `size` bytes open at its start, reading only the chunks it returns: a scan's GLB is
    then in memory once (its BIN chunk), never also whole beside it."""
    header = handle.read(HEADER_BYTES)
    if len(header) < HEADER_BYTES:
        raise ContainerError("truncated GLB: the file ends inside its header")
    magic, version, length = struct.unpack_from("<4sII", header, 0)
    if magic != MAGIC:
        raise ContainerError("not a GLB file (the 'glTF' magic bytes are missing)")
    if version != VERSION:
        raise ContainerError(f"GLB container version {version} is not supported; Vitrina reads version 2")
    if length > size:
        raise ContainerError(f"truncated GLB: the header declares {length} bytes but the file has {size}")
    offset = 12
    first = True
    text = binary = None
    while offset + 8 <= length:
        handle.seek(offset)
        chunk_size, kind = struct.unpack("<I4s", handle.read(8))
        if offset + 8 + chunk_size > length:
            shown = kind.rstrip(b"\x00 ").decode("latin-1")  # "BIN\0": str.strip() would keep the NUL
            raise ContainerError(f"truncated GLB: a {shown} chunk runs past the end")
        if first and kind == JSON_CHUNK:
            text = handle.read(chunk_size)
        elif not first and kind == BIN_CHUNK and binary is None:
            binary = handle.read(chunk_size)
        first = False
        offset += 8 + chunk_size + (-chunk_size % 4)
    if text is None:
        raise ContainerError("corrupt GLB: the first chunk is not JSON")
    return text, binary


def pack(json_text: bytes, binary: bytes | bytearray = b"") -> bytes:
    """A GLB of JSON text (padded with spaces) and a BIN chunk (padded with zeros; none when empty)."""
    # One join: a scan's BIN chunk is tens of MB, and each `+` would copy it again.
    text = json_text + b" " * (-len(json_text) % 4)
    parts: list[bytes | bytearray] = [b"", struct.pack("<I4s", len(text), JSON_CHUNK), text]
    if binary:
        padding = b"\x00" * (-len(binary) % 4)
        parts += [struct.pack("<I4s", len(binary) + len(padding), BIN_CHUNK), binary, padding]
    parts[0] = struct.pack("<4sII", MAGIC, VERSION, sum(len(part) for part in parts) + 12)
    return b"".join(parts)
