"""The rich example builds into what the viewer and the tour server read: valid GLBs, a complete manifest, tours."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from typing import Any

from tests.conftest import REPO
from tests.contract.conftest import BuiltSite
from tests.gltf_validator import errors_of, validate_many
from tests.helpers import generated, glb_json
from viewer.tours.server import Catalog


def manifest_of(site: BuiltSite) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((site.exhibit / "exhibit.json").read_text(encoding="utf-8"))
    return data


def test_the_example_has_what_the_issue_asks_for(bronze_age: BuiltSite) -> None:
    data = manifest_of(bronze_age)
    assert data["schema_version"] == 2
    assert len(data["rooms"]) >= 2 and any(room["doors"] for room in data["rooms"])
    kinds = {a["kind"] for a in data["artifacts"]}
    assert kinds == {"model", "image", "panel"}
    assert len(data["artifacts"]) >= 8
    assert len(data["tours"]) == 2
    assert any(a["annotations"] for a in data["artifacts"])
    assert any(track.get("captions") for a in data["artifacts"] for track in a["audio"].values())


def test_every_room_glb_passes_the_khronos_validator(bronze_age: BuiltSite) -> None:
    data = manifest_of(bronze_age)
    paths = [bronze_age.exhibit / room["glb"] for room in data["rooms"]]
    paths += [bronze_age.exhibit / lod["glb"] for room in data["rooms"] for lod in room["lod"]]
    paths += [bronze_age.exhibit / level["glb"] for a in data["artifacts"] for level in a.get("levels", [])]
    for path, report in zip(paths, validate_many(paths), strict=True):
        assert report["issues"]["numErrors"] == 0, (path.name, errors_of(report)[:10])


def test_each_artifact_is_one_named_node_with_its_record(bronze_age: BuiltSite) -> None:
    data = manifest_of(bronze_age)
    # Images and panels are nodes of their room's GLB; each model is the root node of every one of its levels.
    holders = [(room["glb"], [a for a in data["artifacts"] if a["room"] == room["id"] and a["kind"] != "model"])
               for room in data["rooms"]]
    holders += [(level["glb"], [a]) for a in data["artifacts"] for level in a.get("levels", [])]
    assert {a["id"] for a in data["artifacts"] if a["kind"] == "model"} <= {a["id"] for _, group in holders[len(data["rooms"]):]
                                                                             for a in group}
    for glb, artifacts in holders:
        document = glb_json((bronze_age.exhibit / glb).read_bytes())
        names = [node.get("name") for node in document["nodes"]]
        packets = document.get("extensions", {}).get("KHR_xmp_json_ld", {}).get("packets", [])
        for artifact in artifacts:
            assert names.count(artifact["node"]) == 1, artifact["id"]
            node = document["nodes"][names.index(artifact["node"])]
            packet = packets[node["extensions"]["KHR_xmp_json_ld"]["packet"]]
            titles = {v["@value"] for k, v in packet["dc:title"].items() if k.startswith("rdf:_")}
            expected = artifact["record"].get("title") or artifact["alt"] or {"x": artifact["id"]}
            assert set(expected.values()) == titles
            assert node["extras"]["vitrina"]["record"] == artifact["record"]


def test_every_listed_file_exists_with_its_size_and_hash(bronze_age: BuiltSite) -> None:
    data = manifest_of(bronze_age)
    for entry in data["files"]:
        content = (bronze_age.exhibit / entry["path"]).read_bytes()
        assert (len(content), hashlib.sha256(content).hexdigest()) == (entry["bytes"], entry["sha256"])
    listed = {entry["path"] for entry in data["files"]}
    for room in data["rooms"]:
        assert room["glb"] in listed
    for artifact in data["artifacts"]:
        assert artifact["page"] in listed
        for track in artifact["audio"].values():
            assert track["src"] in listed and track.get("captions", track["src"]) in listed


def test_viewer_references_resolve(bronze_age: BuiltSite) -> None:
    """What app.js looks up: the start room, annotation keys of tour stops, stop rooms, artifact rooms."""
    data = manifest_of(bronze_age)
    rooms = {room["id"]: room for room in data["rooms"]}
    artifacts = {artifact["id"]: artifact for artifact in data["artifacts"]}
    keys = {note["key"] for artifact in data["artifacts"] for note in artifact["annotations"]}
    assert data["start"]["room"] in rooms
    for artifact in data["artifacts"]:
        assert artifact["room"] in rooms
    for tour in data["tours"]:
        for index, stop in enumerate(tour["stops"]):
            assert stop["index"] == index
            assert stop["artifact"] in artifacts
            assert stop["room"] == artifacts[stop["artifact"]]["room"]
            assert stop["annotation"] is None or stop["annotation"] in keys
            bounds = rooms[stop["room"]]["bounds"]
            assert all(bounds["min"][i] <= stop["view"]["position"][i] <= bounds["max"][i] for i in range(3))


def test_the_tour_server_finds_every_tour_with_its_stops(bronze_age: BuiltSite) -> None:
    data = manifest_of(bronze_age)
    catalog = Catalog(bronze_age.site, secrets.token_bytes(32))
    for tour in data["tours"]:
        info = catalog.find("bronze-age", tour["id"])
        assert info is not None and info.stops == len(tour["stops"])


def test_a_warm_build_reprocesses_nothing_and_gives_the_same_bytes(bronze_age: BuiltSite) -> None:
    cold, warm = bronze_age.cold, bronze_age.warm
    assert cold.cache_misses == cold.assets > 0 and cold.cache_hits == 0
    assert (warm.cache_hits, warm.cache_misses) == (cold.assets, 0)
    assert generated(bronze_age.site) == generated(bronze_age.warm_site)


def test_the_report_checks_every_room_against_every_target(bronze_age: BuiltSite) -> None:
    data = manifest_of(bronze_age)
    report = json.loads((bronze_age.exhibit / "report.json").read_text(encoding="utf-8"))
    pairs = {(check["room"], check["target"]) for check in report["budgets"]}
    assert pairs == {(room["id"], target) for room in data["rooms"] for target in data["exhibit"]["targets"]}
    html = (bronze_age.exhibit / "report.html").read_text(encoding="utf-8")
    assert html.count("<svg") == len(data["rooms"])


# Values that are language maps (or, for audio, keyed by language): their keys are tags, not contract fields.
LANGUAGE_KEYED = {"title", "name", "description", "say", "text", "alt", "creator", "date", "culture", "material",
                  "dimensions", "credit", "credits", "audio", "budgets"}  # budgets: keyed by target


def manifest_keys(value: Any, parent: str = "") -> set[str]:
    keys: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if parent in LANGUAGE_KEYED:
                keys |= manifest_keys(item, "")  # audio: {"zh": {"src", "captions"}}
                continue
            keys.add(key)
            keys |= manifest_keys(item, key)
    elif isinstance(value, list):
        for item in value:
            keys |= manifest_keys(item, parent)
    return keys


def test_docs_manifest_md_names_exactly_the_fields_the_build_writes(bronze_age: BuiltSite) -> None:
    """docs/manifest.md is the contract: a field the build writes must be documented, and the reverse."""
    doc = (REPO / "docs" / "manifest.md").read_text(encoding="utf-8")
    example = doc.split("```jsonc", 1)[1].split("```", 1)[0]
    documented = set(re.findall(r'"([a-z_0-9]+)":', example)) - {"zh", "en"}
    documented -= {"quest2", "quest3", "phone", "desktop"}  # targets are keys, not fields
    written = manifest_keys(manifest_of(bronze_age))
    assert written - documented == set(), "written but not in docs/manifest.md"
    # Optional fields the example shows but this build may not write: LOD errors; exhibit.museum (name, footer, url,
    # logo), written only for an exhibit that declares its museum; a case's rotate, only for a room with cases; and
    # posters (rendered only when asked for: `vitrina build` does, build() by default does not;
    # tests/browser/test_posters_render.py); an object's caption_plates, written only where it has caption plates in
    # several languages; and exhibit.ui_strings (with its example's keys), only for an exhibit with a ui-strings.yaml
    # (tests/browser/test_translation.py).
    assert documented - written <= {"error", "museum", "footer", "url", "logo", "rotate", "poster", "cover",
                                    "caption_plates", "ui_strings", "fr", "close", "one", "other"}, \
        "documented but never written"
