"""The one table of image signatures: Pillow's own files are known by their first bytes, in the spec's checks and
a model's textures alike, and nothing else is taken for an image."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from pipeline import image_kinds
from pipeline.asset_files import guess_mime
from pipeline.spec.files import KINDS


def _written(fmt: str, mode: str) -> bytes:
    out = io.BytesIO()
    Image.new(mode, (8, 8)).save(out, fmt)
    return out.getvalue()


@pytest.mark.parametrize(("fmt", "mode", "mime"), [
    ("PNG", "RGB", "image/png"), ("JPEG", "RGB", "image/jpeg"), ("WEBP", "RGB", "image/webp"),
    ("TIFF", "RGB", "image/tiff"), ("TIFF", "I;16B", "image/tiff")])  # Intel's byte order, and Motorola's
def test_each_format_is_known_by_its_first_bytes_wherever_it_is_sniffed(fmt: str, mode: str, mime: str) -> None:
    data = _written(fmt, mode)
    assert image_kinds.sniffed(data) == mime
    assert guess_mime(data, "image/png" if mime != "image/png" else "image/jpeg", "a.bin") == mime  # bytes win
    suffixes = [suffix for suffix, kind in image_kinds.SUFFIXES.items() if kind == mime]
    for suffix in suffixes:
        _, sniffer = KINDS["image"][suffix]
        assert sniffer(data[:96], len(data))
        others = [other for other in KINDS["image"] if image_kinds.SUFFIXES[other] != mime]
        assert not any(KINDS["image"][other][1](data[:96], len(data)) for other in others), suffix


def test_a_ktx2_texture_and_bytes_that_are_no_image() -> None:
    ktx2 = b"\xabKTX 20\xbb\r\n\x1a\n" + bytes(68)
    assert image_kinds.sniffed(ktx2) == "image/ktx2" and guess_mime(ktx2, None, "t.bin") == "image/ktx2"
    for data in (b"", b"\x89PNG", b"\xff\xd8", b"RIFF\x00\x00\x00\x00WAVE", b"glTF\x02\x00\x00\x00"):
        assert image_kinds.sniffed(data) is None, data
    # Only then are the glTF's word and the file's name believed (and checked against the bytes later).
    assert guess_mime(b"????", "image/webp", "t.png") == "image/webp"
    assert guess_mime(b"????", None, "T.JPEG") == "image/jpeg"
    assert guess_mime(b"????", None, "t") == "application/octet-stream"
