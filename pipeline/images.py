"""Raster images, the one module that owns Pillow: read sizes, convert, resize, re-encode and draw text panels."""

from __future__ import annotations

import functools
import hashlib
import io
import os
import re
import threading
from pathlib import Path
from typing import IO, Any

import numpy as np
from PIL import Image, ImageCms, ImageDraw, ImageFilter, ImageFont, UnidentifiedImageError
from PIL.JpegImagePlugin import get_sampling

from pipeline.colour import srgb_to_linear

# Pillow's encoders decide the bytes of every image we write: part of every re-encoding's cache key.
ENCODER_VERSION = f"pillow={Image.__version__}"
# A picture's JPEG where the build makes one from lossless pixels (a resize's quality too).
PICTURE_JPEG_QUALITY = 92

# The most pixels an image may have: a 16k × 16k texture (1 GB as RGBA8 while decoded). Pillow's own limit
# (89 Mpx, a warning with a site-packages path, then an error at twice that) would refuse the 8k–16k textures
# of photogrammetry scans; this one is ours, named in the message, and adjustable by the environment variable.
MAX_PIXELS_ENV = "VITRINA_MAX_IMAGE_PIXELS"
DEFAULT_MAX_PIXELS = 16384 * 16384


def max_pixels() -> int:
    """The pixel limit in force: $VITRINA_MAX_IMAGE_PIXELS when it is a positive whole number, else 16384²."""
    chosen = os.environ.get(MAX_PIXELS_ENV, "").replace("_", "")
    return int(chosen) if chosen.isdigit() and int(chosen) > 0 else DEFAULT_MAX_PIXELS


class ImageTooLarge(ValueError):
    """An image with more pixels than max_pixels(): refused before its pixels are decoded."""

    def __init__(self, width: int, height: int, limit: int) -> None:
        super().__init__(f"{width}×{height} px ({width * height:,} pixels) is more than the limit of {limit:,} "
                         f"pixels (set {MAX_PIXELS_ENV} to allow more)")


# Pillow's check is replaced by max_pixels(), so Pillow never warns nor refuses on its own.
Image.MAX_IMAGE_PIXELS = None

# What Pillow raises for a file that is not an image it can read (truncated, garbled, too large).
UNREADABLE = (UnidentifiedImageError, OSError, ValueError, ZeroDivisionError, Image.DecompressionBombError)


def why_unreadable(error: BaseException) -> str:
    """One of UNREADABLE in a designer's words: Pillow names the in-memory file it was given ("cannot identify
    image file <_io.BytesIO object at 0x7f…>"), which says nothing about theirs."""
    if isinstance(error, UnidentifiedImageError):
        return "its bytes are no PNG, JPEG, WebP or TIFF image"
    return re.sub(r"\s*<[^>]*>", "", str(error)) or type(error).__name__


# The only image formats Pillow may open. It knows dozens, and one runs a program: it hands an EPS (PostScript) to
# Ghostscript to draw. An exhibit folder may come from anyone, and a glTF's image says its own type, so an EPS
# declared "image/png" reached Ghostscript through the light bake. Nothing else is ever opened. TIFF is here for
# the textures photogrammetry suites write (Metashape and RealityCapture offer it), converted to PNG as they are read.
READ_FORMATS = ("PNG", "JPEG", "WEBP", "TIFF")

# Grey modes wider than 8 bits, which Pillow's conversions clip at 255 instead of scaling: a 16-bit grey PNG or
# TIFF (an occlusion map, a grey scan's texture) came out white in every WebP, KTX2 and light bake made from it.
_WIDE_GREY = {"I;16": 257.0, "I;16B": 257.0, "I;16L": 257.0, "I;16N": 257.0, "I": 257.0, "F": 1 / 255}


def _open(source: bytes | Path | IO[bytes], pixels: bool = False) -> Any:
    """Image.open for READ_FORMATS only, then our pixel limit checked from the header, before anything is decoded.

    With `pixels`, for a caller that decodes them: a grey image wider than 8 bits comes back scaled to 8 bits."""
    image = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source, formats=READ_FORMATS)
    limit = max_pixels()
    if image.width * image.height > limit:
        image.close()
        raise ImageTooLarge(image.width, image.height, limit)
    if pixels and image.mode in _WIDE_GREY:
        with image:
            return _eight_bit(image)
    return image


def _eight_bit(image: Any) -> Any:
    """An image in a mode PNG, JPEG, WebP and the encoders take: wide grey scaled to 8 bits (16-bit as 0-65535,
    floating point as 0-1), any other mode but 1, L, LA, P, RGB and RGBA (CMYK, YCbCr, LAB) converted to RGB."""
    if image.mode in _WIDE_GREY:
        values = np.asarray(image, dtype=np.float32) / np.float32(_WIDE_GREY[image.mode])
        return Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8), "L")
    if image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA"):
        return image.convert("RGBA" if "A" in image.getbands() else "RGB")
    return image

_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP"}


def pixel_size(data: bytes) -> tuple[int, int]:
    """(width, height) in pixels as stored, or (0, 0) when the bytes are not an image Pillow reads."""
    try:
        with _open(data) as image:
            return int(image.width), int(image.height)
    except UNREADABLE:
        return 0, 0


def kind_and_size(data: bytes) -> tuple[str, int, int]:
    """(MIME type, width, height) of PNG or JPEG bytes, from their header: nothing is decoded."""
    with _open(data) as image:
        return "image/png" if image.format == "PNG" else "image/jpeg", int(image.width), int(image.height)


def file_pixel_size(path: Path) -> tuple[int, int]:
    """(width, height) of an image file as it is shown (its EXIF orientation turned), without decoding its pixels;
    raises one of UNREADABLE when unreadable."""
    with _open(path) as image:
        width, height = int(image.width), int(image.height)
        return (height, width) if _orientation(image) in _QUARTER_TURNS else (width, height)


# EXIF orientations (1 is as stored) that turn a picture a quarter: what it stores as wide it shows as high.
_EXIF_ORIENTATION = 0x0112
_QUARTER_TURNS = frozenset({5, 6, 7, 8})


def _orientation(image: Any) -> int:
    """The EXIF orientation a camera or a phone wrote (browsers turn the picture by it), read from the header only:
    Pillow's getexif decodes a PNG whose eXIf chunk it has not met yet. A TIFF says 1: Pillow turns a TIFF as it
    opens it (its size is the one shown) and as it decodes it."""
    raw = image.info.get("exif") if image.format != "TIFF" else None
    if not raw:
        return 1
    try:
        exif = Image.Exif()
        exif.load(raw)
        value = int(exif.get(_EXIF_ORIENTATION, 1))
    except (*UNREADABLE, KeyError, TypeError, SyntaxError):
        return 1  # as browsers do with EXIF they cannot read: the picture as stored
    return value if 1 <= value <= 8 else 1


_SRGB = ImageCms.createProfile("sRGB")
# A profile whose colours come out within this many levels (of 255) of themselves in sRGB is sRGB: the many
# "sRGB IEC61966-2.1" profiles that cameras and editors embed differ in their bytes, not their colours.
_SRGB_LEVELS = 2


@functools.lru_cache(maxsize=8)
def _to_srgb(icc: bytes, mode: str) -> Any:
    """The littleCMS transform from an embedded ICC profile to sRGB for an image of `mode` (RGB, RGBA or CMYK),
    or None when there is nothing to convert: the profile is sRGB already, is not one littleCMS reads (browsers
    ignore such a profile too), or is not for that mode's colours (a grey profile)."""
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        out = "RGBA" if mode == "RGBA" else "RGB"
        transform = ImageCms.buildTransform(profile, _SRGB, mode, out, ImageCms.Intent.RELATIVE_COLORIMETRIC,
                                            ImageCms.Flags.BLACKPOINTCOMPENSATION)
        if mode == "CMYK":
            return transform
        levels = np.linspace(0, 255, 7).astype(np.uint8)
        grid = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1).reshape(1, -1, 3)
        sample = Image.fromarray(grid, "RGB")
        probe = transform if mode == "RGB" else ImageCms.buildTransform(
            profile, _SRGB, "RGB", "RGB", ImageCms.Intent.RELATIVE_COLORIMETRIC, ImageCms.Flags.BLACKPOINTCOMPENSATION)
        moved = np.asarray(ImageCms.applyTransform(sample, probe), dtype=np.int16) - grid
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return None
    return transform if np.abs(moved).max() > _SRGB_LEVELS else None


def _srgb_transform(image: Any) -> Any:
    """The transform that puts the image's colours in sRGB, as glTF and untagged web images hold them; None when
    they are (no profile, or an sRGB one)."""
    icc = image.info.get("icc_profile")
    if not icc or image.mode not in ("RGB", "RGBA", "CMYK"):
        return None
    return _to_srgb(bytes(icc), image.mode)


def shown_as_stored(source: bytes | Path, formats: tuple[str, ...] = ("PNG", "JPEG")) -> bool:
    """Whether the image (its bytes or its file) is one of `formats` (Pillow's names) that shows as it is: in sRGB
    (no ICC profile, or an sRGB one) and with no EXIF turn (a browser turns the picture by it, a texture too). Read
    from the header only."""
    with _open(source) as image:
        return image.format in formats and _orientation(image) == 1 and _srgb_transform(image) is None


def as_texture_bytes(source: bytes | IO[bytes], upright: bool = True,
                     opaque_as_jpeg: bool = False) -> tuple[bytes, str, int, int]:
    """(bytes, MIME type, width, height): PNG and JPEG kept byte for byte, any other image (WebP, TIFF) converted
    to an 8-bit PNG, losslessly where the image has 8 bits a channel; with `opaque_as_jpeg` (a picture), a fully
    opaque one to a JPEG at PICTURE_JPEG_QUALITY, what its room hangs and the IIIF export publishes of it.

    Colours in another ICC profile than sRGB (Adobe RGB, a phone's Display P3) are converted to sRGB: glTF's
    textures are sRGB, browsers take an untagged image as sRGB, three.js decodes textures with no colour space
    conversion, and every resize and encoder dropped the profile, so the colours came out washed out. An EXIF
    orientation is taken out of the file, since a browser turns a picture by it, textures too: with `upright`
    (a picture), the pixels are turned as a browser would show them; without (a model's texture, whose texture
    coordinates address the pixels as stored, as the tools that made them read them) they stay as stored. A JPEG
    that changes stays JPEG, with its own quantization.

    `source` is the file's bytes, or the open file: a 6000 × 4000 TIFF master then is not held as 72 MB of bytes
    beside its pixels (its colours are converted in place too: a conversion held 267 MB, now 104).

    Raises one of UNREADABLE, with Pillow's own words, when the bytes are no readable image."""
    with _open(source) as image:
        image.load()
        kind = image.format
        orientation = _orientation(image)
        to_srgb = _srgb_transform(image)
        if kind in ("PNG", "JPEG") and orientation == 1 and to_srgb is None:
            if isinstance(source, bytes):
                data = source
            else:
                source.seek(0)
                data = source.read()
            return data, "image/png" if kind == "PNG" else "image/jpeg", image.width, image.height
        picture: Any = image
        if to_srgb is None:
            picture = _eight_bit(image)
        elif image.mode in ("RGB", "RGBA"):  # the transform's output mode: the pixels are converted where they are
            ImageCms.applyTransform(image, to_srgb, inPlace=True)
        else:
            picture = ImageCms.applyTransform(image, to_srgb)
        picture.info.pop("icc_profile", None)  # untagged, as the web takes sRGB (littleCMS tags its output)
        if upright and orientation != 1:
            picture = picture.transpose(_TURNS[orientation])
        if kind == "JPEG" and picture.mode in ("RGB", "L"):
            sampling = get_sampling(image) if image.mode == "RGB" else -1
            jpeg = _save(picture, "JPEG", qtables=image.quantization, subsampling=sampling if sampling >= 0 else 0)
            return jpeg, "image/jpeg", picture.width, picture.height
        if opaque_as_jpeg and _fully_opaque(picture):
            return _jpeg(picture, PICTURE_JPEG_QUALITY), "image/jpeg", picture.width, picture.height
        level = PNG_LEVEL if picture.width * picture.height < FAST_PNG_PIXELS else 1
        return _save(picture, "PNG", compress_level=level), "image/png", picture.width, picture.height


# zlib's level for the PNG a conversion makes: Pillow's default, but for a big picture, which is nearly always a
# photograph (a TIFF master, a scan's TIFF texture), whose pixels hardly compress: a smooth 6000 × 4000 one took
# 6.4 s at level 6 and 1.5 s at 1, for 35.1 MB against 34.9 (a grainy one about 3 s at either level, zlib giving up
# early on noise). A small one (a logo, a plan, where the level saves the most) keeps level 6.
PNG_LEVEL = 6
FAST_PNG_PIXELS = 4_000_000


# How to show a picture stored with each EXIF orientation (as Pillow's ImageOps.exif_transpose turns it).
_TURNS = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
          5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
          8: Image.Transpose.ROTATE_90}


# The last few resizes, by (source digest, type, size): one build resizes a scan's texture to the same size for
# several targets (a texture variant, then each target's LOD), and an 8k decode and resize takes seconds.
_RESIZED: dict[tuple[bytes, str, tuple[int, int]], bytes] = {}
RESIZED_KEPT = 4
_RESIZED_LOCK = threading.Lock()


def resized(data: bytes, mime_type: str, size: tuple[int, int]) -> bytes:
    """The image resized to size (Lanczos; a JPEG scaled while it decodes), in its own format (JPEG and WebP at
    quality 92)."""
    key = (hashlib.sha256(data).digest(), mime_type, (int(size[0]), int(size[1])))
    with _RESIZED_LOCK:
        kept = _RESIZED.get(key)
    if kept is not None:
        return kept
    made = _resized(data, mime_type, size)  # outside the lock: textures are resized on several threads
    with _RESIZED_LOCK:
        while len(_RESIZED) >= RESIZED_KEPT:
            del _RESIZED[next(iter(_RESIZED))]
        _RESIZED[key] = made
    return made


def _resized(data: bytes, mime_type: str, size: tuple[int, int]) -> bytes:
    kind = _FORMATS[mime_type]
    with _open(data, pixels=True) as image:
        if kind == "JPEG":
            # libjpeg scales by 1/2, 1/4 or 1/8 while it decodes (Pillow's thumbnail does the same): a 4k → 2k
            # halving took 0.07 s instead of 0.40, 42.8 dB PSNR from the Lanczos result, as close as a box filter.
            image.draft(image.mode, size)
        smaller = image if image.size == size else image.resize(size, Image.Resampling.LANCZOS)
        if kind == "JPEG" and smaller.mode not in ("RGB", "L"):
            smaller = smaller.convert("RGB")
        return _save(smaller, kind, **({"quality": PICTURE_JPEG_QUALITY} if kind in ("JPEG", "WEBP") else {}))


def opaque_jpeg(data: bytes, quality: int = PICTURE_JPEG_QUALITY) -> bytes | None:
    """The image as a JPEG (at the quality of a resize's), or None when it has pixels that are not fully opaque."""
    with _open(data, pixels=True) as image:
        image.load()
        return _jpeg(image, quality) if _fully_opaque(image) else None


def _jpeg(image: Any, quality: int) -> bytes:
    """An opaque image as JPEG (its alpha, all 255, dropped)."""
    return _save(image if image.mode in ("RGB", "L") else image.convert("RGB"), "JPEG", quality=quality)


def _fully_opaque(image: Any) -> bool:
    if "A" in image.getbands() or (image.mode == "P" and "transparency" in image.info):
        with_alpha = image.convert("RGBA") if image.mode == "P" else image
        return int(np.asarray(with_alpha.getchannel("A")).min()) == 255
    return True


def webp(data: bytes, lossless: bool) -> bytes:
    """The image as WebP: lossless, or at quality 90."""
    with _open(data, pixels=True) as image:
        return _save(image, "WEBP", lossless=lossless, quality=100 if lossless else 90, method=4)


def padded_to_blocks(data: bytes) -> tuple[int, int]:
    """The image's size rounded up to whole 4×4 blocks, as block-compressed formats need."""
    width, height = pixel_size(data)
    return width + (-width % 4), height + (-height % 4)


def write_png_for_encoder(data: bytes, size: tuple[int, int], target: Path) -> None:
    """Write the image as a PNG of the given size (resized if it differs) for an external encoder to read."""
    with _open(data, pixels=True) as image:
        image.load()
        picture = image if image.mode in ("RGB", "RGBA", "L", "LA") else image.convert("RGBA")
        if size != image.size:
            picture = picture.resize(size, Image.Resampling.LANCZOS)
        picture.save(target, format="PNG")


def png_from_rgb(pixels: np.ndarray, optimize: bool = True) -> bytes:
    """An (height, width, 3) array of 0..1 floats as PNG bytes (optimize: smaller, and several times slower)."""
    image = Image.fromarray((np.clip(pixels, 0, 1) * 255).astype(np.uint8), "RGB")
    return _save(image, "PNG", optimize=optimize)


def text_panel_png(size: tuple[int, int], background: tuple[int, int, int], colour: tuple[int, int, int],
                   title: str, body: str, font_file: Path | None, by_character: bool) -> bytes:
    """A panel: the title, then the body's paragraphs, wrapped to the width and drawn with font_file (Pillow's
    own font when None). The letters shrink until everything fits; a long text is never cut off.

    by_character wraps between any two characters (CJK), otherwise between words."""
    width, height = size

    def font(points: int) -> Any:
        return ImageFont.truetype(str(font_file), points) if font_file else ImageFont.load_default(points)

    image = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(image)
    margin = round(min(width, height) * 0.07)
    points = max(12, height // 14)
    while True:
        lines = _wrap_panel(draw, title, body, font(points), font(round(points * 1.4)), width - 2 * margin,
                            by_character)
        total = sum(round(line_size * 1.35) for _, line_size in lines)
        if total <= height - 2 * margin or points <= 10:
            break
        points = max(10, round(points * 0.9))
    y = margin
    for line, line_size in lines:
        draw.text((margin, y), line, font=font(line_size), fill=colour)
        y += round(line_size * 1.35)
    return _save(image, "PNG", optimize=False)


def _wrap_panel(draw: Any, title: str, body: str, font: Any, title_font: Any, width: int,
                by_character: bool) -> list[tuple[str, int]]:
    """(line, font size) pairs: the title, then each paragraph wrapped to the width (CJK wraps per character)."""
    lines: list[tuple[str, int]] = []

    def wrap(text: str, chosen: Any) -> None:
        units = list(text) if by_character else text.split(" ")
        joiner = "" if by_character else " "
        line = ""
        for unit in units:
            candidate = f"{line}{joiner}{unit}" if line else unit
            if line and draw.textlength(candidate, font=chosen) > width:
                lines.append((line, int(chosen.size)))
                line = unit
            else:
                line = candidate
        if line:
            lines.append((line, int(chosen.size)))

    if title:
        wrap(title, title_font)
        lines.append(("", int(font.size)))
    for paragraph in [p.strip() for p in body.replace("\r\n", "\n").split("\n\n") if p.strip()]:
        wrap(" ".join(paragraph.split()) if not by_character else "".join(paragraph.split()), font)
        lines.append(("", int(font.size)))
    return lines[:-1] if lines and lines[-1][0] == "" else lines


def blurred(values: np.ndarray, radius: float) -> np.ndarray:
    """A (height, width) array of 0..1 floats blurred by a Gaussian of `radius` pixels (at 8-bit precision)."""
    image = Image.fromarray((np.clip(values, 0, 1) * 255 + 0.5).astype(np.uint8), "L")
    return np.asarray(image.filter(ImageFilter.GaussianBlur(radius)), dtype=np.float64) / 255.0


def png_from_alpha(alpha: np.ndarray) -> bytes:
    """A black RGBA PNG whose alpha is this (height, width) array of 0..1 floats: a shadow to blend over a surface."""
    rgba = np.zeros((*alpha.shape, 4), dtype=np.uint8)
    rgba[..., 3] = (np.clip(alpha, 0, 1) * 255 + 0.5).astype(np.uint8)
    return _save(Image.fromarray(rgba, "RGBA"), "PNG", optimize=True)


def alpha_from_png(data: bytes) -> np.ndarray:
    """An image's alpha as a (height, width) array of 0..1 floats (the inverse of png_from_alpha)."""
    with _open(data, pixels=True) as image:
        return np.asarray(image.convert("RGBA"), dtype=np.float64)[..., 3] / 255.0


def _save(image: Any, kind: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=kind, **options)
    return buffer.getvalue()


def rgb_from_png(data: bytes) -> np.ndarray:
    """An image's pixels as a (height, width, 3) array of 0..1 floats (the inverse of png_from_rgb)."""
    with _open(data, pixels=True) as image:
        return np.asarray(image.convert("RGB"), dtype=np.float64) / 255.0


def mean_linear_colour(data: bytes) -> np.ndarray:
    """The average colour of an sRGB texture in linear RGB: what a surface reflects on average, for light bakes.

    A JPEG is decoded at an eighth of its size (libjpeg's DCT scaling, as Pillow's draft asks): the averages over a
    16 x 16 grid are the same to well within a level, and a 24-megapixel painting took 0.2 s to decode whole."""
    with _open(data, pixels=True) as image:
        image.draft("RGB", (16, 16))
        small = image.convert("RGB").resize((16, 16), Image.Resampling.BOX)
    linear = srgb_to_linear(np.asarray(small, dtype=np.float64) / 255.0)
    return np.asarray(linear.reshape(-1, 3).mean(axis=0))


def fitted_jpeg(data: bytes, size: tuple[int, int], quality: int = 85) -> bytes:
    """The image scaled to cover `size` and centre-cropped to it, as JPEG (posters and link previews)."""
    with _open(data, pixels=True) as image:
        picture = image.convert("RGB")
    scale = max(size[0] / picture.width, size[1] / picture.height)
    scaled = picture.resize((max(size[0], round(picture.width * scale)), max(size[1], round(picture.height * scale))),
                            Image.Resampling.LANCZOS)
    left, top = (scaled.width - size[0]) // 2, (scaled.height - size[1]) // 2
    return _save(scaled.crop((left, top, left + size[0], top + size[1])), "JPEG", quality=quality, optimize=True)
