"""exhibit.museum: the museum's name, logo and footer text on every page of the built site, instead of "Vitrina"."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pipeline.build import BuildOptions, build
from pipeline.errors import SpecError
from pipeline.spec import load_exhibit
from tests.pipeline.tiny_exhibit import write_tiny_exhibit

MUSEUM = """  museum:
    name: {en: City Museum, zh: 城市博物馆}
    logo: images/red.png
    footer: {en: "Open daily, 10:00-18:00", zh: 每日开放}
    url: https://museum.example/
"""


def _with_museum(folder: Path, block: str = MUSEUM) -> Path:
    spec = write_tiny_exhibit(folder)
    yaml_file = spec / "exhibit.yaml" if spec.is_dir() else spec
    text = yaml_file.read_text(encoding="utf-8")
    yaml_file.write_text(text.replace("  max_error: 0.05\n", "  max_error: 0.05\n" + block, 1), encoding="utf-8")
    return spec


def test_every_page_shows_the_museum_name_logo_and_footer(tmp_path: Path) -> None:
    spec = _with_museum(tmp_path / "tiny")
    out = tmp_path / "site"
    build(spec, out, BuildOptions(quiet=True, jobs=1, cache_dir=tmp_path / "cache"))
    museum = json.loads((out / "tiny" / "exhibit.json").read_text(encoding="utf-8"))["exhibit"]["museum"]
    assert museum["name"] == {"en": "City Museum", "zh": "城市博物馆"}
    assert re.fullmatch(r"media/red\.[0-9a-f]{10}\.png", museum["logo"])
    pages = [out / "index.html", out / "tiny" / "index.html", *sorted((out / "tiny" / "objects").glob("*.html"))]
    assert len(pages) > 3
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert '<a href="https://museum.example/">City Museum</a>' in html, page
        assert "Open daily, 10:00-18:00" in html, page
        assert "<p>Vitrina</p>" not in html, page
        if page.name == "index.html":
            assert re.search(r"<title>[^<]* · City Museum</title>", html), page
        logo = re.search(r'<img class="museum-logo" src="([^"]+)" alt="City Museum"', html)
        assert logo and (page.parent / logo.group(1)).resolve().is_file(), page


def test_without_a_museum_the_footer_stays_vitrina(tmp_path: Path) -> None:
    spec = write_tiny_exhibit(tmp_path / "tiny")
    out = tmp_path / "site"
    build(spec, out, BuildOptions(quiet=True, jobs=1, cache_dir=tmp_path / "cache"))
    assert "<p>Vitrina</p>" in (out / "index.html").read_text(encoding="utf-8")
    assert "museum" not in json.loads((out / "tiny" / "exhibit.json").read_text(encoding="utf-8"))["exhibit"]


def test_a_museum_needs_a_name_and_its_logo_must_be_an_image(tmp_path: Path) -> None:
    spec = _with_museum(tmp_path / "tiny", "  museum:\n    logo: models/cube.obj\n")
    with pytest.raises(SpecError) as caught:
        load_exhibit(spec)
    messages = [p.format() for p in caught.value.problems]
    assert any("exhibit.museum: missing required" in m and "name" in m for m in messages), messages
    assert any("exhibit.museum.logo" in m for m in messages), messages


def test_a_logo_that_is_a_tiff_in_adobe_rgb_is_published_as_a_browser_shows_it(tmp_path: Path) -> None:
    """A museum's logo file from its design office: a TIFF, in Adobe RGB. The page gets a PNG in sRGB."""
    import io

    import numpy as np
    from PIL import Image

    from tests.helpers import adobe_rgb_icc, adobe_rgb_in_srgb

    spec = _with_museum(tmp_path / "tiny", MUSEUM.replace("images/red.png", "images/logo.tif"))
    blue = (40, 160, 220)
    out = io.BytesIO()
    Image.new("RGB", (48, 24), blue).save(out, "TIFF", icc_profile=adobe_rgb_icc())
    (tmp_path / "tiny" / "images" / "logo.tif").write_bytes(out.getvalue())
    build(spec, tmp_path / "site", BuildOptions(quiet=True, jobs=1, cache_dir=tmp_path / "cache"))
    museum = json.loads((tmp_path / "site" / "tiny" / "exhibit.json").read_text(encoding="utf-8"))["exhibit"]["museum"]
    assert re.fullmatch(r"media/logo\.[0-9a-f]{10}\.png", museum["logo"])
    with Image.open(tmp_path / "site" / "tiny" / museum["logo"]) as logo:
        assert logo.size == (48, 24) and "icc_profile" not in logo.info
        assert np.abs(np.asarray(logo.convert("RGB").getpixel((24, 12))) - adobe_rgb_in_srgb(blue)).max() <= 2
