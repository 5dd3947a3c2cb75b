"""The gallery benchmark's generator: seeded photographs, and an exhibit that `vitrina check` passes."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from pipeline.build import check
from tests.benchmarks.bench_gallery import photograph, write_gallery


def test_the_photographs_are_seeded_and_each_its_own() -> None:
    first, again, second = (np.asarray(photograph(seed, (120, 80))) for seed in (0, 0, 1))
    assert first.shape == (80, 120, 3) and np.array_equal(first, again) and not np.array_equal(first, second)
    assert first.std() > 20  # colour fields and grain, not a flat fill that JPEG would make nothing of


def test_the_gallery_is_an_exhibit_check_passes_with_its_paintings_on_the_walls(tmp_path: Path) -> None:
    folder = write_gallery(tmp_path / "gallery", 5, size=(300, 200))
    said = io.StringIO()
    assert check(folder, strict=False, out=said) == 0, said.getvalue()
    assert "5 artifacts" in said.getvalue() and "0 errors" in said.getvalue()
    with Image.open(folder / "images" / "painting-4.jpg") as image:
        assert (image.format, image.size) == ("JPEG", (300, 200))
    assert "title: {en: Painting 0}" in (folder / "exhibit.yaml").read_text(encoding="utf-8")


def test_a_gallery_of_tiff_masters_carries_adobe_rgb_and_check_passes(tmp_path: Path) -> None:
    folder = write_gallery(tmp_path / "gallery", 2, size=(300, 200), masters="tiff")
    said = io.StringIO()
    assert check(folder, strict=False, out=said) == 0, said.getvalue()
    with Image.open(folder / "images" / "painting-1.tif") as image:
        assert (image.format, image.size, image.mode) == ("TIFF", (300, 200), "RGB")
        assert b"Adobe RGB" in image.info["icc_profile"]
