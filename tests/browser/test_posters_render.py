"""Posters rendered by the viewer in headless Chromium, and where the site shows them (a build of the minimal example)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pipeline import posters
from tests.conftest import REPO

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def poster_site(tmp_path_factory: pytest.TempPathFactory, chromium: str) -> Path:
    from pipeline.build import BuildOptions, build

    out = tmp_path_factory.mktemp("posters")
    report = build(REPO / "exhibits" / "minimal", out, BuildOptions(quiet=True, posters=True,
                                                                     cache_dir=out.parent / "poster-cache"))
    assert not [w for w in report.warnings if "poster" in w], report.warnings
    return out / "minimal"


def test_every_artifact_has_a_rendered_poster_and_every_room_a_cover(poster_site: Path) -> None:
    manifest = json.loads((poster_site / "exhibit.json").read_text(encoding="utf-8"))
    for entry in [*manifest["artifacts"], *manifest["rooms"]]:
        path = poster_site / (entry.get("poster") or entry["cover"])
        picture = np.asarray(Image.open(io.BytesIO(path.read_bytes())).convert("L"), dtype=float)
        assert picture.shape == (posters.POSTER_SIZE[1], posters.POSTER_SIZE[0])
        assert picture.std() > 10, f"{path.name} is nearly uniform: not a render of a room"
    assert manifest["exhibit"]["cover"] == manifest["rooms"][0]["cover"]


def test_pages_show_the_posters_and_share_them_in_link_previews(poster_site: Path) -> None:
    manifest = json.loads((poster_site / "exhibit.json").read_text(encoding="utf-8"))
    vase = next(a for a in manifest["artifacts"] if a["id"] == "vase")
    object_page = (poster_site / "objects" / "vase.html").read_text(encoding="utf-8")
    assert f'<meta property="og:image" content="../{vase["poster"]}">' in object_page
    assert f'<meta name="twitter:image" content="../{vase["poster"]}">' in object_page
    assert f'class="object-poster" src="../{vase["poster"]}"' in object_page
    exhibit_page = (poster_site / "index.html").read_text(encoding="utf-8")
    assert f'<img class="artifact-thumb" src="{vase["poster"]}"' in exhibit_page
    assert f'<meta property="og:image" content="{manifest["exhibit"]["cover"]}">' in exhibit_page
    index = (poster_site.parent / "index.html").read_text(encoding="utf-8")
    assert f'src="minimal/{manifest["exhibit"]["cover"]}"' in index
    listed = {f["path"] for f in manifest["files"]}
    assert vase["poster"] in listed
