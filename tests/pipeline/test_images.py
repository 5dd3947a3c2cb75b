"""Raster images: the pixel limit is ours (named, adjustable), never Pillow's warning or bomb error."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from PIL import Image

from pipeline import images
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
