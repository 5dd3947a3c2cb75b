"""`vitrina new` writes a starter whose files are real (a closed mesh, a PNG) and that builds clean."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from pipeline.cli import main
from pipeline.spec.starter import create_starter, slug, vessel_stl


@pytest.mark.parametrize(("name", "expected"), [("My Show", "my-show"), ("bronze_age 2", "bronze-age-2"),
                                                 ("Ünïcode", "n-code"), ("--x--", "x")])
def test_slug_makes_valid_ids(name: str, expected: str) -> None:
    assert slug(name) == expected


def test_vessel_is_a_closed_mesh_of_the_stated_size() -> None:
    import numpy as np

    data = vessel_stl(height_mm=200.0)
    count = int.from_bytes(data[80:84], "little")
    assert len(data) == 84 + 50 * count
    records = np.frombuffer(data, dtype=np.dtype([("n", "<f4", 3), ("v", "<f4", (3, 3)), ("a", "<u2")]), offset=84)
    vertices = records["v"].reshape(-1, 3)
    assert vertices[:, 2].min() == 0.0 and vertices[:, 2].max() == 200.0
    # Closed: every edge is shared by exactly two triangles, in opposite directions.
    edges: dict[tuple[tuple[float, ...], tuple[float, ...]], int] = {}
    for triangle in records["v"]:
        corners = [tuple(np.round(c, 3)) for c in triangle]
        for a, b in ((corners[0], corners[1]), (corners[1], corners[2]), (corners[2], corners[0])):
            edges[(a, b)] = edges.get((a, b), 0) + 1
    assert all(edges.get((b, a)) == 1 for (a, b), n in edges.items() if n == 1)
    assert all(n == 1 for n in edges.values())


def test_starter_files(tmp_path: Path) -> None:
    folder = create_starter(tmp_path / "first-show")
    with Image.open(folder / "images" / "picture.png") as picture:
        assert picture.format == "PNG" and picture.size == (400, 300)
    assert json.loads((folder / "exhibit.schema.json").read_text(encoding="utf-8"))["title"] == "Vitrina exhibit"
    assert (folder / "exhibit.yaml").read_text(encoding="utf-8").startswith(
        "# yaml-language-server: $schema=exhibit.schema.json\n")


def test_starter_builds_clean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = create_starter(tmp_path / "first-show")
    assert main(["build", str(folder), "-o", str(tmp_path / "site"), "--quiet", "--strict"]) == 0
    manifest = json.loads((tmp_path / "site" / "first-show" / "exhibit.json").read_text(encoding="utf-8"))
    assert [a["id"] for a in manifest["artifacts"]] == ["welcome", "picture", "vessel"]
    assert [t["id"] for t in manifest["tours"]] == ["first-look"]
