"""Compose: rooms line up at their doors, artifacts rest on their plinths, pictures hang at physical size."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pytest

from pipeline import compose
from pipeline.errors import BuildError
from pipeline.ingest import load_asset
from pipeline.scene import Mesh, Node, Primitive, Scene, yaw_quaternion
from pipeline.spec import load_exhibit
from pipeline.textures import load_textures
from tests.pipeline.tiny_exhibit import write_tiny_exhibit


@pytest.fixture(scope="module")
def composed(tmp_path_factory: pytest.TempPathFactory) -> tuple[compose.Composition, object]:
    folder = write_tiny_exhibit(tmp_path_factory.mktemp("tiny"))
    exhibit = load_exhibit(folder).exhibit
    # Like the build, one scene per distinct file: both cubes use the same loaded asset.
    loaded: dict[Path, Scene] = {}
    assets = {a.id: loaded.setdefault(a.model.path, load_asset(a.model.path, units=a.metres_per_unit, up=a.up))
              for a in exhibit.artifacts if a.model is not None}
    return compose.compose(exhibit, assets, load_textures(exhibit)), exhibit


def test_wall_segments_leave_exactly_the_door_open() -> None:
    pieces = compose.wall_segments(8.0, 3.0, [compose.Opening(3.0, 4.5, 0.0, 2.2)])
    area = sum((u1 - u0) * (v1 - v0) for u0, u1, v0, v1 in pieces)
    assert area == pytest.approx(8 * 3 - 1.5 * 2.2)
    # Nothing covers the middle of the door.
    assert not any(u0 < 3.75 < u1 and v0 < 1.0 < v1 for u0, u1, v0, v1 in pieces)


def test_an_opening_past_the_wall_end_is_clamped() -> None:
    pieces = compose.wall_segments(2.0, 3.0, [compose.Opening(1.5, 2.5, 0.0, 2.0)])
    assert max(u1 for _, u1, _, _ in pieces) == pytest.approx(2.0)
    assert sum((u1 - u0) * (v1 - v0) for u0, u1, v0, v1 in pieces) == pytest.approx(6 - 0.5 * 2)


def test_rooms_joined_by_a_door_share_the_wall_and_the_opening(composed: tuple[compose.Composition, object]) -> None:
    composition, _ = composed
    hall, side = composition.rooms
    # The door is on hall's east wall, 1 m right of the middle (facing east, right is south = +z).
    assert hall.frame.high[0] == pytest.approx(side.frame.low[0])
    (hall_door,), (side_door,) = hall.doors, side.doors
    assert hall_door.centre == pytest.approx(side_door.centre)
    assert hall_door.centre[2] == pytest.approx(1.0)
    assert side_door.wall == "west" and side_door.to == "hall"
    # The far room is centred on the door, since it declares no offset of its own.
    assert (side.frame.low[2] + side.frame.high[2]) / 2 == pytest.approx(1.0)


def test_walls_have_a_hole_where_the_door_is(composed: tuple[compose.Composition, object]) -> None:
    composition, _ = composed
    hall = composition.rooms[0]
    shell = next(n for n in hall.scene.nodes if n.name == "hall-shell")
    assert shell.mesh is not None
    door = hall.doors[0]
    for primitive in shell.mesh.primitives:
        positions = primitive.attributes["POSITION"]
        indices = primitive.indices.reshape(-1, 3)
        for triangle in positions[indices]:
            on_east_wall = np.allclose(triangle[:, 0], hall.frame.high[0])
            if not on_east_wall:
                continue
            # No wall triangle's centroid may lie inside the door opening.
            centre = triangle.mean(axis=0)
            inside = abs(centre[2] - door.centre[2]) < door.width / 2 and centre[1] < door.height
            assert not inside


def test_model_rests_on_its_plinth_at_its_height_and_turn(composed: tuple[compose.Composition, object]) -> None:
    composition, _ = composed
    cube = composition.artifacts["cube"]
    low, high = cube.bounds
    assert low[1] == pytest.approx(0.8, abs=1e-5)  # the plinth's top
    assert high[1] - low[1] == pytest.approx(0.5, abs=1e-5)  # `height: 0.5`
    # The hall is centred on the world origin; `at: [1, -1]` is from the room's centre.
    assert cube.position == pytest.approx((1.0, 0.8, -1.0))
    # rotate: 30 is clockwise seen from above, so the front (south, +z) swings towards the west (-x).
    assert cube.front == pytest.approx((-math.sin(math.radians(30)), 0.0, math.cos(math.radians(30))))
    stand = next(n for n in composition.rooms[0].scene.nodes if n.name == "cube-stand")
    stand_bounds = compose.nodes_bounds([stand])
    assert stand_bounds is not None
    assert stand_bounds[0][1] == pytest.approx(0.0, abs=1e-6) and stand_bounds[1][1] == pytest.approx(0.8)
    # The plinth is wider than the cube in every horizontal direction (footprint + margin).
    assert stand_bounds[0][0] < low[0] and stand_bounds[1][0] > high[0]


def test_vitrine_glass_is_blended_and_encloses_the_artifact(composed: tuple[compose.Composition, object]) -> None:
    composition, _ = composed
    side = composition.rooms[1]
    stand = next(n for n in side.scene.nodes if n.name == "cube2-stand")
    assert stand.mesh is not None
    glass = [p for p in stand.mesh.primitives if p.material is not None and p.material.alpha_mode == "BLEND"]
    assert len(glass) == 1
    glass_top = float(glass[0].attributes["POSITION"][:, 1].max()) + stand.translation[1]
    low, high = composition.artifacts["cube2"].bounds
    assert low[1] == pytest.approx(0.9, abs=1e-5)
    assert glass_top > high[1]


def test_artifact_node_carries_its_id_record_and_xmp(composed: tuple[compose.Composition, object]) -> None:
    composition, _ = composed
    node = composition.artifacts["cube"].node
    assert node is not None and node.keep and node.name == "cube"
    assert node.extras["vitrina"]["record"]["accession"] == "2026.1"
    xmp = node.xmp
    assert xmp is not None
    assert xmp["dc:identifier"] == "2026.1"
    titles = {v["@language"]: v["@value"] for k, v in xmp["dc:title"].items() if k.startswith("rdf:_")}
    assert titles == {"en": "A cube", "zh": "立方体"}
    assert xmp["dc:title"]["rdf:_1"]["@language"] == "en"  # the default language comes first
    assert xmp["xmpRights:WebStatement"] == "http://rightsstatements.org/vocab/NoC-US/1.0/"
    assert xmp["photoshop:Credit"] == "Gift of the tests"


def test_picture_hangs_at_physical_size_on_its_wall(composed: tuple[compose.Composition, object]) -> None:
    composition, _ = composed
    red = composition.artifacts["red"]
    hall = composition.rooms[0]
    # On the north wall, 1 m left of its middle (facing north, left is west), centred 1.6 m up.
    assert red.position[0] == pytest.approx(-1.0)
    assert red.position[1] == pytest.approx(1.6)
    assert red.position[2] == pytest.approx(hall.frame.low[2] + compose.PICTURE_GAP)
    node = next(n for n in hall.scene.nodes if n.name == "red")
    assert node.mesh is not None
    picture = next(p for p in node.mesh.primitives if p.material is not None and p.material.base_color_texture)
    positions = picture.attributes["POSITION"]
    extent = positions.max(axis=0) - positions.min(axis=0)
    assert extent[0] == pytest.approx(0.8) and extent[1] == pytest.approx(0.4)
    assert picture.material is not None and picture.material.base_color_texture is not None
    assert picture.material.base_color_texture.texture.width == 64
    assert red.front == pytest.approx((0.0, 0.0, 1.0))


def test_annotations_and_views_are_in_world_coordinates(composed: tuple[compose.Composition, object]) -> None:
    composition, exhibit = composed
    cube = composition.artifacts["cube"]
    assert cube.annotations["top"] == pytest.approx((1.0, 1.3, -1.0))
    for (tour, index), view in composition.stop_views.items():
        placement = composition.artifacts[exhibit.tours[0].stops[index].artifact_id]  # type: ignore[attr-defined]
        frame = next(r.frame for r in composition.rooms if r.id == placement.room)
        assert all(frame.low[i] <= view["position"][i] <= frame.high[i] for i in range(3)), (tour, index)
    annotation_view = composition.stop_views[("walk", 1)]
    assert annotation_view["target"] == pytest.approx([1.0, 1.3, -1.0])
    # azimuth 20 is clockwise from the picture's front, seen from above: the camera moves towards the west.
    picture_view = composition.stop_views[("walk", 2)]
    offset = np.asarray(picture_view["position"]) - np.asarray(picture_view["target"])
    assert offset[0] < 0 and offset[2] > 0
    assert float(np.linalg.norm(offset)) == pytest.approx(2.0, abs=1e-3)


def test_start_faces_the_declared_direction(composed: tuple[compose.Composition, object]) -> None:
    composition, _ = composed
    # facing 90 is east; a camera at yaw -90 about +Y looks down +X.
    assert composition.start == {"room": "hall", "position": [0.0, 0.0, 2.0], "yaw": -90.0}


def test_a_room_shell_holds_no_model_artifact(composed: tuple[compose.Composition, object]) -> None:
    # Models travel in their own ladder GLBs (pipeline.ladder); the shell keeps their plinths and spotlights.
    composition, _ = composed
    names = {n.name for room in composition.rooms for n in room.scene.all_nodes()}
    assert "cube" not in names and "cube2" not in names
    assert {"cube-stand", "cube2-stand"} <= names
    assert composition.artifacts["cube"].node is not composition.artifacts["cube2"].node


def test_a_model_shape_places_a_model_as_its_geometry_would() -> None:
    # The shape (corners of each mesh's box) gives the same world bounds as the geometry, whatever the rotation.
    positions = np.array([[0, 0, 0], [1, 0, 0], [0, 2, 0], [0, 0, 3]], dtype=np.float32)
    mesh = Mesh(name="m", primitives=[Primitive(attributes={"POSITION": positions},
                                                indices=np.array([0, 1, 2, 0, 2, 3], dtype=np.uint32))])
    child = Node(name="c", mesh=mesh, translation=(1.0, 0.0, 0.0), rotation=yaw_quaternion(30))
    scene = Scene(name="s", nodes=[Node(name="root", children=[child], scale=(2.0, 2.0, 2.0))])
    shape = compose.model_shape(scene)
    assert shape is not None
    expected = compose.nodes_bounds(scene.nodes)
    assert expected is not None
    assert shape.low == pytest.approx(expected[0]) and shape.high == pytest.approx(expected[1])
    assert compose.ModelShape.from_json(shape.to_json()).corners == pytest.approx(shape.corners)
    assert compose.model_shape(Scene(name="empty")) is None


def test_nodes_bounds_follow_node_transforms() -> None:
    child = Node(mesh=compose.MeshBuilder().mesh("none"))
    assert compose.nodes_bounds([child]) is None
    builder = compose.MeshBuilder()
    builder.box((0, 0, 0), (1, 2, 1), compose.solid("m", (1, 1, 1)))
    node = Node(mesh=builder.mesh("box"), translation=(5.0, 0.0, 0.0), scale=(2.0, 2.0, 2.0))
    bounds = compose.nodes_bounds(Scene(name="s", nodes=[node]).nodes)
    assert bounds is not None
    assert bounds[0] == pytest.approx([5, 0, 0]) and bounds[1] == pytest.approx([7, 4, 2])


def test_layout_without_doors_puts_loose_rooms_side_by_side(tmp_path: Path) -> None:
    (tmp_path / "exhibit.yaml").write_text(
        "exhibit: {id: two, title: {en: Two}}\n"
        "rooms:\n  - {id: a, size: [4, 4, 3]}\n  - {id: b, size: [6, 4, 3]}\n", encoding="utf-8")
    exhibit = load_exhibit(tmp_path).exhibit
    centres = compose.layout_rooms(exhibit)
    assert centres["a"] == (0.0, 0.0)
    assert centres["b"][0] - 3 > 2.0 - 1e-9  # b's west wall is east of a's east wall, with a gap


def _two_rooms(folder: Path, gallery_position: str) -> object:
    (folder / "exhibit.yaml").write_text(
        "exhibit: {id: two, title: {en: Two}}\n"
        "rooms:\n"
        "  - {id: hall, size: [12, 8, 4], position: [0, 0], doors: [{wall: east, to: gallery, width: 1.6}]}\n"
        f"  - {{id: gallery, size: [10, 8, 4]{gallery_position}}}\n", encoding="utf-8")
    return load_exhibit(folder).exhibit


def test_a_door_into_a_room_that_is_elsewhere_is_an_error(tmp_path: Path) -> None:
    exhibit = _two_rooms(tmp_path, ", position: [12, 0]")  # a metre east of where the door is
    with pytest.raises(BuildError, match="the door on its east wall leads to gallery, but gallery's west wall"):
        compose.compose(exhibit, {}, {})  # type: ignore[arg-type]


def test_overlapping_rooms_are_an_error(tmp_path: Path) -> None:
    exhibit = _two_rooms(tmp_path, ", position: [8, 0]")
    with pytest.raises(BuildError, match="rooms hall and gallery overlap by 3.00 × 8.00 m"):
        compose.compose(exhibit, {}, {})  # type: ignore[arg-type]


def test_explicit_positions_that_line_up_are_fine(tmp_path: Path) -> None:
    exhibit = _two_rooms(tmp_path, ", position: [11, 0]")
    composition = compose.compose(exhibit, {}, {})  # type: ignore[arg-type]
    assert composition.rooms[1].frame.low[0] == pytest.approx(6.0)


def test_a_room_has_a_floor_a_ceiling_walls_and_lights_below_the_ceiling(tmp_path: Path) -> None:
    (tmp_path / "exhibit.yaml").write_text(
        "exhibit: {id: one, title: {en: One}}\nrooms:\n  - {id: a, size: [14, 8, 3.5]}\n", encoding="utf-8")
    exhibit = load_exhibit(tmp_path).exhibit
    room = compose.compose(exhibit, {}, load_textures(exhibit)).rooms[0]
    shell = next(n for n in room.scene.nodes if n.name == "a-shell")
    assert shell.mesh is not None
    by_material = {p.material.name: p for p in shell.mesh.primitives if p.material is not None}
    assert set(by_material) == {"a-floor", "a-ceiling", "a-wall"}
    low, high = room.frame.low, room.frame.high
    for name, height, facing in (("a-floor", 0.0, 1.0), ("a-ceiling", 3.5, -1.0)):
        surface = by_material[name]
        positions = surface.attributes["POSITION"]
        assert np.allclose(positions[:, 1], height)  # flat, at floor level / room height
        assert positions[:, 0].min() == pytest.approx(low[0]) and positions[:, 0].max() == pytest.approx(high[0])
        assert positions[:, 2].min() == pytest.approx(low[2]) and positions[:, 2].max() == pytest.approx(high[2])
        assert np.allclose(surface.attributes["NORMAL"][:, 1], facing)  # both face into the room
    lights = [n for n in room.scene.nodes if n.light is not None]
    assert len(lights) == 2  # 14 m long: two lights along x, one along z
    for node in lights:
        x, y, z = node.translation
        assert low[0] < x < high[0] and low[2] < z < high[2] and 0 < y < 3.5
        assert node.light.type == "point" and node.light.intensity > 0  # type: ignore[union-attr]


def test_surface_textures_repeat_every_texture_size_metres_with_their_roughness(tmp_path: Path) -> None:
    from PIL import Image

    Image.new("RGB", (8, 8), (90, 80, 70)).save(tmp_path / "boards.png")
    (tmp_path / "exhibit.yaml").write_text(
        "exhibit: {id: one, title: {en: One}}\n"
        "rooms:\n  - {id: a, size: [8, 6, 3], floor: {texture: boards.png, texture_size: 2, roughness: 0.4}}\n",
        encoding="utf-8")
    exhibit = load_exhibit(tmp_path).exhibit
    room = compose.compose(exhibit, {}, load_textures(exhibit)).rooms[0]
    shell = next(n for n in room.scene.nodes if n.name == "a-shell")
    assert shell.mesh is not None
    floor = next(p for p in shell.mesh.primitives if p.material is not None and p.material.name == "a-floor")
    assert floor.material is not None and floor.material.roughness_factor == pytest.approx(0.4)
    assert floor.material.base_color_texture is not None
    uv = floor.attributes["TEXCOORD_0"]
    span = uv.max(axis=0) - uv.min(axis=0)
    assert span == pytest.approx([4.0, 3.0])  # 8 × 6 m at one repeat per 2 m


def test_panel_text_is_drawn_in_the_first_language_a_font_here_can_draw(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import Image

    from pipeline.spec import load_exhibit

    exhibit = load_exhibit(write_tiny_exhibit(tmp_path / "tiny")).exhibit
    intro = next(a for a in exhibit.artifacts if a.id == "intro")
    monkeypatch.setattr(compose, "find_cjk_font", lambda: None)
    # zh first, but no CJK font on this machine (as patched): the English text is drawn instead of boxes.
    texture = compose.render_panel_texture(intro, ("zh", "en"))
    assert texture is not None and texture.source_path.endswith("(en)")
    with Image.open(io.BytesIO(texture.data)) as image:
        assert image.size == (1024, 717)  # 1.0 × 0.7 m at 1024 px per metre
        background = image.getpixel((2, 2))
        assert len(image.getcolors(maxcolors=1 << 20) or []) > 2 and background == (0xF4, 0xF1, 0xEA)  # text drawn on the background
    assert compose.render_panel_texture(intro, ("zh",)) is None  # nothing drawable: a plain panel


def test_with_a_cjk_font_the_chinese_panel_text_is_drawn(tmp_path: Path) -> None:
    """Where a CJK font is installed (CI installs Debian's fonts-wqy-microhei), zh comes first and is drawn: ink on
    the panel, wrapped per character, and a different picture from the English one."""
    from PIL import Image

    from pipeline.spec import load_exhibit
    from tests.conftest import need_or_skip

    font = compose.find_cjk_font()
    need_or_skip(font is not None, "no CJK font here (install fonts-wqy-microhei or fonts-noto-cjk)",
                 "VITRINA_REQUIRE_CJK_FONT")
    exhibit = load_exhibit(write_tiny_exhibit(tmp_path / "tiny")).exhibit
    intro = next(a for a in exhibit.artifacts if a.id == "intro")
    assert compose._needs_cjk(dict(intro.text)["zh"])
    chinese = compose.render_panel_texture(intro, ("zh", "en"))
    english = compose.render_panel_texture(intro, ("en", "zh"))
    assert chinese is not None and english is not None
    assert chinese.source_path.endswith("(zh)") and english.source_path.endswith("(en)")
    with Image.open(io.BytesIO(chinese.data)) as image:
        ink = [count for count, colour in image.getcolors(maxcolors=1 << 20) or [] if colour != (0xF4, 0xF1, 0xEA)]
        assert sum(ink) > 500  # glyphs, not an empty panel
    assert chinese.data != english.data


def test_a_model_hung_on_a_wall_has_its_back_on_the_wall_and_faces_the_room(tmp_path: Path) -> None:
    folder = write_tiny_exhibit(tmp_path / "tiny")
    text = (folder / "exhibit.yaml").read_text(encoding="utf-8")
    (folder / "exhibit.yaml").write_text(text.replace(
        "place: {room: hall, at: [1, -1], rotate: 30, plinth: {height: 0.8}}",
        "place: {room: hall, wall: west, at: 0.5, height: 1.6}"), encoding="utf-8")
    exhibit = load_exhibit(folder).exhibit
    assets = {a.id: load_asset(a.model.path, units=a.metres_per_unit, up=a.up)
              for a in exhibit.artifacts if a.model is not None}
    composition = compose.compose(exhibit, assets, load_textures(exhibit))
    cube = composition.artifacts["cube"]
    low, high = cube.bounds
    west = composition.rooms[0].frame.low[0]
    assert low[0] == pytest.approx(west + compose.PICTURE_GAP, abs=1e-5)  # its back is just off the west wall
    assert (low[1] + high[1]) / 2 == pytest.approx(1.6, abs=1e-5)  # centred at `height`
    assert (low[2] + high[2]) / 2 == pytest.approx(-0.5, abs=1e-5)  # facing west, right is north (-z)
    assert cube.front == pytest.approx((1.0, 0.0, 0.0))


def test_quantized_positions_have_the_shape_and_bounds_of_their_float_values() -> None:
    floats = np.array([[-0.5, 0.0, 0.25], [1.0, 0.5, -1.0], [0.0, -0.25, 0.0]], dtype=np.float32)
    shorts = np.round(floats * 32767).astype(np.int16)  # KHR_mesh_quantization's normalized SHORT
    plain = Primitive(attributes={"POSITION": shorts.copy()}, indices=np.array([0, 1, 2], np.uint32))
    normalized = Primitive(attributes={"POSITION": shorts}, indices=np.array([0, 1, 2], np.uint32),
                           normalized={"POSITION"})
    for primitive, values in ((normalized, shorts / 32767), (plain, shorts.astype(float))):
        scene = Scene(name="s", nodes=[Node(name="n", mesh=Mesh(name="m", primitives=[primitive]))])
        shape, bounds = compose.model_shape(scene), compose.nodes_bounds(scene.nodes)
        assert shape is not None and bounds is not None
        assert shape.low.tolist() == values.min(axis=0).tolist() and shape.high.tolist() == values.max(axis=0).tolist()
        assert bounds[0].tolist() == values.min(axis=0).tolist() and bounds[1].tolist() == values.max(axis=0).tolist()
