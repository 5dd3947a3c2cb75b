"""Caption plates beside models and pictures (exhibit.captions, artifacts[].caption) and wall mounts (place.mount)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pipeline import compose
from pipeline.ingest import load_asset
from pipeline.scene import Node, Scene
from pipeline.spec import load_exhibit
from pipeline.textures import load_textures
from tests.pipeline.tiny_exhibit import write_tiny_exhibit

MOUNTED = """artifacts:
  - id: shelved
    model: models/cube.obj
    units: cm
    height: 0.3
    place: {room: hall, wall: south, at: 1, height: 1.2, mount: shelf}
    record: {title: {en: On a shelf, zh: 架上}, creator: {en: A maker, zh: 匠人}, date: {en: "1900", zh: 1900年}}
  - id: bracketed
    model: models/cube.obj
    units: cm
    height: 0.2
    caption: false
    place: {room: hall, wall: west, at: 0, height: 1.4, mount: bracket}
    record: {title: {en: On a bracket, zh: 托架上}}
"""


def _write_mounted(folder: Path, captions: bool) -> Path:
    """The tiny exhibit with two wall-mounted models, and with exhibit.captions on when asked."""
    spec = write_tiny_exhibit(folder)
    yaml_file = spec / "exhibit.yaml"
    text = yaml_file.read_text(encoding="utf-8").replace("artifacts:\n", MOUNTED, 1)
    if captions:
        text = text.replace("  max_error: 0.05\n", "  max_error: 0.05\n  captions: true\n", 1)
    yaml_file.write_text(text, encoding="utf-8")
    return spec


def _compose(folder: Path, captions: bool) -> compose.Composition:
    spec = _write_mounted(folder, captions)
    exhibit = load_exhibit(spec).exhibit
    loaded: dict[Path, Scene] = {}
    assets = {a.id: loaded.setdefault(a.model.path, load_asset(a.model.path, units=a.metres_per_unit, up=a.up))
              for a in exhibit.artifacts if a.model is not None}
    return compose.compose(exhibit, assets, load_textures(exhibit))


@pytest.fixture(scope="module")
def captioned(tmp_path_factory: pytest.TempPathFactory) -> compose.Composition:
    return _compose(tmp_path_factory.mktemp("captions"), captions=True)


def _node(composition: compose.Composition, name: str) -> Node | None:
    return next((n for room in composition.rooms for n in room.scene.nodes if n.name == name), None)


def _bounds(node: Node) -> tuple[np.ndarray, np.ndarray]:
    bounds = compose.nodes_bounds([node])
    assert bounds is not None
    return bounds


def test_a_plinth_carries_the_plate_on_its_front_below_the_top(captioned: compose.Composition) -> None:
    cube = captioned.artifacts["cube"]
    plate = _node(captioned, "cube-caption")
    assert plate is not None
    low, high = _bounds(plate)
    centre = (low + high) / 2
    assert centre[1] == pytest.approx(0.8 - 0.12, abs=0.01), "on the plinth's face, below its 0.8 m top"
    ahead = float(np.dot(centre - np.asarray(cube.position), np.asarray(cube.front)))
    footprint = np.asarray(cube.bounds[1]) - np.asarray(cube.bounds[0])
    assert ahead > max(footprint[0], footprint[2]) / 2, "in front of the object, not inside it"
    assert high[1] - low[1] == pytest.approx(compose.CAPTION_SIZE[1], abs=0.01)
    face = next(p for p in plate.mesh.primitives if p.material and p.material.base_color_texture)  # type: ignore[union-attr]
    texture = face.material.base_color_texture.texture  # type: ignore[union-attr]
    image = Image.open(io.BytesIO(texture.data))
    assert image.size == (492, 246)
    assert len(np.unique(np.asarray(image.convert("L")))) > 2, "text is drawn on the plate"


def test_a_vitrine_s_pedestal_carries_the_plate(captioned: compose.Composition) -> None:
    plate = _node(captioned, "cube2-caption")
    assert plate is not None
    low, high = _bounds(plate)
    assert (low[1] + high[1]) / 2 == pytest.approx(0.9 - 0.12, abs=0.01)


def test_a_picture_s_plate_hangs_to_its_right_on_the_same_wall(captioned: compose.Composition) -> None:
    red = captioned.artifacts["red"]
    plate = _node(captioned, "red-caption")
    assert plate is not None
    low, high = _bounds(plate)
    # red: 0.8 m wide on the north wall, centred 1 m left of the middle; facing north, right is east (+x).
    assert (low[0] + high[0]) / 2 == pytest.approx(-1.0 + 0.4 + compose.CAPTION_GAP + 0.12, abs=1e-3)
    assert (low[1] + high[1]) / 2 == pytest.approx(1.6, abs=1e-3)
    assert low[2] >= red.position[2] - compose.PICTURE_GAP - 1e-6, "on the wall's room side"


def test_panels_and_opted_out_artifacts_get_no_plate(captioned: compose.Composition) -> None:
    assert _node(captioned, "intro-caption") is None
    assert _node(captioned, "bracketed-caption") is None
    assert _node(captioned, "shelved-caption") is not None


def test_a_shelf_carries_the_model_at_its_height_and_is_wider(captioned: compose.Composition) -> None:
    shelved = captioned.artifacts["shelved"]
    low, high = (np.asarray(v) for v in shelved.bounds)
    assert low[1] == pytest.approx(1.2, abs=1e-5), "the model's base rests on the board's top"
    board_low, board_high = _bounds(_node(captioned, "shelved-mount"))  # type: ignore[arg-type]
    assert board_high[1] == pytest.approx(1.2, abs=1e-6)
    assert board_high[0] - board_low[0] == pytest.approx(high[0] - low[0] + 0.3, abs=1e-3)
    wall_z = captioned.rooms[0].frame.high[2]  # the south wall
    assert board_high[2] == pytest.approx(wall_z, abs=1e-6), "fixed to the wall"
    assert board_low[2] < low[2] and high[2] < wall_z, "the board reaches under the whole model, which is off the wall"


def test_a_bracket_has_supports_under_its_board(captioned: compose.Composition) -> None:
    bracketed = captioned.artifacts["bracketed"]
    assert bracketed.bounds[0][1] == pytest.approx(1.4, abs=1e-5)
    board_low, board_high = _bounds(_node(captioned, "bracketed-mount"))  # type: ignore[arg-type]
    assert board_high[1] == pytest.approx(1.4, abs=1e-6)
    assert board_low[1] < 1.4 - 0.1, "the knees reach well below the board"


def test_without_captions_there_are_no_plates(tmp_path: Path) -> None:
    composition = _compose(tmp_path / "plain", captions=False)
    plates = [n.name for room in composition.rooms for n in room.scene.nodes if n.name.endswith("-caption")]
    assert plates == []
    assert _node(composition, "shelved-mount") is not None, "mounts do not depend on captions"


def test_a_build_with_plates_and_mounts_passes_the_khronos_validator(tmp_path: Path) -> None:
    from pipeline.build import BuildOptions, build
    from tests.gltf_validator import errors_of, validate_many, validator_available

    if not validator_available():
        pytest.skip("the Khronos glTF validator is not installed (npm ci)")
    spec = _write_mounted(tmp_path / "tiny", captions=True)
    build(spec, tmp_path / "site", BuildOptions(quiet=True, jobs=1, cache_dir=tmp_path / "cache"))
    glbs = sorted((tmp_path / "site" / "tiny" / "rooms").glob("*.glb"))
    assert glbs
    for glb, report in zip(glbs, validate_many(glbs), strict=True):
        assert errors_of(report) == [], glb.name


def test_a_plate_is_drawn_in_every_language_for_the_viewer_to_swap_in(captioned: compose.Composition) -> None:
    from tests.conftest import need_or_skip

    # A language no font here can draw gets no plate, so without a CJK font the Chinese one is missing.
    need_or_skip(compose.find_cjk_font() is not None, "no CJK font here (install fonts-wqy-microhei or fonts-noto-cjk)",
                 "VITRINA_REQUIRE_CJK_FONT")
    plates = captioned.caption_plates["shelved"]
    assert list(plates) == ["en", "zh"], "every language with a text, in the exhibit's order"
    assert plates["en"].data != plates["zh"].data
    assert "bracketed" not in captioned.caption_plates, "caption: false has no plate in any language"
    room_plate = next(node for room in captioned.rooms for node in room.scene.nodes if node.name == "shelved-caption")
    textures = {p.material.base_color_texture.texture.data for p in room_plate.mesh.primitives
                if p.material.base_color_texture is not None}
    assert textures == {plates["en"].data}, "the room holds the first language's plate"


def test_a_warm_build_draws_no_caption_or_panel_text_and_encodes_no_plate(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline import images
    from pipeline.build import BuildOptions, build

    folder = _write_mounted(tmp_path / "tiny", captions=True)
    options = BuildOptions(quiet=True, jobs=1, cache_dir=tmp_path / "cache")
    build(folder, tmp_path / "site", options)
    first = (tmp_path / "site" / "tiny" / "exhibit.json").read_bytes()
    assert b"caption_plates" in first  # plates in each language, and the intro panel, were drawn

    def refuse(*_: object, **__: object) -> bytes:
        raise AssertionError("a warm build drew text or encoded a plate again")

    monkeypatch.setattr(images, "text_panel_png", refuse)
    monkeypatch.setattr(images, "webp", refuse)
    build(folder, tmp_path / "again", options)
    assert (tmp_path / "again" / "tiny" / "exhibit.json").read_bytes() == first
    # Other words are other plates: drawn anew.
    spec = folder / "exhibit.yaml"
    spec.write_text(spec.read_text(encoding="utf-8").replace("title: {en: Red, zh: 红}", "title: {en: Crimson, zh: 红}"),
                    encoding="utf-8")
    with pytest.raises(AssertionError, match="drew text"):
        build(folder, tmp_path / "edited", options)


def test_a_title_or_panel_text_edit_draws_its_text_anew_and_takes_the_rooms_bake_from_the_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline import bake
    from pipeline.build import BuildOptions, build
    from pipeline.gltf import container

    folder = _write_mounted(tmp_path / "tiny", captions=True)
    options = BuildOptions(quiet=True, jobs=1, cache_dir=tmp_path / "cache")
    build(folder, tmp_path / "site", options)

    def lightmaps(site: Path) -> dict[str, bytes]:
        """Each room GLB's lightmap image, by room."""
        found = {}
        for path in (site / "tiny" / "rooms").glob("*.glb"):
            text, binary = container.split(path.read_bytes())
            document = json.loads(text)
            material = next(m for m in document["materials"] if m["name"].endswith("-wall"))
            view = document["bufferViews"][document["images"][document["textures"][
                material["occlusionTexture"]["index"]]["source"]]["bufferView"]]
            start = view.get("byteOffset", 0)
            found[path.name.split(".")[0]] = binary[start:start + view["byteLength"]]
        return found

    before = lightmaps(tmp_path / "site")
    assert set(before) == {"hall", "side"}
    real_bake = bake.bake_irradiance

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("a room was baked again")

    monkeypatch.setattr(bake, "bake_irradiance", refuse)
    spec = folder / "exhibit.yaml"
    text = spec.read_text(encoding="utf-8")
    edits = (("title: {en: Red, zh: 红}", "title: {en: Crimson red, zh: 红}"),  # the plate beside the picture
             ("Welcome to the tiny exhibit.", "Welcome, all, to our tiny exhibit of cubes."))  # the panel's words
    for old, new in edits:
        assert old in text
        text = text.replace(old, new)
    spec.write_text(text, encoding="utf-8")
    build(folder, tmp_path / "edited", options)
    assert lightmaps(tmp_path / "edited") == before
    drawn = {p.name.split(".")[0]: p.read_bytes() for p in (tmp_path / "edited" / "tiny" / "rooms").glob("*.glb")}
    assert all(drawn[room] != data for room, data in
               {p.name.split(".")[0]: p.read_bytes() for p in (tmp_path / "site" / "tiny" / "rooms").glob("*.glb")}
               .items()), "both rooms' drawn words changed"
    # The colour the words stand on is what the bake reflects: the room of a panel on another background is baked
    # again (the panel faces away from the wall it hangs on, so at this coarse setting its texels may not change).
    baked: list[str] = []

    def counted(scene: Scene, *args: object, **kwargs: object) -> object:
        baked.append(scene.name)
        return real_bake(scene, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(bake, "bake_irradiance", counted)
    spec.write_text(text.replace("  - id: intro\n", "  - id: intro\n    background: '#203040'\n"), encoding="utf-8")
    build(folder, tmp_path / "dark", options)
    assert baked == ["side"]
