"""The quality ladder: levels chained coarse from fine, caps on triangles, texture sides and thumb bytes, GLBs valid."""

from __future__ import annotations

import dataclasses
import io
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from pipeline import bake, budgets, images, ladder, meshopt, progress, spatial_parts
from pipeline.build import BuildOptions, _transform_lists, glb_bytes, level_finishers
from pipeline.colour import linear_to_srgb
from pipeline.report import Progress
from pipeline.scene import Material, Mesh, Node, Primitive, Scene, Texture, TextureRef
from pipeline.textures import fit_textures
from pipeline.transforms import reorder
from tests.gltf_validator import errors_of, validate_many
from tests.helpers import traced_peak, wavy_grid

# Small caps, so a small test mesh walks down every rung.
SMALL = (
    ladder.LevelSettings("full", max_texture=None, max_triangles=None, max_error=0.0),
    ladder.LevelSettings("high", max_texture=512, max_triangles=30_000, max_error=1e-4, simplify_above=10_000),
    ladder.LevelSettings("medium", max_texture=256, max_triangles=12_000, max_error=5e-4, simplify_above=5_000),
    ladder.LevelSettings("low", max_texture=128, max_triangles=5_000, max_error=2e-3, simplify_above=2_000),
    ladder.LevelSettings("thumb", max_texture=64, max_triangles=2_000, max_error=1e-2, max_bytes=30_000),
)


def noisy_sphere(rings: int = 120, segments: int = 200, texture_side: int = 1024, seed: int = 7) -> Scene:
    """A scan-like sphere: surface noise, a UV seam (the longitude wrap has its own vertices) and a noise texture."""
    rng = np.random.default_rng(seed)
    theta = np.linspace(0.0, np.pi, rings + 1)
    phi = np.linspace(0.0, 2 * np.pi, segments + 1)  # the last column repeats the first: the seam
    t, p = np.meshgrid(theta, phi, indexing="ij")
    radius = 0.2 * (1.0 + 0.01 * rng.standard_normal(t.shape))
    radius[:, -1] = radius[:, 0]
    positions = np.stack([radius * np.sin(t) * np.cos(p), radius * np.cos(t) + 0.2, radius * np.sin(t) * np.sin(p)],
                         axis=-1).reshape(-1, 3).astype(np.float32)
    normals = positions - np.array([0.0, 0.2, 0.0], dtype=np.float32)
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    uvs = np.stack([p / (2 * np.pi), t / np.pi], axis=-1).reshape(-1, 2).astype(np.float32)
    index = np.arange((rings + 1) * (segments + 1)).reshape(rings + 1, segments + 1)
    a, b = index[:-1, :-1].ravel(), index[:-1, 1:].ravel()
    c, d = index[1:, :-1].ravel(), index[1:, 1:].ravel()
    indices = np.stack([a, c, b, b, c, d], axis=-1).ravel().astype(np.uint32)
    pixels = rng.integers(0, 255, (texture_side, texture_side, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    texture = Texture(name="skin.png", data=buffer.getvalue(), mime_type="image/png", width=texture_side,
                      height=texture_side)
    material = Material(name="skin", base_color_texture=TextureRef(texture))
    primitive = Primitive(attributes={"POSITION": positions, "NORMAL": normals.astype(np.float32),
                                      "TEXCOORD_0": uvs}, indices=indices, material=material)
    return Scene(name="sphere", nodes=[Node(name="scan", mesh=Mesh(name="scan", primitives=[primitive]))])


def tools() -> ladder.LadderTools:
    _, room_transforms = _transform_lists(BuildOptions())
    finish, finish_simplified = level_finishers(room_transforms)
    return ladder.LadderTools(write=lambda scene: glb_bytes(scene, BuildOptions()), fit_textures=fit_textures,
                              encode_textures=lambda scene: None, finish=finish, finish_simplified=finish_simplified)


@pytest.fixture(scope="module")
def built() -> tuple[ladder.Ladder, list[int]]:
    """The sphere's ladder with the small caps, and the triangles each simplification started from."""
    started: list[int] = []
    real = ladder.simplify_within

    def spy(scene: Scene, *args: Any) -> float:
        started.append(sum(p.triangle_count for m in scene.meshes() for p in m.primitives))
        return real(scene, *args)

    ladder.simplify_within = spy  # type: ignore[assignment]
    try:
        result = ladder.build_ladder(noisy_sphere(), (0.0, 0.0, 0.0), tools(), levels=SMALL)
    finally:
        ladder.simplify_within = real  # type: ignore[assignment]
    return result, started


def test_only_simplified_levels_are_quantized_to_their_surface() -> None:
    base = tools()
    assert base.finish_simplified is not None
    finished: list[tuple[str, int]] = []

    def recording(kind: str, finish: Callable[[Scene], Scene]) -> Callable[[Scene], Scene]:
        def run(scene: Scene) -> Scene:
            result = finish(scene)
            finished.append((kind, budgets.measure(result).triangles))
            return result
        return run

    spying = dataclasses.replace(base, finish=recording("nearest", base.finish),
                                 finish_simplified=recording("surface", base.finish_simplified))
    result = ladder.build_ladder(noisy_sphere(), (0.0, 0.0, 0.0), spying, levels=SMALL, writers=0)
    assert any(level.error_relative > 0 for level in result.levels)
    for level in result.levels:
        kinds = {kind for kind, triangles in finished if triangles == level.triangles}
        assert kinds == ({"surface"} if level.error_relative > 0 else {"nearest"}), level.name


def test_every_rung_exists_coarse_to_fine_within_its_caps(built: tuple[ladder.Ladder, list[int]]) -> None:
    result, _ = built
    assert [level.name for level in result.levels] == ["thumb", "low", "medium", "high", "full"]
    caps = {s.name: s for s in SMALL}
    for level in result.levels:
        settings = caps[level.name]
        if settings.max_triangles is not None:
            assert level.triangles <= settings.max_triangles, level.name
        if settings.max_texture is not None:
            assert 0 < level.max_texture <= settings.max_texture, level.name
        assert level.texels == level.max_texture ** 2  # one square texture
        assert level.gpu_bytes == level.texels * 4 * 4 // 3
    full = result.levels[-1]
    assert full.triangles == 120 * 200 * 2 and full.max_texture == 1024 and full.error_relative == 0.0
    thumb = result.levels[0]
    assert len(thumb.data) <= 30_000


def test_each_rung_is_simplified_from_the_one_above(built: tuple[ladder.Ladder, list[int]]) -> None:
    result, started = built
    fine_to_coarse = result.levels[::-1]
    # Each simplification started from the triangles the finer rung ended with (the thumb may retry, from low).
    assert started[:4] == [level.triangles for level in fine_to_coarse[:4]]
    assert set(started[4:]) <= {fine_to_coarse[3].triangles}
    triangles = [level.triangles for level in fine_to_coarse]
    errors = [level.error_relative for level in fine_to_coarse]
    assert triangles == sorted(triangles, reverse=True) and len(set(triangles)) == len(triangles)
    assert errors == sorted(errors) and errors[1] > 0  # errors add up down the chain


def test_the_error_bound_stops_simplification_before_the_cap() -> None:
    # With a cap far below what the error allows, the error pass alone decides; it stays within its bound.
    levels = (SMALL[0], ladder.LevelSettings("thumb", max_texture=64, max_triangles=None, max_error=1e-4))
    result = ladder.build_ladder(noisy_sphere(rings=60, segments=100), (0.0, 0.0, 0.0), tools(), levels=levels)
    thumb, full = result.levels
    assert full.triangles > thumb.triangles > full.triangles // 4  # noise at 1 % of the radius is kept
    assert 0 < thumb.error_relative <= 1e-4 + 1e-9


def simplify_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """(triangles in, triangles out) of every meshoptimizer simplification from now on."""
    calls: list[tuple[int, int]] = []
    real = ladder.meshopt.simplify

    def spy(positions: np.ndarray, indices: np.ndarray, *args: Any, **kwargs: Any) -> Any:
        result = real(positions, indices, *args, **kwargs)
        calls.append((len(indices) // 3, len(result.indices) // 3))
        return result

    monkeypatch.setattr(ladder.meshopt, "simplify", spy)
    return calls


def test_a_small_level_runs_its_error_pass_beside_its_pass_to_the_cap_with_the_same_result(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The bound goes below the cap (as in the test after this one), so both passes run; speculating runs the error
    # pass on a thread of its own at the same time, and the level and its error are the same as one after the other.
    one_by_one, at_once = noisy_sphere(rings=60, segments=100), noisy_sphere(rings=60, segments=100)
    error = ladder.simplify_within(one_by_one, 2e-2, 11_000, ladder._diagonal(one_by_one))
    threads: list[bool] = []
    real = ladder.meshopt.simplify

    def spy(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.current_thread() is threading.main_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr(ladder.meshopt, "simplify", spy)
    assert ladder.simplify_within(at_once, 2e-2, 11_000, ladder._diagonal(at_once), speculate=True) == error
    assert sorted(threads) == [False, True]
    assert np.array_equal(at_once.nodes[0].mesh.primitives[0].indices,  # type: ignore[union-attr]
                          one_by_one.nodes[0].mesh.primitives[0].indices)  # type: ignore[union-attr]


def test_a_ladder_speculates_only_while_its_levels_stop_at_their_error_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    # A level the cap decided (the 250k scan's are error-bound; 1M's are capped) makes the next one run its passes one
    # after the other, so a capped ladder spends no core on error passes it will not use.
    asked: list[bool] = []
    real = ladder.simplify_within

    def spy(scene: Scene, max_error: float, cap: int | None, diagonal: float, speculate: bool = False) -> float:
        asked.append(speculate)
        return real(scene, max_error, cap, diagonal, speculate)

    monkeypatch.setattr(ladder, "simplify_within", spy)
    capped = (SMALL[0], *(dataclasses.replace(level, max_error=1e-6, simplify_above=0, max_triangles=cap)
                          for level, cap in zip(SMALL[1:], (8_000, 4_000, 2_000, 500), strict=False)))
    ladder.build_ladder(noisy_sphere(rings=60, segments=100), (0.0, 0.0, 0.0), tools(), levels=capped, writers=1)
    assert asked[0] and not any(asked[1:])
    asked.clear()
    ladder.build_ladder(noisy_sphere(rings=60, segments=100), (0.0, 0.0, 0.0), tools(), levels=capped, writers=0)
    assert not any(asked)  # an asset worker has one core: nothing beside it


def test_a_level_whose_error_bound_keeps_more_than_its_cap_is_simplified_in_one_call(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The error pass alone would keep nearly every triangle; then a pass to the cap would redo its work.
    scene = noisy_sphere(rings=60, segments=100)
    calls = simplify_calls(monkeypatch)
    error = ladder.simplify_within(scene, 1e-6, 4_000, ladder._diagonal(scene))
    assert calls == [(12_000, calls[0][1])] and 3_900 <= calls[0][1] <= 4_000
    assert error > 1e-6  # the cap, not the bound, decided: the error it cost is reported


def test_a_cap_the_error_bound_goes_below_gives_the_error_pass_its_level(monkeypatch: pytest.MonkeyPatch) -> None:
    # The cap leaves room in the bound: the level is what the error pass alone makes of the source, as uncapped.
    uncapped, capped = noisy_sphere(rings=60, segments=100), noisy_sphere(rings=60, segments=100)
    error = ladder.simplify_within(uncapped, 2e-2, None, ladder._diagonal(uncapped))
    calls = simplify_calls(monkeypatch)
    assert ladder.simplify_within(capped, 2e-2, 11_000, ladder._diagonal(capped)) == error
    (_, to_cap), (started, ended) = calls
    assert to_cap <= 11_000 and started == 12_000 and ended < to_cap // 2
    assert np.array_equal(capped.nodes[0].mesh.primitives[0].indices,  # type: ignore[union-attr]
                          uncapped.nodes[0].mesh.primitives[0].indices)  # type: ignore[union-attr]
    assert 0 < error <= 2e-2 + 1e-9


def test_every_rung_validates_and_carries_the_artifact_node(built: tuple[ladder.Ladder, list[int]]) -> None:
    result, _ = built
    header = glb_bytes(Scene(name="x", copyright="CC BY 4.0", nodes=[
        Node(name="vase", translation=(1.0, 0.9, -2.0), scale=(2.0, 2.0, 2.0), keep=True,
             extras={"vitrina": {"id": "vase"}},
             xmp={"dc:title": {"@type": "rdf:Alt", "rdf:_1": {"@language": "en", "@value": "Vase"}}})]),
        BuildOptions())
    placed = [ladder.placed(level.data, header, "vase") for level in result.levels]
    for report in validate_many(placed):
        assert report["issues"]["numErrors"] == 0, errors_of(report)
    for data in placed:
        document, _ = ladder.glb_json(data)
        (root,) = document["scenes"][0]["nodes"]
        node = document["nodes"][root]
        assert node["name"] == "vase" and node["translation"] == [1.0, 0.9, -2.0] and node["scale"] == [2, 2, 2]
        assert node["extras"] == {"vitrina": {"id": "vase"}}
        packet = document["extensions"]["KHR_xmp_json_ld"]["packets"][node["extensions"]["KHR_xmp_json_ld"]["packet"]]
        assert packet["dc:title"]["rdf:_1"]["@value"] == "Vase"
        assert document["asset"]["copyright"] == "CC BY 4.0"
        assert "@artifact" not in json.dumps(document)
        assert [n.get("name") for n in document["nodes"]].count("vase") == 1
        assert "name" not in document["scenes"][0]  # three.js would rename the node "vase_1" after its scene


def test_listed_drops_full_without_download_and_merges_rungs_that_change_nothing() -> None:
    def level(name: str, triangles: int, texture: int) -> ladder.Level:
        return ladder.Level(name, b"", triangles, 1, texture * texture, 0, texture, 0.0)

    levels = [level("thumb", 500, 512), level("low", 5000, 1024), level("medium", 5000, 1024),
              level("high", 5000, 1024), level("full", 5000, 1024)]
    assert [x.name for x in ladder.listed(levels, download=True)] == ["thumb", "full"]
    assert [x.name for x in ladder.listed(levels, download=False)] == ["thumb", "high"]
    same = [level("thumb", 12, 0), level("full", 12, 0)]
    assert [x.name for x in ladder.listed(same, download=True)] == ["thumb", "full"]  # thumb always stays
    assert [x.name for x in ladder.listed(same, download=False)] == ["thumb"]


def test_the_real_levels_keep_the_issues_caps() -> None:
    levels = {s.name: s for s in ladder.LEVELS}
    assert [s.name for s in ladder.LEVELS] == ["full", "high", "medium", "low", "thumb"]
    assert levels["thumb"].max_bytes == 200_000 and levels["thumb"].max_texture == 512
    assert (levels["low"].max_texture, levels["medium"].max_texture, levels["high"].max_texture) == (1024, 2048, 4096)
    assert levels["high"].max_triangles == 3_000_000 and levels["full"].max_texture is None


def test_a_real_thumb_fits_200_kb_and_512_px(tmp_path: Path) -> None:
    # A 2k noise texture alone is megabytes: the thumb shrinks and re-encodes it to fit.
    result = ladder.build_ladder(noisy_sphere(rings=60, segments=100, texture_side=2048), (0.0, 0.0, 0.0), tools())
    thumb = result.levels[0]
    assert thumb.name == "thumb" and len(thumb.data) <= 200_000 and 0 < thumb.max_texture <= 512
    assert result.levels[-1].max_texture == 2048


def test_a_rung_that_changes_nothing_reuses_the_bytes_above_it_unwritten() -> None:
    # 2,400 triangles and a 128 px texture: high, medium and low neither simplify nor resize anything.
    written: list[int] = []
    base = tools()

    def write(scene: Scene) -> bytes:
        written.append(1)
        return base.write(scene)

    counting = ladder.LadderTools(write=write,
                                  fit_textures=base.fit_textures, encode_textures=base.encode_textures,
                                  finish=base.finish)
    result = ladder.build_ladder(noisy_sphere(rings=20, segments=60, texture_side=128), (0.0, 0.0, 0.0), counting)
    by_name = {level.name: level for level in result.levels}
    assert by_name["high"].data is by_name["full"].data and by_name["low"].data is by_name["full"].data
    assert by_name["thumb"].triangles < by_name["full"].triangles
    assert len(written) == 2  # full and thumb
    assert [level.name for level in ladder.listed(result.levels, download=True)] == ["thumb", "full"]


def test_a_big_models_ladder_names_each_level_and_the_time_left(monkeypatch: pytest.MonkeyPatch) -> None:
    # A clock that moves 10 s each time a rung fits its textures (once per rung below full).
    now = [0.0]
    base = tools()

    def slow_fit(scene: Scene, side: int) -> object:
        now[0] += 10.0
        return base.fit_textures(scene, side)

    timed = ladder.LadderTools(write=base.write, fit_textures=slow_fit, encode_textures=base.encode_textures,
                               finish=base.finish)
    monkeypatch.setattr(ladder, "PROGRESS_TRIANGLES", 1)
    sphere = noisy_sphere(rings=60, segments=100, texture_side=256)
    stream, silent = io.StringIO(), io.StringIO()
    shown = Progress(stream, clock=lambda: now[0], every=0.0)
    # Levels written inline, so the clock and the work done move in a fixed order.
    with progress.reporting_to(shown), shown.stage("assets"):
        ladder.build_ladder(sphere, (0.0, 0.0, 0.0), timed, levels=SMALL, label="bust.ply", writers=0)
    with progress.reporting_to(Progress(silent, quiet=True, clock=lambda: now[0], every=0.0)):
        ladder.build_ladder(sphere, (0.0, 0.0, 0.0), timed, levels=SMALL, label="bust.ply", writers=0)
    assert silent.getvalue() == ""  # quiet mode, for CI
    said = [line for line in stream.getvalue().splitlines() if "bust.ply" in line]
    assert said[0] == "assets: bust.ply: simplifying level 1/5…"
    # The time left comes from the triangles each level is simplified from and written with: 12,000 down to the
    # caps (full is not simplified; high keeps all 12,000 under its 30,000 cap).
    plan = ladder._work_plan(12_000, SMALL)
    assert plan == [(0, 12_000), (12_000, 12_000), (12_000, 12_000), (12_000, 5_000), (5_000, 2_000)]
    done_before_3 = sum(plan[0]) + sum(plan[1])
    left_at_3 = 10.0 * (sum(map(sum, plan)) - done_before_3) / done_before_3
    assert f"assets: bust.ply: simplifying level 3/5, {left_at_3:.0f} s left" in said
    assert any(line.startswith("assets: bust.ply: simplifying level 5/5, ") and line.endswith(" s left") for line in said)


def test_the_next_level_is_simplified_while_the_level_above_is_written(monkeypatch: pytest.MonkeyPatch) -> None:
    # However big the level: a big simplification runs in spatial parts whose memory is bounded per part, so the
    # write of the level above (and its own texture fitting) run beside it.
    written: list[str] = []
    finished_before: list[int] = []
    base = tools()

    def slow_write(scene: Scene) -> bytes:
        time.sleep(0.2)  # a write the next simplification overtakes
        data = base.write(scene)
        written.append("level")
        return data

    real = ladder.simplify_within

    def spy(scene: Scene, *args: Any) -> float:
        finished_before.append(len(written))
        return real(scene, *args)

    monkeypatch.setattr(ladder, "simplify_within", spy)
    monkeypatch.setattr(spatial_parts, "PART_TRIANGLES", 1_000)  # every simplification here is in parts
    slow = ladder.LadderTools(write=slow_write, fit_textures=base.fit_textures,
                              encode_textures=base.encode_textures, finish=base.finish)
    result = ladder.build_ladder(noisy_sphere(rings=60, segments=100, texture_side=256), (0.0, 0.0, 0.0), slow,
                                 levels=SMALL, writers=1)
    assert finished_before[0] == 0
    assert written and all(level.data for level in result.levels)
    assert [level.name for level in result.levels] == ["thumb", "low", "medium", "high", "full"]


def test_a_levels_textures_are_fitted_while_its_geometry_is_simplified(monkeypatch: pytest.MonkeyPatch) -> None:
    fitting_started = threading.Event()
    overlapped: list[bool] = []
    base = tools()

    def fit(scene: Scene, side: int) -> object:
        fitting_started.set()
        return base.fit_textures(scene, side)

    real = ladder.simplify_within

    def simplify(scene: Scene, *args: Any) -> float:
        overlapped.append(fitting_started.wait(timeout=5.0))  # sequential fitting would only start after this
        fitting_started.clear()
        return real(scene, *args)

    monkeypatch.setattr(ladder, "simplify_within", simplify)
    both = ladder.LadderTools(write=base.write, fit_textures=fit, encode_textures=base.encode_textures,
                              finish=base.finish)
    result = ladder.build_ladder(noisy_sphere(rings=60, segments=100, texture_side=256), (0.0, 0.0, 0.0), both,
                                 levels=SMALL, writers=1)
    assert overlapped and all(overlapped)
    assert [level.max_texture for level in result.levels][:3] == [64, 128, 256]


def test_a_consumed_scene_lets_its_geometry_go_and_the_levels_stay_the_same() -> None:
    kept_scene, consumed_scene = noisy_sphere(rings=60, segments=100), noisy_sphere(rings=60, segments=100)
    kept = ladder.build_ladder(kept_scene, (0.0, 0.0, 0.0), tools(), levels=SMALL, writers=1)
    consumed = ladder.build_ladder(consumed_scene, (0.0, 0.0, 0.0), tools(), levels=SMALL, writers=1, consume=True)
    assert [level.data for level in consumed.levels] == [level.data for level in kept.levels]
    source = consumed_scene.nodes[0].mesh.primitives[0]  # type: ignore[union-attr]
    assert source.attributes == {} and source.indices is None
    assert kept_scene.nodes[0].mesh.primitives[0].triangle_count == 12_000  # type: ignore[union-attr]


def test_a_big_levels_cache_pass_runs_once_in_the_writer_thread_and_a_small_ones_before_the_next_level(
        monkeypatch: pytest.MonkeyPatch) -> None:
    passes: list[tuple[int, bool]] = []  # (triangles, on the ladder's own thread)
    real = meshopt.optimize_vertex_cache

    def spy(indices: np.ndarray, *args: Any, **kwargs: Any) -> np.ndarray:
        passes.append((len(indices) // 3, threading.current_thread() is threading.main_thread()))
        return real(indices, *args, **kwargs)

    monkeypatch.setattr(meshopt, "optimize_vertex_cache", spy)
    monkeypatch.setattr(reorder, "ONE_PASS_TRIANGLES", 10_000)  # `high` and `medium` of the sphere count as big
    result = ladder.build_ladder(noisy_sphere(), (0.0, 0.0, 0.0), tools(), levels=SMALL, writers=1)
    triangles = {level.name: level.triangles for level in result.levels}
    assert triangles["high"] > 10_000 and triangles["medium"] > 10_000 and triangles["low"] <= 10_000
    for name in ("high", "medium"):
        # Compacted in fetch order by the ladder, then one cache pass as it is written, beside the next level.
        assert [main for count, main in passes if count == triangles[name]] == [False], name
    # A small level is put in cache order before the next level is simplified from it (and written with one more).
    assert [main for count, main in passes if count == triangles["low"]] == [True, False]


def paged_sphere(patch: int = 10) -> Scene:
    """noisy_sphere's surface as two texture pages in a patchwork (as RealityCapture packs charts from all over a
    scan into each page): one mesh, a primitive per page, each with its own vertices, twinned along every border."""
    sphere = noisy_sphere()
    source = sphere.meshes()[0].primitives[0]
    triangles = np.asarray(source.indices).reshape(-1, 3)
    quad = np.arange(len(triangles)) // 2
    row, column = quad // 200, quad % 200
    page = (row // patch + column // patch) % 2
    primitives = []
    for number in (0, 1):
        mine = triangles[page == number]
        used, remap = np.unique(mine, return_inverse=True)
        material = Material(name=f"page{number}")
        primitives.append(Primitive(attributes={k: v[used] for k, v in source.attributes.items()},
                                    indices=remap.astype(np.uint32).reshape(-1), material=material))
    return Scene(name="paged", nodes=[Node(name="scan", mesh=Mesh(name="scan", primitives=primitives))])


def open_edges(scene: Scene) -> int:
    """Edges that one triangle alone uses, with vertices welded by position across the mesh's primitives, away
    from the sphere's poles (where its rings shrink to a point)."""
    return open_corner_edges(np.concatenate([np.asarray(p.attributes["POSITION"])[np.asarray(p.indices).reshape(-1, 3)]
                                             for p in scene.meshes()[0].primitives]))


def open_corner_edges(corners: np.ndarray) -> int:
    """open_edges of triangles given as their corners' positions (n × 3 × 3, in the sphere's metres)."""
    points, welded = np.unique(corners.reshape(-1, 3), axis=0, return_inverse=True)
    edges = np.sort(np.concatenate([welded.reshape(-1, 3)[:, pair] for pair in ([0, 1], [1, 2], [2, 0])]), axis=1)
    edges, counts = np.unique(edges, axis=0, return_counts=True)
    height = points[edges[counts == 1]][:, :, 1]
    return int(np.count_nonzero(np.all((height > 0.03) & (height < 0.37), axis=1)))


def test_a_meshs_texture_pages_are_simplified_as_one_surface_whose_borders_neither_open_nor_stay_dense() -> None:
    whole, paged = noisy_sphere(), paged_sphere()
    seam = open_edges(whole)  # the sphere's own longitude seam, whose two columns differ in their last bits
    assert open_edges(paged) == seam  # the pages' borders are twinned vertices, welded here
    cap = 4_000
    error = ladder.simplify_within(paged, 2e-2, cap, ladder._diagonal(paged))
    pages = paged.meshes()[0].primitives
    assert [p.material.name for p in pages] == ["page0", "page1"]
    assert sum(p.triangle_count for p in pages) <= cap and all(p.triangle_count > cap / 4 for p in pages)
    assert open_edges(paged) <= seam  # no crack between the pages
    for page in pages:
        assert int(np.asarray(page.indices).max()) < page.vertex_count
    # As close as the one-page sphere simplified to the same cap.
    one_page_error = ladder.simplify_within(whole, 2e-2, cap, ladder._diagonal(whole))
    assert error <= 1.5 * one_page_error
    # The pages as two meshes, one node each placed alike (a scan exported in parts), are one surface too.
    parts = paged_sphere()
    meshes = [Mesh(name=p.material.name, primitives=[p]) for p in parts.meshes()[0].primitives]
    parts.nodes = [Node(name=mesh.name, mesh=mesh, translation=(0.0, 0.5, 0.0)) for mesh in meshes]
    assert ladder.simplify_within(parts, 2e-2, cap, ladder._diagonal(parts)) == error
    assert [m.primitives[0].triangle_count for m in meshes] == [p.triangle_count for p in pages]
    parts.nodes = [Node(name="scan", mesh=Mesh(name="scan", primitives=[m.primitives[0] for m in meshes]))]
    assert open_edges(parts) <= seam
    # Simplified apart, they open along their borders (what an OBJ's materials got before they were one mesh, and
    # a GLB's parts before they were one surface).
    apart = paged_sphere()
    meshes = [Mesh(name=p.material.name, primitives=[p]) for p in apart.meshes()[0].primitives]
    for mesh in meshes:
        alone = Scene(name=mesh.name, nodes=[Node(name=mesh.name, mesh=mesh)])
        ladder.simplify_within(alone, 2e-2, cap // 2, ladder._diagonal(apart))
    apart.nodes = [Node(name="scan", mesh=Mesh(name="scan", primitives=[m.primitives[0] for m in meshes]))]
    assert open_edges(apart) > seam + 100
    # Placed apart, they are two surfaces: a part moved away is no longer the other's neighbour.
    moved = paged_sphere()
    meshes = [Mesh(name=p.material.name, primitives=[p]) for p in moved.meshes()[0].primitives]
    moved.nodes = [Node(name=mesh.name, mesh=mesh, translation=(float(k), 0.0, 0.0)) for k, mesh in enumerate(meshes)]
    assert [len(surface) for surface in ladder._surfaces(moved)] == [1, 1]
    assert [len(surface) for surface in ladder._surfaces(parts)] == [2]
    # Each page simplified with its border locked (what a mesh whose primitives cannot be joined gets) keeps every
    # border vertex: no crack, but the cap is out of reach.
    locked = paged_sphere()
    ladder.simplify_within(locked, 2e-2, cap, ladder._diagonal(locked), join=False)
    assert open_edges(locked) <= seam
    assert sum(p.triangle_count for p in locked.meshes()[0].primitives) > 2 * cap


def test_a_joined_simplification_that_empties_a_page_gives_way_to_locked_borders(
        monkeypatch: pytest.MonkeyPatch) -> None:
    real = ladder._simplified
    paged = paged_sphere()
    first_page_vertices = paged.meshes()[0].primitives[0].vertex_count
    joined_calls = []

    def first_page_only(primitive: Primitive, indices: np.ndarray, *args: Any) -> tuple[np.ndarray, float]:
        simplified, error = real(primitive, indices, *args)
        if primitive.material is None:  # the stand-in for the mesh's two pages: keep page 0's triangles alone
            joined_calls.append(len(simplified))
            triangles = simplified.reshape(-1, 3)
            return triangles[np.all(triangles < first_page_vertices, axis=1)].reshape(-1), error
        return simplified, error

    monkeypatch.setattr(ladder, "_simplified", first_page_only)
    ladder.simplify_within(paged, 2e-2, 4_000, ladder._diagonal(paged))
    pages = paged.meshes()[0].primitives
    assert joined_calls  # the joined pass ran, and its result was not taken
    assert all(page.triangle_count > 1_000 for page in pages)  # each page simplified apart, its border locked
    assert open_edges(paged) <= open_edges(noisy_sphere())


def test_separate_meshes_whose_join_empties_one_are_simplified_each_on_its_own_borders_free(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A lamp's glass, grill and bulbs are meshes placed alike that share no border: joined, a small one may keep no
    # triangle; then each mesh is simplified alone, as before they were one surface, and nothing is locked.
    real = ladder._simplified
    parts = paged_sphere()
    meshes = [Mesh(name=p.material.name, primitives=[p]) for p in parts.meshes()[0].primitives]
    parts.nodes = [Node(name=mesh.name, mesh=mesh) for mesh in meshes]
    first_vertices = meshes[0].primitives[0].vertex_count
    locks = []

    def first_mesh_only(primitive: Primitive, indices: np.ndarray, target: int, bound: float,
                        lock: bool) -> tuple[np.ndarray, float]:
        simplified, error = real(primitive, indices, target, bound, lock)
        if primitive.material is None:  # the stand-in for both meshes: keep the first one's triangles alone
            triangles = simplified.reshape(-1, 3)
            return triangles[np.all(triangles < first_vertices, axis=1)].reshape(-1), error
        locks.append(lock)
        return simplified, error

    monkeypatch.setattr(ladder, "_simplified", first_mesh_only)
    ladder.simplify_within(parts, 2e-2, 4_000, ladder._diagonal(parts))
    assert locks and not any(locks)
    assert all(0 < mesh.primitives[0].triangle_count <= 2_000 for mesh in meshes)


def test_a_meshs_primitives_laid_end_to_end_in_one_block_are_joined_without_a_copy(tmp_path: Path) -> None:
    from pipeline.ingest import load_asset

    (tmp_path / "pages.mtl").write_text("newmtl a\nKd 1 0 0\nnewmtl b\nKd 0 0 1\n")
    corners = "v 0 0 0\nv 1 0 0\nv 0 1 0\nv 1 1 0\nv 2 0 0\nv 2 1 0\nvn 0 0 1\n"
    (tmp_path / "pages.obj").write_text("mtllib pages.mtl\n" + corners + "usemtl a\nf 1//1 2//1 3//1\n"
                                        "f 3//1 2//1 4//1\nusemtl b\nf 2//1 5//1 4//1\nf 4//1 5//1 6//1\n")
    (mesh,) = load_asset(tmp_path / "pages.obj").meshes()
    positions = [p.attributes["POSITION"] for p in mesh.primitives]
    joined = ladder._end_to_end(positions)
    assert np.shares_memory(joined, positions[0]) and np.shares_memory(joined, positions[1])
    assert not joined.flags.writeable
    assert np.array_equal(joined, np.concatenate(positions))
    # The read-only views a ladder rung works on (ladder._copy) are joined the same way.
    views = [p.attributes["POSITION"] for p in ladder._copy(load_asset(tmp_path / "pages.obj")).meshes()[0].primitives]
    assert np.shares_memory(ladder._end_to_end(views), views[1])
    # Arrays apart in memory, or in another order, are copied end to end.
    apart = [positions[0].copy(), positions[1].copy()]
    for arrays in (apart, positions[::-1]):
        copied = ladder._end_to_end(arrays)
        assert not any(np.shares_memory(copied, a) for a in arrays)
        assert np.array_equal(copied, np.concatenate(arrays))


def test_joining_a_meshs_pages_copies_none_of_their_indices() -> None:
    pages = paged_sphere().meshes()[0].primitives
    ladder._lay_end_to_end(pages)  # as the OBJ reader and a joined rung leave them: their vertices join as views
    indices = sum(page.indices.nbytes for page in pages)
    together, peak = traced_peak(lambda: ladder._joined(pages))
    assert together is not None
    assert peak < indices / 10  # a joined copy of the indices was 12 bytes a triangle: 48 MB at 4M
    assert together.primitive.triangle_count == sum(page.triangle_count for page in pages)


def test_a_joined_stand_in_splits_back_into_its_pages_with_a_few_bytes_of_scratch_per_triangle() -> None:
    pages = paged_sphere().meshes()[0].primitives
    originals = [page.indices.copy() for page in pages]
    together = ladder._joined(pages)
    assert together is not None
    triangles = together.primitive.triangle_count
    # As the simplifier leaves it: one index array in the joined numbering (the stand-in starts as the pages').
    together.primitive.indices = np.asarray(together.primitive.indices)
    shares, peak = traced_peak(lambda: together.split())
    assert shares is not None and [member for member, _ in shares] == pages
    assert all(np.array_equal(page.indices, original) for page, original in zip(pages, originals, strict=True))
    # The pages' new indices (12 bytes a triangle), a byte per corner and a few per triangle beside them (about 21
    # in all); int64 owners per corner (65 in all) put 96 MB on a 4M-triangle scan's peak.
    assert peak < 25 * triangles
    # A triangle across two pages cannot be handed back: the split changes nothing.
    across = together.primitive.indices.copy()
    across[0] = together.starts[1]
    together.primitive.indices = across
    assert together.split() is None
    assert all(np.array_equal(page.indices, original) for page, original in zip(pages, originals, strict=True))


def test_a_joined_rungs_pages_come_out_end_to_end_so_the_next_rung_joins_them_without_a_copy() -> None:
    paged = paged_sphere()
    ladder.simplify_within(paged, 2e-2, 4_000, ladder._diagonal(paged))
    pages = paged.meshes()[0].primitives
    for name in ("POSITION", "NORMAL"):
        arrays = [page.attributes[name] for page in pages]
        joined = ladder._end_to_end(arrays)
        assert all(np.shares_memory(joined, array) for array in arrays)
        assert all(len(array) == page.vertex_count for array, page in zip(arrays, pages, strict=True))
    # The pages still index their own vertices, and the level is as closed as before.
    assert all(int(page.indices.max()) < page.vertex_count for page in pages)
    assert open_edges(paged) <= open_edges(noisy_sphere())


def test_a_meshs_primitives_are_joined_only_when_the_simplifier_weighs_the_same_attributes_on_all() -> None:
    def pages() -> list[Primitive]:
        return paged_sphere().meshes()[0].primitives

    assert ladder._joined(pages()) is not None
    assert ladder._joined(pages()[:1]) is None  # one primitive needs no joining
    without = pages()
    for page in without:
        del page.attributes["NORMAL"]
    joined = ladder._joined(without)
    assert joined is not None and "NORMAL" not in joined.primitive.attributes
    mixed = pages()
    del mixed[1].attributes["NORMAL"]
    assert ladder._joined(mixed) is None  # normals on one page only: each page keeps its border locked
    packed = pages()
    packed[0].attributes["NORMAL"] = (packed[0].attributes["NORMAL"] * 127).astype(np.int8)
    assert ladder._joined(packed) is None


def test_a_paged_scans_rungs_keep_a_primitive_per_page_validate_and_stay_closed() -> None:
    paged = paged_sphere()
    for number, primitive in enumerate(paged.meshes()[0].primitives):
        primitive.material = noisy_sphere(texture_side=64, seed=number).meshes()[0].primitives[0].material
    result = ladder.build_ladder(paged, (0.0, 0.0, 0.0), tools(), levels=SMALL)
    seam = open_edges(noisy_sphere())
    reports = validate_many([level.data for level in result.levels])
    for level, report in zip(result.levels, reports, strict=True):
        assert report["issues"]["numErrors"] == 0, (level.name, errors_of(report))
        scene = ladder.level_scene(level.data)
        pages = [p for mesh in scene.meshes() for p in mesh.primitives]
        assert len(pages) == 2 and all(p.triangle_count > 0 for p in pages), level.name
        # In metres (the level's positions are quantized under a node that scales them back), welded across both
        # pages as the viewer draws them: no level opens along the pages' borders.
        corners = bake.world_triangles(scene.nodes).reshape(-1, 3, 3)
        assert 0.39 < corners[:, :, 1].max() < 0.41, level.name
        assert open_corner_edges(corners) <= seam, level.name
    assert result.levels[0].triangles < result.levels[-1].triangles  # it was simplified


def _painted_plane(n: int = 61) -> Primitive:
    """A flat metre square, coloured per vertex: a dark red disk on white, its edge sharp (a painted mark, or a
    crevice's baked shadow). Flat, so the shape alone gives the simplifier no reason to keep any inner vertex."""
    positions, _, indices = wavy_grid(n, lambda x, y: np.zeros_like(x))
    inside = np.hypot(positions[:, 0] - 0.5, positions[:, 1] - 0.5) < 0.3
    colours = np.where(inside[:, None], np.float32([0.5, 0.02, 0.02]), np.float32([1.0, 1.0, 1.0]))
    normals = np.tile(np.float32([0, 0, 1]), (len(positions), 1))
    return Primitive(attributes={"POSITION": positions, "NORMAL": normals, "COLOR_0": colours.astype(np.float32)},
                     indices=indices)


def _colour_at_vertices(primitive: Primitive, simplified: np.ndarray) -> np.ndarray:
    """The simplified plane's colour (sRGB) at each source vertex: its triangles' colours interpolated there."""
    import trimesh

    positions = np.asarray(primitive.attributes["POSITION"], dtype=np.float64)
    colours = np.asarray(primitive.attributes["COLOR_0"], dtype=np.float64)
    mesh = trimesh.Trimesh(positions, simplified.reshape(-1, 3), process=False)
    _, _, triangles = trimesh.proximity.closest_point(mesh, positions)
    weights = trimesh.triangles.points_to_barycentric(mesh.triangles[triangles], positions)
    return linear_to_srgb(np.einsum("ij,ijk->ik", weights, colours[mesh.faces[triangles]]))


def test_a_scan_coloured_per_vertex_keeps_its_colour_edges_when_simplified(monkeypatch: pytest.MonkeyPatch) -> None:
    """Vertex colours weigh in the simplifier (as gltfpack -sv weighs them): by error, a flat plane keeps the
    vertices along its disk's edge. Weighed by shape alone it kept none inside its border, and the disk was gone."""
    plane = _painted_plane()
    source = linear_to_srgb(np.asarray(plane.attributes["COLOR_0"], dtype=np.float64))
    assert plane.indices is not None

    def lost_colour() -> tuple[int, float]:
        simplified, _ = ladder._simplified(plane, plane.indices, 0, 0.01, lock_border=True)
        difference = _colour_at_vertices(plane, simplified) - source
        return len(simplified) // 3, float(np.sqrt(np.mean(np.sum(difference ** 2, axis=1))))

    triangles, rms = lost_colour()
    assert rms < 0.08 and triangles < len(plane.indices) // 3 // 4  # the disk kept, in a quarter of the triangles
    monkeypatch.setattr(ladder, "COLOUR_WEIGHT", 0.0)
    shape_only_triangles, shape_only_rms = lost_colour()
    assert shape_only_rms > 0.3 and shape_only_triangles < triangles


def test_vertex_colours_weigh_in_when_a_meshs_pages_are_joined_only_if_every_page_has_them_alike() -> None:
    def pages() -> list[Primitive]:
        found = paged_sphere().meshes()[0].primitives
        for page in found:
            page.attributes["COLOR_0"] = np.full((page.vertex_count, 3), 0.5, dtype=np.float32)
        return found

    joined = ladder._joined(pages())
    assert joined is not None and joined.primitive.attributes["COLOR_0"].shape == (
        sum(p.vertex_count for p in pages()), 3)
    some = pages()
    del some[0].attributes["COLOR_0"]
    assert ladder._joined(some) is None
    packed = pages()
    packed[1].attributes["COLOR_0"] = (packed[1].attributes["COLOR_0"] * 255).astype(np.uint8)
    assert ladder._joined(packed) is None


def test_the_weighed_colours_cost_their_own_rows_and_a_few_megabytes_of_scratch() -> None:
    """Interleaving normals and sRGB colours for the simplifier: the whole-array encoding held about 50 bytes a
    vertex of scratch at once (a 4M-triangle coloured scan's peak went from 130 to 152 bytes a triangle)."""
    rng = np.random.default_rng(3)
    count = 1_000_000
    normals = rng.standard_normal((count, 3)).astype(np.float32)
    colours = rng.random((count, 4), dtype=np.float32)
    primitive = Primitive(attributes={"POSITION": np.zeros((count, 3), np.float32), "NORMAL": normals,
                                      "COLOR_0": colours}, indices=None)
    (attributes, weights), peak = traced_peak(lambda: ladder._weighed_attributes(primitive, normals, 0.1))
    assert attributes is not None and weights is not None
    assert attributes.shape == (count, 6) and weights.tolist() == pytest.approx([0.1] * 3 + [ladder.COLOUR_WEIGHT] * 3)
    assert np.array_equal(attributes[:, :3], normals)
    expected = linear_to_srgb(colours[:, :3] * colours[:, 3:])
    assert np.allclose(attributes[:, 3:], expected, atol=1e-6)
    assert peak <= attributes.nbytes + 12 * 1024 * 1024
    plain, _ = ladder._weighed_attributes(dataclasses.replace(primitive, attributes={"NORMAL": normals}), normals, 0.1)
    assert plain is normals  # normals alone: no copy


def _texture_mimes(level: bytes) -> dict[str, str]:
    """Each texture slot of a level's first material (baseColor, normal) → the MIME type of its image."""
    from tests.helpers import glb_json

    document = glb_json(level)
    material = document["materials"][0]
    slots = {"baseColor": material["pbrMetallicRoughness"].get("baseColorTexture"),
             "normal": material.get("normalTexture")}
    return {slot: document["images"][document["textures"][ref["index"]]["source"]]["mimeType"]
            for slot, ref in slots.items() if ref is not None}


def _png(pixels: np.ndarray) -> Texture:
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return Texture(name="map.png", data=out.getvalue(), mime_type="image/png", width=pixels.shape[1],
                   height=pixels.shape[0])


def test_levels_below_full_carry_opaque_colour_pictures_as_jpeg_and_full_keeps_the_source() -> None:
    """A scan's PNG texture (RealityCapture's default, or a TIFF once read) is a photograph: the derived levels
    carry it as JPEG, as Voyager's derivatives do; its normal map and a picture with transparency stay PNG."""
    from pipeline.textures import colour_pictures_as_jpeg

    rng = np.random.default_rng(5)
    derived = dataclasses.replace(tools(), derive_textures=colour_pictures_as_jpeg)
    smooth = np.clip(128 + 60 * np.sin(np.arange(256) / 9.0)[:, None, None] + rng.normal(0, 4, (256, 256, 3)),
                     0, 255).astype(np.uint8)
    scene = noisy_sphere(rings=60, segments=100, texture_side=16)
    material = scene.meshes()[0].primitives[0].material
    assert material is not None
    material.base_color_texture = TextureRef(_png(smooth))
    material.normal_texture = TextureRef(_png(np.full((256, 256, 3), (128, 128, 255), np.uint8)))
    source = material.base_color_texture.texture.data
    result = ladder.build_ladder(scene, (0.0, 0.0, 0.0), derived, levels=SMALL)
    full, *below = reversed(result.levels)
    assert full.name == "full" and _texture_mimes(full.data) == {"baseColor": "image/png", "normal": "image/png"}
    assert source in full.data  # the source's bytes, as they were
    assert len(below) >= 3
    for level in below:  # the thumb may go on to lossy WebP to fit its bytes; nothing else changes kind
        mimes = _texture_mimes(level.data)
        assert mimes["baseColor"] in ("image/jpeg", "image/webp") and mimes["normal"] in ("image/png", "image/webp")
    assert [_texture_mimes(level.data)["baseColor"] for level in below[:2]] == ["image/jpeg", "image/jpeg"]
    assert all(not errors_of(report) for report in validate_many([level.data for level in result.levels]))
    # A model small enough for `high` to keep `full`'s geometry and texture sizes: `high` is still written, with
    # the JPEG, and listed beside `full`; the viewer, choosing the coarsest level of the same error, loads it.
    small = noisy_sphere(rings=20, segments=30, texture_side=16)
    small_material = small.meshes()[0].primitives[0].material
    assert small_material is not None
    small_material.base_color_texture = TextureRef(_png(smooth))
    kept_small = ladder.build_ladder(small, (0.0, 0.0, 0.0), derived, levels=SMALL)
    offered = ladder.listed(kept_small.levels, download=True)
    assert [level.name for level in offered][-2:] == ["high", "full"]
    assert [_texture_mimes(level.data)["baseColor"] for level in offered[-2:]] == ["image/jpeg", "image/png"]
    assert offered[-2].triangles == offered[-1].triangles and len(offered[-2].data) < len(offered[-1].data)
    assert ladder.listed(kept_small.levels, download=False)[-1].name == "high"
    # Where the only PNG is a normal map (which stays lossless), `high` has nothing to derive: it is `full`'s
    # bytes, not written again.
    normal_only = noisy_sphere(rings=20, segments=30, texture_side=16)
    normal_material = normal_only.meshes()[0].primitives[0].material
    assert normal_material is not None
    normal_material.normal_texture = TextureRef(_png(np.full((64, 64, 3), (128, 128, 255), np.uint8)))
    photograph = images.opaque_jpeg(_png(smooth).data)
    assert photograph is not None
    normal_material.base_color_texture = TextureRef(Texture(name="colour.jpg", data=photograph,
                                                            mime_type="image/jpeg", width=256, height=256))
    writes: list[str] = []
    counted = dataclasses.replace(derived, write=lambda level: writes.append("w") or derived.write(level))
    by_name = {level.name: level for level in ladder.build_ladder(normal_only, (0.0, 0.0, 0.0), counted,
                                                                  levels=SMALL).levels}
    assert by_name["high"].data == by_name["full"].data
    assert len(writes) == len({level.data for level in by_name.values()})  # each distinct GLB written once
    # With transparency, a picture stays lossless in every level.
    see_through = noisy_sphere(rings=60, segments=100, texture_side=16)
    clear = see_through.meshes()[0].primitives[0].material
    assert clear is not None
    clear.base_color_texture = TextureRef(_png(np.dstack([smooth, np.full((256, 256), 128, np.uint8)])))
    kept = ladder.build_ladder(see_through, (0.0, 0.0, 0.0), derived, levels=SMALL)
    assert all(_texture_mimes(level.data)["baseColor"] in ("image/png", "image/webp") for level in kept.levels)
    assert "image/png" in [_texture_mimes(level.data)["baseColor"] for level in kept.levels[1:]]


def test_a_built_models_png_texture_is_jpeg_in_its_derived_levels(tmp_path: Path) -> None:
    from pipeline.build import build
    from tests.pipeline.tiny_exhibit import write_tiny_exhibit

    folder = write_tiny_exhibit(tmp_path / "tiny")
    rng = np.random.default_rng(2)
    skin = np.clip(140 + 50 * np.sin(np.arange(2048) / 40.0)[:, None, None] + rng.normal(0, 5, (2048, 2048, 3)), 0, 255)
    Image.fromarray(skin.astype(np.uint8)).save(folder / "models" / "cube skin.png")
    build(folder / "exhibit.yaml", tmp_path / "site", BuildOptions(quiet=True, jobs=1, cache_dir=tmp_path / "cache"))
    site = tmp_path / "site" / "tiny"
    cube = next(a for a in json.loads((site / "exhibit.json").read_text())["artifacts"] if a["id"] == "cube")
    mimes = {level["name"]: _texture_mimes((site / level["glb"]).read_bytes())["baseColor"] for level in cube["levels"]}
    # The cube's rights do not allow its full level to be downloaded: its levels are low and thumb.
    assert mimes.get("low") == "image/jpeg" and "full" not in mimes, mimes
