"""exhibit.json: the documented shape, world coordinates, every file listed with its size and sha256."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from pipeline import manifest
from pipeline.build import BuildOptions, build
from tests.pipeline.tiny_exhibit import write_tiny_exhibit


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    root = tmp_path_factory.mktemp("manifest")
    spec = write_tiny_exhibit(root / "tiny")
    out = root / "site"
    build(spec, out, BuildOptions(quiet=True, jobs=1, use_cache=False))
    data = json.loads((out / "tiny" / "exhibit.json").read_text(encoding="utf-8"))
    return out / "tiny", data


def test_top_level_shape(site: tuple[Path, dict[str, Any]]) -> None:
    _, data = site
    assert data["schema_version"] == manifest.SCHEMA_VERSION == 2
    assert list(data) == ["schema_version", "generator", "exhibit", "budgets", "start", "rooms", "artifacts", "unplaced",
                          "tours", "files", "report"]
    assert data["budgets"] == {
        "quest2": {"triangles": 500_000, "gpu_texture_bytes": 256 << 20, "max_texture": 2048, "draw_calls": 100},
        "desktop": {"triangles": 3_000_000, "gpu_texture_bytes": 1 << 30, "max_texture": 4096, "draw_calls": 500}}
    assert data["exhibit"]["languages"] == ["en", "zh"] and data["exhibit"]["default_language"] == "en"
    assert data["exhibit"]["targets"] == ["quest2", "desktop"]
    assert data["start"]["room"] == "hall"


def test_files_list_every_file_but_itself_and_the_report(site: tuple[Path, dict[str, Any]]) -> None:
    folder, data = site
    listed = {f["path"]: f for f in data["files"]}
    on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert set(listed) == on_disk - {"exhibit.json", "report.json", "report.html"}
    for path, entry in listed.items():
        content = (folder / path).read_bytes()
        assert entry["bytes"] == len(content)
        assert entry["sha256"] == hashlib.sha256(content).hexdigest()
    assert all(listed[room["glb"]]["type"] == "model/gltf-binary" for room in data["rooms"])


def test_rooms_have_world_bounds_doors_and_stats(site: tuple[Path, dict[str, Any]]) -> None:
    _, data = site
    hall, side = data["rooms"]
    assert hall["bounds"] == {"min": [-4.0, 0.0, -3.0], "max": [4.0, 3.0, 3.0]}
    assert hall["doors"][0]["position"] == side["doors"][0]["position"]
    assert hall["name"] == {"en": "Hall", "zh": "大厅"}
    for room in (hall, side):
        assert set(room["stats"]) == {"triangles", "draw_calls", "bytes", "texture_bytes_gpu"}
        assert room["stats"]["triangles"] > 0 and room["stats"]["draw_calls"] > 0
        assert room["lod"] == []


def test_artifacts_are_inside_their_rooms_with_records_and_pages(site: tuple[Path, dict[str, Any]]) -> None:
    folder, data = site
    rooms = {r["id"]: r for r in data["rooms"]}
    for artifact in data["artifacts"]:
        assert artifact["node"] == artifact["id"]
        bounds = rooms[artifact["room"]]["bounds"]
        for axis in range(3):
            assert bounds["min"][axis] - 1e-6 <= artifact["position"][axis] <= bounds["max"][axis] + 1e-6
        assert (folder / artifact["page"]).is_file()
    cube = next(a for a in data["artifacts"] if a["id"] == "cube")
    assert cube["kind"] == "model"
    assert cube["record"]["title"] == {"en": "A cube", "zh": "立方体"}
    assert cube["annotations"] == [{"id": "top", "key": "cube/top", "position": [1.0, 1.3, -1.0],
                                    "title": {"en": "Top", "zh": "顶"},
                                    "text": {"en": "The top face.", "zh": "顶面。"}}]
    intro = next(a for a in data["artifacts"] if a["id"] == "intro")
    assert intro["kind"] == "panel" and intro["text"]["en"] == "Welcome to the tiny exhibit."
    assert "levels" not in intro


def test_each_model_lists_its_levels_coarse_to_fine(site: tuple[Path, dict[str, Any]]) -> None:
    folder, data = site
    listed = {f["path"]: f for f in data["files"]}
    order = ["thumb", "low", "medium", "high", "full"]
    for artifact in (a for a in data["artifacts"] if a["kind"] == "model"):
        levels = artifact["levels"]
        names = [level["name"] for level in levels]
        assert names[0] == "thumb" and names == sorted(names, key=order.index), names
        for level in levels:
            assert list(level)[:10] == ["name", "glb", "triangles", "bytes", "texels", "gpu_bytes", "max_texture",
                                        "error", "error_relative", "draw_calls"]
            assert level["glb"].startswith(f"artifacts/{artifact['id']}.{level['name']}.")
            assert listed[level["glb"]]["bytes"] == level["bytes"] == (folder / level["glb"]).stat().st_size
            assert level["error"] >= 0 and level["error_relative"] >= 0
        assert levels[-1]["error"] == 0.0  # the finest level of a small model is the source itself


def test_tour_stops_name_their_artifact_room_and_view(site: tuple[Path, dict[str, Any]]) -> None:
    _, data = site
    (tour,) = data["tours"]
    assert [s["artifact"] for s in tour["stops"]] == ["cube", "cube", "red"]
    assert [s["annotation"] for s in tour["stops"]] == [None, "cube/top", None]
    assert [s["index"] for s in tour["stops"]] == [0, 1, 2]
    assert tour["stops"][0]["room"] == "hall"
    for stop in tour["stops"]:
        assert len(stop["view"]["target"]) == 3 and len(stop["view"]["position"]) == 3


def test_dumps_is_stable_and_readable() -> None:
    data = {"b": [1.0, 2.0], "a": {"zh": "青铜"}}
    text = manifest.dumps(data)
    assert text == manifest.dumps(json.loads(text))
    assert "青铜" in text and text.endswith("\n")
    with pytest.raises(ValueError):
        manifest.dumps({"x": float("nan")})
