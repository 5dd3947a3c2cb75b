"""Bake: light each composed room at build time (ambient occlusion, soft direct light, one bounce) into a lightmap."""

from __future__ import annotations

import concurrent.futures
import copy
import dataclasses
import hashlib
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import images
from pipeline.cache import Remembered, code_version
from pipeline.colour import srgb_to_linear
from pipeline.errors import BuildError
from pipeline.scene import (
    Light,
    Material,
    Node,
    Primitive,
    Scene,
    Texture,
    TextureRef,
    instance_matrices,
    node_matrix,
    world_nodes,
)

# Nodes compose marks with extras["vitrina"]["lightmap"] get a lightmap: the room shell and the stands.
LIGHTMAP_MARK = "lightmap"
LIGHTMAP_SET = "TEXCOORD_1"
GUTTER = 2  # texels of edge colour around each chart, so bilinear filtering and mipmaps never bleed charts together
SURFACE_OFFSET = 2e-3  # metres a ray starts off its surface, so it does not hit the surface it leaves
LIGHT_RADIUS = 0.12  # metres: lights are small spheres, which is what makes their shadows soft
AO_DISTANCE = 1.2  # metres within which a surface darkens what it faces
AMBIENT = 1.4  # irradiance of the even fill at lighting.ambient = 1 (the viewer's sky light and environment)
CEILING_TEXELS = 2.0  # ceilings are baked with texels this many times larger
INDIRECT_STEP = 2  # indirect light is gathered on every 2nd texel in each direction and interpolated between
SEED = 20261206  # fixed, so the same room always bakes to the same bytes


@dataclass(frozen=True)
class BakeSettings:
    """How finely to bake: metres per lightmap texel, hemisphere rays per texel, shadow rays per light."""

    texel: float
    rays: int
    light_samples: int
    max_size: int
    bounce: bool = True


# Per device profile, like budgets: a headset's or phone's GLB carries a coarser lightmap, and fewer rays suffice
# for it. A build bakes once, at the finest setting among its targets (smaller targets get it downsized).
BAKE_PROFILES: dict[str, BakeSettings] = {
    "desktop": BakeSettings(texel=0.06, rays=16, light_samples=5, max_size=4096),
    "quest3": BakeSettings(texel=0.07, rays=16, light_samples=4, max_size=2048),
    "quest2": BakeSettings(texel=0.08, rays=16, light_samples=4, max_size=2048),
    "phone": BakeSettings(texel=0.08, rays=16, light_samples=4, max_size=2048),
}


def settings_for(targets: Iterable[str]) -> BakeSettings:
    """The finest bake any of these targets asks for (the smallest texel, the most rays, the largest atlas)."""
    chosen = [BAKE_PROFILES[t] for t in targets if t in BAKE_PROFILES] or [BAKE_PROFILES["desktop"]]
    return BakeSettings(texel=min(s.texel for s in chosen), rays=max(s.rays for s in chosen),
                        light_samples=max(s.light_samples for s in chosen), max_size=max(s.max_size for s in chosen))


# ---------------------------------------------------------------------------------------------- geometry


def _placements(node: Node, parent: np.ndarray) -> list[np.ndarray]:
    """World matrices of a node's mesh: one, or one per EXT_mesh_gpu_instancing instance."""
    world = parent @ node_matrix(node)
    return [world @ instance for instance in instance_matrices(node)]


def _float_positions(primitive: Primitive) -> np.ndarray:
    positions = np.asarray(primitive.attributes["POSITION"])
    if positions.dtype.kind in "iu" and "POSITION" in primitive.normalized:
        positions = positions / float(np.iinfo(positions.dtype).max)
    return positions.astype(np.float64)


def _triangles(primitive: Primitive) -> np.ndarray:
    if primitive.indices is not None:
        return np.asarray(primitive.indices, dtype=np.int64).reshape(-1, 3)
    return np.arange(primitive.vertex_count, dtype=np.int64).reshape(-1, 3)


def _is_marked(node: Node) -> bool:
    data = node.extras.get("vitrina")
    return isinstance(data, dict) and bool(data.get(LIGHTMAP_MARK))


def _casts_light_shadow(primitive: Primitive) -> bool:
    material = primitive.material
    return primitive.mode == 4 and not (material is not None and material.alpha_mode == "BLEND")


# ---------------------------------------------------------------------------------------------- charts


@dataclass
class Chart:
    """One quad of a baked primitive and its rectangle in the atlas (interior texels, without the gutter)."""

    primitive: int  # index into the room's baked primitives
    quad: int
    corner: np.ndarray
    u: np.ndarray
    v: np.ndarray
    normal: np.ndarray
    cols: int
    rows: int
    x: int = 0
    y: int = 0


def _quad_charts(index: int, primitive: Primitive, world: np.ndarray, texel: float) -> list[Chart] | None:
    """Charts for a primitive made of quads (4 vertices, triangles b,b+1,b+2 and b,b+2,b+3), or None otherwise."""
    positions = _float_positions(primitive)
    count = len(positions)
    if primitive.mode != 4 or count % 4 or primitive.indices is None:
        return None
    quads = count // 4
    base = np.arange(quads, dtype=np.int64)[:, None] * 4
    expected = (base + np.array([0, 1, 2, 0, 2, 3])).reshape(-1)
    if len(primitive.indices) != len(expected) or not np.array_equal(np.asarray(primitive.indices), expected):
        return None
    placed = (np.c_[positions, np.ones(count)] @ world.T)[:, :3].reshape(quads, 4, 3)
    u = placed[:, 1] - placed[:, 0]
    v = placed[:, 3] - placed[:, 0]
    if not np.allclose(placed[:, 2], placed[:, 0] + u + v, atol=1e-5):
        return None
    normals = np.cross(u, v)
    lengths = np.linalg.norm(normals, axis=1, keepdims=True)
    normals = normals / np.where(lengths > 0, lengths, 1.0)
    charts = []
    for q in range(quads):
        # A ceiling sees no artifact close up and gets only soft bounced light: half the resolution does.
        size = texel * CEILING_TEXELS if normals[q][1] < -0.9 else texel
        cols = max(1, math.ceil(float(np.linalg.norm(u[q])) / size))
        rows = max(1, math.ceil(float(np.linalg.norm(v[q])) / size))
        charts.append(Chart(index, q, placed[q, 0], u[q], v[q], normals[q], cols, rows))
    return charts


def _pack(charts: list[Chart], max_size: int) -> tuple[int, int]:
    """Shelf-pack the charts (tallest first) into a power-of-two atlas; returns (width, height) or (0, 0) if it
    does not fit in max_size."""
    area = sum((c.cols + 2 * GUTTER) * (c.rows + 2 * GUTTER) for c in charts)
    widest = max(c.cols + 2 * GUTTER for c in charts)
    width = 1 << max(4, math.ceil(math.log2(max(widest, math.sqrt(area * 1.15)))))
    while width <= max_size:
        x = y = shelf = 0
        for chart in sorted(charts, key=lambda c: (-(c.rows + 2 * GUTTER), -(c.cols + 2 * GUTTER), c.primitive, c.quad)):
            w, h = chart.cols + 2 * GUTTER, chart.rows + 2 * GUTTER
            if x + w > width:
                x, y, shelf = 0, y + shelf, 0
            chart.x, chart.y = x + GUTTER, y + GUTTER
            x += w
            shelf = max(shelf, h)
        used = y + shelf
        height = used + (-used % 4)  # whole 4×4 blocks, for KTX2; WebGL 2 needs no power of two
        if height <= max_size:
            return width, height
        width *= 2
    return 0, 0


def _layout(baked: list[tuple[Primitive, np.ndarray]], settings: BakeSettings) -> tuple[list[Chart], int, int, float]:
    """Charts and atlas size; the texel grows until the room fits the largest texture the targets allow."""
    texel = settings.texel
    for _ in range(12):
        charts: list[Chart] = []
        for index, (primitive, world) in enumerate(baked):
            found = _quad_charts(index, primitive, world, texel)
            if found is None:
                raise BuildError(f"cannot bake primitive of material '{primitive.material.name if primitive.material else ''}':"
                                 " only quad-built surfaces (walls, floors, stands) get lightmaps")
            charts.extend(found)
        if not charts:
            return [], 0, 0, texel
        width, height = _pack(charts, settings.max_size)
        if width:
            return charts, width, height, texel
        texel *= 1.25
    raise BuildError("the room's surfaces do not fit in a lightmap")


# ---------------------------------------------------------------------------------------------- rays


class RayScene:
    """The room's opaque triangles in world space, for occlusion and hit queries (Embree through embreex)."""

    def __init__(self, triangles: np.ndarray) -> None:
        try:
            from embreex import mesh_construction, rtcore_scene
        except ImportError:
            raise BuildError("baking light needs embreex: pip install embreex (or build with --no-bake)") from None
        self.triangles = triangles
        self._scene = rtcore_scene.EmbreeScene()
        if len(triangles):
            mesh_construction.TriangleMesh(self._scene, triangles.astype(np.float32))

    def hits(self, origins: np.ndarray, directions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(primitive id or -1, distance, barycentric (u, v)) of the first hit of each ray."""
        if not len(self.triangles) or not len(origins):
            n = len(origins)
            return np.full(n, -1), np.full(n, np.inf), np.zeros((n, 2))
        result = self._scene.run(origins.astype(np.float32), directions.astype(np.float32), output=1)
        ids = np.asarray(result["primID"])
        distance = np.where(ids >= 0, np.asarray(result["tfar"], dtype=np.float64), np.inf)
        return ids, distance, np.c_[result["u"], result["v"]].astype(np.float64)

    def blocked(self, origins: np.ndarray, directions: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """True where a ray hits something before its length."""
        ids, distance, _ = self.hits(origins, directions)
        return (ids >= 0) & (distance < lengths)


@dataclass
class _Occluders:
    triangles: np.ndarray  # (n, 3, 3) world positions
    lightmap_uv: np.ndarray  # (n, 3, 2) for triangles of baked primitives, else NaN
    albedo: np.ndarray  # (n, 3) linear base colour
    baked: np.ndarray = field(init=False)  # (n,) True for triangles of baked surfaces (they have lightmap UVs)

    def __post_init__(self) -> None:
        self.baked = np.isfinite(self.lightmap_uv[:, 0, 0])


_MEAN_COLOURS: dict[bytes, np.ndarray] = {}


def _base_colour(material: Material | None,
                 remembered: Remembered | None = None) -> np.ndarray:
    """The colour a surface reflects on average (linear RGB): its factor times its texture's mean colour.

    The mean colour is kept by the texture's content in `remembered` (the asset cache) too: the bake's cache key
    holds it, and decoding a 24-megapixel picture for it took 0.3-0.4 s of every warm build. Drawn text reflects
    the colour its words stand on (Texture.drawn_on): a title edit drew a caption plate anew, and its few darker
    pixels changed the key, so the room was baked again (and its posters rendered again) for light no texel shows
    (bronze-age with captions bakes the same lightmaps, level for level, from the plates' means and from their
    card's colour)."""
    if material is None:
        return np.array([0.8, 0.8, 0.8])
    colour = np.asarray(material.base_color_factor[:3], dtype=np.float64)
    texture = material.base_color_texture.texture if material.base_color_texture is not None else None
    if texture is not None and texture.drawn_on is not None:
        colour = colour * srgb_to_linear(np.asarray(texture.drawn_on, dtype=np.float64) / 255.0)
    # A model's ladder level may carry KTX2 (GPU-compressed) textures, which Pillow cannot read; models cast
    # shadows but bounce no light (only baked surfaces do), so their factor alone is enough.
    elif texture is not None and texture.mime_type != "image/ktx2":
        colour = colour * _mean_colour(texture.data, remembered)
    return colour


def _mean_colour(data: bytes, remembered: Remembered | None) -> np.ndarray:
    """images.mean_linear_colour, decoded once per process (_MEAN_COLOURS) and kept in `remembered` when given, so
    that the next build decodes nothing (what this process knew is stored there too)."""
    digest = hashlib.sha256(data).digest()
    known = _MEAN_COLOURS.get(digest)
    if remembered is None:
        if known is None:
            known = _MEAN_COLOURS[digest] = images.mean_linear_colour(data)
        return known

    def mean() -> bytes:
        return (known if known is not None else images.mean_linear_colour(data)).astype("<f8").tobytes()

    key = hashlib.sha256(digest + f"\0mean linear colour\0{code_version()}".encode()).hexdigest()
    _MEAN_COLOURS[digest] = np.frombuffer(remembered(key, mean), dtype="<f8").copy()
    return _MEAN_COLOURS[digest]


def _room_lights(scene: Scene) -> list[tuple[Light, np.ndarray, np.ndarray]]:
    """(light, world position, world direction it shines along) for every punctual light."""
    out = []
    for node, parent in world_nodes(scene.nodes):
        if node.light is None:
            continue
        world = parent @ node_matrix(node)
        direction = world[:3, :3] @ np.array([0.0, 0.0, -1.0])
        out.append((node.light, world[:3, 3].copy(), direction / max(float(np.linalg.norm(direction)), 1e-12)))
    return out


def hemisphere(count: int) -> np.ndarray:
    """Cosine-weighted directions around +Z on a Fibonacci spiral: even coverage, the same every build."""
    index = np.arange(count) + 0.5
    radius = np.sqrt(index / count)
    angle = index * math.pi * (3 - math.sqrt(5))
    return np.c_[radius * np.cos(angle), radius * np.sin(angle), np.sqrt(np.maximum(0.0, 1 - radius**2))]


def _tangent_frames(normals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors perpendicular to each normal and to each other."""
    helper = np.where((np.abs(normals[:, 1]) < 0.9)[:, None], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0])
    tangents = np.cross(helper, normals)
    tangents /= np.linalg.norm(tangents, axis=1, keepdims=True)
    return tangents, np.cross(normals, tangents)


def _light_falloff(light: Light, distance: np.ndarray) -> np.ndarray:
    """three.js's physically based falloff with a range cut-off (so the bake matches the real-time light)."""
    falloff = 1.0 / np.maximum(distance**2, 0.01)
    if light.range:
        falloff *= np.clip(1 - (distance / light.range) ** 4, 0.0, 1.0) ** 2
    return falloff


def _spot_factor(light: Light, axis: np.ndarray, to_point: np.ndarray) -> np.ndarray:
    if light.type == "point":
        # A room's point lights stand for ceiling fixtures, which shine downwards: the ceiling above one gets
        # bounced light, not a hot spot that would set the whole lightmap's range.
        return np.clip(-to_point[:, 1] * 4.0, 0.0, 1.0)
    if light.type != "spot":
        return np.ones(len(to_point))
    cosine = to_point @ axis
    outer, inner = math.cos(light.outer_cone_angle), math.cos(light.inner_cone_angle)
    t = np.clip((cosine - outer) / max(inner - outer, 1e-6), 0.0, 1.0)
    return t * t * (3 - 2 * t)


# ---------------------------------------------------------------------------------------------- bake


@dataclass
class Lightmap:
    """A baked room: irradiance per texel (linear RGB, height × width × 3) and where each chart sits."""

    irradiance: np.ndarray
    charts: list[Chart]
    texel: float

    def at(self, point: Sequence[float], normal: Sequence[float]) -> np.ndarray | None:
        """The baked irradiance at a world point on a surface facing `normal`, or None where nothing is baked."""
        p, n = np.asarray(point, dtype=float), np.asarray(normal, dtype=float)
        for chart in self.charts:
            if float(chart.normal @ n) < 0.99:
                continue
            offset = p - chart.corner
            if abs(float(offset @ chart.normal)) > 0.01:
                continue
            s = float(offset @ chart.u) / float(chart.u @ chart.u)
            t = float(offset @ chart.v) / float(chart.v @ chart.v)
            if 0 <= s <= 1 and 0 <= t <= 1:
                col = min(chart.cols - 1, int(s * chart.cols))
                row = min(chart.rows - 1, int(t * chart.rows))
                return np.asarray(self.irradiance[chart.y + row, chart.x + col])
        return None


def baked_primitives(scene: Scene) -> list[tuple[Primitive, np.ndarray]]:
    """(primitive, world matrix) of every opaque primitive of the nodes compose marked for a lightmap."""
    out = []
    for node, parent in world_nodes(scene.nodes):
        if node.mesh is None or not _is_marked(node):
            continue
        world = parent @ node_matrix(node)
        for primitive in node.mesh.primitives:
            if _casts_light_shadow(primitive):
                out.append((primitive, world))
    return out


def world_triangles(nodes: Iterable[Node]) -> np.ndarray:
    """(n, 3, 3) world positions of every opaque triangle under these root nodes (what casts shadows)."""
    found = [np.zeros((0, 3, 3))]
    for node, parent in world_nodes(nodes):
        if node.mesh is None:
            continue
        for world in _placements(node, parent):
            for primitive in node.mesh.primitives:
                if _casts_light_shadow(primitive):
                    positions = _float_positions(primitive)
                    placed = (np.c_[positions, np.ones(len(positions))] @ world.T)[:, :3]
                    found.append(placed[_triangles(primitive)])
    return np.concatenate(found)


def _occluders(scene: Scene, extra: Sequence[Node], baked: list[tuple[Primitive, np.ndarray]],
               charts: list[Chart], width: int, height: int) -> _Occluders:
    chart_uv = _chart_uvs(charts, len(baked), width, height)
    baked_ids = {id(p): i for i, (p, _) in enumerate(baked)}
    triangles, uvs, albedo = [], [], []
    for node, parent in world_nodes([*scene.nodes, *extra]):
        if node.mesh is None:
            continue
        for world in _placements(node, parent):
            for primitive in node.mesh.primitives:
                if not _casts_light_shadow(primitive):
                    continue
                positions = _float_positions(primitive)
                placed = (np.c_[positions, np.ones(len(positions))] @ world.T)[:, :3]
                faces = _triangles(primitive)
                triangles.append(placed[faces])
                index = baked_ids.get(id(primitive))
                if index is not None:
                    uvs.append(chart_uv[index][faces])
                else:
                    uvs.append(np.full((len(faces), 3, 2), np.nan))
                albedo.append(np.tile(_base_colour(primitive.material), (len(faces), 1)))
    if not triangles:
        return _Occluders(np.zeros((0, 3, 3)), np.zeros((0, 3, 2)), np.zeros((0, 3)))
    return _Occluders(np.concatenate(triangles), np.concatenate(uvs), np.concatenate(albedo))


def _chart_uvs(charts: list[Chart], primitives: int, width: int, height: int) -> list[np.ndarray]:
    """Per baked primitive, the lightmap UV of each vertex (4 per quad, in the quad's vertex order)."""
    per: list[dict[int, Chart]] = [{} for _ in range(primitives)]
    for chart in charts:
        per[chart.primitive][chart.quad] = chart
    out = []
    for by_quad in per:
        uv = np.zeros((4 * len(by_quad), 2))
        for q, c in by_quad.items():
            x0, x1, y0, y1 = c.x / width, (c.x + c.cols) / width, c.y / height, (c.y + c.rows) / height
            uv[4 * q:4 * q + 4] = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
        out.append(uv)
    return out


def _texels(charts: list[Chart]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """World position, normal and atlas (row, col) of every interior texel centre."""
    points, normals, rows, cols = [], [], [], []
    for c in charts:
        s = (np.arange(c.cols) + 0.5) / c.cols
        t = (np.arange(c.rows) + 0.5) / c.rows
        ss, tt = np.meshgrid(s, t)
        points.append(c.corner + ss.reshape(-1, 1) * c.u + tt.reshape(-1, 1) * c.v)
        normals.append(np.tile(c.normal, (ss.size, 1)))
        jj, ii = np.meshgrid(np.arange(c.cols), np.arange(c.rows))
        rows.append(c.y + ii.reshape(-1))
        cols.append(c.x + jj.reshape(-1))
    return np.concatenate(points), np.concatenate(normals), np.concatenate(rows), np.concatenate(cols)


def _visible_share(rays: RayScene, origins: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """1.0 where nothing lies between each origin and its target, else 0.0."""
    to_target = targets - origins
    length = np.linalg.norm(to_target, axis=1)
    blocked = rays.blocked(origins, to_target / np.maximum(length, 1e-9)[:, None], length - 1e-3)
    return (~blocked).astype(np.float64)


def _shadow_edges(hard: np.ndarray, at: tuple[np.ndarray, np.ndarray], shape: tuple[int, int],
                  reach: int = 2) -> np.ndarray:
    """Texels within `reach` texels (in the atlas) of one whose hard visibility differs: where penumbrae are."""
    rows, cols = at
    lit = np.full(shape, np.nan)
    lit[rows, cols] = hard
    padded = np.pad(lit, reach, mode="constant", constant_values=np.nan)
    low, high = np.full(len(hard), np.inf), np.full(len(hard), -np.inf)
    for dy in range(-reach, reach + 1):
        for dx in range(-reach, reach + 1):
            around = padded[rows + reach + dy, cols + reach + dx]
            low = np.fmin(low, around)
            high = np.fmax(high, around)
    return np.asarray(low != high)


def _direct(rays: RayScene, lights: list[tuple[Light, np.ndarray, np.ndarray]], points: np.ndarray,
            normals: np.ndarray, at: tuple[np.ndarray, np.ndarray], shape: tuple[int, int], samples: int,
            rng: np.random.Generator) -> np.ndarray:
    """Irradiance from each punctual light, with soft shadows from lights of LIGHT_RADIUS.

    One ray to each light's centre finds the hard shadow; only texels near its edge, where the penumbra is, get
    the `samples` rays to points on the light (most texels see all of it or none of it)."""
    total = np.zeros((len(points), 3))
    origins = points + normals * SURFACE_OFFSET
    jitter = rng.normal(size=(samples, 3))
    jitter = jitter / np.linalg.norm(jitter, axis=1, keepdims=True) * LIGHT_RADIUS * np.sqrt(rng.random((samples, 1)))
    for light, position, axis in lights:
        to_light = position - points
        distance = np.linalg.norm(to_light, axis=1)
        direction = to_light / np.maximum(distance, 1e-9)[:, None]
        cosine = np.einsum("ij,ij->i", normals, direction)
        unshadowed = np.maximum(cosine, 0.0) * _light_falloff(light, distance) * _spot_factor(light, axis, -direction)
        unshadowed *= light.intensity
        lit = np.nonzero(unshadowed > 1e-4)[0]
        if not len(lit):
            continue
        visible = _visible_share(rays, origins[lit], np.broadcast_to(position, (len(lit), 3)))
        edges = lit[_shadow_edges(visible, (at[0][lit], at[1][lit]), shape)]
        if len(edges):
            soft = sum(_visible_share(rays, origins[edges], position + offset) for offset in jitter) / samples
            visible[np.searchsorted(lit, edges)] = soft
        total[lit] += (unshadowed[lit] * visible)[:, None] * np.asarray(light.color)[None, :]
    return total


def _gather(rays: RayScene, occluders: _Occluders, points: np.ndarray, normals: np.ndarray, count: int,
            direct_image: np.ndarray | None, rng: np.random.Generator,
            chunk: int = 65536) -> tuple[np.ndarray, np.ndarray]:
    """(ambient visibility, one-bounce irradiance) per point from `count` cosine-weighted hemisphere rays."""
    local = hemisphere(count)
    visibility = np.zeros(len(points))
    bounce = np.zeros((len(points), 3))
    spin = rng.random(len(points)) * 2 * math.pi  # a turn per texel trades banding for fine noise the blur removes
    for start in range(0, len(points), max(1, chunk // count)):
        end = min(len(points), start + max(1, chunk // count))
        n = normals[start:end]
        tangents, bitangents = _tangent_frames(n)
        c, s = np.cos(spin[start:end])[:, None], np.sin(spin[start:end])[:, None]
        t_rot, b_rot = c * tangents + s * bitangents, -s * tangents + c * bitangents
        basis = np.stack([t_rot, b_rot, n], axis=1).astype(np.float32)  # (texels, 3, 3): rows are the axes
        directions = np.einsum("rk,nkj->nrj", local.astype(np.float32), basis).reshape(-1, 3)
        origins = np.repeat((points[start:end] + n * SURFACE_OFFSET).astype(np.float32), count, axis=0)
        ids, distance, barycentric = rays.hits(origins, directions)
        open_share = np.clip(distance / AO_DISTANCE, 0.0, 1.0)
        visibility[start:end] = open_share.reshape(-1, count).mean(axis=1)
        if direct_image is not None:
            # Only rays that hit a baked surface bring its direct light back (others hit artifacts: no bounce).
            hit = np.nonzero(ids >= 0)[0]
            baked = hit[occluders.baked[ids[hit]]]
            triangles = ids[baked]
            uv = occluders.lightmap_uv[triangles]
            u, v = barycentric[baked, 0:1], barycentric[baked, 1:2]
            at = uv[:, 0] * (1 - u - v) + uv[:, 1] * u + uv[:, 2] * v
            h, w = direct_image.shape[:2]
            col = np.clip((at[:, 0] * w).astype(np.int64), 0, w - 1)
            row = np.clip((at[:, 1] * h).astype(np.int64), 0, h - 1)
            incoming = np.zeros((len(ids), 3))
            incoming[baked] = direct_image[row, col] * occluders.albedo[triangles]
            bounce[start:end] = incoming.reshape(-1, count, 3).mean(axis=1)
    return visibility, bounce


def _upsample(values: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Bilinear interpolation of a coarse (r, c, k) grid onto a finer rows × cols grid covering the same rectangle."""

    def axis(fine: int, coarse: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        at = np.clip((np.arange(fine) + 0.5) / fine * coarse - 0.5, 0.0, coarse - 1)
        low = np.floor(at).astype(np.int64)
        return low, np.minimum(low + 1, coarse - 1), at - low

    y0, y1, fy = axis(rows, values.shape[0])
    x0, x1, fx = axis(cols, values.shape[1])
    fx3 = fx[None, :, None]
    top = values[y0][:, x0] * (1 - fx3) + values[y0][:, x1] * fx3
    bottom = values[y1][:, x0] * (1 - fx3) + values[y1][:, x1] * fx3
    return np.asarray(top * (1 - fy[:, None, None]) + bottom * fy[:, None, None])


def _smooth_charts(image: np.ndarray, charts: list[Chart]) -> np.ndarray:
    """A 3×3 box blur inside each chart (never across charts), which removes most of the sampling noise."""
    out = image.copy()
    for c in charts:
        block = image[c.y:c.y + c.rows, c.x:c.x + c.cols]
        padded = np.pad(block, ((1, 1), (1, 1), (0, 0)), mode="edge")
        blurred = sum(padded[i:i + c.rows, j:j + c.cols] for i in range(3) for j in range(3)) / 9.0
        out[c.y:c.y + c.rows, c.x:c.x + c.cols] = blurred
    return out


def _fill_gutters(image: np.ndarray, charts: list[Chart]) -> None:
    """Copy each chart's edge texels into its gutter, so filtering at the chart's border sees its own colour."""
    for c in charts:
        block = image[c.y:c.y + c.rows, c.x:c.x + c.cols]
        image[c.y - GUTTER:c.y + c.rows + GUTTER, c.x - GUTTER:c.x + c.cols + GUTTER] = np.pad(
            block, ((GUTTER, GUTTER), (GUTTER, GUTTER), (0, 0)), mode="edge")


def bake_irradiance(scene: Scene, settings: BakeSettings, ambient: float, occluders_extra: Sequence[Node] = (),
                    ) -> Lightmap | None:
    """Bake the marked surfaces of one room; None when the room has nothing to bake."""
    baked = baked_primitives(scene)
    if not baked:
        return None
    charts, width, height, texel = _layout(baked, settings)
    if not charts:
        return None
    occluders = _occluders(scene, occluders_extra, baked, charts, width, height)
    rays = RayScene(occluders.triangles)
    rng = np.random.default_rng(SEED)
    points, normals, rows, cols = _texels(charts)
    direct = _direct(rays, _room_lights(scene), points, normals, (rows, cols), (height, width),
                     settings.light_samples, rng)
    direct_image = np.zeros((height, width, 3))
    direct_image[rows, cols] = direct
    _fill_gutters(direct_image, charts)
    # Indirect light (ambient occlusion, the bounce) varies slowly: gather it on a coarser grid, then interpolate.
    coarse = [dataclasses.replace(c, cols=math.ceil(c.cols / INDIRECT_STEP), rows=math.ceil(c.rows / INDIRECT_STEP))
              for c in charts]
    coarse_points, coarse_normals, _, _ = _texels(coarse)
    visibility, bounce = _gather(rays, occluders, coarse_points, coarse_normals, settings.rays,
                                 direct_image if settings.bounce else None, rng)
    indirect = bounce + (AMBIENT * ambient * visibility)[:, None]
    image = direct_image.copy()
    start = 0
    for fine, grid in zip(charts, coarse, strict=True):
        block = indirect[start:start + grid.rows * grid.cols].reshape(grid.rows, grid.cols, 3)
        start += grid.rows * grid.cols
        image[fine.y:fine.y + fine.rows, fine.x:fine.x + fine.cols] += _upsample(block, fine.rows, fine.cols)
    image = _smooth_charts(image, charts)
    _fill_gutters(image, charts)
    return Lightmap(image, charts, texel)


# ---------------------------------------------------------------------------------------------- glTF


# A 4×4 Bayer matrix: thresholds that dither the 8-bit lightmap, deterministically (the same bytes every build).
_BAYER = np.array([[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]], dtype=np.float64)


def encode(lightmap: Lightmap) -> tuple[bytes, float]:
    """(PNG bytes, intensity): irradiance / intensity as linear values, as glTF's occlusion slot says, so that any
    glTF viewer reads the same light. Ordered dithering keeps dark corners free of 8-bit bands."""
    peak = float(np.percentile(lightmap.irradiance, 99.9)) if lightmap.irradiance.size else 1.0
    intensity = round(max(peak, 1e-3), 4)
    height, width = lightmap.irradiance.shape[:2]
    thresholds = np.tile((_BAYER + 0.5) / 16, (height // 4 + 1, width // 4 + 1))[:height, :width, None]
    # png_from_rgb truncates to 8 bits: a threshold in (0, 1) first makes that a dithered rounding.
    return images.png_from_rgb(lightmap.irradiance / intensity + thresholds / 255, optimize=False), intensity


def decode(data: bytes, intensity: float) -> np.ndarray:
    """The irradiance a lightmap PNG holds (the inverse of `encode`, within one 8-bit step)."""
    return images.rgb_from_png(data) * intensity


def apply(scene: Scene, lightmap: Lightmap, png: bytes, intensity: float, name: str) -> None:
    """Give each baked primitive its lightmap UVs (TEXCOORD_1) and a material that carries the lightmap.

    The lightmap sits in occlusionTexture on TEXCOORD_1, so any glTF viewer darkens corners and shadows; the
    material's extras tell the Vitrina viewer to light the surface by it alone (baked, with no real-time cost)."""
    baked = baked_primitives(scene)
    height, width = lightmap.irradiance.shape[:2]
    texture = Texture(name=f"{name}-lightmap", data=png, mime_type="image/png", width=width, height=height,
                      wrap_s=33071, wrap_t=33071, mag_filter=9729, min_filter=9987)
    uvs = _chart_uvs(lightmap.charts, len(baked), width, height)
    materials: dict[int, Material] = {}
    for (primitive, _), uv in zip(baked, uvs, strict=True):
        primitive.attributes[LIGHTMAP_SET] = uv.astype(np.float32)
        original = primitive.material or Material(name="default")
        if id(original) not in materials:
            lit = copy.copy(original)
            lit.extensions = dict(original.extensions)
            lit.extras = {**original.extras, "vitrina": {**original.extras.get("vitrina", {}),
                                                         "lightmap": {"intensity": intensity, "encoding": "linear"}}}
            lit.occlusion_texture = TextureRef(texture=texture, texcoord=1)
            materials[id(original)] = lit
        primitive.material = materials[id(original)]


def bake_key(scene: Scene, settings: BakeSettings, ambient: float, occluders_extra: Sequence[Node] = (),
             remembered: Remembered | None = None) -> str:
    """What the bake depends on: the surfaces, every occluder, the lights, the settings and this module's code.
    `remembered` keeps the occluders' mean colours (see _base_colour)."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    digest.update(repr((settings, ambient, AMBIENT, AO_DISTANCE, LIGHT_RADIUS, GUTTER, CEILING_TEXELS)).encode())
    for primitive, world in baked_primitives(scene):
        digest.update(b"baked")
        digest.update(np.ascontiguousarray(world, dtype=np.float64).tobytes())
        digest.update(_float_positions(primitive).tobytes())
    for node, parent in world_nodes([*scene.nodes, *occluders_extra]):
        if node.mesh is None:
            continue
        for world in _placements(node, parent):
            digest.update(np.ascontiguousarray(world, dtype=np.float64).tobytes())
            for primitive in node.mesh.primitives:
                if _casts_light_shadow(primitive):
                    digest.update(_float_positions(primitive).tobytes())
                    digest.update(_triangles(primitive).tobytes())
                    digest.update(_base_colour(primitive.material, remembered).tobytes())
    for light, position, axis in _room_lights(scene):
        digest.update(repr((light.type, light.color, light.intensity, light.range, light.inner_cone_angle,
                            light.outer_cone_angle)).encode())
        digest.update(np.round(np.r_[position, axis], 6).tobytes())
    return "bake-" + digest.hexdigest()


@dataclass
class BakeOutcome:
    """What baking one room did: seconds spent, whether it came from the cache, bytes of lightmap added."""

    room: str
    seconds: float
    cached: bool
    bytes: int
    size: tuple[int, int]
    texel: float
    lightmap: Lightmap = field(repr=False)


def bake_room(scene: Scene, name: str, settings: BakeSettings, ambient: float,
              remembered: Remembered, clock: Callable[[], float],
              occluders_extra: Sequence[Node] = ()) -> BakeOutcome | None:
    """Bake one room (or take its lightmap from the cache) and apply it to the scene; None if nothing is baked.

    `remembered(key, compute)` is the asset cache's store for bytes: it holds only the PNG and a JSON header.
    `occluders_extra` are nodes that cast shadows without being in the room's scene (artifacts in their own GLB)."""
    started = clock()
    baked = baked_primitives(scene)
    if not baked:
        return None
    key = bake_key(scene, settings, ambient, occluders_extra, remembered)
    fresh: list[Lightmap] = []

    def compute() -> bytes:
        lightmap = bake_irradiance(scene, settings, ambient, occluders_extra)
        assert lightmap is not None  # baked_primitives found surfaces to bake
        png, intensity = encode(lightmap)
        fresh.append(lightmap)
        return json.dumps({"intensity": intensity, "texel": lightmap.texel}).encode() + b"\n" + png

    header, png = remembered(key, compute).split(b"\n", 1)
    meta = json.loads(header)
    if fresh:
        lightmap = fresh[0]
    else:
        charts, _, _, _ = _layout(baked, dataclasses.replace(settings, texel=meta["texel"]))
        lightmap = Lightmap(decode(png, meta["intensity"]), charts, meta["texel"])
    apply(scene, lightmap, png, meta["intensity"], name)
    height, width = lightmap.irradiance.shape[:2]
    return BakeOutcome(name, round(clock() - started, 4), not fresh, len(png), (width, height), lightmap.texel,
                       lightmap)


@dataclass(frozen=True)
class RoomToBake:
    """One composed room to bake: its scene (the lightmap is applied to it), fill light and extra shadow casters."""

    name: str
    scene: Scene
    ambient: float
    occluders_extra: Sequence[Node] = ()


def bake_rooms(rooms: Sequence[RoomToBake], settings: BakeSettings,
               remembered: Remembered, clock: Callable[[], float], workers: int = 1,
               step: Callable[[int, int, str], None] = lambda done, total, label: None) -> list[dict[str, Any]]:
    """Bake every room's light into its lightmap (from the cache when nothing that lights it changed); the report's
    row per room that has surfaces to bake. `step(done, total, room)` follows the progress."""
    def one(room: RoomToBake) -> BakeOutcome | None:
        return bake_room(room.scene, room.name, settings, room.ambient, remembered, clock, room.occluders_extra)

    # Rooms bake independently, and Embree and numpy release the GIL: threads share the cores without forking.
    outcomes = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(workers, len(rooms)))) as pool:
        for number, (room, outcome) in enumerate(zip(rooms, pool.map(one, rooms), strict=True), start=1):
            step(number, len(rooms), room.name)
            if outcome is not None:
                outcomes.append({"room": room.name, "seconds": outcome.seconds, "cached": outcome.cached,
                                 "bytes": outcome.bytes, "size": list(outcome.size), "texel": outcome.texel})
    return outcomes
