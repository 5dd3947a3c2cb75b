"""Files an asset refers to: kept inside the exhibit folder, and sniffed into textures."""

from __future__ import annotations

from pathlib import Path

from pipeline import image_kinds, images
from pipeline.errors import AssetError
from pipeline.scene import Texture


def confine(asset: Path, target: Path, root: Path | None, what: str) -> None:
    """Refuse a referenced file outside `root`: an exhibit must never read outside its own folder."""
    if root is not None and not target.resolve().is_relative_to(Path(root).resolve()):
        raise AssetError(str(asset), f"{what} lies outside {root} and will not be read")


def guess_mime(data: bytes, declared: str | None, name: str) -> str:
    """What the bytes are by their first ones, else what the glTF declares, else what the file's name says."""
    suffix = "." + name.rsplit(".", 1)[-1].lower()
    return image_kinds.sniffed(data) or declared or image_kinds.SUFFIXES.get(suffix, "application/octet-stream")


def _not_as_stored(data: bytes) -> bool:
    try:
        return not images.shown_as_stored(data, ("PNG", "JPEG", "WEBP"))
    except images.UNREADABLE:
        return False  # said below, with what the bytes should have been


_AS_STORED = ("image/png", "image/jpeg", "image/webp")  # what browsers show, when in sRGB and upright


def make_texture(path: Path, data: bytes, name: str, declared: str | None, source: str) -> Texture:
    """A model's texture from its file's bytes; a TIFF (a photogrammetry export's texture) becomes an 8-bit PNG,
    since glTF and browsers take none; one whose ICC profile is not sRGB is converted to sRGB, as glTF's textures
    are, and one with an EXIF orientation loses it, its pixels as stored (see images.as_texture_bytes)."""
    mime = guess_mime(data, declared, name)
    if mime == "image/tiff" or (mime in _AS_STORED and _not_as_stored(data)):
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
            said = image_kinds.NAMES[mime]
            raise AssetError(str(path), f"texture '{source}' is said to be {said}, but its bytes are not one")
        raise AssetError(str(path), f"texture '{source}' is corrupt or truncated")
    return Texture(name=name, data=data, mime_type=mime, width=width, height=height, source_path=source)
