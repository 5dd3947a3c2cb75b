"""The build's standards stage on the tiny exhibit: skipped without a base URL, complete and valid with one."""

from __future__ import annotations

import dataclasses
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from pipeline.build import BuildOptions, build
from pipeline.errors import BuildError
from pipeline.scene import rotate_yaw
from pipeline.spec.exports import iiif_rights, voyager_language
from pipeline.standards import ExportInput, iiif, voyager
from tests.pipeline.tiny_exhibit import write_tiny_exhibit
from tests.standards.validators import dropped_terms, iiif_errors, voyager_errors

BASE = "https://museum.example/shows/tiny/"


def jsonld(page: Path) -> dict[str, Any]:
    found = re.search(r'<script type="application/ld\+json">(.*?)</script>', page.read_text(encoding="utf-8"), re.S)
    assert found, page
    return json.loads(found.group(1))


@pytest.fixture(scope="module")
def reports() -> dict[str, Any]:
    return {}


@pytest.fixture(scope="module")
def sites(reports: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("exports")
    spec = write_tiny_exhibit(root / "tiny")
    plain = BuildOptions(quiet=True, jobs=1, cache_dir=root / "cache")
    reports["plain"] = build(spec, root / "plain", plain)
    reports["published"] = build(spec, root / "published",
                                 dataclasses.replace(plain, base_url=BASE.rstrip("/")))  # the slash is added
    return root / "plain" / "tiny", root / "published" / "tiny"


def test_without_a_base_url_only_schema_org_is_written_with_relative_urls(sites: tuple[Path, Path]) -> None:
    plain, _ = sites
    for folder in ("iiif", "data", "svx", "models"):
        assert not (plain / folder).exists()
    assert json.loads((plain / "exhibit.json").read_text(encoding="utf-8"))["exhibit"]["base_url"] == ""
    artwork = jsonld(plain / "objects" / "cube.html")
    assert artwork["@type"] == "VisualArtwork" and artwork["url"] == "../objects/cube.html"
    # Every model has its ladder, so the page names its GLB even without a base URL (relative to the page).
    assert artwork["associatedMedia"]["contentUrl"].startswith("../artifacts/cube.")
    assert (plain / "objects" / artwork["associatedMedia"]["contentUrl"]).resolve().is_file()
    assert artwork["name"] == "A cube" and artwork["alternateName"] == [{"@language": "zh", "@value": "立方体"}]
    assert artwork["identifier"]["value"] == "2026.1"
    assert jsonld(plain / "index.html")["url"] == "index.html"


def test_with_a_base_url_every_export_is_written_and_valid(sites: tuple[Path, Path]) -> None:
    _, published = sites
    data = json.loads((published / "exhibit.json").read_text(encoding="utf-8"))
    assert data["exhibit"]["base_url"] == BASE
    listed = {entry["path"] for entry in data["files"]}
    assert {"iiif/exhibit.json", "iiif/collection.json", "iiif/objects/cube.json", "data/objects/red.json",
            "svx/cube/scene.svx.json", "svx/cube2/scene.svx.json"} <= listed  # exports are files of the exhibit
    for path in sorted((published / "iiif").rglob("*.json")):
        assert iiif_errors(json.loads(path.read_text(encoding="utf-8"))) == [], path
    for path in sorted((published / "svx").rglob("*.json")):
        assert voyager_errors(json.loads(path.read_text(encoding="utf-8"))) == [], path
    for path in sorted((published / "data").rglob("*.json")):
        assert dropped_terms(json.loads(path.read_text(encoding="utf-8"))) == [], path
    artwork = jsonld(published / "objects" / "cube.html")
    assert artwork["url"] == f"{BASE}objects/cube.html"
    page = (published / "objects" / "cube.html").read_text(encoding="utf-8")
    for url in (f"{BASE}data/objects/cube.json", f"{BASE}iiif/objects/cube.json"):  # discoverable from the page
        assert f'<link rel="alternate" type="application/ld+json" href="{url}">' in page
    media = artwork["associatedMedia"]
    assert media["@type"] == "3DModel" and media["contentUrl"].startswith(f"{BASE}artifacts/cube.")
    assert (published / media["contentUrl"].removeprefix(BASE)).is_file()


def test_the_rotation_sign_and_the_object_frame(sites: tuple[Path, Path]) -> None:
    _, published = sites
    manifest = json.loads((published / "iiif" / "exhibit.json").read_text(encoding="utf-8"))
    painted = {a["id"].rsplit("#", 1)[1]: a for scene in manifest["items"] for a in scene["items"][0]["items"]}
    # `rotate: 30` is clockwise seen from above; IIIF turns counter-clockwise about +y.
    assert painted["artifact/cube"]["body"]["transform"][-1] == {"type": "RotateTransform", "x": 0.0, "y": -30.0,
                                                                  "z": 0.0}
    assert painted["artifact/cube2"]["body"]["transform"][-1]["type"] == "RotateTransform"  # taking the turn off
    assert abs(painted["artifact/cube2"]["body"]["transform"][-1]["y"]) < 1e-9  # cube2 is not turned
    # The level GLB carries the placement: the painting takes it off, turns by the facing and places at the point.
    assert painted["artifact/cube"]["body"]["transform"][0]["type"] == "TranslateTransform"
    # In the object's own Manifest, the annotation is back in the artifact's frame: 0.5 m above its base centre.
    single = json.loads((published / "iiif" / "objects" / "cube.json").read_text(encoding="utf-8"))
    note = single["items"][0]["annotations"][0]["items"][0]
    point = note["target"]["selector"][0]
    assert [point["x"], point["y"], point["z"]] == pytest.approx([0.0, 0.5, 0.0], abs=1e-6)
    svx = json.loads((published / "svx" / "cube" / "scene.svx.json").read_text(encoding="utf-8"))
    assert svx["models"][0]["annotations"][0]["position"] == pytest.approx([0.0, 0.5, 0.0], abs=1e-6)


def test_a_base_url_that_is_not_http_is_refused(tmp_path: Path) -> None:
    spec = write_tiny_exhibit(tmp_path / "tiny")
    with pytest.raises(BuildError, match="not an http:// or https:// URL"):
        build(spec, tmp_path / "out", BuildOptions(quiet=True, jobs=1, base_url="museum.example/tiny"))


def test_rights_and_language_keys() -> None:
    assert iiif_rights("https://creativecommons.org/licenses/by/4.0/") == "http://creativecommons.org/licenses/by/4.0/"
    assert iiif_rights("https://creativecommons.org/publicdomain/zero/1.0") == \
        "http://creativecommons.org/publicdomain/zero/1.0/"
    assert iiif_rights("http://rightsstatements.org/vocab/InC/1.0/") == "http://rightsstatements.org/vocab/InC/1.0/"
    assert iiif_rights("https://example.org/terms") is None
    assert voyager_language("en-GB") == "EN" and voyager_language("zh") is None


def _apply(transforms: list[dict[str, Any]], point: list[float]) -> list[float]:
    """IIIF transforms applied in the order listed, as a reader applies them to the model's points."""
    x, y, z = point
    for transform in transforms:
        if transform["type"] == "TranslateTransform":
            x, y, z = x + transform["x"], y + transform["y"], z + transform["z"]
        else:
            assert transform["type"] == "RotateTransform" and transform["x"] == transform["z"] == 0.0
            x, y, z = rotate_yaw((x, y, z), transform["y"])
    return [x, y, z]


def test_level_glbs_that_carry_the_placement_are_brought_back_to_the_object_frame(sites: tuple[Path, Path]) -> None:
    """The ladder's level GLBs carry each artifact's world placement (docs/ladder contract); the exports undo it."""
    _, published = sites
    data = json.loads((published / "exhibit.json").read_text(encoding="utf-8"))
    cube = next(a for a in data["artifacts"] if a["id"] == "cube")
    yaw = -30.0
    source = ExportInput(data, BASE, {"cube": yaw}, {"cube": "artifacts/cube.full.abc123.glb"}, frozenset({"cube"}))
    documents = {**iiif.documents(source), **voyager.documents(source)}
    for name, document in documents.items():
        if name.startswith("iiif/"):
            assert iiif_errors(document) == [], name
    own = [0.1, 0.4, -0.05]  # a point of the model in its own frame
    world = [a + b for a, b in zip(rotate_yaw(own, yaw), cube["position"], strict=True)]  # where the level GLB has it
    single = documents["iiif/objects/cube.json"]["items"][0]["items"][0]["items"][0]
    assert _apply(single["body"]["transform"], world) == pytest.approx(own, abs=1e-6)
    painted = next(a for scene in documents["iiif/exhibit.json"]["items"] for a in scene["items"][0]["items"]
                   if a["id"].endswith("#artifact/cube"))
    selector = painted["target"]["selector"][0]
    placed = [a + b for a, b in zip(_apply(painted["body"]["transform"], world),
                                    (selector["x"], selector["y"], selector["z"]), strict=True)]
    assert placed == pytest.approx(world, abs=1e-5), "painted where the room has it"
    assert painted["body"]["transform"][-1] == {"type": "RotateTransform", "x": 0.0, "y": -30.0, "z": 0.0}
    model = documents["svx/cube/scene.svx.json"]["models"][0]
    qx, qy, qz, qw = model["rotation"]
    angle = math.degrees(2 * math.atan2(qy, qw))
    posed = [a + b for a, b in zip(rotate_yaw(world, angle), model["translation"], strict=True)]  # rotate, translate
    assert posed == pytest.approx(own, abs=1e-5)
    assert voyager_errors(documents["svx/cube/scene.svx.json"]) == []


def test_the_build_report_notes_what_the_exports_leave_out(sites: tuple[Path, Path], reports: dict[str, Any]) -> None:
    assert not any(n.startswith("exports:") for n in reports["plain"].notes)  # `check` says why nothing is exported
    assert "exports: SVX (Voyager) has no language key for zh: svx/ carries en only, for 2 model(s); IIIF and " \
           "Linked Art carry every language" in reports["published"].notes
    assert "note: exports: SVX (Voyager)" in reports["published"].to_text()


def test_the_iiif_thumbnails_are_the_posters_and_the_cover(sites: tuple[Path, Path]) -> None:
    _, published = sites
    data = json.loads((published / "exhibit.json").read_text(encoding="utf-8"))
    for artifact in data["artifacts"]:
        artifact["poster"] = f"posters/{artifact['id']}.abc123.jpg"
    data["exhibit"]["cover"] = "posters/room.abc123.jpg"
    source = ExportInput(data, BASE)
    single = iiif.object_manifest(source, data["artifacts"][0])
    assert single["thumbnail"] == [{"id": f"{BASE}posters/{data['artifacts'][0]['id']}.abc123.jpg", "type": "Image",
                                    "format": "image/jpeg"}]
    assert iiif.exhibit_manifest(source)["thumbnail"][0]["id"] == f"{BASE}posters/room.abc123.jpg"
    listed = iiif.collection(source)["items"]
    assert [item["thumbnail"][0]["id"] for item in listed] == [f"{BASE}posters/{a['id']}.abc123.jpg"
                                                              for a in source.artifacts()]
    for document in (single, iiif.exhibit_manifest(source), iiif.collection(source)):
        assert iiif_errors(document) == []
    # Without posters (--no-posters), no thumbnail is claimed.
    plain = json.loads((published / "iiif" / "objects" / "cube.json").read_text(encoding="utf-8"))
    assert "thumbnail" not in plain


def test_a_build_with_posters_writes_them_into_the_iiif_export(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from pipeline import posters

    monkeypatch.setattr(posters, "renderer_missing", lambda: "no Chromium in this test")  # plain posters: fast
    spec = write_tiny_exhibit(tmp_path / "tiny")
    build(spec, tmp_path / "out", BuildOptions(quiet=True, jobs=1, posters=True, base_url=BASE,
                                               cache_dir=tmp_path / "cache"))
    folder = tmp_path / "out" / "tiny"
    single = json.loads((folder / "iiif" / "objects" / "cube.json").read_text(encoding="utf-8"))
    poster = single["thumbnail"][0]["id"].removeprefix(BASE)
    assert poster.startswith("posters/") and (folder / poster).is_file()
    assert iiif_errors(single) == []
