"""Quality ladder of one model: thumb → low → medium → high → full GLBs, each simplified by error from the one above."""

from __future__ import annotations

import contextvars
import copy
import dataclasses
import functools
import json
import os
import tempfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np

from pipeline import budgets, heap, images, meshopt, progress, spatial_parts, surface_fit, textures
from pipeline.colour import linear_to_srgb
from pipeline.columns import joint_range
from pipeline.gltf import container
from pipeline.scene import Node, Primitive, Scene, Texture, node_matrix, world_nodes
from pipeline.transforms import reorder
from pipeline.transforms.reorder import reorder_primitive

# The ladder's GLBs are cached once per model file; the artifact that shows one is grafted on when the site is
# written (see `placed`), so these names stand for the artifact id in the cached bodies.
PLACEHOLDER = "@artifact"
MODEL_SUFFIX = ".model"

# Weight of each normal component against position error in attribute-aware simplification. On Igea (64,852 of
# 268,686 triangles) 0.5 cost 17 % more RMS distance than positions alone; 0.1 keeps shading seams and costs none.
NORMAL_WEIGHT = 0.1
# Weight of each vertex colour channel (sRGB-encoded, 0-1, so that a step counts as the eye sees it) against
# position error. A scan coloured per vertex keeps its colour detail in its coarse levels: without it the
# simplifier saw only the shape, and merged a painted line or a dark crevice into the plain surface beside it.
COLOUR_WEIGHT = 1.0
# meshoptimizer's error is a quadric estimate. Against measured two-way Hausdorff distances of every level in
# bench_ladder (Igea, Nefertiti, Gargoyle; quantized, as written) the true error was 1.5-3.4× the estimate, so a
# level aims at a quarter of its bound and reports four times the estimate: a conservative figure.
ERROR_FACTOR = 4.0
# A scan without normals is simplified with its own vertex normals as attributes at this weight, and each level's
# kept vertices are moved towards the surface they replace (surface_fit). Against gltfpack -si at the same
# triangle count (bench_ladder, Igea and Nefertiti), positions alone lost on Hausdorff distance (Igea medium +12 %,
# Nefertiti low +22 %) and RMS (Igea medium +2 %); with both, every level is at or below gltfpack on both, for
# 0-2 % more triangles at each level's error bound. At 0.1 the levels came out 10-20 % larger.
SHAPE_WEIGHT = 0.03
FIT_VERTICES = True
# Both are done only for a primitive simplified from at most this many triangles: on the 4M-triangle scan, doing
# them for `high` and `medium` too (simplified from 4M and 3M) took the cold build's assets stage from 33 to 70 s
# and its peak memory from 1.19 to 1.95 GB; at 1M (every level) they took the assets stage from 2.7 to 5.3 s, at
# 300k from 2.7 to 3.2 s. Every level of a scan up to 300k (the corpus models of bench_ladder), and the coarse
# levels of any scan, get them: the ones whose error a visitor can see.
SHAPE_TRIANGLES = 300_000

# Threads that finish and write levels while this one simplifies the next: the other cores, at most one more
# (measured on 2 cores: a second writer thread only added GIL hand-offs and memory).
WRITERS = max(0, min(1, (os.cpu_count() or 1) - 1))
PROGRESS_TRIANGLES = 250_000  # a model this big takes seconds per level: say which level, and the time left


@dataclass(frozen=True)
class LevelSettings:
    """How one rung is made from the rung above: an error bound, then caps on triangles, texture side and bytes.

    `max_error` is this step's own error bound, relative to the model's bounding-box diagonal; the level's error
    against the source adds up the steps above it. A level over `max_triangles` after the error pass is simplified
    further to the cap (its error then grows as needed, and is reported)."""

    name: str
    max_texture: int | None  # None: the source's textures, untouched
    max_triangles: int | None
    max_error: float
    max_bytes: int | None = None
    # A rung above a model this light is not worth its own geometry: it only fits textures (so small models end
    # up with few rungs once `listed` merges the ones that change nothing).
    simplify_above: int = 0


LEVELS: tuple[LevelSettings, ...] = (  # fine to coarse: each is made from the one before
    LevelSettings("full", max_texture=None, max_triangles=None, max_error=0.0),
    LevelSettings("high", max_texture=4096, max_triangles=budgets.PROFILES["desktop"].triangles, max_error=1e-4,
                  simplify_above=1_000_000),
    LevelSettings("medium", max_texture=2048, max_triangles=budgets.PROFILES["quest2"].triangles, max_error=5e-4,
                  simplify_above=250_000),
    LevelSettings("low", max_texture=1024, max_triangles=150_000, max_error=2e-3, simplify_above=50_000),
    LevelSettings("thumb", max_texture=512, max_triangles=20_000, max_error=1e-2, max_bytes=200_000),
)
# The texture sides of the rungs, fine to coarse: each rung's textures are fitted from the rung above's.
TEXTURE_SIDES = tuple(level.max_texture for level in LEVELS if level.max_texture is not None)


@dataclass
class Level:
    """One written rung: its GLB body (artifact still a placeholder) and what it costs the viewer to load."""

    name: str
    data: bytes
    triangles: int
    draw_calls: int
    texels: int
    gpu_bytes: int
    max_texture: int
    error_relative: float  # against the source, relative to the model's bounding-box diagonal

    def info(self) -> dict[str, Any]:
        return {"name": self.name, "triangles": self.triangles, "draw_calls": self.draw_calls,
                "texels": self.texels, "gpu_bytes": self.gpu_bytes, "max_texture": self.max_texture,
                "error_relative": self.error_relative, "bytes": len(self.data)}

    @classmethod
    def from_info(cls, info: dict[str, Any], data: bytes) -> Level:
        fields = {k: info[k] for k in ("name", "triangles", "draw_calls", "texels", "gpu_bytes", "max_texture",
                                       "error_relative")}
        return cls(data=data, **fields)


@dataclass
class Ladder:
    """A model's rungs, coarse to fine; `full` is among them only where the rights allow a download."""

    levels: list[Level]
    diagonal: float  # of the model's bounding box, in the model's own metres (before any placement scale)


@dataclass(frozen=True)
class LadderTools:
    """What the build lends the ladder: writing a GLB, fitting and encoding textures, the room-level transforms."""

    write: Callable[[Scene], bytes]
    fit_textures: Callable[[Scene, int], object]
    encode_textures: Callable[[Scene], object]
    finish: Callable[[Scene], Scene]  # dedup, merge, reorder, quantize: what every written scene goes through
    # What a simplified level goes through instead: the same, quantizing to its surface (see Quantize's rounding),
    # since its triangles are many grid steps wide; None to finish every level alike.
    finish_simplified: Callable[[Scene], Scene] | None = None
    # What a level below `full` does to its textures before they are encoded (textures.colour_pictures_as_jpeg):
    # `full` keeps the source's.
    derive_textures: Callable[[Scene], object] | None = None


def build_ladder(scene: Scene, offset: tuple[float, float, float], tools: LadderTools,
                 levels: tuple[LevelSettings, ...] = LEVELS, label: str = "model", writers: int = WRITERS,
                 consume: bool = False, on_level: Callable[[str, Scene], None] | None = None) -> Ladder:
    """Every rung of one processed model, coarse to fine. `offset` stands the model on its base centre.

    Each level starts from the float geometry and fitted textures of the level above, so simplification and
    resizing are chained. All rungs are made (they are cached as one); `listed` picks the ones a site shows.
    While this thread simplifies a level, `writers` threads finish and write the levels above it (meshoptimizer
    and numpy release the GIL): each write works on its own copy and the list keeps its order, so the bytes are
    the same as written one by one. With `consume`, the scene's geometry is let go once the first simplified level
    is made from it (its caller keeps the rest of it): a 4M-triangle scan's 112 MB no longer sit under the next
    level's simplification.

    `on_level(name, scene)` sees each level's float geometry and fitted textures, fine to coarse, before they are
    encoded and finished (the AR package is made from one of them); it must not change the scene. The source level
    is handed over as a copy sharing its arrays, so `consume` cannot empty what `on_level` kept."""
    diagonal = _diagonal(scene)
    source = budgets.measure(scene).triangles
    plan = _work_plan(source, levels)
    pending: list[Future[Level]] = []
    parent, parent_error = scene, 0.0
    with progress.task(f"{label}: simplifying level 1/{len(levels)}", sum(sum(step) for step in plan),
                       source >= PROGRESS_TRIANGLES) as task, ThreadPoolExecutor(max(1, writers)) as threads, \
            ThreadPoolExecutor(1) as fitter:
        pool = threads if writers > 0 else None
        fitting = fitter if writers > 0 else None
        heap.one_arena()
        # Whether the last simplified level stopped at its error bound, under its cap: the next one then likely does
        # too, and a small one may run its two passes at once (see simplify_within).
        error_bound = True
        above: LevelSettings | None = None  # the settings of the level `parent` is
        for number, (settings, (simplifying, writing)) in enumerate(zip(levels, plan, strict=True), start=1):
            task.describe(f"{label}: simplifying level {number}/{len(levels)}")
            if settings.max_texture is None and settings.max_triangles is None:
                current, error = parent, 0.0
            else:
                # Beside the writes above: a big level is simplified in spatial parts, whose memory is bounded per
                # part, so a write (~65 bytes per triangle of its level) and the texture fitting fit beside it.
                current, error = _next_rung(parent, settings, tools, diagonal, fitter=fitting,
                                            speculate=fitting is not None and error_bound)
                if error > 0:  # simplified: to its bound, or past it to reach its cap
                    error_bound = error < settings.max_error
            total_error = round(error + parent_error, 8)
            if pending and not error and _same_content(parent, current) and not _derives(parent, above, settings,
                                                                                         tools):
                # Nothing changed: the same bytes, unwritten.
                level = _submit(pool, _renamed, pending[-1], settings.name, total_error)
            else:
                level = _submit(pool, _write_level, _copy(current), settings, tools, offset, total_error)
            if settings.max_bytes is not None:
                current, written = _within_bytes(parent, current, level.result(), settings, tools, offset, diagonal,
                                                 parent_error)
                level, total_error = _done(written), written.error_relative
            if on_level is not None:
                on_level(settings.name, _copy(current) if current is scene else current)
            task.advance(simplifying)
            # The writer thread reports its part as it finishes (an estimate's sum: a rare lost update is harmless).
            level.add_done_callback(functools.partial(_written, task, writing))
            pending.append(level)
            if consume and parent is scene and current is not scene:
                _release_geometry(scene)  # the writes hold copies, the new level its own arrays or views
            parent, parent_error, above = current, total_error, settings
        made = [future.result() for future in pending]
    heap.give_back_memory()
    return Ladder(levels=made[::-1], diagonal=diagonal)


def _work_plan(source: int, levels: tuple[LevelSettings, ...]) -> list[tuple[float, float]]:
    """Per level, (triangles its simplification starts from, triangles it is written with), each the level above's
    cap at most (0 to simplify the level that keeps the source): the units of the ladder's progress, since
    simplifying and writing each cost about that many."""
    plan, above = [], float(max(1, source))
    for settings in levels:
        kept = above if settings.max_triangles is None else min(above, float(settings.max_triangles))
        simplified = settings.max_triangles is not None or settings.max_texture is not None
        plan.append((above if simplified else 0.0, kept))
        above = kept
    return plan


def _submit(pool: ThreadPoolExecutor | None, work: Callable[..., Level], *args: Any) -> Future[Level]:
    """work(*args) in a writer thread, in this thread's context (the build's grid store and progress reporter);
    without a pool, here and now."""
    if pool is None:
        return _done(work(*args))
    context = contextvars.copy_context()
    return pool.submit(context.run, work, *args)


def _written(task: progress.Task, units: float, _: Future[Level]) -> None:
    task.advance(units)


def _renamed(above: Future[Level], name: str, error: float) -> Level:
    return dataclasses.replace(above.result(), name=name, error_relative=error)


def _done(level: Level) -> Future[Level]:
    future: Future[Level] = Future()
    future.set_result(level)
    return future


def _derives(parent: Scene, parent_settings: LevelSettings | None, settings: LevelSettings,
             tools: LadderTools) -> bool:
    """Whether a level that kept its parent's content is still written anew: the first level below `full` derives
    its textures (tools.derive_textures), so where `full` carries PNG colour ones, `high` is `full` with JPEG
    pictures, which the viewer loads, and not `full`'s bytes. A PNG normal map stays as it is: no new level."""
    if tools.derive_textures is None or settings.max_texture is None or parent_settings is None \
            or parent_settings.max_texture is not None:
        return False
    return bool(textures.colour_pngs(parent))


def _same_content(parent: Scene, child: Scene) -> bool:
    """Whether a rung kept its parent's triangles and texture objects (fitting replaces a texture it resizes)."""
    before, after = budgets.measure(parent), budgets.measure(child)
    return before.triangles == after.triangles and set(before.textures) == set(after.textures)


def listed(levels: list[Level], download: bool) -> list[Level]:
    """The rungs a site lists (coarse to fine): `full` only where the rights allow its download, and a rung that
    is the same as the finer one above it (its triangles, textures' size and draw calls, in no fewer bytes) merged
    into that one; `thumb` always stays."""
    kept: list[Level] = []
    for level in reversed(levels):
        if level.name == "full" and not download:
            continue
        finer = kept[-1] if kept else None
        if finer is not None and level.name != "thumb" and len(level.data) >= len(finer.data) and (
                level.triangles, level.max_texture, level.draw_calls) == (
                finer.triangles, finer.max_texture, finer.draw_calls):
            continue  # nothing to gain (a rung that is `full` with JPEG pictures is smaller, and stays)
        kept.append(level)
    return kept[::-1]


def _diagonal(scene: Scene) -> float:
    positions = [p.attributes["POSITION"] for m in scene.meshes() for p in m.primitives
                 if len(p.attributes["POSITION"])]
    if not positions:
        return 1.0
    low, high = joint_range(positions)
    return float(np.linalg.norm(high - low)) or 1.0


def _copy(scene: Scene) -> Scene:
    """A copy of the scene's structure that shares its textures and vertex and index arrays (a 4M-triangle scan's
    are 100 MB a copy): every step replaces those rather than changing them, and the copy holds them as read-only
    views, so a step that wrote into one would fail loudly instead of changing the level above."""
    memo: dict[int, Any] = {id(t): t for t in budgets.measure(scene).textures.values()}
    for mesh in scene.meshes():
        for primitive in mesh.primitives:
            arrays = [*primitive.attributes.values(), *(a for t in primitive.targets for a in t.values())]
            if primitive.indices is not None:
                arrays.append(primitive.indices)
            for array in arrays:
                memo[id(array)] = _read_only(array)
    return copy.deepcopy(scene, memo)


def _release_geometry(scene: Scene) -> None:
    for mesh in scene.meshes():
        for primitive in mesh.primitives:
            primitive.attributes, primitive.indices, primitive.targets = {}, None, []


def _read_only(array: np.ndarray) -> np.ndarray:
    view = array.view()
    view.flags.writeable = False
    return view


def _simplifiable(primitive: Primitive) -> bool:
    return (primitive.mode == 4 and not primitive.targets and "JOINTS_0" not in primitive.attributes
            and primitive.triangle_count >= budgets.MIN_TRIANGLES)


def _next_rung(parent: Scene, settings: LevelSettings, tools: LadderTools, diagonal: float,
               cap: int | None = None, texture_side: int | None = None,
               fitter: ThreadPoolExecutor | None = None, speculate: bool = False) -> tuple[Scene, float]:
    """A copy of parent simplified within the level's error, then to its triangle cap; textures fitted, in
    `fitter`'s thread while this one simplifies when it is given. `speculate`: see simplify_within."""
    child = _copy(parent)
    cap = settings.max_triangles if cap is None else cap
    error = 0.0
    triangles = budgets.measure(child).triangles
    side = texture_side or settings.max_texture
    # The copy's materials and its primitives are separate objects, and Pillow and meshoptimizer both release the
    # GIL: a level's textures are resized on the other core while its geometry is simplified.
    fitting = None if side is None or fitter is None else \
        fitter.submit(contextvars.copy_context().run, tools.fit_textures, child, side)
    if triangles > settings.simplify_above or (cap is not None and triangles > cap):
        if triangles >= PROGRESS_TRIANGLES:
            # meshoptimizer's buffers (~150 bytes a triangle) are mapped fresh, above what the heap holds free.
            heap.give_back_memory()
        error = simplify_within(child, settings.max_error, cap, diagonal, speculate)
    if fitting is not None:
        fitting.result()
    elif side is not None:
        tools.fit_textures(child, side)
    return child, error


def simplify_within(scene: Scene, max_error: float, cap: int | None, diagonal: float, speculate: bool = False,
                    join: bool = True) -> float:
    """Simplify in place by error (relative to diagonal), then further to `cap` triangles; returns the error made.

    Attribute-aware (normals weigh in) and seam-aware (meshoptimizer keeps UV and normal seams together). The
    primitives of one surface (see `_surfaces`) are simplified as one (see `_joined`), so the borders between them,
    a scan's texture pages or parts, are seams that never open yet simplify like the rest; where they cannot be
    joined, each mesh is simplified on its own, the borders of its primitives locked. With `speculate`, a small
    scene over its cap runs the pass by error on another thread beside the pass to the cap, instead of after it:
    the same calls on the same input, so the same result, and on a 250k-triangle scan 0.2 s sooner, since such a
    scene's simplification is not split in parts and would leave the other core idle."""
    work: list[tuple[Primitive, np.ndarray, bool]] = []
    joined: dict[int, _Joined] = {}  # by id of the stand-in primitive simplified for a surface's primitives
    fixed = 0
    # Unjoined, each mesh is on its own: locking the borders of a model's separate objects (a lamp's glass, grill
    # and bulbs) kept 15 % more triangles in its thumb, for borders no other part shares.
    for surface in _surfaces(scene) if join else [mesh.primitives for mesh in scene.meshes()]:
        together = _joined(surface) if join else None
        if together is not None:
            joined[id(together.primitive)] = together
            work.append((together.primitive, cast(np.ndarray, together.primitive.indices), False))
            continue
        lock = len(surface) > 1
        for primitive in surface:
            if _simplifiable(primitive):
                indices = np.arange(primitive.vertex_count, dtype=np.uint32) if primitive.indices is None \
                    else np.asarray(primitive.indices, dtype=np.uint32)
                work.append((primitive, indices, lock))
            else:
                fixed += primitive.triangle_count
    if not work:
        return 0.0
    bound = max_error * diagonal

    def to_cap(start: Callable[[Primitive, np.ndarray], np.ndarray]) -> list[float]:
        assert cap is not None
        starts = [start(p, original) for p, original, _ in work]
        reducible = sum(len(indices) // 3 for indices in starts)
        ratio = max(0.0, cap - fixed) / reducible if reducible else 0.0
        return [_apply(p, _simplified(p, indices, int(len(indices) // 3 * ratio) * 3, float("inf"), lock))
                for (p, _, lock), indices in zip(work, starts, strict=True)]

    def error_pass() -> list[tuple[np.ndarray, float]]:
        return [_simplified(p, original, 0, bound, lock) for p, original, lock in work]

    def by_error(done: list[tuple[np.ndarray, float]] | None = None) -> list[float]:
        if bound <= 0:
            return [0.0] * len(work)
        return [_apply(p, result) for (p, _, _), result in zip(work, done or error_pass(), strict=True)]

    def over_cap() -> bool:
        return cap is not None and fixed + sum(p.triangle_count for p, _, _ in work) > cap

    if over_cap():
        # To the cap in one call first: on a big scan the error pass alone stops near the source's count
        # (4M -> 3,999,333 triangles for `high`) and a pass to the cap after it redid nearly all its work.
        ahead = None
        if speculate and bound > 0 and all(spatial_parts.part_count(len(o) // 3) == 1 and len(o) <= 3 * SHAPE_TRIANGLES
                                           for _, o, _ in work):
            with ThreadPoolExecutor(1) as other:
                speculated = other.submit(contextvars.copy_context().run, error_pass)
                errors = to_cap(_source)
                ahead = speculated.result()
        else:
            errors = to_cap(_source)
        if max(errors) < bound:
            # The bound allows fewer triangles than the cap: the level is the error pass's, as if uncapped.
            errors = by_error(ahead)
            if over_cap():
                errors = to_cap(_current)
    else:
        errors = by_error()
    finished: list[tuple[Primitive, np.ndarray]] = []
    for primitive, original, _ in work:
        together = joined.get(id(primitive))
        shares = [(primitive, original)] if together is None else together.split()
        if shares is None:  # lock the borders instead
            return simplify_within(scene, max_error, cap, diagonal, speculate, join=False)
        finished += shares
    for primitive, original in finished:
        if primitive.triangle_count * 3 < len(original):
            positions = primitive.attributes["POSITION"]
            if (FIT_VERTICES and positions.dtype.kind == "f" and primitive.indices is not None
                    and len(original) <= 3 * SHAPE_TRIANGLES):
                primitive.attributes["POSITION"] = surface_fit.fitted_positions(positions, original,
                                                                                primitive.indices)
            # Drop the vertices nothing uses any more, in cache order. The finishing Reorder does that again, but
            # the next level is simplified from this order: with the fetch order alone (1-2 s less at 4M), Igea's
            # thumb came out with a 30 % larger Hausdorff distance (5.87e-3 vs 4.50e-3, gltfpack 4.87e-3).
            # A big level (over ONE_PASS_TRIANGLES, which is written with one cache pass in all) is only compacted
            # here, and gets that pass as it is written, in the writer thread beside the next simplification: on
            # the 4M scan the pass took 0.68 s of this thread, and `medium` simplified from the fetch order alone
            # came out as close to the source (RMS +0.2 %, Hausdorff -6 %). Moving the pass of a 500k level too
            # (1M's `medium`) saved nothing: the next simplification and the write ran slower from that order.
            reorder_primitive(primitive, vertex_cache=primitive.triangle_count <= reorder.ONE_PASS_TRIANGLES)
    for together in joined.values():
        _lay_end_to_end(together.members)
    return max(errors) / diagonal


def _surfaces(scene: Scene) -> list[list[Primitive]]:
    """The scene's primitives by the surface they make, for the simplifier: a mesh's primitives (a scan's texture
    pages), and with them those of every other mesh that one node shows placed as it is (the same world matrix):
    a scan exported in parts, one node each, as Blender writes a scan of several objects. Simplified apart, such
    parts opened at their borders in every coarse level (the generator's 250k scan in four nodes: 292 open edges in
    its thumb against 80, welded by position). A mesh shown by several nodes, by instances or by a skin is a
    surface of its own. In the order of `Scene.meshes`."""
    placed: dict[int, list[bytes | None]] = {}
    for node, parent in world_nodes(scene.nodes):
        if node.mesh is not None:
            alone = node.instances is not None or node.skin is not None
            # Rounded, and -0.0 made 0.0: matrices made by different products of the same transforms agree.
            world = parent @ node_matrix(node)
            placed.setdefault(id(node.mesh), []).append(None if alone else (np.round(world, 9) + 0.0).tobytes())
    surfaces: dict[object, list[Primitive]] = {}
    for mesh in scene.meshes():
        places = placed[id(mesh)]
        key: object = places[0] if len(places) == 1 and places[0] is not None else id(mesh)
        surfaces.setdefault(key, []).extend(mesh.primitives)
    return list(surfaces.values())


def _lay_end_to_end(members: list[Primitive]) -> None:
    """Lay the joined attributes of a mesh's primitives one after another in one block each, as the OBJ reader
    does, so that the next rung joins them as a view (`_end_to_end`): a copy here, one attribute at a time, while
    its pages' own arrays are let go, instead of beside the next rung's simplification (on a paged 4M-triangle
    scan, 36 MB of `high`'s positions and normals under `medium`'s)."""
    for name in ("POSITION", "NORMAL"):
        if not all(name in member.attributes for member in members):
            continue
        arrays = [member.attributes[name] for member in members]
        if len({(array.dtype, array.shape[1:]) for array in arrays}) > 1:
            continue
        block = np.concatenate(arrays)
        block.flags.writeable = False
        at = 0
        for member, array in zip(members, arrays, strict=True):
            member.attributes[name] = block[at:at + len(array)]
            at += len(array)
        del arrays


@dataclass
class _Joined:
    """A mesh's primitives as one stand-in primitive for the simplifier: their positions (and normals) end to end,
    their triangles re-indexed into that. A vertex on the border between two of them has a twin at its position in
    the other, as on a UV seam, so meshoptimizer moves the two together and the border neither opens nor has to be
    locked (a scan's texture pages, as RealityCapture packs them, border each other all over the surface: locked,
    1M-triangle pages kept their borders' density in every level; simplified apart, they opened)."""

    primitive: Primitive
    members: list[Primitive]
    starts: np.ndarray  # each member's first vertex in the stand-in's, and the total
    originals: list[np.ndarray]

    @property
    def indices(self) -> np.ndarray:
        return np.asarray(self.primitive.indices, dtype=np.uint32)

    def split(self) -> list[tuple[Primitive, np.ndarray]] | None:
        """Give each member its share of the stand-in's triangles (meshoptimizer collapses a seam vertex and its
        twin along the seam, so every triangle stays within one member); returns (member, its old indices), or
        None, changing nothing, if a triangle spans two members or a member kept none (glTF has no empty
        primitive, and a small part of a model should not vanish from a level)."""
        triangles = self.indices.reshape(-1, 3)
        # A byte per vertex and three per triangle: searchsorted's int64 owners of a 4M-triangle level's corners
        # took 96 MB at the ladder's peak.
        of_vertex = np.repeat(np.arange(len(self.members), dtype=np.min_scalar_type(len(self.members))),
                              np.diff(self.starts))
        owner = of_vertex[triangles]
        first = owner[:, 0]
        if np.any(owner[:, 1] != first) or np.any(owner[:, 2] != first):
            return None
        shares = np.bincount(first, minlength=len(self.members))
        if np.any(shares == 0):
            return None
        for number, member in enumerate(self.members):
            mine = triangles[first == number]
            mine -= np.uint32(self.starts[number])
            member.indices = mine.reshape(-1)
        return list(zip(self.members, self.originals, strict=True))


def _joined(primitives: list[Primitive]) -> _Joined | None:
    """The mesh's primitives as one for the simplifier, when there are several and all can be: triangles, with
    float positions, and float normals on all of them or none, and vertex colours of one layout on all or none (the
    attributes the simplifier weighs)."""
    if len(primitives) < 2 or not all(_simplifiable(p) for p in primitives):
        return None
    normals = [p.attributes.get("NORMAL") for p in primitives]
    if len({n is None for n in normals}) > 1 or not all(n is None or (n.dtype.kind == "f" and n.shape[1:] == (3,))
                                                         for n in normals):
        return None
    if not all(p.attributes["POSITION"].dtype.kind == "f" for p in primitives):
        return None
    colours = [p.attributes.get("COLOR_0") for p in primitives]
    if len({None if c is None else (c.dtype, c.shape[1:]) for c in colours}) > 1:
        return None
    starts = np.cumsum([0] + [p.vertex_count for p in primitives])
    originals = [np.arange(p.vertex_count, dtype=np.uint32) if p.indices is None
                 else np.asarray(p.indices, dtype=np.uint32) for p in primitives]
    attributes = {"POSITION": _end_to_end([np.asarray(p.attributes["POSITION"], np.float32) for p in primitives])}
    if normals[0] is not None:
        attributes["NORMAL"] = _end_to_end([np.asarray(n, np.float32) for n in normals if n is not None])
    if colours[0] is not None:
        attributes["COLOR_0"] = _end_to_end([c for c in colours if c is not None])
    triangles = spatial_parts.PagedTriangles(tuple(originals), tuple(int(start) for start in starts[:-1]))
    # The stand-in's triangles stay the pages' own until the simplifier gathers them (see PagedTriangles).
    stand_in = Primitive(attributes=attributes, indices=cast(np.ndarray, triangles))
    return _Joined(stand_in, list(primitives), starts, originals)


def _end_to_end(arrays: list[np.ndarray]) -> np.ndarray:
    """The arrays one after another: a read-only view over them where each starts where the one before ends in
    one allocation (the OBJ reader lays out a file's materials so), else a copy (24 bytes a vertex that a
    10M-triangle scan's pages would add to the ladder's peak)."""
    first = arrays[0]
    root = _root(first)
    alike = all(a.flags.c_contiguous and a.dtype == first.dtype and a.shape[1:] == first.shape[1:]
                and _root(a) is root for a in arrays)
    adjacent = alike and all(after.ctypes.data == before.ctypes.data + before.nbytes
                             for before, after in zip(arrays, arrays[1:], strict=False))
    if not adjacent:
        return np.concatenate(arrays)
    return np.lib.stride_tricks.as_strided(first, (sum(len(a) for a in arrays), *first.shape[1:]), first.strides,
                                           writeable=False)


def _root(array: np.ndarray) -> object:
    """The object that owns an array's memory, through any chain of views."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array.base if array.base is not None else array


def _source(_: Primitive, original: np.ndarray) -> np.ndarray:
    return original


def _current(primitive: Primitive, original: np.ndarray) -> np.ndarray:
    return primitive.indices if primitive.indices is not None else original


def _apply(primitive: Primitive, result: tuple[np.ndarray, float]) -> float:
    """Give the primitive the indices of a `_simplified` result; returns its error."""
    primitive.indices, error = result
    return error


def _simplified(primitive: Primitive, indices: np.ndarray, target_index_count: int, max_error_metres: float,
                lock_border: bool) -> tuple[np.ndarray, float]:
    """One primitive simplified from `indices`, left as it is: (the new indices, the error made in the model's
    metres). Reads only, so two may run at once on one primitive."""
    positions = np.asarray(primitive.attributes["POSITION"], dtype=np.float32)
    scale = meshopt.simplify_scale(positions) or 1.0
    relative = 1.0 if max_error_metres == float("inf") else max_error_metres / ERROR_FACTOR / scale
    normals = primitive.attributes.get("NORMAL")
    use_normals = normals is not None and normals.dtype.kind == "f" and normals.shape[1:] == (3,)
    weight = NORMAL_WEIGHT
    if not use_normals and SHAPE_WEIGHT and len(indices) <= 3 * SHAPE_TRIANGLES:
        normals = surface_fit.normals_of(positions, indices)
        use_normals, weight = True, SHAPE_WEIGHT
    attributes, weights = _weighed_attributes(primitive, normals if use_normals else None, weight)
    if spatial_parts.part_count(len(indices) // 3) > 1:
        simplified, error = spatial_parts.simplify(positions, indices, target_index_count, relative * scale,
                                                   attributes, weights)
    else:
        result = meshopt.simplify(positions, indices, target_index_count, relative, lock_border=lock_border,
                                  attributes=attributes, attribute_weights=weights)
        simplified, error = result.indices, result.relative_error * scale
    if len(simplified) == 0:
        return np.asarray(indices, dtype=np.uint32), 0.0
    return simplified, ERROR_FACTOR * error


COLOUR_ROWS = 1 << 16  # vertices whose colours are encoded at a time: the encoding's scratch stays a few MB


def _weighed_attributes(primitive: Primitive, normals: np.ndarray | None,
                        normal_weight: float) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(the attributes the simplifier weighs, one row per vertex, and their weights): the normals (as they are,
    without a copy, when they are all), then the vertex colours as RGB times alpha (a transparent vertex's colour
    hardly shows), sRGB-encoded, so that a step counts as the eye sees it. (None, None) for neither."""
    colours = primitive.attributes.get("COLOR_0")
    if colours is None:
        if normals is None:
            return None, None
        return np.asarray(normals, dtype=np.float32), np.full(3, normal_weight, dtype=np.float32)
    first = 0 if normals is None else 3
    attributes = np.empty((len(colours), first + 3), dtype=np.float32)
    if normals is not None:
        attributes[:, :3] = normals
    values = np.asarray(colours)
    scale = np.float32(np.iinfo(values.dtype).max) if values.dtype.kind in "iu" else np.float32(1)
    for start in range(0, len(values), COLOUR_ROWS):
        rows = values[start:start + COLOUR_ROWS]
        rgb = rows[:, :3].astype(np.float32) / scale
        if rows.shape[1] == 4:
            rgb *= rows[:, 3:4] / scale
        attributes[start:start + COLOUR_ROWS, first:] = linear_to_srgb(rgb)
    weights = np.array([normal_weight] * first + [COLOUR_WEIGHT] * 3, dtype=np.float32)
    return attributes, weights


def _write_level(final: Scene, settings: LevelSettings, tools: LadderTools, offset: tuple[float, float, float],
                 error: float) -> Level:
    """The level's GLB and costs, from a copy of its scene (made by the caller, so that the scene may change or be
    let go while this runs in a writer thread)."""
    if settings.max_texture is not None and tools.derive_textures is not None:
        tools.derive_textures(final)
    tools.encode_textures(final)
    wrapped = Scene(name=PLACEHOLDER, animations=final.animations, nodes=[
        Node(name=PLACEHOLDER, keep=True, children=[
            Node(name=PLACEHOLDER + MODEL_SUFFIX, keep=True, translation=offset, children=final.nodes)])])
    # A simplified level of at most SHAPE_TRIANGLES (the bound the surface fit keeps too) is quantized to its
    # surface; for a bigger one the cost (about 0.1 s per million vertices) would fall on a big scan's writer thread.
    simplified = error > 0 and sum(p.triangle_count for m in final.meshes() for p in m.primitives) <= SHAPE_TRIANGLES
    finish = tools.finish_simplified if simplified and tools.finish_simplified is not None else tools.finish
    finished = finish(wrapped)
    usage = budgets.measure(finished)
    used = list(usage.textures.values())
    sizes = [budgets.image_size(t) for t in used]
    return Level(name=settings.name, data=tools.write(finished), triangles=usage.triangles,
                 draw_calls=usage.draw_calls, texels=sum(w * h for w, h in sizes),
                 gpu_bytes=usage.texture_bytes_gpu, max_texture=max((max(s) for s in sizes), default=0),
                 error_relative=round(error, 8))


def plain_level_body(scene: Scene, name: str, tools: LadderTools, offset: tuple[float, float, float]) -> bytes:
    """Level `name`'s scene written as the ladder writes it, but with its textures as they were fitted and derived
    (PNG or JPEG): the body the AR package is made from when the levels themselves carry WebP or KTX2."""
    plain = dataclasses.replace(tools, encode_textures=lambda _: None)
    settings = next(settings for settings in LEVELS if settings.name == name)
    return _write_level(_copy(scene), dataclasses.replace(settings, name="ar"), plain, offset, 0.0).data


def _within_bytes(parent: Scene, current: Scene, level: Level, settings: LevelSettings, tools: LadderTools,
                  offset: tuple[float, float, float], diagonal: float,
                  parent_error: float) -> tuple[Scene, Level]:
    """Shrink a capped level (the thumb) until its GLB fits max_bytes: lossy WebP textures first, then fewer
    triangles, aimed from the bytes each triangle costs in the attempt before."""
    assert settings.max_bytes is not None
    compact = False
    side = settings.max_texture
    cap = level.triangles
    for _ in range(12):
        if len(level.data) <= settings.max_bytes or (cap <= 16 and (side or 0) <= 16):
            break
        texture_bytes = sum(len(t.data) for t in budgets.measure(current).textures.values())
        geometry = max(1, len(level.data) - texture_bytes)
        if not compact:
            compact = True  # lossy WebP first: it costs no geometry
        elif side is not None and side > 16 and texture_bytes >= geometry:
            side //= 2
        else:
            share = max(0.25, (settings.max_bytes - min(texture_bytes, settings.max_bytes // 2)) / geometry)
            cap = max(16, int(cap * min(share, 0.9) * 0.9))
        current, error = _next_rung(parent, settings, tools, diagonal, cap=cap, texture_side=side)
        _webp_textures(current)
        level = _write_level(_copy(current), settings, tools, offset, error + parent_error)
    return current, level


def _webp_textures(scene: Scene) -> None:
    """Lossy WebP for the level's PNG and JPEG textures (a thumb's pictures are small, its bytes are not)."""
    from pipeline.scene import texture_refs

    done: dict[int, Texture] = {}
    for mesh in scene.meshes():
        for primitive in mesh.primitives:
            for material in primitive.materials:
                for ref in texture_refs(material):
                    texture = ref.texture
                    if texture.mime_type not in ("image/png", "image/jpeg"):
                        continue
                    if id(texture) not in done:
                        done[id(texture)] = dataclasses.replace(
                            texture, data=images.webp(texture.data, lossless=False), mime_type="image/webp")
                    ref.texture = done[id(texture)]


# ---- the artifact grafted onto a cached body ------------------------------------------------------------------


def glb_json(data: bytes) -> tuple[dict[str, Any], bytes]:
    """(the JSON chunk parsed, the BIN chunk's bytes) of a GLB."""
    text, binary = container.split(data)
    return json.loads(text.decode("utf-8")), binary or b""


def glb_bytes(document: dict[str, Any], binary: bytes) -> bytes:
    """A GLB from its JSON document and BIN chunk."""
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
    return container.pack(text, binary)


def placed(body: bytes, header: bytes, artifact_id: str) -> bytes:
    """A cached level body with the artifact's own node grafted on: `header` is a GLB of that one node (placement,
    extras, XMP record) as the writer wrote it; the body's placeholder root takes its place and keeps its child."""
    document, binary = glb_json(body)
    head, _ = glb_json(header)
    node = dict(head["nodes"][head["scenes"][0]["nodes"][0]])
    packets = head.get("extensions", {}).get("KHR_xmp_json_ld", {}).get("packets", [])
    if packets:
        ours = document.setdefault("extensions", {}).setdefault("KHR_xmp_json_ld", {}).setdefault("packets", [])
        node["extensions"]["KHR_xmp_json_ld"] = {"packet": len(ours) + node["extensions"]["KHR_xmp_json_ld"]["packet"]}
        ours.extend(packets)
        used = document.setdefault("extensionsUsed", [])
        if "KHR_xmp_json_ld" not in used:
            used.append("KHR_xmp_json_ld")
    taken = {n.get("name") for n in document.get("nodes", [])}
    for index, existing in enumerate(document.get("nodes", [])):
        if existing.get("name") == artifact_id:
            # A model's own node named like its artifact (an OBJ object "cube"): exactly one node carries the id.
            candidate = f"{artifact_id}_part"
            while candidate in taken:
                candidate += "_"
            taken.add(candidate)
            existing["name"] = candidate
        if existing.get("name") == PLACEHOLDER:
            document["nodes"][index] = {**node, "children": existing.get("children", [])}
        elif existing.get("name") == PLACEHOLDER + MODEL_SUFFIX:
            existing["name"] = artifact_id + MODEL_SUFFIX
    for animation in document.get("animations", []):
        name = animation.get("name")
        if isinstance(name, str):
            animation["name"] = f"{artifact_id}/{name}" if name else artifact_id
    for scene in document.get("scenes", []):
        # Unnamed: three.js names nodes uniquely per file, so a scene named like the artifact would rename its node.
        scene.pop("name", None)
    if "copyright" in head.get("asset", {}):
        document.setdefault("asset", {})["copyright"] = head["asset"]["copyright"]
    return glb_bytes(document, binary)


def level_scene(body: bytes) -> Scene:
    """A level's GLB body read back as a scene, as a viewer decodes it (quantized attributes stay as stored, with the
    node and texture transforms that map them back)."""
    from pipeline.gltf.reader import read_gltf

    with tempfile.TemporaryDirectory(prefix="vitrina-level-") as folder:
        path = Path(folder) / "level.glb"
        path.write_bytes(body)
        return read_gltf(path, Path(folder))


def ladder_info(ladder: Ladder) -> dict[str, Any]:
    """The ladder without its GLB bytes, as JSON for the cache."""
    return {"diagonal": ladder.diagonal, "levels": [level.info() for level in ladder.levels]}


def ladder_from(info: dict[str, Any], datas: list[bytes]) -> Ladder:
    return Ladder(levels=[Level.from_info(i, d) for i, d in zip(info["levels"], datas, strict=True)],
                  diagonal=float(info["diagonal"]))


def settings_repr(levels: tuple[LevelSettings, ...] = LEVELS) -> str:
    """The level settings as they enter a cache key."""
    return repr([dataclasses.astuple(level) for level in levels])
