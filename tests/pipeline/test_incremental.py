"""Rebuilds do only what changed: no geometry or texture work when no model changed, rooms rewritten only when their
shell changed, the same bytes every time, and no file in the site that nothing references."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from pipeline import bake, budgets, images, ladder, meshopt
from pipeline import build as build_module
from pipeline.build import BuildOptions, build
from pipeline.report import BuildReport
from tests.helpers import generated
from tests.pipeline.test_build import tiny_profiles
from tests.pipeline.tiny_exhibit import sphere_obj, write_spec, write_tiny_exhibit

PREPARE_SHELLS = build_module._prepare_shells


def options(cache: Path) -> BuildOptions:
    return BuildOptions(quiet=True, jobs=1, cache_dir=cache)


def manifest_of(out: Path, exhibit: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / exhibit / "exhibit.json").read_text(encoding="utf-8"))
    return data


def forbid_heavy_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every geometry and texture step fail, so a build that needs one cannot pass."""
    def refuse(*_: Any, **__: Any) -> Any:
        raise AssertionError("geometry or texture work in a warm build")

    import pipeline.ingest

    monkeypatch.setattr(pipeline.ingest, "load_asset", refuse)
    monkeypatch.setattr(ladder, "build_ladder", refuse)
    monkeypatch.setattr(meshopt, "simplify", refuse)
    monkeypatch.setattr(images, "resized", refuse)
    monkeypatch.setattr(images, "webp", refuse)
    monkeypatch.setattr(images, "as_texture_bytes", refuse)  # a picture decoded (to check it or convert it)
    monkeypatch.setattr(build_module, "_prepare_shells", lambda rooms, *a: refuse() if rooms else PREPARE_SHELLS(rooms, *a))


def referenced_glbs(data: dict[str, Any]) -> set[str]:
    found = {room["glb"] for room in data["rooms"]} | {lod["glb"] for room in data["rooms"] for lod in room["lod"]}
    return found | {level["glb"] for a in data["artifacts"] for level in a.get("levels", [])}


@pytest.fixture
def warm(tmp_path: Path) -> tuple[Path, Path, Path]:
    spec = write_tiny_exhibit(tmp_path / "tiny")
    (spec / "models" / "cube.obj").write_text(sphere_obj(), encoding="utf-8")  # 4,800 triangles: a real ladder
    out, cache = tmp_path / "site", tmp_path / "cache"
    build(spec, out, options(cache))
    return spec, out, cache


def test_a_warm_build_does_no_geometry_or_texture_work_and_gives_the_same_bytes(
        warm: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    spec, out, cache = warm
    before = generated(out)
    forbid_heavy_work(monkeypatch)
    # Nor is a picture decoded for the colour it bounces in a light bake, as in a new process.
    monkeypatch.setattr(images, "mean_linear_colour", lambda *_: pytest.fail("a texture decoded for its colour"))
    monkeypatch.setattr(bake, "_MEAN_COLOURS", {})
    report = build(spec, tmp_path / "again", options(cache))
    assert (report.cache_hits, report.cache_misses, report.shells_from_cache) == (1, 0, 2)
    assert "room shells: 2 (2 unchanged, from cache)" in report.to_text()
    assert generated(tmp_path / "again") == before


def test_a_rebuild_into_the_same_site_links_the_level_files_it_already_has(
        warm: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    spec, out, cache = warm
    before = generated(out)
    grafted: list[str] = []
    real = ladder.placed
    monkeypatch.setattr(ladder, "placed", lambda body, header, artifact: grafted.append(artifact) or
                        real(body, header, artifact))
    build(spec, out, options(cache))
    assert grafted == [] and generated(out) == before
    text = (spec / "exhibit.yaml").read_text(encoding="utf-8")
    (spec / "exhibit.yaml").write_text(text.replace("Another cube", "Yet another cube"), encoding="utf-8")
    build(spec, out, options(cache))
    assert set(grafted) == {"cube2"}  # only the artifact whose node changed


def spy_on_shells(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ids of the rooms whose shells the next build optimizes and writes (not taken from the cache)."""
    rewritten: list[str] = []

    def spy(rooms: list[Any], *args: Any) -> Any:
        rewritten.extend(room.id for room in rooms)
        return PREPARE_SHELLS(rooms, *args)

    monkeypatch.setattr(build_module, "_prepare_shells", spy)
    return rewritten


@dataclass
class Rebuild:
    """What rebuilding an edited exhibit into its own site did."""

    report: BuildReport
    rewritten: list[str]  # the rooms whose shells were optimized and written again
    glbs: set[str]  # every GLB path the site had before or has after
    changed_glbs: set[str]  # those whose bytes changed, appeared or went


def rebuild_after(edit: Callable[[], Any], spec: Path, out: Path, cache: Path,
                  monkeypatch: pytest.MonkeyPatch) -> Rebuild:
    """Edit the exhibit, then rebuild it into the same site with any geometry or texture work failing the build."""
    before = generated(out)
    edit()
    forbid_heavy_work(monkeypatch)
    rewritten = spy_on_shells(monkeypatch)
    report = build(spec, out, options(cache))
    after = generated(out)
    glbs = {path for path in set(before) | set(after) if path.endswith(".glb")}
    return Rebuild(report, rewritten, glbs, {path for path in glbs if before.get(path) != after.get(path)})


def test_a_text_edit_rebuilds_without_geometry_work_and_changes_only_what_shows_the_text(
        warm: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    spec, out, cache = warm
    # The panel is in the side room's shell.
    rebuilt = rebuild_after(lambda: write_spec(spec, intro="A different welcome."), spec, out, cache, monkeypatch)
    assert rebuilt.rewritten == ["side"] and rebuilt.report.shells_from_cache == 1
    assert rebuilt.changed_glbs and all(path.startswith("tiny/rooms/side.") for path in rebuilt.changed_glbs), \
        rebuilt.changed_glbs


def test_no_file_in_the_site_goes_unreferenced(warm: tuple[Path, Path, Path]) -> None:
    _, out, _ = warm
    data = manifest_of(out, "tiny")
    on_disk = {p.relative_to(out / "tiny").as_posix() for p in (out / "tiny").rglob("*.glb")}
    assert on_disk == referenced_glbs(data)
    assert {f["path"] for f in data["files"] if f["path"].endswith(".glb")} == on_disk


def test_a_room_glb_that_no_target_loads_is_not_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A 1024×512 picture (2.7 MB on the GPU) is over every target's 1 MB: each target loads a hall of its own.
    from PIL import Image

    spec = write_tiny_exhibit(tmp_path / "tiny", over_budget="simplify")
    Image.new("RGB", (1024, 512), (200, 30, 30)).save(spec / "images" / "red.png")
    monkeypatch.setattr(budgets, "PROFILES", tiny_profiles(texture_bytes_gpu=1 << 20))
    build(spec, tmp_path / "site", BuildOptions(quiet=True, jobs=1, use_cache=False))
    data = manifest_of(tmp_path / "site", "tiny")
    hall = next(room for room in data["rooms"] if room["id"] == "hall")
    # desktop's GLB became the room's own; quest2 keeps its entry.
    assert hall["glb"].startswith("rooms/hall.desktop.") and [lod["target"] for lod in hall["lod"]] == ["quest2"]
    assert hall["stats"]["texture_bytes_gpu"] <= 1 << 20
    on_disk = {p.relative_to(tmp_path / "site" / "tiny").as_posix()
               for p in (tmp_path / "site" / "tiny").rglob("*.glb")}
    assert on_disk == referenced_glbs(data)


# ---- a big exhibit: 10 rooms, 200 artifacts -------------------------------------------------------------------


def big_exhibit(folder: Path, title: str = "Picture 3", rings: int = 40, segments: int = 60) -> Path:
    """10 rooms in a row, each with one picture and 19 uses of its own sphere (2·rings·segments triangles; the files
    differ by a hair, so each is its own model): 200 artifacts."""
    (folder / "models").mkdir(parents=True, exist_ok=True)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    sphere = sphere_obj(rings, segments)
    for room in range(10):
        path = folder / "models" / f"sphere{room}.obj"
        if not path.exists():  # an edit of the YAML leaves the models (and their cache keys) alone
            path.write_text(f"# sphere {room}\n{sphere}", encoding="utf-8")
    write_tiny_exhibit(folder / "tiny")  # for the material and its texture
    for name in ("cube parts.mtl", "cube skin.png"):
        (folder / "models" / name).write_bytes((folder / "tiny" / "models" / name).read_bytes())
    (folder / "images" / "red.png").write_bytes((folder / "tiny" / "images" / "red.png").read_bytes())
    lines = ["exhibit: {id: big, title: {en: Big}, targets: [quest2, desktop]}", "rooms:"]
    for room in range(10):
        door = f", doors: [{{wall: east, to: r{room + 1}, width: 1.6}}]" if room < 9 else ""
        lines.append(f"  - {{id: r{room}, size: [12, 10, 4]{door}}}")
    lines.append("artifacts:")
    for room in range(10):
        for slot in range(19):
            x, z = -5 + (slot % 5) * 2.5, -4 + (slot // 5) * 2.5
            lines.append(f"  - {{id: m{room}-{slot}, model: models/sphere{room}.obj, height: 0.3, "
                         f"place: {{room: r{room}, at: [{x}, {z}]}}, record: {{title: {{en: Model {room}-{slot}}}}}}}")
        name = title if room == 3 else f"Picture {room}"
        lines.append(f"  - {{id: p{room}, image: images/red.png, size: [0.8, 0.4], "
                     f"place: {{room: r{room}, wall: north, at: 0, height: 1.6}}, record: {{title: {{en: {name}}}}}}}")
    (folder / "exhibit.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def test_editing_one_title_in_a_200_artifact_exhibit_rewrites_only_its_room(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    spec = big_exhibit(tmp_path / "big")
    out, cache = tmp_path / "site", tmp_path / "cache"
    cold = build(spec, out, options(cache))
    assert cold.shells_from_cache == 0 and len(manifest_of(out, "big")["artifacts"]) == 200
    rebuilt = rebuild_after(lambda: big_exhibit(tmp_path / "big", title="Picture three"), spec, out, cache, monkeypatch)
    assert rebuilt.rewritten == ["r3"] and rebuilt.report.shells_from_cache == 9
    assert rebuilt.changed_glbs == {path for path in rebuilt.glbs if path.startswith("big/rooms/r3.")}


def test_editing_a_model_title_rewrites_no_room_and_only_that_models_levels(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    spec = write_tiny_exhibit(tmp_path / "tiny")
    out, cache = tmp_path / "site", tmp_path / "cache"
    build(spec, out, options(cache))
    text = (spec / "exhibit.yaml").read_text(encoding="utf-8")
    rebuilt = rebuild_after(lambda: (spec / "exhibit.yaml").write_text(text.replace("Another cube", "Yet another cube"),
                                                                         encoding="utf-8"), spec, out, cache, monkeypatch)
    assert rebuilt.rewritten == [] and rebuilt.report.shells_from_cache == 2
    assert rebuilt.changed_glbs and all(p.startswith("tiny/artifacts/cube2.") for p in rebuilt.changed_glbs), \
        rebuilt.changed_glbs


def test_profiles_still_fit_under_a_changed_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Budgets are part of a room's cache key: lowering one recomputes the rooms' checks instead of reusing them.
    spec = write_tiny_exhibit(tmp_path / "tiny")
    out, cache = tmp_path / "site", tmp_path / "cache"
    build(spec, out, options(cache))
    monkeypatch.setattr(budgets, "PROFILES", {k: replace(v, draw_calls=10_000) for k, v in budgets.PROFILES.items()})
    report = build(spec, out, options(cache))
    assert report.shells_from_cache == 0
    assert {c.limits["draw_calls"] for c in report.budgets} == {10_000}


def test_a_room_composed_again_takes_its_big_pictures_fitted_sizes_from_the_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A title edit composes the picture's room again; a picture wider than every target's texture limit is fitted
    # to each of them (the desktop's GLB, the quest2 variant), and those resizes are kept by content, so the
    # edit resizes nothing (ten 24-megapixel paintings took 1.3 s to resize again).
    from PIL import Image

    spec = write_tiny_exhibit(tmp_path / "tiny", targets="quest2, desktop")
    Image.new("RGB", (budgets.PROFILES["desktop"].max_texture_size + 200, 60), (200, 30, 30)).save(
        spec / "images" / "red.png")
    text = (spec / "exhibit.yaml").read_text(encoding="utf-8")
    assert "record: {title: {en: Red," in text
    out, cache = tmp_path / "site", tmp_path / "cache"
    build(spec, out, options(cache))
    rebuilt = rebuild_after(lambda: (spec / "exhibit.yaml").write_text(text.replace("{en: Red,", "{en: Crimson,"),
                                                                         encoding="utf-8"), spec, out, cache, monkeypatch)
    assert rebuilt.rewritten == ["hall"]
    hall = next(room for room in manifest_of(out, "tiny")["rooms"] if room["id"] == "hall")
    assert [lod["target"] for lod in hall["lod"]] == ["quest2"]  # its own GLB, with smaller textures
