"""Tests of the light bake: where it is dark and light, the lightmap's UVs and material, and its cache."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from pipeline import bake, compose
from pipeline.scene import Light, Node, Scene

COARSE = bake.BakeSettings(texel=0.1, rays=24, light_samples=3, max_size=1024)
BOX_AT = (1.0, 0.0, 1.0)  # the "artifact": a 0.6 m cube standing on the floor


def _room(box_at: tuple[float, float, float] = BOX_AT) -> Scene:
    """A 4 × 4 × 3 m room (min corner at the origin) with one ceiling light and a box on the floor."""
    frame = compose.RoomFrame(id="r", origin=(0.0, 0.0), size=(4.0, 4.0, 3.0))
    look = compose.SurfaceLook((0.8, 0.8, 0.8, 1.0))
    light = Light(type="point", intensity=6.0, range=9.0)
    shell = compose.RoomShellSpec(id="r", walls=look, floor=look, ceiling=look, lights=[(light, (2.0, 2.7, 2.0))])
    scene = Scene(name="r", nodes=compose.build_shell(frame, shell, {}))
    builder = compose.MeshBuilder()
    builder.box((-0.3, 0.0, -0.3), (0.3, 0.6, 0.3), compose.solid("box", (0.5, 0.4, 0.3)))
    scene.nodes.append(Node(name="artifact", mesh=builder.mesh("artifact"), translation=box_at))
    return scene


@pytest.fixture(scope="module")
def lightmap() -> bake.Lightmap:
    baked = bake.bake_irradiance(_room(), COARSE, ambient=0.6)
    assert baked is not None
    return baked


def _brightness(lightmap: bake.Lightmap, point: tuple[float, float, float], normal: tuple[float, float, float]) -> float:
    value = lightmap.at(point, normal)
    assert value is not None, f"nothing baked at {point}"
    return float(np.mean(value))


def test_room_corners_are_darker_than_wall_centres(lightmap: bake.Lightmap) -> None:
    north = (0.0, 0.0, 1.0)  # the north wall (z = 0) faces +z into the room
    centre = _brightness(lightmap, (2.0, 1.5, 0.0), north)
    for corner in [(0.05, 0.05, 0.0), (3.95, 0.05, 0.0), (0.05, 2.95, 0.0), (3.95, 2.95, 0.0)]:
        assert _brightness(lightmap, corner, north) < 0.8 * centre, corner


def test_floor_beside_an_artifact_is_darker_than_a_metre_away(lightmap: bake.Lightmap) -> None:
    up = (0.0, 1.0, 0.0)
    x, _, z = BOX_AT
    near = np.mean([_brightness(lightmap, (x + dx, 0.0, z + dz), up)
                    for dx, dz in [(0.35, 0.0), (-0.35, 0.0), (0.0, 0.35), (0.0, -0.35)]])
    # A metre out from the box's side, still a metre from any wall (the room is 4 m across).
    far = np.mean([_brightness(lightmap, (x + dx, 0.0, z + dz), up) for dx, dz in [(1.3, 0.0), (0.0, 1.3)]])
    assert near < 0.85 * far


def test_the_floor_is_lit_most_under_the_light(lightmap: bake.Lightmap) -> None:
    up = (0.0, 1.0, 0.0)
    assert _brightness(lightmap, (2.5, 0.0, 2.5), up) > _brightness(lightmap, (3.8, 0.0, 3.8), up)


def test_the_box_casts_a_shadow_away_from_the_light(lightmap: bake.Lightmap) -> None:
    up = (0.0, 1.0, 0.0)
    # The light is at (2, 2.7, 2); the box at (1, 1) shades the floor on its far side from the light.
    behind = _brightness(lightmap, (0.55, 0.0, 0.55), up)
    in_front = _brightness(lightmap, (1.45, 0.0, 1.45), up)
    assert behind < in_front


def test_charts_never_overlap_and_keep_their_gutter(lightmap: bake.Lightmap) -> None:
    height, width = lightmap.irradiance.shape[:2]
    for a, b in itertools.combinations(lightmap.charts, 2):
        apart_x = a.x + a.cols + bake.GUTTER <= b.x - bake.GUTTER or b.x + b.cols + bake.GUTTER <= a.x - bake.GUTTER
        apart_y = a.y + a.rows + bake.GUTTER <= b.y - bake.GUTTER or b.y + b.rows + bake.GUTTER <= a.y - bake.GUTTER
        assert apart_x or apart_y
    for chart in lightmap.charts:
        assert chart.x >= bake.GUTTER and chart.y >= bake.GUTTER
        assert chart.x + chart.cols + bake.GUTTER <= width and chart.y + chart.rows + bake.GUTTER <= height


def test_texel_size_follows_the_device_profile() -> None:
    assert bake.settings_for(["phone"]).texel > bake.settings_for(["desktop"]).texel
    assert bake.settings_for(["phone", "desktop"]) == bake.settings_for(["desktop"])
    assert bake.settings_for(["phone"]).light_samples < bake.settings_for(["desktop"]).light_samples


def test_a_room_too_big_for_the_atlas_gets_coarser_texels() -> None:
    baked = bake.bake_irradiance(_room(), bake.BakeSettings(texel=0.01, rays=4, light_samples=1, max_size=256), 0.6)
    assert baked is not None
    assert baked.texel > 0.01
    assert max(baked.irradiance.shape[:2]) <= 256


def test_encoding_round_trips_within_8_bit_steps(lightmap: bake.Lightmap) -> None:
    png, intensity = bake.encode(lightmap)
    decoded = bake.decode(png, intensity)
    clipped = np.minimum(lightmap.irradiance, intensity)
    # Linear 8-bit steps with ordered dithering: every texel within one step, and the dither averages out.
    assert np.max(np.abs(decoded - clipped)) <= intensity / 255 + 1e-9
    assert abs(float(np.mean(decoded - clipped))) <= intensity / 1000


class MemoryCache:
    """A dict with the asset cache's remembered(key, compute) contract, counting computations."""

    def __init__(self) -> None:
        self.entries: dict[str, bytes] = {}
        self.computed = 0

    def remembered(self, key: str, compute):  # type: ignore[no-untyped-def]
        if key not in self.entries:
            self.computed += 1
            self.entries[key] = compute()
        return self.entries[key]


def _bake(scene: Scene, cache: MemoryCache) -> bake.BakeOutcome:
    outcome = bake.bake_room(scene, "r", COARSE, 0.6, cache.remembered, iter(range(100)).__next__)
    assert outcome is not None
    return outcome


def test_applied_lightmap_gives_every_baked_surface_uvs_and_material() -> None:
    scene = _room()
    outcome = _bake(scene, MemoryCache())
    baked = bake.baked_primitives(scene)
    assert len(baked) == 3  # floor, ceiling and walls; the artifact box casts shadows but is not baked
    textures = set()
    for primitive, _ in baked:
        uv = primitive.attributes[bake.LIGHTMAP_SET]
        assert uv.shape == (primitive.vertex_count, 2) and uv.dtype == np.float32
        assert uv.min() >= 0.0 and uv.max() <= 1.0
        material = primitive.material
        assert material is not None and material.occlusion_texture is not None
        assert material.occlusion_texture.texcoord == 1
        assert material.extras["vitrina"]["lightmap"]["encoding"] == "linear"
        assert material.extras["vitrina"]["lightmap"]["intensity"] > 0
        textures.add(id(material.occlusion_texture.texture))
    assert len(textures) == 1
    assert outcome.bytes > 0 and not outcome.cached
    box = next(n for n in scene.nodes if n.name == "artifact")
    assert box.mesh is not None and all("TEXCOORD_1" not in p.attributes for p in box.mesh.primitives)


def test_a_second_bake_comes_from_the_cache_and_moving_the_artifact_rebakes() -> None:
    cache = MemoryCache()
    first_scene, second_scene = _room(), _room()
    first = _bake(first_scene, cache)
    second = _bake(second_scene, cache)
    assert cache.computed == 1 and second.cached
    first_ref = bake.baked_primitives(first_scene)[0][0].material.occlusion_texture  # type: ignore[union-attr]
    second_ref = bake.baked_primitives(second_scene)[0][0].material.occlusion_texture  # type: ignore[union-attr]
    assert first_ref is not None and second_ref is not None
    assert first_ref.texture.data == second_ref.texture.data
    assert np.allclose(first.lightmap.irradiance, second.lightmap.irradiance, atol=first.lightmap.irradiance.max() / 60)
    moved = _bake(_room(box_at=(2.5, 0.0, 1.0)), cache)
    assert cache.computed == 2 and not moved.cached


def test_blended_glass_lets_light_through() -> None:
    scene = _room()
    builder = compose.MeshBuilder()
    glass = compose.solid("glass", (1.0, 1.0, 1.0, 0.1))
    glass.alpha_mode = "BLEND"
    builder.box((-1.0, 0.0, -1.0), (1.0, 2.5, 1.0), glass)
    scene.nodes.append(Node(name="case", mesh=builder.mesh("case"), translation=(2.0, 0.0, 2.0)))
    with_glass = bake.bake_irradiance(scene, COARSE, 0.6)
    assert with_glass is not None
    up = (0.0, 1.0, 0.0)
    glass_free = bake.bake_irradiance(_room(), COARSE, 0.6)
    assert glass_free is not None
    assert _brightness(with_glass, (2.2, 0.0, 2.2), up) == pytest.approx(_brightness(glass_free, (2.2, 0.0, 2.2), up))


# ---- the rich example, measured


@pytest.fixture(scope="module")
def rich(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The bronze-age example composed and each room baked (coarse, for speed) as the build bakes it, its models
    casting with their coarsest ladder level: (composition, lightmaps)."""
    from pipeline import build
    from tests.conftest import REPO
    from tests.pipeline.placed_models import composed_with_ladders

    exhibit, composition, ladders = composed_with_ladders(REPO / "exhibits" / "bronze-age",
                                                          tmp_path_factory.mktemp("rich-cache"))
    settings = bake.BakeSettings(texel=0.08, rays=16, light_samples=4, max_size=2048)
    ambient = {room.id: room.lighting.ambient for room in exhibit.rooms}
    lightmaps = {}
    for room in composition.rooms:
        models = [node for _, node in build.placed_models(composition, room, ladders)]
        assert models, room.id
        lightmaps[room.id] = bake.bake_irradiance(room.scene, settings, ambient[room.id], models)
    return composition, lightmaps


def test_rich_example_floor_around_each_stand_is_darker_than_a_metre_away(rich) -> None:  # type: ignore[no-untyped-def]
    composition, lightmaps = rich
    checked = 0
    for room in composition.rooms:
        for artifact_id in room.artifact_ids:
            stand = next((n for n in room.scene.nodes if n.name == f"{artifact_id}-stand"), None)
            if stand is None:
                continue
            low, high = compose.nodes_bounds([stand])  # type: ignore[misc]
            centre, half = (low + high) / 2, (high - low) / 2
            near: list[float] = []
            far: list[float] = []
            for dx, dz in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                edge = centre + np.array([dx * half[0], 0.0, dz * half[2]])
                for distance, into in ((0.05, near), (1.0, far)):
                    point = edge + np.array([dx, 0.0, dz]) * distance
                    into.append(_brightness(lightmaps[room.id], (point[0], 0.0, point[2]), (0.0, 1.0, 0.0)))
            assert np.mean(near) < 0.9 * np.mean(far), (artifact_id, near, far)
            checked += 1
    assert checked == 6  # every model of the example stands on a plinth or in a vitrine


def test_rich_example_room_corners_are_darker_than_wall_centres(rich) -> None:  # type: ignore[no-untyped-def]
    composition, lightmaps = rich
    for room in composition.rooms:
        frame = room.frame
        x0, z0 = frame.origin
        x1 = x0 + frame.width
        north = (0.0, 0.0, 1.0)
        centre = _brightness(lightmaps[room.id], ((x0 + x1) / 2 + 0.3, frame.height / 2 + 0.6, z0), north)
        for x, y in ((x0 + 0.04, 0.04), (x1 - 0.04, 0.04), (x0 + 0.04, frame.height - 0.04),
                     (x1 - 0.04, frame.height - 0.04)):
            assert _brightness(lightmaps[room.id], (x, y, z0), north) < 0.8 * centre, (room.id, x, y)


def test_a_model_with_ktx2_textures_casts_its_shadow() -> None:
    """A ladder level built with --texture-format ktx2 carries KTX2 textures, which Pillow cannot read."""
    from pipeline.scene import Material, Texture, TextureRef

    builder = compose.MeshBuilder()
    ktx2 = Texture(name="k", data=b"\xabKTX 20\xbb\r\n\x1a\n" + bytes(64), mime_type="image/ktx2")
    builder.box((-0.3, 0.0, -0.3), (0.3, 0.6, 0.3), Material(name="k", base_color_texture=TextureRef(ktx2)))
    model = Node(name="model", mesh=builder.mesh("model"), translation=BOX_AT)
    room = _room()
    room.nodes = [n for n in room.nodes if n.name != "artifact"]
    key = bake.bake_key(room, COARSE, 0.6, [model])
    assert key.startswith("bake-")
    baked = bake.bake_irradiance(room, COARSE, 0.6, [model])
    assert baked is not None
    up = (0.0, 1.0, 0.0)
    assert _brightness(baked, (BOX_AT[0] + 0.35, 0.0, BOX_AT[2]), up) < _brightness(
        baked, (BOX_AT[0] + 1.3, 0.0, BOX_AT[2]), up)

