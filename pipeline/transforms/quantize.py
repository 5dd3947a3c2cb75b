"""Quantize: KHR_mesh_quantization with gltfpack's defaults (positions 14 bits, UVs 12, normals 8, colours 8)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipeline import meshopt, progress
from pipeline.columns import joint_range
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
    transformed_uvs,
)
from pipeline.transforms.common import TRIANGLES, dynamic_nodes

GRIDS = ("region", "mesh", "scene")
ROUNDINGS = ("nearest", "surface")


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
    `rounding` "nearest" takes each position to its nearest grid point, as gltfpack does; "surface" takes it to the
    one of the eight around it that lies nearest the surface through it (its offset along the surface normal), so
    the quantized surface stays closer to the float one, at the cost of moving vertices a little farther along it.
    Only for triangles many steps wide (a simplified level): a dense mesh could fold. Positions shared by several
    vertices (seams, the borders between primitives) round as one.
    """

    position_bits: int = 14
    texcoord_bits: int = 12
    normal_bits: int = 8
    color_bits: int = 8
    grid: str = "region"
    rounding: str = "nearest"

    def __post_init__(self) -> None:
        if self.grid not in GRIDS:
            raise ValueError(f"grid must be one of {GRIDS}, got {self.grid!r}")
        if self.rounding not in ROUNDINGS:
            raise ValueError(f"rounding must be one of {ROUNDINGS}, got {self.rounding!r}")
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
        _quantize_positions(scene, self.position_bits, self.grid, self.rounding == "surface")
        return scene


# ---- positions -----------------------------------------------------------------------------------------------


def _position_box(mesh: Mesh) -> tuple[np.ndarray, np.ndarray]:
    return joint_range(p.attributes["POSITION"] for p in mesh.primitives)


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


# A mesh's vertices count as lying on a lattice of the grid's step when their rounding phases on an axis agree this
# closely (the length of their mean unit phasor: 1 when all share one phase, ~1/sqrt(n) for scattered phases).
LATTICE_AGREEMENT = 0.9
LATTICE_SAMPLE = 65_536  # vertices, evenly spaced, that the phase is read from: ~2 ms whatever the mesh's size


def _grid_origin(mesh: Mesh, low: np.ndarray, step: float, anchor: np.ndarray | None) -> np.ndarray:
    """The grid origin for the mesh, in closed form: gltfpack's grid, shifted per axis onto the mesh's own lattice
    when its vertices sit on one of this very step (scanned and CAD data often do; then they come out exact).

    Any origin keeps every vertex within half a step per axis (step·√3/2 in all), so the choice never loosens the
    bound; the shift only removes the rounding of a mesh whose phases agree. `anchor` is a point of gltfpack's
    world grid in mesh units, when a node only scales, swaps or flips the mesh's axes; otherwise gltfpack's grid
    starts at the mesh's box corner, `low`."""
    base = low if anchor is None else anchor + np.floor((low - anchor) / step + 1e-9) * step
    return base + step * _lattice_phase(mesh, base, step)


def _lattice_phase(mesh: Mesh, base: np.ndarray, step: float) -> np.ndarray:
    """Per axis, the fraction of a step (-1/2..1/2) by which the mesh's vertices sit off the grid from `base`,
    where they agree on one (their circular mean phase), else 0."""
    total = sum(p.vertex_count for p in mesh.primitives)
    stride = max(1, -(-total // LATTICE_SAMPLE))
    phasors = np.zeros(3, dtype=np.complex128)
    counted = 0
    for primitive in mesh.primitives:
        points = np.asarray(primitive.attributes["POSITION"])[::stride]
        scaled = (np.asarray(points, dtype=np.float64) - base) / step
        phasors += np.exp(2j * np.pi * (scaled - np.round(scaled))).sum(axis=0)
        counted += len(points)
    if not counted:
        return np.zeros(3)
    mean = phasors / counted
    return np.where(np.abs(mean) >= LATTICE_AGREEMENT, np.angle(mean) / (2 * np.pi), 0.0)


def _quantize_positions(scene: Scene, bits: int, grid: str, to_surface: bool = False) -> None:
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
            surface = _surface_normals(mesh) if to_surface else None
            normals: list[np.ndarray | None] = list(surface) if surface else [None] * len(mesh.primitives)
            for primitive, primitive_normals in zip(mesh.primitives, normals, strict=True):
                primitive.attributes["POSITION"] = _on_grid(primitive.attributes["POSITION"], low, step,
                                                            primitive_normals)
            for node in users[id(mesh)]:
                _attach_dequantization(node, low, step, dynamic)
            task.advance(sizes[id(mesh)])


PROGRESS_TRIANGLES = 1_000_000  # a scene this big takes seconds to quantize: say so while it does
QUANTIZE_CHUNK = 1 << 20  # vertices per block: float64 temporaries of a 10M-triangle scan stay at 24 MB each
CORNER_CHUNK = 1 << 16  # vertices per block when rounding to the surface, which scores eight corners a vertex


def _on_grid(positions: np.ndarray, low: np.ndarray, step: float, normals: np.ndarray | None = None) -> np.ndarray:
    """uint16 grid coordinates of the positions, computed in float64 a block at a time: each the nearest grid
    point, or with `normals` (unit, per vertex) the grid point around it nearest the surface (see Quantize)."""
    stored = np.empty(positions.shape, dtype=np.uint16)
    for block, begin, end in _float64_blocks(positions):
        np.subtract(positions[begin:end], low, out=block)
        block /= step
        if normals is None:
            np.rint(block, out=block)
        else:
            for start in range(0, end - begin, CORNER_CHUNK):
                part = block[start:start + CORNER_CHUNK]
                part[...] = _surface_corner(part, normals[begin + start:begin + start + len(part)])
        stored[begin:end] = np.clip(block, 0, 65535, out=block)
    return stored


# The eight grid points around a position, as offsets from the one below it on every axis (corner i has bit k of i
# on axis k).
_CORNERS = np.array([[(corner >> axis) & 1 for axis in range(3)] for corner in range(8)], dtype=np.float64)
_CORNERS32 = _CORNERS.astype(np.float32)
_CORNER_BITS = np.array([1, 2, 4], dtype=np.intp)
# How much a corner's squared distance from the position counts beside its squared offset along the normal: a
# little, so that of two corners about as near the surface the nearer one wins.
ALONG_WEIGHT = 0.01


def _surface_corner(grid: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """Per position in grid units, the corner of its grid cell nearest the plane through it across `normals`.
    The choice is scored in float32 (it only picks among grid points; the grid points themselves stay exact)."""
    below = np.floor(grid)
    fraction = (grid - below).astype(np.float32)
    unit = normals.astype(np.float32)
    across = unit @ _CORNERS32.T - np.einsum("ni,ni->n", unit, fraction)[:, None]  # (n, 8) offsets along the normal
    along = np.square(fraction) @ (1 - _CORNERS32).T + np.square(1 - fraction) @ _CORNERS32.T  # squared distances
    score = np.square(across) + np.float32(ALONG_WEIGHT) * along
    best = np.argmin(score, axis=1)
    # Where the nearest grid point does as well (a tie, as on a face along the axes), it stays: "nearest" exactly.
    nearest = (np.rint(grid) - below).astype(np.intp) @ _CORNER_BITS
    rows = np.arange(len(grid))
    best = np.where(score[rows, best] < score[rows, nearest], best, nearest)
    return below + _CORNERS[best]


def _surface_normals(mesh: Mesh) -> list[np.ndarray] | None:
    """Per primitive, one normal per vertex, the same for every vertex at one position across the whole mesh (so
    seams and the borders between primitives round alike): the mean of their NORMALs where every primitive has
    them, else the surface's area-weighted normal. None unless every primitive is an indexed triangle list."""
    # Imported here: surface_fit loads pykdtree, and only a mesh without normals needs it.
    from pipeline.surface_fit import normals_of

    primitives = mesh.primitives
    if not all(p.mode == TRIANGLES and p.indices is not None and len(p.indices) for p in primitives):
        return None
    starts = np.cumsum([0] + [p.vertex_count for p in primitives])
    positions = np.concatenate([np.asarray(p.attributes["POSITION"], dtype=np.float32) for p in primitives])
    if all("NORMAL" in p.attributes for p in primitives):
        given = np.concatenate([_directions(p, "NORMAL") for p in primitives])
        remap, count = meshopt.generate_vertex_remap(np.ascontiguousarray(positions), None)
        summed = np.stack([np.bincount(remap, weights=given[:, axis], minlength=count) for axis in range(3)], 1)
        lengths = np.linalg.norm(summed, axis=1, keepdims=True)
        normals = (summed / np.where(lengths > 0, lengths, 1.0))[remap]
    else:
        indices = np.concatenate([np.asarray(p.indices, dtype=np.int64) + start
                                  for p, start in zip(primitives, starts, strict=False)])
        normals = normals_of(positions, indices).astype(np.float64)
    return [normals[begin:end] for begin, end in zip(starts[:-1], starts[1:], strict=True)]


def _directions(primitive: Primitive, name: str) -> np.ndarray:
    """A direction attribute as float64, whether still float or already int8 normalized (see Quantize.__call__)."""
    values = np.asarray(primitive.attributes[name])
    if values.dtype.kind == "f":
        return values[:, :3].astype(np.float64)
    return np.maximum(values[:, :3] / float(np.iinfo(values.dtype).max), -1.0)


def _float64_blocks(values: np.ndarray) -> Iterator[tuple[np.ndarray, int, int]]:
    """(a float64 work block of up to QUANTIZE_CHUNK rows, begin, end) over the rows of values. One block is
    reused, each step writing into it: at 2M positions the grid took 0.11 s with a temporary per step, 0.03 s so."""
    work = np.empty((min(QUANTIZE_CHUNK, len(values)), *values.shape[1:]), dtype=np.float64)
    for begin in range(0, len(values), QUANTIZE_CHUNK):
        end = min(begin + QUANTIZE_CHUNK, len(values))
        yield work[:end - begin], begin, end


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
    """int8 steps of float values in [-1, 1] at `bits` of precision; `values` (float64) is used as scratch."""
    levels = (1 << (bits - 1)) - 1
    np.clip(values, -1.0, 1.0, out=values)
    values *= levels
    np.rint(values, out=values)
    if levels != 127:
        values *= 127.0 / levels
        np.rint(values, out=values)
    return values.astype(np.int8)


def _quantize_directions(primitive: Primitive, bits: int) -> None:
    for name in ("NORMAL", "TANGENT"):
        values = primitive.attributes.get(name)
        if values is None or values.dtype.kind != "f" or primitive.targets:
            continue
        stored = np.empty(values.shape, dtype=np.int8)
        # float64 a block at a time: a whole 10M-triangle scan's normals would be 120 MB of temporaries
        for vectors, begin, end in _float64_blocks(values):
            vectors[...] = values[begin:end]
            lengths = np.linalg.norm(vectors[:, :3], axis=1, keepdims=True)
            vectors[:, :3] /= np.where(lengths > 0, lengths, 1.0)
            if vectors.shape[1] == 4:
                vectors[:, 3] = np.where(vectors[:, 3] < 0, -1.0, 1.0)
            stored[begin:end] = _snorm8(vectors, bits)
        primitive.attributes[name] = stored
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
        # The box from the stored type (exact for min and max), then float64 a block at a time, as for positions.
        low, high = joint_range(p.attributes[name] for p in members)
        span = np.where(high - low > 0, high - low, 1.0)
        for primitive in members:
            uv = primitive.attributes[name]
            stored = np.empty(uv.shape, dtype=np.uint16)
            for block, begin, end in _float64_blocks(uv):
                np.subtract(uv[begin:end], low, out=block)
                block /= span
                block *= levels
                np.rint(block, out=block)
                stored[begin:end] = np.clip(block, 0, levels, out=block)
            primitive.attributes[name] = stored
            primitive.normalized.add(name)
        # Decoded uv = q / 65535; the texture needs low + q / levels * span.
        for ref in refs:
            ref.transform = _compose_uv_box(ref.transform or {}, low, span * (65535.0 / levels))


def _compose_uv_box(old: dict[str, Any], low: np.ndarray, scale: np.ndarray) -> dict[str, Any]:
    """An existing KHR_texture_transform followed by uv = low + scale·q.

    The transform is T·R·S; T·R·S·T(low)·S(q) = T(o + R·(s⊙low))·R·S(s⊙q): the new offset is where the old
    transform takes `low`.
    """
    old_scale = np.asarray(old.get("scale", [1.0, 1.0]), dtype=np.float64)
    transform = {k: v for k, v in old.items() if k not in ("offset", "scale")}
    transform["offset"] = [float(v) for v in transformed_uvs(np.asarray(low)[None], old)[0]]
    transform["scale"] = [float(v) for v in old_scale * scale]
    return transform
