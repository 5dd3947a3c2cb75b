"""Raster images: the pixel limit is ours (named, adjustable), never Pillow's warning or bomb error."""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from pipeline import images
from pipeline.colour import srgb_to_linear
from tests.helpers import image_bytes


def test_an_image_past_pillows_own_limit_loads_without_a_warning() -> None:
    # 10000 × 9000 = 90 million pixels: past Pillow's default of 89.5 million, which warns (and refuses at twice).
    data = image_bytes((10000, 9000), mode="1")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert images.pixel_size(data) == (10000, 9000)
        assert images.as_texture_bytes(data)[2:] == (10000, 9000)


def test_the_limit_is_16k_squared_by_default_and_adjustable(monkeypatch: pytest.MonkeyPatch) -> None:
    assert images.max_pixels() == 16384 * 16384
    monkeypatch.setenv(images.MAX_PIXELS_ENV, "200")
    assert images.max_pixels() == 200
    images.as_texture_bytes(image_bytes((20, 10)))  # exactly at the limit
    with pytest.raises(images.ImageTooLarge) as raised:
        images.as_texture_bytes(image_bytes((21, 10)))  # one column past it
    assert str(raised.value) == ("21×10 px (210 pixels) is more than the limit of 200 pixels "
                                 f"(set {images.MAX_PIXELS_ENV} to allow more)")
    assert isinstance(raised.value, images.UNREADABLE)
    monkeypatch.setenv(images.MAX_PIXELS_ENV, "lots")
    assert images.max_pixels() == 16384 * 16384


def test_the_same_resize_twice_decodes_and_resizes_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    original = Image.Image.resize

    def counted(self: Image.Image, *args: Any, **kwargs: Any) -> Image.Image:
        calls.append(args)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "resize", counted)
    data = image_bytes((64, 32))
    first = images.resized(data, "image/png", (32, 16))
    assert images.resized(data, "image/png", (32, 16)) == first and len(calls) == 1
    assert images.pixel_size(images.resized(data, "image/png", (16, 8))) == (16, 8) and len(calls) == 2
    for width in range(images.RESIZED_KEPT + 1):  # the oldest is forgotten: memory stays bounded
        images.resized(data, "image/png", (width + 1, 1))
    images.resized(data, "image/png", (32, 16))
    assert len(calls) == 2 + images.RESIZED_KEPT + 1 + 1


def _photo(size: tuple[int, int]) -> bytes:
    """A JPEG with detail at every scale (smooth gradients and a fine seeded noise), like a scan's texture."""
    rows, columns = np.mgrid[0:size[1], 0:size[0]]
    noise = np.random.default_rng(7).integers(0, 40, (size[1], size[0], 3))
    pixels = np.stack([rows * 200 // size[1], columns * 200 // size[0], (rows + columns) % 97], axis=2) + noise
    out = io.BytesIO()
    Image.fromarray(pixels.clip(0, 255).astype(np.uint8), "RGB").save(out, "JPEG", quality=95)
    return out.getvalue()


def test_a_jpeg_is_halved_while_it_decodes_and_stays_close_to_a_lanczos_resize(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _photo((512, 256))
    with Image.open(io.BytesIO(data)) as source:
        reference = np.asarray(source.resize((256, 128), Image.Resampling.LANCZOS), dtype=float)
    calls: list[object] = []
    original = Image.Image.resize
    monkeypatch.setattr(Image.Image, "resize", lambda self, *a, **k: calls.append(a) or original(self, *a, **k))
    halved = images.resized(data, "image/jpeg", (256, 128))
    assert calls == []  # libjpeg scaled it: no full-size decode and resize
    with Image.open(io.BytesIO(halved)) as result:
        assert result.format == "JPEG" and result.size == (256, 128)
        pixels = np.asarray(result, dtype=float)
    psnr = 10 * np.log10(255**2 / ((pixels - reference) ** 2).mean())
    assert psnr > 30, psnr
    # A size that is no power-of-two fraction is decoded at the nearest scale above and resized the rest of the way.
    odd = images.resized(data, "image/jpeg", (200, 100))
    assert images.pixel_size(odd) == (200, 100) and len(calls) == 1


def test_a_16_bit_grey_image_keeps_its_greys_in_everything_made_from_it(tmp_path: Path) -> None:
    """Pillow opens a 16-bit grey PNG as I;16 and clips it at 255 when it converts: every WebP, KTX2 input and light
    bake made from one (an occlusion map, a grey scan's texture) came out white."""
    ramp = np.linspace(0, 65535, 64 * 64).reshape(64, 64).astype(np.uint16)
    buffer = io.BytesIO()
    Image.fromarray(ramp).save(buffer, format="PNG")
    data = buffer.getvalue()
    expected = ramp / 257.0

    def pixels(encoded: bytes) -> np.ndarray:
        with Image.open(io.BytesIO(encoded)) as image:
            return np.asarray(image.convert("L"), dtype=np.float64)

    assert abs(pixels(images.webp(data, lossless=True)).mean() - expected.mean()) < 1
    assert abs(pixels(images.resized(data, "image/png", (32, 32))).mean() - expected.mean()) < 1
    images.write_png_for_encoder(data, (64, 64), tmp_path / "for-encoder.png")
    assert np.abs(pixels((tmp_path / "for-encoder.png").read_bytes()) - expected).max() <= 0.5
    mean = images.mean_linear_colour(data)
    assert mean == pytest.approx([srgb_to_linear(expected / 255).mean()] * 3, abs=0.02)


def test_pillows_words_for_an_unreadable_image_name_no_in_memory_file() -> None:
    with pytest.raises(images.UNREADABLE) as caught:
        images.as_texture_bytes(b"II*\x00 not really a TIFF")
    assert "<" not in images.why_unreadable(caught.value) and images.why_unreadable(caught.value)
    with pytest.raises(images.UNREADABLE) as unknown:
        images.as_texture_bytes(b"GIF89a and more")
    assert images.why_unreadable(unknown.value) == "its bytes are no PNG, JPEG, WebP or TIFF image"


def test_a_jpegs_mean_colour_is_read_from_an_eighth_size_decode_as_from_the_whole() -> None:
    # A painting's photograph: smooth colour fields with fine grain, 4000 x 3000.
    rng = np.random.default_rng(5)
    y, x = np.mgrid[0:3000, 0:4000]
    fields = np.stack([128 + 90 * np.sin(x / 700), 110 + 80 * np.cos(y / 500), 90 + 60 * np.sin((x + y) / 900)], -1)
    pixels = np.clip(fields + rng.normal(0, 25, fields.shape), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=92)
    with Image.open(io.BytesIO(buffer.getvalue())) as whole:
        grid = np.asarray(whole.convert("RGB").resize((16, 16), Image.Resampling.BOX), dtype=np.float64) / 255
    expected = srgb_to_linear(grid).reshape(-1, 3).mean(axis=0)
    assert images.mean_linear_colour(buffer.getvalue()) == pytest.approx(expected, abs=1 / 255)


def _zlib_level_hint(png: bytes) -> int:
    """The compression level zlib wrote into the first IDAT chunk's header (FLEVEL: 0 fastest, 2 default)."""
    start = png.index(b"IDAT") + 4
    return png[start + 1] >> 6


def test_a_big_converted_picture_is_written_with_fast_zlib_and_a_small_one_with_the_default(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A big picture is a photograph whose PNG level 6 took four times level 1's time for 0.5 % fewer bytes.
    monkeypatch.setattr(images, "FAST_PNG_PIXELS", 20_000)
    pixels = np.random.default_rng(3).integers(0, 256, (100, 200, 3), dtype=np.uint8)
    for height, hint in ((100, 0), (99, 2)):
        source = io.BytesIO()
        Image.fromarray(pixels[:height]).save(source, "TIFF")
        png, mime, width, high = images.as_texture_bytes(source.getvalue())
        assert (mime, width, high, _zlib_level_hint(png)) == ("image/png", 200, height, hint)
        assert np.array_equal(np.asarray(Image.open(io.BytesIO(png))), pixels[:height])  # lossless either way


@pytest.mark.parametrize(("mode", "alpha", "mime"), [("RGB", None, "image/jpeg"), ("RGBA", 255, "image/jpeg"),
                                                     ("RGBA", 254, "image/png"), ("L", None, "image/jpeg")])
def test_a_converted_picture_is_a_jpeg_when_fully_opaque_and_lossless_otherwise(
        mode: str, alpha: int | None, mime: str) -> None:
    pixels = np.random.default_rng(5).integers(0, 256, (24, 40, len(mode)), dtype=np.uint8)
    if alpha is not None:
        pixels[..., 3] = 255
        pixels[3, 7, 3] = alpha
    source = io.BytesIO()
    Image.fromarray(pixels[..., 0] if mode == "L" else pixels, mode).save(source, "TIFF")
    converted, kind, width, height = images.as_texture_bytes(source.getvalue(), opaque_as_jpeg=True)
    assert (kind, width, height) == (mime, 40, 24)
    with Image.open(io.BytesIO(converted)) as image:
        assert image.format == ("JPEG" if mime == "image/jpeg" else "PNG")
        if mime == "image/png":
            assert np.array_equal(np.asarray(image), pixels)  # transparency kept, losslessly
    # Without the flag (a model's texture, whose full level is faithful) every conversion stays lossless.
    assert images.as_texture_bytes(source.getvalue())[1] == "image/png"


def test_a_conversion_from_the_open_file_is_the_conversion_of_its_bytes(tmp_path: Path) -> None:
    # Masters are converted from the open file (not read into bytes first), their colours converted in place.
    from tests.helpers import adobe_rgb_icc

    pixels = np.random.default_rng(9).integers(0, 256, (30, 50, 3), dtype=np.uint8)
    files = {"master.tif": ("TIFF", {"icc_profile": adobe_rgb_icc()}), "plain.png": ("PNG", {})}
    for name, (kind, options) in files.items():
        Image.fromarray(pixels).save(tmp_path / name, kind, **options)
        data = (tmp_path / name).read_bytes()
        for opaque_as_jpeg in (False, True):
            with (tmp_path / name).open("rb") as handle:
                from_file = images.as_texture_bytes(handle, opaque_as_jpeg=opaque_as_jpeg)
            assert from_file == images.as_texture_bytes(data, opaque_as_jpeg=opaque_as_jpeg)
    with (tmp_path / "plain.png").open("rb") as handle:
        assert images.as_texture_bytes(handle)[0] == (tmp_path / "plain.png").read_bytes()  # kept byte for byte
