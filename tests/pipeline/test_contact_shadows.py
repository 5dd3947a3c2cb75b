"""Tests of contact shadows: soft, under floor and plinth artifacts, clipped to their stand, cached, valid glTF."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline import bake, compose, contact_shadows
from pipeline.scene import Node, Scene

TEXELS = 64


def _room(plinth: bool) -> Scene:
    """A 4 × 4 × 3 m room, with a 0.5 m square, 0.9 m high plinth at (2, 2) if asked."""
    frame = compose.RoomFrame(id="r", origin=(0.0, 0.0), size=(4.0, 4.0, 3.0))
    look = compose.SurfaceLook((0.8, 0.8, 0.8, 1.0))
    scene = Scene(name="r", nodes=compose.build_shell(frame, compose.RoomShellSpec(
        id="r", walls=look, floor=look, ceiling=look, lights=[]), {}))
    if plinth:
        builder = compose.MeshBuilder()
        builder.box((1.75, 0.0, 1.75), (2.25, 0.9, 2.25), compose.solid("plinth", (0.9, 0.9, 0.9)))
        scene.nodes.append(Node(name="plinth", mesh=builder.mesh("plinth")))
    return scene


def _artifact(base: float, half: float = 0.15, height: float = 0.3) -> Node:
    """A box artifact standing at (2, base, 2), its bottom closed (as a scanned object's is)."""
    builder = compose.MeshBuilder()
    builder.box((-half, 0.0, -half), (half, height, half), compose.solid("stone", (0.4, 0.4, 0.4)), bottom=True)
    return Node(name="a", translation=(2.0, base, 2.0), children=[Node(name="a.mesh", mesh=builder.mesh("a"))])


def _shadow(plinth: bool, artifact: Node) -> contact_shadows.ContactShadow:
    scene = _room(plinth)
    shadow = contact_shadows.shadow_for("a", bake.world_triangles([artifact]),
                                        bake.RayScene(bake.world_triangles(scene.nodes)), TEXELS)
    assert shadow is not None
    return shadow


def _profile(shadow: contact_shadows.ContactShadow) -> tuple[np.ndarray, np.ndarray]:
    """(x of each texel centre, alpha) along the row through the artifact's centre (z = 2)."""
    (x0, z0), (x1, z1) = shadow.low, shadow.high
    row = int((2.0 - z0) / (z1 - z0) * TEXELS)
    xs = x0 + (np.arange(TEXELS) + 0.5) / TEXELS * (x1 - x0)
    return xs, shadow.alpha[row]


@pytest.mark.parametrize(("plinth", "surface"), [(False, 0.0), (True, 0.9)])
def test_the_shadow_lies_on_what_the_artifact_stands_on_and_is_darkest_under_it(plinth: bool, surface: float) -> None:
    shadow = _shadow(plinth, _artifact(surface))
    assert shadow.height == pytest.approx(surface + contact_shadows.LIFT)
    xs, alpha = _profile(shadow)
    under = alpha[np.abs(xs - 2.0) < 0.1].mean()
    beside = alpha[(np.abs(xs - 2.0) > 0.17) & (np.abs(xs - 2.0) < 0.2)].mean()
    assert under > 0.5
    assert 0.05 < beside < under  # the shadow reaches past the artifact's foot, fainter
    assert np.all(shadow.alpha[[0, -1], :] == 0) and np.all(shadow.alpha[:, [0, -1]] == 0)  # no quad edge shows


@pytest.mark.parametrize("plinth", [False, True])
def test_the_shadow_is_soft_a_gradient_not_a_box_edge(plinth: bool) -> None:
    xs, alpha = _profile(_shadow(plinth, _artifact(0.9 if plinth else 0.0)))
    outside = np.abs(xs - 2.0) > 0.15  # beyond the artifact's side
    steps = np.abs(np.diff(alpha))
    # Across the artifact's edge the alpha falls over several texels: no step takes more than a third of it.
    assert steps.max() < alpha.max() / 3
    fading = alpha[outside & (xs > 2.0)]
    assert len(np.unique(np.round(fading[fading > 0.01], 2))) >= 4  # a ramp of many values, not one grey
    assert np.all(np.diff(fading) <= 0.02)  # and it only gets lighter away from the artifact


def test_a_plinth_shadow_stops_at_the_plinth_edge() -> None:
    # A wide artifact on a narrow plinth: its shadow would reach past the plinth top into the air.
    shadow = _shadow(True, _artifact(0.9, half=0.24))
    xs, alpha = _profile(shadow)
    assert np.all(alpha[np.abs(xs - 2.0) > 0.25] == 0)
    assert alpha[np.abs(xs - 2.0) < 0.24].min() > 0.1


def test_an_artifact_hanging_above_nothing_near_gets_no_shadow() -> None:
    scene = _room(False)
    hanging = contact_shadows.shadow_for("a", bake.world_triangles([_artifact(1.5)]),
                                         bake.RayScene(bake.world_triangles(scene.nodes)), TEXELS)
    assert hanging is None


def test_texels_follow_the_device_profile() -> None:
    assert contact_shadows.texels_for(["phone"]) == 64
    assert contact_shadows.texels_for(["phone", "desktop"]) == 128
    assert 64 <= contact_shadows.texels_for(["quest3"]) <= 128


def test_room_shadows_are_cached_by_content_and_moving_the_artifact_recomputes() -> None:
    store: dict[str, bytes] = {}
    computed: list[str] = []

    def remembered(key: str, compute):  # type: ignore[no-untyped-def]
        if key not in store:
            computed.append(key)
            store[key] = compute()
        return store[key]

    scene = _room(False)
    first = contact_shadows.room_shadows(scene, [("a", _artifact(0.0))], TEXELS, remembered)
    again = contact_shadows.room_shadows(scene, [("a", _artifact(0.0))], TEXELS, remembered)
    assert len(computed) == 1 and len(first) == len(again) == 1
    assert np.abs(first[0].alpha - again[0].alpha).max() <= 1 / 255 + 1e-9  # through the cache's 8-bit PNG
    moved = _artifact(0.0)
    moved.translation = (1.0, 0.0, 1.0)
    contact_shadows.room_shadows(scene, [("a", moved)], TEXELS, remembered)
    assert len(computed) == 2


def test_one_blended_unlit_quad_per_artifact_in_one_draw_call_and_valid_gltf() -> None:
    from pipeline.gltf import write_glb
    from tests.gltf_validator import errors_of, validate_many, validator_available

    shadows = [_shadow(False, _artifact(0.0)), _shadow(True, _artifact(0.9))]
    node = contact_shadows.shadow_node("r", shadows)
    assert node is not None and node.mesh is not None
    [primitive] = node.mesh.primitives
    material = primitive.material
    assert material is not None and material.alpha_mode == "BLEND" and material.unlit
    assert material.base_color_factor[:3] == (0.0, 0.0, 0.0)
    assert len(primitive.attributes["POSITION"]) == 8
    assert sorted(set(np.round(primitive.attributes["POSITION"][:, 1], 4))) == pytest.approx(
        [contact_shadows.LIFT, 0.9 + contact_shadows.LIFT], abs=1e-4)
    if not validator_available():
        pytest.skip("gltf-validator (npm) is not installed")
    scene = _room(True)
    scene.nodes.append(node)
    [report] = validate_many([write_glb(scene)])
    assert errors_of(report) == []


def test_the_build_places_each_models_coarsest_level_where_compose_put_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """bake_rooms casts shadows with the ladder's coarsest level under the artifact's node: a turned cube on a
    plinth and one in a vitrine land exactly on their placements' bounds, and both get a contact shadow."""
    from pipeline import build
    from tests.pipeline.placed_models import composed_with_ladders
    from tests.pipeline.tiny_exhibit import write_tiny_exhibit

    _, composition, ladders = composed_with_ladders(write_tiny_exhibit(tmp_path / "tiny"), tmp_path / "cache")
    placed = 0
    for room in composition.rooms:
        models = build.placed_models(composition, room, ladders)
        for artifact_id, node in models:
            triangles = bake.world_triangles([node]).reshape(-1, 3)
            low, high = composition.artifacts[artifact_id].bounds
            assert triangles.min(axis=0) == pytest.approx(low, abs=2e-3), artifact_id
            assert triangles.max(axis=0) == pytest.approx(high, abs=2e-3), artifact_id
            placed += 1
        shadows = contact_shadows.room_shadows(room.scene, models, TEXELS, lambda key, compute: compute())
        assert {s.artifact for s in shadows} == {artifact_id for artifact_id, _ in models}
        for shadow in shadows:  # on the plinth top or the vitrine's floor, where the model stands
            assert shadow.height == pytest.approx(composition.artifacts[shadow.artifact].bounds[0][1]
                                                  + contact_shadows.LIFT, abs=2e-3)
    assert placed >= 2


def test_shadows_are_cast_beside_the_bake_and_laid_after_it(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Casting reads only the room's triangles, which the bake leaves as they are; the bake reads every node, so the
    # shadow node must not be in the scene while it runs. Each side waits for the other to have started: run one
    # after the other, the build would fail here after 10 s.
    import threading

    from pipeline.build import BuildOptions, build
    from tests.pipeline.tiny_exhibit import write_tiny_exhibit

    casting, baking = threading.Event(), threading.Event()
    seen_by_bake: list[list[str]] = []
    real_cast, real_bake = contact_shadows.cast, bake.bake_room

    def cast(*args, **kwargs):  # type: ignore[no-untyped-def]
        casting.set()
        assert baking.wait(10), "the bake never started while the shadows were cast"
        return real_cast(*args, **kwargs)

    def bake_room(scene, *args, **kwargs):  # type: ignore[no-untyped-def]
        baking.set()
        assert casting.wait(10), "the shadows were never cast while the room baked"
        seen_by_bake.append([node.name for node in scene.nodes])
        return real_bake(scene, *args, **kwargs)

    monkeypatch.setattr(contact_shadows, "cast", cast)
    monkeypatch.setattr(bake, "bake_room", bake_room)
    report = build(write_tiny_exhibit(tmp_path / "tiny"), tmp_path / "site",
                   BuildOptions(quiet=True, jobs=1, cache_dir=tmp_path / "cache"))
    assert seen_by_bake and not any(name.endswith("-contact-shadows") for names in seen_by_bake for name in names)
    assert sum(row["contact_shadows"] for row in report.bakes) >= 1
