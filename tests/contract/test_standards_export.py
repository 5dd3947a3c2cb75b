"""The rich example's standards exports: valid against IIIF v4, Voyager and Linked Art, and read back losslessly."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from pipeline.spec import load_exhibit
from tests.contract.conftest import BuiltSite
from tests.standards.validators import (
    IIIF_SCHEMAS,
    dropped_terms,
    expand_linked_art,
    iiif_errors,
    voyager_errors,
)

BASE = "https://vitrina.example.org/bronze-age/"


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _walk(node: Any) -> Any:
    """Every dict inside a JSON document, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


@pytest.fixture(scope="module")
def exports(bronze_age: BuiltSite) -> Path:
    folder = bronze_age.exhibit
    assert (folder / "iiif" / "exhibit.json").is_file(), "the example sets base_url, so the build exports"
    return folder


@pytest.fixture(scope="module")
def built_manifest(exports: Path) -> dict[str, Any]:
    return _json(exports / "exhibit.json")


def test_every_iiif_document_validates_against_the_v4_schemas(exports: Path) -> None:
    documents = [exports / "iiif" / "exhibit.json", exports / "iiif" / "collection.json",
                 *sorted((exports / "iiif" / "objects").glob("*.json"))]
    assert len(documents) == 2 + len(list((exports / "data" / "objects").glob("*.json")))
    for path in documents:
        assert iiif_errors(_json(path)) == [], path.name


def test_the_validator_catches_what_it_should(exports: Path) -> None:
    # Guards the guard: a broken manifest must fail, or "0 errors" above would mean nothing.
    manifest = _json(exports / "iiif" / "exhibit.json")
    del manifest["items"][0]["id"]
    manifest["items"][1]["items"][0]["items"][0]["body"]["type"] = "Mesh"
    manifest["items"][1]["id"] = manifest["items"][0]["items"][0]["id"]
    errors = iiif_errors(manifest)
    assert any("'id' is a required property" in e for e in errors)
    assert any("'Mesh' is not one of" in e for e in errors)
    assert any(e.startswith("duplicate id") for e in errors)


def test_rights_are_the_http_form_the_iiif_rights_schema_requires(exports: Path) -> None:
    rights_schema = _json(IIIF_SCHEMAS / "properties.json")["$defs"]["rights"]
    checker = Draft202012Validator(rights_schema)
    found = [node["rights"] for path in (exports / "iiif").rglob("*.json") for node in _walk(_json(path))
             if "rights" in node]
    assert found and all(value.startswith("http://") for value in found)
    for value in found:
        assert list(checker.iter_errors(value)) == [], value
    assert list(checker.iter_errors("https://creativecommons.org/publicdomain/zero/1.0/")), "https is refused"


def test_every_svx_validates_against_the_voyager_schemas(exports: Path, built_manifest: dict[str, Any]) -> None:
    models = [a["id"] for a in built_manifest["artifacts"] if a["kind"] == "model"]
    paths = sorted((exports / "svx").glob("*/scene.svx.json"))
    assert sorted(p.parent.name for p in paths) == sorted(models)
    for path in paths:
        assert voyager_errors(_json(path)) == [], path
    broken = _json(paths[0])
    broken["setups"][0]["language"] = {"language": "ZH"}
    assert voyager_errors(broken), "Voyager has no ZH key, and its schema says so"


def test_svx_derivatives_and_articles_point_at_files_the_build_wrote(exports: Path) -> None:
    for path in sorted((exports / "svx").glob("*/scene.svx.json")):
        document = _json(path)
        uris = [asset["uri"] for d in document["models"][0]["derivatives"] for asset in d["assets"]]
        uris += [clip for a in document["metas"][0].get("audio", []) for clip in a["uris"].values()]
        uris += [article["uri"] for article in document["metas"][0]["articles"]]
        for uri in uris:
            assert (path.parent / uri).resolve().is_file(), uri


def test_linked_art_expands_with_pyld_and_drops_no_term(exports: Path, built_manifest: dict[str, Any]) -> None:
    paths = sorted((exports / "data" / "objects").glob("*.json"))
    assert sorted(p.stem for p in paths) == sorted(a["id"] for a in built_manifest["artifacts"])
    for path in paths:
        document = _json(path)
        expanded = expand_linked_art(document)
        assert expanded and expanded[0]["@id"] == f"{BASE}data/objects/{path.stem}.json"
        assert dropped_terms(document) == [], path.name


def test_linked_art_carries_the_record(exports: Path, built_manifest: dict[str, Any]) -> None:
    ding = next(a for a in built_manifest["artifacts"] if a["id"] == "ding")
    record = ding["record"]
    document = _json(exports / "data" / "objects" / "ding.json")
    names = {n["language"][0]["notation"]: n["content"] for n in document["identified_by"] if n["type"] == "Name"}
    assert names == record["title"]
    identifiers = [i["content"] for i in document["identified_by"] if i["type"] == "Identifier"]
    assert identifiers == [record["accession"]]
    statements = {(s["classified_as"][0]["_label"], s["language"][0]["notation"]): s["content"]
                  for s in document["referred_to_by"]}
    for language, text in record["credit"].items():
        assert statements[("credit line", language)] == text
    span = document["produced_by"]["timespan"]
    assert span["begin_of_the_begin"] <= span["end_of_the_end"]
    glb = document["representation"][0]["digitally_shown_by"][0]["access_point"][0]["id"]
    assert glb.startswith(BASE) and (exports / glb.removeprefix(BASE)).is_file()
    pages = [o["digitally_carried_by"][0]["access_point"][0]["id"] for o in document["subject_of"]]
    assert pages == [f"{BASE}objects/ding.html", f"{BASE}iiif/objects/ding.json"]
    assert document["shows"][0]["subject_to"][0]["classified_as"][0]["id"].startswith("http://")


def test_the_iiif_manifest_reads_back_every_artifact(exports: Path, built_manifest: dict[str, Any],
                                                     bronze_age: BuiltSite) -> None:
    """Round trip: from the IIIF Manifest alone, find every artifact, where it is, its labels and its rights."""
    manifest = _json(exports / "iiif" / "exhibit.json")
    languages = built_manifest["exhibit"]["languages"]
    found: dict[str, dict[str, Any]] = {}
    for scene in manifest["items"]:
        assert scene["spatialScale"] == {"type": "Quantity", "quantityValue": 1.0, "unit": "m"}
        for page in scene.get("annotations", []):
            for annotation in page["items"]:
                match = re.fullmatch(re.escape(f"{BASE}iiif/exhibit.json#artifact/") + r"([\w-]+)/label",
                                     annotation["id"])
                if match:
                    point = annotation["target"]["selector"][0]
                    labels = {b["language"][0]: b["value"] for b in annotation["body"]["items"]}
                    found[match.group(1)] = {"scene": scene["id"], "at": [point["x"], point["y"], point["z"]],
                                             "labels": labels}
    spec = load_exhibit(bronze_age.spec).exhibit
    assert sorted(found) == sorted(a["id"] for a in built_manifest["artifacts"])
    for artifact in built_manifest["artifacts"]:
        entry = found[artifact["id"]]
        assert entry["scene"] == f"{BASE}iiif/exhibit.json#scene/{artifact['room']}"
        assert entry["at"] == pytest.approx(artifact["position"], abs=1e-6)
        source = spec.artifact(artifact["id"])
        assert source is not None
        title = dict(source.record.title)
        if title:
            assert entry["labels"] == title and set(title) == set(languages)
    assert manifest["rights"] == "http://creativecommons.org/publicdomain/zero/1.0/"


def test_models_are_painted_turned_counter_clockwise(exports: Path, built_manifest: dict[str, Any],
                                                     bronze_age: BuiltSite) -> None:
    """Vitrina turns clockwise seen from above, IIIF counter-clockwise: `rotate: 30` must become y = -30."""
    spec = load_exhibit(bronze_age.spec).exhibit
    manifest = _json(exports / "iiif" / "exhibit.json")
    painted = {a["id"]: a for scene in manifest["items"] for a in scene["items"][0]["items"]
               if re.fullmatch(r".*#artifact/[\w-]+", a["id"]) and a["body"]["type"] != "Canvas"}
    models = [a for a in built_manifest["artifacts"] if a["kind"] == "model"]
    assert sorted(painted) == sorted(f"{BASE}iiif/exhibit.json#artifact/{a['id']}" for a in models)
    turned = 0
    for artifact in models:
        source = spec.artifact(artifact["id"])
        assert source is not None
        place = source.placed
        annotation = painted[f"{BASE}iiif/exhibit.json#artifact/{artifact['id']}"]
        selector = annotation["target"]["selector"][0]
        assert [selector["x"], selector["y"], selector["z"]] == pytest.approx(artifact["position"], abs=1e-6)
        if place.wall is None and place.rotate:
            turned += 1
            transform = annotation["body"]["transform"][-1]  # after the level GLB's own placement is taken off
            assert transform["type"] == "RotateTransform"
            assert transform["y"] == pytest.approx(-place.rotate, abs=1e-4)
            assert transform["x"] == transform["z"] == 0.0
    assert turned, "the example turns at least one model, so the sign is tested"


def test_pictures_are_canvases_painted_on_the_quad_where_they_hang(exports: Path,
                                                                    built_manifest: dict[str, Any]) -> None:
    manifest = _json(exports / "iiif" / "exhibit.json")
    canvases = {a["id"].rsplit("/", 1)[1]: a for scene in manifest["items"] for a in scene["items"][0]["items"]
                if a["body"]["type"] == "Canvas"}
    pictures = [a for a in built_manifest["artifacts"] if a["kind"] == "image"]
    assert pictures and sorted(canvases) == sorted(a["id"] for a in pictures)
    for artifact in pictures:
        annotation = canvases[artifact["id"]]
        value = annotation["target"]["selector"][0]["value"]
        corners = [[float(v) for v in point.split()] for point in value[len("POLYGONZ(("):-2].split(", ")]
        assert len(corners) == 4
        centre = [sum(c[i] for c in corners) / 4 for i in range(3)]
        assert math.dist(centre, artifact["position"]) == pytest.approx(0.002, abs=1e-5)  # just in front of it
        towards_room = [v - c for v, c in zip(artifact["view"]["position"], artifact["position"], strict=True)]
        assert sum((c - a) * t for c, a, t in zip(centre, artifact["position"], towards_room, strict=True)) > 0
        low, high = artifact["bounds"]["min"], artifact["bounds"]["max"]
        for corner in corners:  # the picture lies within its bounds (which include the frame)
            assert all(low[i] - 0.003 <= corner[i] <= high[i] + 0.003 for i in range(3))
        image = annotation["body"]["items"][0]["items"][0]["body"]
        assert image["type"] == "Image" and (exports / image["id"].removeprefix(BASE)).is_file()
        assert [image["width"], image["height"]] == [annotation["body"]["width"], annotation["body"]["height"]]


def test_cameras_lights_audio_tours_and_doors(exports: Path, built_manifest: dict[str, Any]) -> None:
    manifest = _json(exports / "iiif" / "exhibit.json")
    bodies = [a["body"] for scene in manifest["items"] for a in scene["items"][0]["items"]]
    types = [b.get("type") for b in bodies]
    assert types.count("AmbientLight") == len(built_manifest["rooms"])
    assert "SpotLight" in types and "PerspectiveCamera" in types and "PointAudio" in types
    start = next(a for scene in manifest["items"] for a in scene["items"][0]["items"] if a["id"].endswith("#start"))
    assert start["body"]["type"] == "PerspectiveCamera" and "behavior" not in start
    captions = [a for scene in manifest["items"] for a in scene["items"][0]["items"]
                if a.get("motivation") == ["supplementing"]]
    assert captions and all(c["body"]["provides"] == ["closedCaptions"] and c["body"]["format"] == "text/vtt"
                            for c in captions)
    tours = {page["id"].rsplit("/", 1)[-1]: page for page in manifest["annotations"]}
    for tour in built_manifest["tours"]:
        page = tours[tour["id"]]
        assert page["behavior"] == ["sequence"]
        stops = [a for a in page["items"] if a["motivation"] == ["commenting"]]
        assert len(stops) == len(tour["stops"])
        for stop, annotation in zip(tour["stops"], stops, strict=True):
            assert {b["language"][0]: b["value"] for b in annotation["body"]["items"]} == stop["say"]
            scope = annotation["target"]["scope"]
            assert any(a["id"] == scope and a["body"]["type"] == "PerspectiveCamera" for a in page["items"])
    assert [r["type"] for r in manifest["structures"]] == ["Range"] * len(built_manifest["tours"])
    doors = [a for scene in manifest["items"] for page in scene.get("annotations", []) for a in page["items"]
             if a["motivation"] == ["linking"]]
    assert {d["body"]["id"] for d in doors} == {f"{BASE}iiif/exhibit.json#scene/{r['id']}"
                                               for r in built_manifest["rooms"]}


def test_object_pages_and_the_exhibit_page_carry_schema_org(exports: Path, built_manifest: dict[str, Any]) -> None:
    def jsonld(page: Path) -> dict[str, Any]:
        found = re.search(r'<script type="application/ld\+json">(.*?)</script>', page.read_text(encoding="utf-8"), re.S)
        assert found, page
        return json.loads(found.group(1))

    for artifact in built_manifest["artifacts"]:
        data = jsonld(exports / artifact["page"])
        assert data["@type"] == "VisualArtwork" and data["url"] == f"{BASE}{artifact['page']}"
        if artifact["kind"] == "model":
            media = data["associatedMedia"]
            assert media["@type"] == "3DModel" and media["encodingFormat"] == "model/gltf-binary"
            assert (exports / media["contentUrl"].removeprefix(BASE)).is_file()
    event = jsonld(exports / "index.html")
    assert event["@type"] == "ExhibitionEvent"
    assert len(event["workFeatured"]) == len(built_manifest["artifacts"])


def test_exports_are_deterministic(bronze_age: BuiltSite) -> None:
    for folder in ("iiif", "data", "svx"):
        cold = {p.relative_to(bronze_age.exhibit): p.read_bytes() for p in (bronze_age.exhibit / folder).rglob("*")
                if p.is_file()}
        warm_root = bronze_age.warm_site / "bronze-age"
        warm = {p.relative_to(warm_root): p.read_bytes() for p in (warm_root / folder).rglob("*") if p.is_file()}
        assert cold and cold == warm, folder
