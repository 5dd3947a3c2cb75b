"""Quantize: KHR_mesh_quantization with gltfpack's defaults (positions 14 bits, UVs 12, normals 8, colours 8)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipeline import progress
from pipeline.scene import (
    Material,
    Mesh,
    Node,
    Primitive,
    Scene,
    TextureRef,
    node_matrix,
    quaternion_matrix,
    texture_refs,
)
from pipeline.transforms.common import dynamic_nodes, triangle_indices

GRIDS = ("region", "mesh", "scene")


@dataclass(frozen=True)
class Quantize:
    """Store vertex attributes as small integers, as gltfpack does.

    * POSITION → uint16 (unnormalized) on a uniform grid; the dequantization (offset and scale) goes on the node
      that draws the mesh: folded into a plain leaf node's TRS, onto a new child node when the node is named by
      the spec, animated or has children (so its own TRS keeps its meaning), or into EXT_mesh_gpu_instancing
      transforms. Skinned and morphed meshes keep float positions.
    * NORMAL, TANGENT → int8 normalized; TEXCOORD_n → uint16 normalized in the material's UV box, with the box
      put in KHR_texture_transform; COLOR_n → uint8 (or uint16) normalized.
    `grid` picks the step: "region" (default) uses one world-space step per region, the scene root or a node the
    spec names (an artifact), from the largest side of the region's world box, so each artifact is as precise as
    gltfpack makes a whole file and a small coin is not quantized on the room's grid; "mesh" fits each mesh's own
    box (finest, larger);
    "scene" uses one step in mesh units for every mesh, exactly like gltfpack.
    """

    position_bits: int = 14
    texcoord_bits: int = 12
    normal_bits: int = 8
    color_bits: int = 8
    grid: str = "region"

    def __post_init__(self) -> None:
        if self.grid not in GRIDS:
            raise ValueError(f"grid must be one of {GRIDS}, got {self.grid!r}")
        if not 1 <= self.position_bits <= 16 or not 1 <= self.texcoord_bits <= 16:
            raise ValueError("position and texcoord bits must be between 1 and 16")
        if not 2 <= self.normal_bits <= 8 or not 1 <= self.color_bits <= 16:
            raise ValueError("normal bits must be 2..8 and colour bits 1..16")

    def __call__(self, scene: Scene) -> Scene:
        primitives = [p for m in scene.meshes() for p in m.primitives]
        _quantize_texcoords(primitives, self.texcoord_bits)
        for primitive in {id(p): p for p in primitives}.values():
            _quantize_directions(primitive, self.normal_bits)
            _quantize_colors(primitive, self.color_bits)
        _quantize_positions(scene, self.position_bits, self.grid)
        return scene


# ---- positions -----------------------------------------------------------------------------------------------


def _position_box(mesh: Mesh) -> tuple[np.ndarray, np.ndarray]:
    # Per primitive, in the stored type (exact for min and max): no float64 copy of a scan's positions.
    lows = [np.asarray(p.attributes["POSITION"]).min(axis=0) for p in mesh.primitives]
    highs = [np.asarray(p.attributes["POSITION"]).max(axis=0) for p in mesh.primitives]
    return np.min(lows, axis=0).astype(np.float64), np.max(highs, axis=0).astype(np.float64)


def _mesh_uses(scene: Scene) -> list[tuple[int, int, float, np.ndarray | None]]:
    """(id(mesh), region, stretch, world) per drawing node: its region (nearest `keep` ancestor, 0 for the scene
    root), the largest factor its world transform (and instances) scale the mesh by, and the world matrix (None for
    instanced nodes, whose copies the region box does not follow)."""
    uses: list[tuple[int, int, float, np.ndarray | None]] = []

    def walk(node: Node, parent: np.ndarray, region: int) -> None:
        world = parent @ node_matrix(node)
        region = id(node) if node.keep else region
        if node.mesh is not None:
            stretch = float(np.linalg.norm(world[:3, :3], axis=0).max())
            if node.instances is not None and "SCALE" in node.instances:
                stretch *= float(np.abs(node.instances["SCALE"]).max())
            uses.append((id(node.mesh), region, stretch, None if node.instances is not None else world))
        for child in node.children:
            walk(child, world, region)

    for root in scene.nodes:
        walk(root, np.eye(4), 0)
    return uses


def _grid_steps(scene: Scene, eligible: list[Mesh], boxes: dict[int, tuple[np.ndarray, np.ndarray]], bits: int,
                grid: str) -> tuple[dict[int, float], dict[int, np.ndarray]]:
    """The quantization step of each mesh, in its own units, and for a mesh drawn once by a node whose world
    transform only scales, swaps and flips axes, a point of the world grid gltfpack would use, in mesh units."""
    levels = (1 << bits) - 1
    extents = {key: float((high - low).max()) for key, (low, high) in boxes.items()}
    if grid == "mesh":
        return {id(m): extents[id(m)] / levels for m in eligible}, {}
    if grid == "scene":
        largest = max(extents.values())
        return {id(m): largest / levels for m in eligible}, {}
    # "region": one world-space step per region, its largest world extent (the box of its meshes, as gltfpack
    # takes the whole file's box; at least the largest mesh's) over the levels; a mesh never gets finer than its
    # own box allows (bits is the most any mesh uses).
    uses = [use for use in _mesh_uses(scene) if use[0] in extents]
    region_extent: dict[int, float] = {}
    region_box: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for key, region, stretch, world in uses:
        region_extent[region] = max(region_extent.get(region, 0.0), extents[key] * stretch)
        if world is not None:
            low, high = boxes[key]
            corners = np.array([[x, y, z, 1.0] for x in (low[0], high[0]) for y in (low[1], high[1])
                                for z in (low[2], high[2])]) @ world.T
            box = region_box.get(region, (corners[:, :3].min(axis=0), corners[:, :3].max(axis=0)))
            region_box[region] = (np.minimum(box[0], corners[:, :3].min(axis=0)),
                                  np.maximum(box[1], corners[:, :3].max(axis=0)))
    for region, (low, high) in region_box.items():
        region_extent[region] = max(region_extent[region], float((high - low).max()))
    steps: dict[int, float] = {}
    for key, region, stretch, _ in uses:
        own = extents[key] / levels
        step = max(own, region_extent[region] / levels / stretch) if stretch > 0 else own
        steps[key] = min(steps.get(key, step), step)
    return steps, _world_grid_anchors(uses, region_box)


def _world_grid_anchors(uses: list[tuple[int, int, float, np.ndarray | None]],
                        region_box: dict[int, tuple[np.ndarray, np.ndarray]]) -> dict[int, np.ndarray]:
    """For each mesh drawn by one node whose world matrix is a scaled signed permutation, its region's world box
    corner (gltfpack's grid origin) in mesh units: then the unshifted grid is the very grid gltfpack would use."""
    count: dict[int, int] = {}
    for key, *_ in uses:
        count[key] = count.get(key, 0) + 1
    anchors: dict[int, np.ndarray] = {}
    for key, region, _, world in uses:
        if world is None or count[key] != 1 or region not in region_box:
            continue
        linear = world[:3, :3]
        scale = float(np.abs(linear).max(axis=0).max())
        if scale <= 0 or not np.allclose(np.sort(np.abs(linear), axis=0)[:2], 0.0, atol=1e-9 * scale):
            continue
        if not np.allclose(np.abs(linear).max(axis=0), scale, rtol=1e-6):
            continue
        anchors[key] = np.linalg.solve(linear, region_box[region][0] - world[:3, 3])
    return anchors


GRID_PHASES = 8
# A shift is kept only if it is no worse in the worst and the RMS offset and cuts one of them by this share;
# smaller gains are noise, and a shifted grid may cost one more level.
MIN_PHASE_GAIN = 0.01
PHASE_CANDIDATES = 4  # phases the estimate ranks best that are then measured exactly
PHASE_CHUNK = 65536  # triangle corners per block, to bound memory on big scans
# The grid search measures every triangle of a mesh up to GRID_WHOLE_TRIANGLES (every mesh of the compiler
# benchmark's corpus, so its figures stay exact) and a seeded sample of GRID_SAMPLE_TRIANGLES of a bigger one.
# The phases are ranked on sums over ~200k corners, whose relative noise (~0.3 %) is well under MIN_PHASE_GAIN,
# so a sample ranks them as the whole surface does, and a 10M-triangle scan's search takes under a second
# instead of minutes.
GRID_WHOLE_TRIANGLES = 300_000
GRID_SAMPLE_TRIANGLES = 65_536


def _surface_of(mesh: Mesh, sample: int | None = None, whole: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(positions, non-degenerate triangles over them) of all the mesh's primitives.

    With `sample`, a mesh of more than `whole` (default: `sample`) triangles keeps only `sample` of them, picked
    at random with a seed fixed by the count (the same mesh always gives the same sample), and only the vertices
    they use: the grid search then costs the same for a 10M-triangle scan as for a small one, and its memory
    stays a few tens of MB."""
    counts = [len(triangle_indices(p)) // 3 if p.mode in (4, 5, 6) else 0 for p in mesh.primitives]
    total = sum(counts)
    picks: np.ndarray | None = None
    if sample is not None and total > max(sample, whole or 0):
        picks = np.sort(np.random.default_rng(total).choice(total, size=sample, replace=False))
    positions, triangles, base, first = [], [], 0, 0
    for primitive, count in zip(mesh.primitives, counts, strict=True):
        points = np.asarray(primitive.attributes["POSITION"])
        if count:
            found = triangle_indices(primitive)[:count * 3].reshape(-1, 3)
            if picks is not None:
                chosen = picks[(picks >= first) & (picks < first + count)] - first
                used, found = np.unique(found[chosen], return_inverse=True)
                found, points = found.reshape(-1, 3), points[used]
            found = found.astype(np.int64)
            points = points.astype(np.float64)
            corners = points[found]
            area = np.linalg.norm(np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]), axis=1)
            triangles.append(found[area > 0] + base)
        elif picks is not None:
            points = points[:0]  # points and lines of a sampled mesh have no surface to measure
        first += count
        positions.append(points.astype(np.float64))
        base += len(points)
    return np.concatenate(positions), (np.concatenate(triangles) if triangles else np.zeros((0, 3), np.int64))


def _closest_on_triangles(p: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Distance from each point p[i] to triangle (a[i], b[i], c[i]) (Ericson, Real-Time Collision Detection 5.1.5)."""
    def dot(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        return np.einsum("ij,ij->i", u, v)

    ab, ac, ap, bp, cp = b - a, c - a, p - a, p - b, p - c
    d1, d2, d3, d4, d5, d6 = dot(ab, ap), dot(ac, ap), dot(ab, bp), dot(ac, bp), dot(ab, cp), dot(ac, cp)
    va, vb, vc = d3 * d6 - d5 * d4, d5 * d2 - d1 * d6, d1 * d4 - d3 * d2
    with np.errstate(divide="ignore", invalid="ignore"):
        total = va + vb + vc
        closest = a + ab * (vb / total)[:, None] + ac * (vc / total)[:, None]
        # Voronoi regions of the edges and corners, the earlier test winning: so assign them in reverse.
        w_bc = (d4 - d3) / ((d4 - d3) + (d5 - d6))
        closest = np.where(((va <= 0) & (d4 - d3 >= 0) & (d5 - d6 >= 0))[:, None], b + (c - b) * w_bc[:, None], closest)
        closest = np.where(((vb <= 0) & (d2 >= 0) & (d6 <= 0))[:, None], a + ac * (d2 / (d2 - d6))[:, None], closest)
        closest = np.where(((d6 >= 0) & (d5 <= d6))[:, None], c, closest)
        closest = np.where(((vc <= 0) & (d1 >= 0) & (d3 <= 0))[:, None], a + ab * (d1 / (d1 - d3))[:, None], closest)
    closest = np.where(((d3 >= 0) & (d4 <= d3))[:, None], b, closest)
    closest = np.where(((d1 <= 0) & (d2 <= 0))[:, None], a, closest)
    distance = np.linalg.norm(p - closest, axis=1)
    flat = ~np.isfinite(distance)  # a triangle that rounding collapsed to a segment or a point: its edges
    if flat.any():
        p, a, b, c = p[flat], a[flat], b[flat], c[flat]
        distance[flat] = np.min([_to_segments(p, a, b), _to_segments(p, b, c), _to_segments(p, c, a)], axis=0)
    return distance


def _to_segments(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance from each p[i] to the segment a[i]–b[i] (a point when they coincide)."""
    ab = b - a
    length = np.einsum("ij,ij->i", ab, ab)
    t = np.clip(np.einsum("ij,ij->i", p - a, ab) / np.where(length > 0, length, 1.0), 0.0, 1.0)
    return np.linalg.norm(p - (a + ab * t[:, None]), axis=1)


def _grid_errors(positions: np.ndarray, triangles: np.ndarray, origins: list[np.ndarray],
                 step: float) -> list[tuple[float, float]]:
    """Per grid origin, (largest, sum of squares) of how far the quantized surface moves, measured at vertices,
    both ways: each rounded vertex to the source triangles at it, and each source vertex to the rounded triangles
    at it.

    A quantized surface is farthest from the source at a vertex (the offset is linear across a triangle), so this
    is its Hausdorff distance over the vertices' neighbourhoods."""
    rounded = [np.round((positions - origin) / step) * step + origin for origin in origins]
    nearest = np.full((len(origins), 2, len(positions)), np.inf)
    for begin in range(0, len(triangles), PHASE_CHUNK // 3):
        block = triangles[begin:begin + PHASE_CHUNK // 3]
        vertex = block.reshape(-1)
        corner_triangle = np.repeat(block, 3, axis=0)
        source = [positions[corner_triangle[:, k]] for k in range(3)]
        for index, moved in enumerate(rounded):
            np.minimum.at(nearest[index, 0], vertex, _closest_on_triangles(moved[vertex], *source))
            shifted = [moved[corner_triangle[:, k]] for k in range(3)]
            np.minimum.at(nearest[index, 1], vertex, _closest_on_triangles(positions[vertex], *shifted))
    used = np.isfinite(nearest[0, 0])
    return [(float(n[:, used].max()), float(np.square(n[:, used]).sum())) for n in nearest]


def _best_grid_origin(mesh: Mesh, low: np.ndarray, step: float, anchor: np.ndarray | None = None) -> np.ndarray:
    """The grid origin for the mesh: gltfpack's grid, or that grid shifted by a fraction of a step per axis where
    the shift brings the surface closer to the source without letting either error grow.

    Scanned and CAD data often sit on a grid of their own; a lucky phase halves the error, an unlucky one costs
    ~10 %, so eight phases per axis are estimated (from each vertex's rounding offset along the normals of the
    triangles at it), the best few measured exactly (`_grid_errors`), and a shift is kept only when it is no
    worse than the unshifted grid in both the largest and the RMS offset. A shift may use one more level than the
    bits say (uint16 holds it). A mesh bigger than GRID_WHOLE_TRIANGLES is judged on a seeded sample of its
    triangles. `anchor` is a point of gltfpack's world grid in mesh units, when a node only
    scales, swaps or flips the mesh's axes; otherwise gltfpack's grid starts at the mesh's box corner, `low`.
    """
    base = low if anchor is None else anchor + np.floor((low - anchor) / step + 1e-9) * step
    positions, triangles = _surface_of(mesh, GRID_SAMPLE_TRIANGLES, GRID_WHOLE_TRIANGLES)
    if not len(triangles):
        return base  # points and lines: no surface to keep close, keep gltfpack's grid
    corner_vertices = triangles.reshape(-1)
    corner_normals = np.cross(positions[triangles[:, 1]] - positions[triangles[:, 0]],
                              positions[triangles[:, 2]] - positions[triangles[:, 0]])
    corner_normals = np.repeat(corner_normals / np.linalg.norm(corner_normals, axis=1, keepdims=True), 3, axis=0)
    phases = np.arange(GRID_PHASES) / GRID_PHASES

    def offsets(chosen: slice | np.ndarray) -> list[np.ndarray]:
        """Per axis, (corners, phase): the part of the rounding offset along the triangle's normal."""
        scaled = (positions[corner_vertices[chosen]] - base) / step
        normal = corner_normals[chosen]
        return [normal[:, axis, None] * (np.round(scaled[:, axis, None] + phases) - scaled[:, axis, None] - phases)
                for axis in range(3)]

    # The estimate's sum of squares of x + y + z for all 8³ phases, from per-axis sums and cross products.
    squares = np.zeros((3, GRID_PHASES))
    cross = np.zeros((3, GRID_PHASES, GRID_PHASES))
    bound = np.empty(len(corner_vertices))
    for begin in range(0, len(corner_vertices), PHASE_CHUNK):
        x, y, z = offsets(slice(begin, begin + PHASE_CHUNK))
        squares += [np.square(x).sum(axis=0), np.square(y).sum(axis=0), np.square(z).sum(axis=0)]
        cross += [x.T @ y, x.T @ z, y.T @ z]
        bound[begin:begin + PHASE_CHUNK] = np.abs(x).max(axis=1) + np.abs(y).max(axis=1) + np.abs(z).max(axis=1)
    squared = (squares[0][:, None, None] + squares[1][None, :, None] + squares[2][None, None, :]
               + 2 * (cross[0][:, :, None] + cross[1][:, None, :] + cross[2][None, :, :]))
    # The estimate's largest offset per phase, over the corners whose offset can be largest (an estimate: the
    # candidates are measured exactly below).
    x, y, z = offsets(np.argsort(bound)[::-1][:PHASE_CHUNK // 16])
    largest = np.stack([np.abs(x[:, k, None, None] + y[:, :, None] + z[:, None, :]).max(axis=0)
                        for k in range(GRID_PHASES)])
    if largest[0, 0, 0] <= 0 or squared[0, 0, 0] <= 0:
        return base
    score = np.maximum(largest / largest[0, 0, 0], np.sqrt(np.maximum(squared, 0) / squared[0, 0, 0]))
    # Measured exactly: the unshifted grid and the few shifts the estimate ranks best, if it expects them to gain.
    ranked = [np.unravel_index(k, score.shape) for k in np.argsort(score, axis=None)[:PHASE_CANDIDATES + 1]]
    shifts = [shift for shift in ranked if shift != (0, 0, 0) and score[shift] < 1][:PHASE_CANDIDATES]
    if not shifts:
        return base
    origins = [base - step * np.asarray(shift, dtype=np.float64) / GRID_PHASES for shift in shifts]
    (worst, total), *measured = _grid_errors(positions, triangles, [base, *origins], step)
    if worst <= 0 or total <= 0:
        return base
    best, best_score = base, 1.0
    for origin, (candidate_worst, candidate_total) in zip(origins, measured, strict=True):
        ratios = (candidate_worst / worst, float(np.sqrt(candidate_total / total)))
        # Never worse on either, better by MIN_PHASE_GAIN on one; the best of those on the lesser gain.
        if max(ratios) <= best_score and min(ratios) <= 1 - MIN_PHASE_GAIN:
            best, best_score = origin, max(ratios)
    return best


# Where the build keeps grid choices between builds: store(key, compute) returns compute()'s bytes, or the bytes
# it returned for that key before. A room is composed anew on every build, but its meshes rarely change.
_GRID_STORE: ContextVar[Callable[[str, Callable[[], bytes]], bytes] | None] = ContextVar("grid_store", default=None)


@contextmanager
def remembered_grids(store: Callable[[str, Callable[[], bytes]], bytes]) -> Iterator[None]:
    """Within this block, Quantize looks up each mesh's grid origin in `store` before searching for it."""
    token = _GRID_STORE.set(store)
    try:
        yield
    finally:
        _GRID_STORE.reset(token)


def _grid_origin(mesh: Mesh, low: np.ndarray, step: float, anchor: np.ndarray | None) -> np.ndarray:
    store = _GRID_STORE.get()
    if store is None:
        return _best_grid_origin(mesh, low, step, anchor)
    digest = hashlib.sha256()
    for primitive in mesh.primitives:
        positions = np.ascontiguousarray(primitive.attributes["POSITION"])
        # The stored type's bytes, not a float64 copy: a 10M-triangle scan would need another 120 MB for it.
        digest.update(positions.dtype.str.encode())
        digest.update(positions.data)
        digest.update(np.ascontiguousarray(triangle_indices(primitive)).data)
        digest.update(bytes([primitive.mode]))
        digest.update(b"|")
    digest.update(np.asarray([*low, step, *(anchor if anchor is not None else (np.nan,) * 3)]).tobytes())
    data = store(f"grid-{digest.hexdigest()}", lambda: _best_grid_origin(mesh, low, step, anchor).tobytes())
    if len(data) != 3 * 8:  # not an origin this code wrote: search again rather than trust it
        return _best_grid_origin(mesh, low, step, anchor)
    return np.frombuffer(data, dtype=np.float64).copy()


def _quantize_positions(scene: Scene, bits: int, grid: str) -> None:
    users: dict[int, list[Node]] = {}
    meshes: dict[int, Mesh] = {}
    for node in scene.all_nodes():
        if node.mesh is not None:
            users.setdefault(id(node.mesh), []).append(node)
            meshes[id(node.mesh)] = node.mesh
    eligible = [
        mesh for key, mesh in meshes.items()
        if mesh.primitives
        and all(p.attributes["POSITION"].dtype.kind == "f" and not p.targets and p.vertex_count for p in mesh.primitives)
        and not any(n.skin is not None for n in users[key])
    ]
    if not eligible:
        return
    boxes = {id(m): _position_box(m) for m in eligible}
    steps, anchors = _grid_steps(scene, eligible, boxes, bits, grid)
    dynamic = dynamic_nodes(scene)
    sizes = {id(mesh): sum(p.triangle_count for p in mesh.primitives) for mesh in eligible}
    total = sum(sizes.values())
    with progress.task(f"quantizing {progress.count(total)} triangles", total, total >= PROGRESS_TRIANGLES) as task:
        for mesh in eligible:
            step = steps[id(mesh)] or 1.0
            low = _grid_origin(mesh, boxes[id(mesh)][0], step, anchors.get(id(mesh)))
            for primitive in mesh.primitives:
                primitive.attributes["POSITION"] = _on_grid(primitive.attributes["POSITION"], low, step)
            for node in users[id(mesh)]:
                _attach_dequantization(node, low, step, dynamic)
            task.advance(sizes[id(mesh)])


PROGRESS_TRIANGLES = 1_000_000  # a scene this big takes seconds to quantize: say so while it does
QUANTIZE_CHUNK = 1 << 20  # vertices per block: float64 temporaries of a 10M-triangle scan stay at 24 MB each


def _on_grid(positions: np.ndarray, low: np.ndarray, step: float) -> np.ndarray:
    """uint16 grid coordinates of the positions, computed in float64 a block at a time."""
    stored = np.empty(positions.shape, dtype=np.uint16)
    for begin in range(0, len(positions), QUANTIZE_CHUNK):
        block = (np.asarray(positions[begin:begin + QUANTIZE_CHUNK], dtype=np.float64) - low) / step
        stored[begin:begin + QUANTIZE_CHUNK] = np.clip(np.round(block), 0, 65535)
    return stored


def _attach_dequantization(node: Node, offset: np.ndarray, step: float, dynamic: set[int]) -> None:
    """Make the node draw its (now integer) mesh at the same place: world = node · T(offset) · S(step)."""
    if node.instances is not None:
        # Instance matrices apply before the node's: fold the dequantization into each instance's TRS.
        translation = np.asarray(node.instances.get("TRANSLATION", np.zeros((1, 3))), dtype=np.float64)
        count = max(len(a) for a in node.instances.values())
        rotation = np.asarray(node.instances.get("ROTATION", np.tile([0, 0, 0, 1.0], (count, 1))), dtype=np.float64)
        scale = np.asarray(node.instances.get("SCALE", np.ones((count, 3))), dtype=np.float64)
        translation = np.broadcast_to(translation, (count, 3))
        moved = np.array([t + quaternion_matrix(r) @ (s * offset) for t, r, s in zip(translation, rotation, scale,
                                                                                      strict=False)])
        node.instances = {**node.instances, "TRANSLATION": moved.astype(np.float32),
                          "ROTATION": rotation.astype(np.float32), "SCALE": (scale * step).astype(np.float32)}
        return
    if not node.keep and not node.children and id(node) not in dynamic and node.light is None and node.camera is None:
        matrix = node_matrix(node)
        node.translation = tuple(float(v) for v in matrix[:3, :3] @ offset + matrix[:3, 3])  # type: ignore[assignment]
        node.scale = tuple(float(s) * step for s in node.scale)  # type: ignore[assignment]
        return
    child = Node(name=f"{node.name}.mesh" if node.name else "", mesh=node.mesh,
                 translation=tuple(float(v) for v in offset), scale=(step, step, step))  # type: ignore[arg-type]
    node.mesh = None
    node.children.append(child)


# ---- normals, tangents, colours -------------------------------------------------------------------------------


def _snorm8(values: np.ndarray, bits: int) -> np.ndarray:
    levels = (1 << (bits - 1)) - 1
    q = np.round(np.clip(values, -1.0, 1.0) * levels)
    return np.round(q * (127.0 / levels)).astype(np.int8)


def _quantize_directions(primitive: Primitive, bits: int) -> None:
    for name in ("NORMAL", "TANGENT"):
        values = primitive.attributes.get(name)
        if values is None or values.dtype.kind != "f" or primitive.targets:
            continue
        vectors = np.asarray(values, dtype=np.float64).copy()
        lengths = np.linalg.norm(vectors[:, :3], axis=1, keepdims=True)
        vectors[:, :3] /= np.where(lengths > 0, lengths, 1.0)
        if vectors.shape[1] == 4:
            vectors[:, 3] = np.where(vectors[:, 3] < 0, -1.0, 1.0)
        primitive.attributes[name] = _snorm8(vectors, bits)
        primitive.normalized.add(name)


def _quantize_colors(primitive: Primitive, bits: int) -> None:
    for name, values in list(primitive.attributes.items()):
        if not name.startswith("COLOR_") or values.dtype.kind != "f" or primitive.targets:
            continue
        levels = (1 << bits) - 1
        q = np.round(np.clip(values, 0.0, 1.0) * levels)
        if bits <= 8:
            stored = np.round(q * (255.0 / levels)).astype(np.uint8)
        else:
            stored = np.round(q * (65535.0 / levels)).astype(np.uint16)
        if stored.shape[1] == 3 and stored.dtype == np.uint8:
            # An RGB uint8 element is 3 bytes and vertex elements must be 4-aligned: store opaque RGBA instead.
            stored = np.concatenate([stored, np.full((len(stored), 1), 255, np.uint8)], axis=1)
        primitive.attributes[name] = stored
        primitive.normalized.add(name)


# ---- texture coordinates -----------------------------------------------------------------------------------


def _effective_set(ref: TextureRef) -> int:
    if ref.transform and "texCoord" in ref.transform:
        return int(ref.transform["texCoord"])
    return ref.texcoord


def _material_families(primitives: list[Primitive]) -> dict[int, int]:
    """id(material) → family id, where materials that can swap on one primitive (variants) share a family,
    so every texture that can read those UVs gets the same box."""
    parent: dict[int, int] = {}

    def find(key: int) -> int:
        while parent.setdefault(key, key) != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for primitive in primitives:
        keys = [id(m) for m in primitive.materials]
        for other in keys[1:]:
            parent[find(other)] = find(keys[0])
        for key in keys:
            find(key)
    return {key: find(key) for key in parent}


def _quantize_texcoords(primitives: list[Primitive], bits: int) -> None:
    """Per (material family, UV set): one box over every primitive using it, stored in each texture's transform.

    UV sets that no texture reads stay as they are (PruneAttributes drops them), since there is nowhere to put
    their box.
    """
    unique = list({id(p): p for p in primitives}.values())
    family_of = _material_families(unique)
    materials: dict[int, Material] = {id(m): m for p in unique for m in p.materials}
    groups: dict[tuple[int, str], list[Primitive]] = {}
    for primitive in unique:
        if primitive.material is None:
            continue
        for name in primitive.attributes:
            if name.startswith("TEXCOORD_"):
                groups.setdefault((family_of[id(primitive.material)], name), []).append(primitive)
    ref_uses: dict[int, int] = {}
    for material in materials.values():
        for ref in texture_refs(material):
            ref_uses[id(ref)] = ref_uses.get(id(ref), 0) + 1
    levels = (1 << bits) - 1
    for (family, name), members in groups.items():
        uv_set = int(name.split("_")[1])
        refs = [r for key, m in materials.items() if family_of[key] == family
                for r in texture_refs(m) if _effective_set(r) == uv_set]
        if not refs or any(ref_uses[id(r)] > 1 for r in refs):
            continue  # unread, or a texture reference shared with another family that would get two boxes
        if any(p.attributes[name].dtype.kind != "f" or p.targets for p in members):
            continue
        uvs = [np.asarray(p.attributes[name], dtype=np.float64) for p in members]
        low = np.min([u.min(axis=0) for u in uvs], axis=0)
        high = np.max([u.max(axis=0) for u in uvs], axis=0)
        span = np.where(high - low > 0, high - low, 1.0)
        for primitive, uv in zip(members, uvs, strict=True):
            q = np.round((uv - low) / span * levels)
            primitive.attributes[name] = np.clip(q, 0, levels).astype(np.uint16)
            primitive.normalized.add(name)
        # Decoded uv = q / 65535; the texture needs low + q / levels * span.
        for ref in refs:
            ref.transform = _compose_uv_box(ref.transform or {}, low, span * (65535.0 / levels))


def _compose_uv_box(old: dict[str, Any], low: np.ndarray, scale: np.ndarray) -> dict[str, Any]:
    """An existing KHR_texture_transform followed by uv = low + scale·q.

    The transform is T·R·S with R = [[c, s], [-s, c]]; T·R·S·T(low)·S(q) = T(o + R·(s⊙low))·R·S(s⊙q).
    """
    old_offset = np.asarray(old.get("offset", [0.0, 0.0]), dtype=np.float64)
    old_scale = np.asarray(old.get("scale", [1.0, 1.0]), dtype=np.float64)
    angle = float(old.get("rotation", 0.0))
    c, s = np.cos(angle), np.sin(angle)
    shifted = old_scale * low
    rotated = np.array([c * shifted[0] + s * shifted[1], -s * shifted[0] + c * shifted[1]])
    transform = {k: v for k, v in old.items() if k not in ("offset", "scale")}
    transform["offset"] = [float(v) for v in old_offset + rotated]
    transform["scale"] = [float(v) for v in old_scale * scale]
    return transform
