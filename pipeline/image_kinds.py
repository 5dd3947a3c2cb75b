"""Image formats by their first bytes and names: the one table a spec's files and a model's textures are sniffed by."""

from __future__ import annotations

from collections.abc import Callable

SIGNATURES: dict[str, Callable[[bytes], bool]] = {
    "image/png": lambda head: head[:8] == b"\x89PNG\r\n\x1a\n",
    "image/jpeg": lambda head: head[:3] == b"\xff\xd8\xff",
    "image/webp": lambda head: head[:4] == b"RIFF" and head[8:12] == b"WEBP",
    "image/ktx2": lambda head: head[:7] == b"\xabKTX 20",
    "image/tiff": lambda head: head[:4] in (b"II*\x00", b"MM\x00*"),
}
NAMES = {"image/png": "a PNG image", "image/jpeg": "a JPEG image", "image/webp": "a WebP image",
         "image/ktx2": "a KTX2 texture", "image/tiff": "a TIFF image"}
SUFFIXES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp",
            ".ktx2": "image/ktx2", ".tif": "image/tiff", ".tiff": "image/tiff"}


def sniffed(head: bytes) -> str | None:
    """The MIME type the bytes begin as, or None for none of these."""
    return next((mime for mime, matches in SIGNATURES.items() if matches(head)), None)
