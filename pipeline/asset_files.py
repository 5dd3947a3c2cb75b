"""Files an asset refers to: kept inside the exhibit folder, and sniffed into textures."""

from __future__ import annotations

from pathlib import Path

from pipeline import images
from pipeline.errors import AssetError
from pipeline.scene import Texture


def confine(asset: Path, target: Path, root: Path | None, what: str) -> None:
    """Refuse a referenced file outside `root`: an exhibit must never read outside its own folder."""
    if root is not None and not target.resolve().is_relative_to(Path(root).resolve()):
        raise AssetError(str(asset), f"{what} lies outside {root} and will not be read")


def guess_mime(data: bytes, declared: str | None, name: str) -> str:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"\xabKTX 20"):
        return "image/ktx2"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff"
    if declared:
        return declared
    return {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp",
            "ktx2": "image/ktx2", "tif": "image/tiff", "tiff": "image/tiff",
            }.get(name.rsplit(".", 1)[-1].lower(), "application/octet-stream")


def _not_as_stored(data: bytes) -> bool:
    try:
        return not images.shown_as_stored(data, ("PNG", "JPEG", "WEBP"))
    except images.UNREADABLE:
        return False  # said below, with what the bytes should have been


_NAMES = {"image/png": "a PNG image", "image/jpeg": "a JPEG image", "image/webp": "a WebP image"}


def make_texture(path: Path, data: bytes, name: str, declared: str | None, source: str) -> Texture:
    """A model's texture from its file's bytes; a TIFF (a photogrammetry export's texture) becomes an 8-bit PNG,
    since glTF and browsers take none; one whose ICC profile is not sRGB is converted to sRGB, as glTF's textures
    are, and one with an EXIF orientation loses it, its pixels as stored (see images.as_texture_bytes)."""
    mime = guess_mime(data, declared, name)
    if mime == "image/tiff" or (mime in _NAMES and _not_as_stored(data)):
        try:
            data, mime, width, height = images.as_texture_bytes(data, upright=False)
        except images.UNREADABLE as error:
            kind = "TIFF image" if mime == "image/tiff" else "image"
            raise AssetError(str(path), f"texture '{source}' is not a readable {kind} "
                                        f"({images.why_unreadable(error)})") from None
        return Texture(name=name, data=data, mime_type=mime, width=width, height=height, source_path=source)
    if mime not in ("image/png", "image/jpeg", "image/webp", "image/ktx2"):
        raise AssetError(str(path), f"texture '{source}' is not a PNG, JPEG, WebP, KTX2 or TIFF image")
    width, height = images.pixel_size(data) if mime != "image/ktx2" else (0, 0)
    if mime != "image/ktx2" and not width:
        if guess_mime(data, None, "") != mime:
            # Only the file's name or its glTF's word says what it is: believe neither past this point.
            raise AssetError(str(path), f"texture '{source}' is said to be {_NAMES[mime]}, but its bytes are not one")
        raise AssetError(str(path), f"texture '{source}' is corrupt or truncated")
    return Texture(name=name, data=data, mime_type=mime, width=width, height=height, source_path=source)
