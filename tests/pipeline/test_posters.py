"""Posters: which pictures are taken, the cache, and the fallback when no browser can render them."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from pipeline import images, posters

MANIFEST: dict[str, Any] = {
    "start": {"room": "hall", "position": [1.0, 0.0, 2.0], "yaw": -90.0},
    "rooms": [
        {"id": "hall", "bounds": {"min": [-6, 0, -4], "max": [6, 4, 4]}},
        {"id": "side", "bounds": {"min": [6, 0, -2], "max": [10, 4, 6]}},
    ],
    "artifacts": [
        {"id": "vase", "view": {"target": [0, 1, 0], "position": [0, 1.2, 2]}},
        {"id": "scroll", "view": {"target": [0, 1.5, -4], "position": [0, 1.5, -2]}},
    ],
}


def _picture() -> bytes:
    return images.png_from_rgb(np.tile(np.linspace(0, 1, 40)[None, :, None], (30, 1, 3)))  # dark to light


def test_a_poster_per_artifact_and_a_cover_per_room() -> None:
    shots = posters.shots(MANIFEST, {"vase": "Vase"}, {"scroll": _picture()})
    assert [s.name for s in shots] == ["artifact-vase", "artifact-scroll", "room-hall", "room-side"]
    assert shots[0].title == "Vase" and shots[1].title == "scroll"
    assert shots[0].view == MANIFEST["artifacts"][0]["view"]


def test_the_start_room_cover_is_the_start_view() -> None:
    view = posters.room_cover_view(MANIFEST["rooms"][0], MANIFEST["start"])
    assert view["position"] == [1.0, 1.6, 2.0]
    # yaw -90 looks down +x (three.js cameras look down -z, turned about +y).
    assert view["target"][0] > view["position"][0] and view["target"][2] == pytest.approx(2.0)


def test_another_room_is_seen_down_its_long_axis() -> None:
    view = posters.room_cover_view(MANIFEST["rooms"][1], MANIFEST["start"])  # 4 m wide, 8 m deep
    assert view["position"] == [8.0, 1.6, 5.4] and view["target"] == [8.0, 1.3, 2.0]


class MemoryCache:
    def __init__(self) -> None:
        self.entries: dict[str, bytes] = {}

    def remembered(self, key: str, compute):  # type: ignore[no-untyped-def]
        if key not in self.entries:
            self.entries[key] = compute()
        return self.entries[key]


def _size(jpeg: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(jpeg)).size


def test_without_a_renderer_the_build_warns_and_uses_plain_posters(monkeypatch: pytest.MonkeyPatch,
                                                                     tmp_path: Path) -> None:
    monkeypatch.setattr(posters, "renderer_missing", lambda: "posters need Chromium")
    warnings: list[str] = []
    cache = MemoryCache()
    shots = posters.shots(MANIFEST, {"vase": "Vase"}, {"scroll": _picture()})
    made = posters.make_posters(tmp_path, "x", shots, posters.PosterInputs("inputs"), cache.remembered, warnings.append)
    assert warnings == ["posters need Chromium; using plain posters"]
    assert {_size(data) for data in made.values()} == {posters.POSTER_SIZE}
    # The hung picture stands in for its poster: a left-to-right gradient stays one.
    scroll = np.asarray(Image.open(io.BytesIO(made["artifact-scroll"])).convert("L"), dtype=float)
    assert scroll[:, -20:].mean() > scroll[:, :20].mean() + 50
    assert cache.entries == {}, "fallbacks are not cached, so a build with Chromium renders the real ones"


@pytest.fixture
def rendered(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """A stand-in for Chromium: each render's shot names, in order, each poster the same plain picture."""
    monkeypatch.setattr(posters, "renderer_missing", lambda: None)
    calls: list[list[str]] = []

    def stand_in(site_root: Path, exhibit_id: str, todo: list[posters.Shot]) -> dict[str, bytes]:
        calls.append([s.name for s in todo])
        return {s.name: images.fitted_jpeg(_picture(), posters.POSTER_SIZE) for s in todo}

    monkeypatch.setattr(posters, "render", stand_in)
    return calls


def test_rendered_posters_are_cached_and_not_rendered_again(rendered: list[list[str]], tmp_path: Path) -> None:
    cache = MemoryCache()
    shots = posters.shots(MANIFEST, {}, {})
    first = posters.make_posters(tmp_path, "x", shots, posters.PosterInputs("inputs"), cache.remembered, lambda _: None)
    second = posters.make_posters(tmp_path, "x", shots, posters.PosterInputs("inputs"), cache.remembered, lambda _: None)
    assert first == second and len(rendered) == 1
    posters.make_posters(tmp_path, "x", shots, posters.PosterInputs("other inputs"), cache.remembered, lambda _: None)
    assert len(rendered) == 2 and len(rendered[1]) == len(shots)


def test_fitted_jpeg_covers_and_crops_to_the_poster_shape() -> None:
    tall = images.png_from_rgb(np.zeros((300, 100, 3)))
    assert _size(images.fitted_jpeg(tall, (960, 504))) == (960, 504)


def _glb(words: str, shape: bytes = b"shape") -> bytes:
    """A GLB as the build writes one: its words for aggregators (XMP, a node's record and label, the rights) beside
    what renders (the node's place and the binary chunk)."""
    from pipeline.gltf import container

    document = {"asset": {"version": "2.0", "copyright": words}, "extensionsUsed": ["KHR_xmp_json_ld"],
                "extensions": {"KHR_xmp_json_ld": {"packets": [{"dc:title": words}]}},
                "nodes": [{"name": "vase", "translation": [0, 1, 0], "extensions": {"KHR_xmp_json_ld": {"packet": 0}},
                           "extras": {"vitrina": {"id": "vase", "record": {"title": words}, "alt": words}}}]}
    return container.pack(json.dumps(document).encode(), shape)


def _site(folder: Path, words: str = "Old words", shape: bytes = b"shape") -> Path:
    """A built site's files a poster's inputs read: the viewer's code, a room's GLB and a level's."""
    for name, data in (("static/app.js", b"viewer"), ("rooms/hall.glb", _glb(words, shape)),
                       ("artifacts/vase.thumb.glb", _glb(words, shape))):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder


def _built_manifest() -> dict[str, Any]:
    base = copy.deepcopy(MANIFEST)
    return {"schema_version": 2, "exhibit": {"id": "x", "title": {"en": "X"}, "description": {"en": "About X"},
                                             "languages": ["en", "fr"], "default_language": "en"},
            "start": base["start"],
            "rooms": [{**room, "name": {"en": room["id"].title()}, "lighting": {"ambient": 0.5},
                       "glb": "rooms/hall.glb", "stats": {"bytes": 10}} for room in base["rooms"]],
            "artifacts": [{**artifact, "record": {"title": {"en": artifact["id"]}, "description": {"en": "Old."}},
                           "alt": {"en": "A thing"}, "levels": [{"glb": "artifacts/vase.thumb.glb", "bytes": 10}],
                           "caption_plates": {"en": f"media/{artifact['id']}-caption-en.1.webp",
                                              "fr": f"media/{artifact['id']}-caption-fr.1.webp"}}
                          for artifact in base["artifacts"]],
            "tours": [{"id": "walk", "description": {"en": "A walk."}}], "files": [], "report": "report.json"}


def _edited(change: Any) -> dict[str, Any]:
    manifest = _built_manifest()
    change(manifest)
    return manifest


@pytest.mark.parametrize("text_edit", [
    lambda m: m["tours"][0]["description"].update(en="A longer walk."),
    lambda m: m["artifacts"][0]["record"]["description"].update(en="New."),
    lambda m: m["artifacts"][1]["alt"].update(en="Another thing"),
    lambda m: m["rooms"][0]["name"].update(en="The great hall"),
    lambda m: m["exhibit"]["description"].update(en="All about X"),
    lambda m: m["artifacts"][0]["caption_plates"].update(fr="media/vase-caption-fr.2.webp"),  # not the language shown
    # The viewer shows the default language's plate from the room's GLB, not this file.
    lambda m: m["artifacts"][0]["caption_plates"].update(en="media/vase-caption-en.2.webp"),
])
def test_words_no_poster_shows_leave_the_posters_inputs_as_they_were(tmp_path: Path, text_edit: Any) -> None:
    before = posters.poster_inputs(_site(tmp_path / "a"), tmp_path / "a" / "static", _built_manifest())
    # The GLBs carry the words too (their bytes, sizes and names change with them): as a text edit rebuilds them.
    after = _edited(text_edit)
    for entry in after["rooms"]:
        entry["stats"]["bytes"] = 11
    after["artifacts"][0]["levels"][0]["bytes"] = 11
    assert posters.poster_inputs(_site(tmp_path / "b", words="New words"), tmp_path / "b" / "static", after) == before


@pytest.mark.parametrize("visible_edit", [
    lambda m: m["rooms"][1]["lighting"].update(ambient=0.8),
    lambda m: m["artifacts"][0]["view"].update(position=[0, 1.3, 2]),
    lambda m: m["exhibit"].update(default_language="fr"),
    lambda m: m["start"].update(yaw=0.0),
])
def test_what_a_poster_shows_changes_the_posters_inputs(tmp_path: Path, visible_edit: Any) -> None:
    site = _site(tmp_path)
    assert posters.poster_inputs(site, site / "static", _edited(visible_edit)) != posters.poster_inputs(
        site, site / "static", _built_manifest())


def test_a_glbs_shape_or_the_viewers_code_changes_the_posters_inputs(tmp_path: Path) -> None:
    site = _site(tmp_path / "a")
    before = posters.poster_inputs(site, site / "static", _built_manifest())
    reshaped = _site(tmp_path / "b", shape=b"other")
    assert posters.poster_inputs(reshaped, reshaped / "static", _built_manifest()) != before
    (site / "static" / "app.js").write_bytes(b"viewer, changed")
    assert posters.poster_inputs(site, site / "static", _built_manifest()) != before


def test_a_build_after_a_tour_label_or_other_language_edit_renders_no_poster(rendered: list[list[str]],
                                                                             tmp_path: Path) -> None:
    from pipeline.build import BuildOptions, build
    from tests.pipeline.tiny_exhibit import write_tiny_exhibit

    folder = write_tiny_exhibit(tmp_path / "tiny")
    spec = folder / "exhibit.yaml"
    spec.write_text(spec.read_text(encoding="utf-8").replace("  id: tiny\n", "  id: tiny\n  captions: true\n", 1),
                    encoding="utf-8")  # titles drawn on plates beside the objects, in English and Chinese
    options = BuildOptions(quiet=True, jobs=1, cache_dir=tmp_path / "cache", posters=True)
    build(spec, tmp_path / "site", options)
    assert len(rendered) == 1 and "artifact-cube" in rendered[0]
    text = spec.read_text(encoding="utf-8")
    spec.write_text(text.replace("title: {en: A walk, zh: 漫步}", "title: {en: A short walk, zh: 漫步}")
                    .replace("alt: {en: A red rectangle,", "alt: {en: A red oblong,"), encoding="utf-8")
    build(spec, tmp_path / "site", options)
    assert len(rendered) == 1, "a poster was rendered again for words no poster shows"
    # A title in another language than the default (en) is on a plate the posters, taken in English, do not show.
    spec.write_text(text.replace("record: {title: {en: Red, zh: 红}}", "record: {title: {en: Red, zh: 赤}}"),
                    encoding="utf-8")
    build(spec, tmp_path / "site", options)
    assert len(rendered) == 1, "a poster was rendered again for another language's caption"
    spec.write_text(text.replace("record: {title: {en: Red, zh: 红}}", "record: {title: {en: Crimson, zh: 红}}"),
                    encoding="utf-8")
    build(spec, tmp_path / "site", options)  # a title is drawn on the caption plate in its room: rendered again
    assert len(rendered) == 2
    # ... by the posters that look its way: the picture's own, not the other room's cover.
    assert "artifact-red" in rendered[1] and "room-side" not in rendered[1], rendered[1]
    assert len(rendered[1]) < len(rendered[0])


def test_a_rendered_posters_key_is_its_camera_and_inputs_not_its_title_or_fallback() -> None:
    shot = posters.Shot("artifact-vase", {"target": [0, 1, 0], "position": [0, 1.2, 2]}, "Vase", _picture())
    key = posters.poster_key(shot, "inputs")
    assert posters.poster_key(posters.Shot(shot.name, shot.view, "A vase", None), "inputs") == key
    assert posters.poster_key(posters.Shot(shot.name, {"target": [0, 1, 0], "position": [0, 1.3, 2]}, "Vase"),
                              "inputs") != key
    assert posters.poster_key(shot, "other inputs") != key


def test_a_glbs_rendered_digest_is_remembered_by_its_file_digest(tmp_path: Path) -> None:
    site = _site(tmp_path)
    cache = MemoryCache()
    known = {"artifacts/vase.thumb.glb": "a" * 64}
    plain = posters.poster_inputs(site, site / "static", _built_manifest())
    assert posters.poster_inputs(site, site / "static", _built_manifest(), cache.remembered, known) == plain
    (site / "artifacts" / "vase.thumb.glb").write_bytes(b"not read again")  # a build's files are its own
    assert posters.poster_inputs(site, site / "static", _built_manifest(), cache.remembered, known) == plain


NORTH = {"position": [0.0, 1.5, 0.0], "target": [0.0, 1.5, -1.0]}


def _seen(view: dict[str, list[float]], box: posters.Box) -> bool:
    return bool(posters.boxes_in_view(view, [box])[0])

SOUTH = {"position": [0.0, 1.5, 0.0], "target": [0.0, 1.5, 1.0]}


def test_a_box_is_in_view_when_it_reaches_into_the_cameras_frustum() -> None:
    ahead = ((-0.5, 1.0, -3.0), (0.5, 2.0, -2.9))
    assert _seen(NORTH, ahead) and not _seen(SOUTH, ahead)
    # 60° tall and 1.9 times as wide (95° across): 3 m ahead the view is about 6.6 m wide and 3.5 m tall.
    assert _seen(NORTH, ((3.2, 1.0, -3.0), (3.3, 1.2, -3.0)))
    assert not _seen(NORTH, ((4.5, 1.0, -3.0), (4.6, 1.2, -3.0)))
    assert _seen(NORTH, ((0.0, 3.2, -3.0), (0.1, 3.3, -3.0)))
    assert not _seen(NORTH, ((0.0, 4.2, -3.0), (0.1, 4.3, -3.0)))
    # A box around the camera, and one spanning the view from side to side though its corners are all outside it.
    assert _seen(NORTH, ((-1.0, 0.0, -1.0), (1.0, 3.0, 1.0)))
    assert _seen(NORTH, ((-20.0, 1.4, -3.0), (20.0, 1.6, -3.0)))
    assert _seen({"position": [0, 5, 0], "target": [0, 0, 0]}, ((9, 9, 9), (10, 10, 10))), (
        "straight down, the roll is unknown: anything may be in view")
    # The viewer's orbit lifts a camera more than 0.3 rad below its target: from there, anything may be in view.
    behind = ((-0.5, 1.0, 2.9), (0.5, 2.0, 3.0))
    assert not _seen({"position": [0, 1.0, 0], "target": [0, 1.25, -1]}, behind)  # 14° up
    assert _seen({"position": [0, 1.0, 0], "target": [0, 1.5, -1]}, behind)  # 27° up


def _room_glb(north: bytes, south: bytes, words: str = "Old words") -> bytes:
    """A room's GLB as the build writes one: a picture on the north wall and one on the south, each a quad placed
    by its node (quantized positions, as the build's are), the images first in the binary chunk."""
    from pipeline.gltf import container

    geometry = np.array([[0, 0, 0], [100, 0, 0], [100, 50, 0], [0, 50, 0]], dtype=np.uint16).tobytes()
    chunks = [north, south, geometry]
    views, offset = [], 0
    for chunk in chunks:
        views.append({"buffer": 0, "byteOffset": offset, "byteLength": len(chunk)})
        offset += len(chunk)
    binary = b"".join(chunks)
    position = {"bufferView": 2, "componentType": 5123, "count": 4, "type": "VEC3", "min": [0, 0, 0],
                "max": [100, 50, 0]}
    placed = {"scale": [0.01, 0.01, 0.01], "mesh": 0}
    document = {
        "asset": {"version": "2.0", "copyright": words}, "scene": 0, "scenes": [{"nodes": [0, 1]}],
        "nodes": [{**placed, "translation": [-0.5, 1.0, -3.0], "mesh": 0, "extras": {"vitrina": {"record": words}}},
                  {**placed, "translation": [0.5, 1.0, 3.0], "rotation": [0, 1, 0, 0], "mesh": 1}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}, "material": 0}]},
                   {"primitives": [{"attributes": {"POSITION": 0}, "material": 1}]}],
        "materials": [{"name": "north-image", "pbrMetallicRoughness": {"baseColorTexture": {"index": 0}}},
                      {"name": "south-image", "pbrMetallicRoughness": {"baseColorTexture": {"index": 1}}}],
        "textures": [{"source": 0}, {"source": 1}],
        "images": [{"bufferView": 0, "mimeType": "image/png"}, {"bufferView": 1, "mimeType": "image/png"}],
        "accessors": [position], "bufferViews": views, "buffers": [{"byteLength": len(binary)}],
    }
    return container.pack(json.dumps(document).encode(), binary)


def _room_inputs(folder: Path, glb: bytes) -> posters.PosterInputs:
    (folder / "static").mkdir(parents=True, exist_ok=True)
    (folder / "static" / "app.js").write_bytes(b"viewer")
    (folder / "rooms").mkdir(exist_ok=True)
    (folder / "rooms" / "hall.glb").write_bytes(glb)
    manifest = {"rooms": [{"id": "hall", "glb": "rooms/hall.glb"}], "artifacts": []}
    return posters.poster_inputs(folder, folder / "static", manifest)


def test_a_rooms_picture_drawn_anew_changes_the_inputs_of_the_posters_that_look_its_way_only(tmp_path: Path) -> None:
    before = _room_inputs(tmp_path / "a", _room_glb(b"north picture", b"south picture"))
    boxes = [box for _, box in before.pictures]
    assert boxes == [((-0.5, 1.0, -3.0), (0.5, 1.5, -3.0)), ((-0.5, 1.0, 3.0), (0.5, 1.5, 3.0))]
    # A longer north picture moves every byte after it in the chunk, and the words change too.
    after = _room_inputs(tmp_path / "b", _room_glb(b"a longer north picture", b"south picture", "New words"))
    assert after.common == before.common
    assert after.seen_from(NORTH) != before.seen_from(NORTH)
    assert after.seen_from(SOUTH) == before.seen_from(SOUTH)
    reshaped = _room_inputs(tmp_path / "c", _room_glb(b"north picture", b"south picture").replace(
        b'"translation": [0.5, 1.0, 3.0]', b'"translation": [0.5, 1.2, 3.0]'))
    assert reshaped.common != before.common, "a moved node is a new shape for every poster"


def test_a_see_through_instanced_morphed_or_unbounded_surfaces_pictures_are_in_every_posters_inputs() -> None:
    document: dict[str, Any] = {
        "scene": 0, "scenes": [{"nodes": [0]}], "nodes": [{"mesh": 0, "translation": [0, 0, -3]}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}, "material": 0}]}],
        "materials": [{"pbrMetallicRoughness": {"baseColorTexture": {"index": 0}}}],
        "textures": [{"source": 0}], "accessors": [{"min": [0, 0, 0], "max": [1, 1, 0]}]}
    assert posters.material_boxes(document) == {0: [[0.0, 0.0, -3.0], [1.0, 1.0, -3.0]]}
    for change in (lambda d: d["materials"][0].update(alphaMode="MASK"),  # its pixels shape its shadow
                   lambda d: d["nodes"][0].update(extensions={"EXT_mesh_gpu_instancing": {"attributes": {}}}),
                   lambda d: d["meshes"][0]["primitives"][0].update(targets=[{"POSITION": 0}]),
                   lambda d: d["accessors"][0].pop("min")):
        changed = copy.deepcopy(document)
        change(changed)
        assert posters.material_boxes(changed) == {0: None}
