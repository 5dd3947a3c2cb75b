"""GLB container edges found untested by the sampled mutation run (docs/benchmarks.md): an empty last chunk, a
chunk that runs past the end named by its kind, a file with no chunks or a BIN chunk first."""

from __future__ import annotations

import struct

import pytest

from pipeline.gltf import container

JSON_TEXT = b'{"asset":{"version":"2.0"}}\x20'  # 28 bytes: no padding needed


def _glb(*chunks: tuple[bytes, bytes], declared_extra: int = 0) -> bytes:
    body = b"".join(struct.pack("<I4s", len(data), kind) + data for kind, data in chunks)
    return struct.pack("<4sII", b"glTF", 2, 12 + len(body) + declared_extra) + body


def test_an_empty_bin_chunk_at_the_very_end_is_read_as_empty() -> None:
    text, binary = container.split(_glb((b"JSON", JSON_TEXT), (b"BIN\x00", b"")))
    assert text == JSON_TEXT and binary == b""


def test_a_chunk_running_past_the_end_is_named_by_its_kind() -> None:
    raw = _glb((b"JSON", JSON_TEXT)) + struct.pack("<I4s", 64, b"BIN\x00") + bytes(8)
    raw = raw[:8] + struct.pack("<I", len(raw)) + raw[12:]
    with pytest.raises(container.ContainerError, match="truncated GLB: a BIN chunk runs past the end"):
        container.split(raw)


@pytest.mark.parametrize("raw", [
    _glb() + bytes(8),  # the header declares 12 bytes: no chunk at all, whatever follows
    _glb((b"BIN\x00", bytes(8)), (b"JSON", JSON_TEXT)),
], ids=["none", "bin-first"])
def test_a_glb_whose_first_chunk_is_not_json_is_corrupt(raw: bytes) -> None:
    with pytest.raises(container.ContainerError, match="corrupt GLB: the first chunk is not JSON"):
        container.split(raw)
