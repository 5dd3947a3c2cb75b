"""Contact shadows: each artifact's own occlusion seen from below, baked into a soft texture on a quad under it."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline import bake, images
from pipeline.cache import Remembered
from pipeline.scene import Material, Mesh, Node, Primitive, Scene, Texture, TextureRef

# Texels per side of one artifact's shadow, by device profile (like the lightmap's texel size): a phone's is
# small, and a soft shadow loses nothing at 64 px.
TEXELS: dict[str, int] = {"desktop": 128, "quest3": 96, "quest2": 64, "phone": 64}
MARGIN_SHARE = 0.3  # the shadow reaches this share of the footprint's longer side beyond it ...
MARGIN_RANGE = (0.05, 0.3)  # ... within these metres
REACH_SHARE = 0.6  # geometry this share of the footprint's longer side above a point darkens it fully when closer
RAYS = 32  # upward rays per texel (cosine-weighted, the same spiral for every texel)
STEP = 2  # occlusion is traced on every 2nd texel each way, then spread and blurred: a soft shadow loses nothing
STRENGTH = 0.8  # alpha where the artifact touches its stand: a contact shadow never reads as a black hole
LIFT = 0.002  # metres above the stand: above its lightmapped surface, so the two never z-fight
SURFACE_TOLERANCE = 0.01  # metres: the stand's top is where the downward ray lands within this of the base
MARK = "contact_shadows"  # extras["vitrina"] key of the room's shadow node


def texels_for(targets: Iterable[str]) -> int:
    """The largest shadow texture any of these targets asks for."""
    return max((TEXELS[t] for t in targets if t in TEXELS), default=TEXELS["desktop"])


@dataclass(frozen=True)
class ContactShadow:
    """One artifact's shadow: alpha per texel (rows along +z, columns along +x) over a horizontal rectangle."""

    artifact: str
    alpha: np.ndarray
    low: tuple[float, float]  # (x, z) of the rectangle's corner
    high: tuple[float, float]
    height: float  # y of the surface the shadow lies on


def model_node(body: bytes, placement: Node) -> Node:
    """A ladder level body (a GLB whose root stands in for the artifact) under the artifact's own placement: the
    artifact's geometry where compose put it, for shadows only (never written out)."""
    return dataclasses.replace(placement, mesh=None, children=list(_level_nodes(body)))


@functools.lru_cache(maxsize=256)
def _level_nodes(body: bytes) -> tuple[Node, ...]:
    """The level's nodes, read once per body: a model used 19 times in a room (and every warm build of a serve
    session) is decoded once. Shared read-only: shadows and the bake only read them."""
    from pipeline.ladder import level_scene

    level = level_scene(body)
    return tuple(child for root in level.nodes for child in (root.children if root.mesh is None else [root]))


def _surface_under(room: bake.RayScene, points: np.ndarray, start: float) -> np.ndarray:
    """Height of the first opaque surface straight below each (x, z) point from height `start` (-inf if none)."""
    origins = np.c_[points[:, 0], np.full(len(points), start), points[:, 1]]
    _, distance, _ = room.hits(origins, np.tile([0.0, -1.0, 0.0], (len(points), 1)))
    return start - distance


def shadow_for(artifact: str, model: np.ndarray, room: bake.RayScene, texels: int) -> ContactShadow | None:
    """The contact shadow of an artifact's triangles on whatever it stands on; None if it stands on nothing."""
    if not len(model):
        return None
    low, high = model.reshape(-1, 3).min(axis=0), model.reshape(-1, 3).max(axis=0)
    side = float(max(high[0] - low[0], high[2] - low[2]))
    margin = float(np.clip(MARGIN_SHARE * side, *MARGIN_RANGE))
    x0, z0, x1, z1 = low[0] - margin, low[2] - margin, high[0] + margin, high[2] + margin
    centre = np.array([[(x0 + x1) / 2, (z0 + z1) / 2]])
    base = float(_surface_under(room, centre, float(low[1]) + SURFACE_TOLERANCE)[0])
    if not math.isfinite(base) or base < low[1] - 0.05:  # hanging or mounted above nothing near: no contact
        return None
    s = (np.arange(texels) + 0.5) / texels
    xs, zs = np.meshgrid(x0 + s * (x1 - x0), z0 + s * (z1 - z0))  # rows along z, columns along x
    grid = np.c_[xs.reshape(-1), zs.reshape(-1)]
    coarse = texels // STEP
    c = (np.arange(coarse) + 0.5) / coarse
    cxs, czs = np.meshgrid(x0 + c * (x1 - x0), z0 + c * (z1 - z0))
    # From just below the model's lowest point: a ray from inside its closed bottom would see no bottom at all.
    occlusion = _occlusion(bake.RayScene(model.astype(np.float64)), np.c_[cxs.reshape(-1), czs.reshape(-1)],
                           min(base, float(low[1])) - 1e-3, max(REACH_SHARE * side, 0.05))
    spread = np.repeat(np.repeat(occlusion.reshape(coarse, coarse), STEP, axis=0), STEP, axis=1)
    alpha = images.blurred(np.pad(spread, ((0, texels - spread.shape[0]), (0, texels - spread.shape[1])), "edge"),
                           radius=max(texels / 40, STEP))
    # Fade to nothing at the rectangle's border, so the quad itself never shows as an edge.
    edge = np.linspace(0.0, 1.0, texels)  # 0 on the first and last texel
    ramp = np.clip(np.minimum(edge, 1 - edge) / max(margin / (x1 - x0), 1e-6) * 2, 0.0, 1.0)
    ramp = ramp * ramp * (3 - 2 * ramp)
    alpha *= np.minimum(ramp[:, None], ramp[None, :])
    # Only where the stand's top is: past a plinth's edge the quad would hang in the air.
    on_surface = np.abs(_surface_under(room, grid, base + SURFACE_TOLERANCE) - base) < SURFACE_TOLERANCE
    alpha = alpha * on_surface.reshape(texels, texels) * STRENGTH
    return ContactShadow(artifact, alpha, (float(x0), float(z0)), (float(x1), float(z1)), base + LIFT)


def _occlusion(model: bake.RayScene, grid: np.ndarray, height: float, reach: float) -> np.ndarray:
    """Per (x, z) point at `height`: how much of the sky above it the model hides, nearer parts counting more."""
    spiral = bake.hemisphere(RAYS)
    upward = np.c_[spiral[:, 0], spiral[:, 2], spiral[:, 1]]
    origins = np.repeat(np.c_[grid[:, 0], np.full(len(grid), height), grid[:, 1]], RAYS, axis=0)
    ids, distance, _ = model.hits(origins, np.tile(upward, (len(grid), 1)))
    closeness = np.where(ids >= 0, 1.0 - np.clip(distance / reach, 0.0, 1.0), 0.0)
    return np.asarray(closeness.reshape(-1, RAYS).mean(axis=1))


def _key(artifact: str, model: np.ndarray, room_digest: bytes, texels: int) -> str:
    digest = hashlib.sha256(Path(__file__).read_bytes())
    digest.update(repr((artifact, texels)).encode())
    digest.update(np.ascontiguousarray(model, dtype=np.float64).tobytes())
    digest.update(room_digest)
    return "contact-" + digest.hexdigest()


def room_shadows(scene: Scene, models: Sequence[tuple[str, Node]], texels: int,
                 remembered: Remembered) -> list[ContactShadow]:
    """Each model's contact shadow in this room (from the cache when neither it nor the room changed)."""
    room_triangles = bake.world_triangles(scene.nodes)
    room_digest = hashlib.sha256(np.ascontiguousarray(room_triangles, dtype=np.float64).tobytes()).digest()
    rooms: list[bake.RayScene] = []  # built on the first cache miss only: a warm build casts no ray

    def room() -> bake.RayScene:
        if not rooms:
            rooms.append(bake.RayScene(room_triangles))
        return rooms[0]

    out = []
    for artifact, node in models:
        model = bake.world_triangles([node])

        def compute(artifact: str = artifact, model: np.ndarray = model) -> bytes:
            shadow = shadow_for(artifact, model, room(), texels)
            if shadow is None:
                return b"null\n"
            header = {"low": shadow.low, "high": shadow.high, "height": shadow.height}
            return json.dumps(header).encode() + b"\n" + images.png_from_alpha(shadow.alpha)

        header, png = remembered(_key(artifact, model, room_digest, texels), compute).split(b"\n", 1)
        meta = json.loads(header)
        if meta is not None:
            out.append(ContactShadow(artifact, images.alpha_from_png(png), tuple(meta["low"]), tuple(meta["high"]),
                                     meta["height"]))
    return out


def shadow_node(name: str, shadows: Sequence[ContactShadow],
                remembered: Remembered | None = None) -> Node | None:
    """One node for a room's contact shadows: their quads in one primitive over one atlas (one draw call).

    The material is standard glTF: unlit black, alpha-blended by the texture's alpha, so every viewer (and a
    phone, with no real-time light at all) draws the same shadow."""
    if not shadows:
        return None
    texels = shadows[0].alpha.shape[0]
    columns = math.ceil(math.sqrt(len(shadows)))
    rows = math.ceil(len(shadows) / columns)
    atlas = np.zeros((rows * texels, columns * texels))
    for index, shadow in enumerate(shadows):
        r, c = divmod(index, columns)
        atlas[r * texels:(r + 1) * texels, c * texels:(c + 1) * texels] = shadow.alpha
    # The atlas's PNG is remembered by content: deflating it (optimize) took 0.12 s a room on every warm build.
    digest = hashlib.sha256(f"contact-atlas\0{images.ENCODER_VERSION}\0{atlas.shape}".encode()
                            + np.ascontiguousarray(atlas).tobytes()).hexdigest()
    encode = functools.partial(images.png_from_alpha, atlas)
    png = remembered(digest, encode) if remembered is not None else encode()
    texture = Texture(name=f"{name}-contact-shadows", data=png, mime_type="image/png",
                      width=columns * texels, height=rows * texels, wrap_s=33071, wrap_t=33071, mag_filter=9729,
                      min_filter=9987)
    material = Material(name=f"{name}-contact-shadow", base_color_factor=(0.0, 0.0, 0.0, 1.0),
                        base_color_texture=TextureRef(texture=texture), metallic_factor=0.0, alpha_mode="BLEND",
                        unlit=True)
    positions, uvs = [], []
    for index, shadow in enumerate(shadows):
        r, c = divmod(index, columns)
        (x0, z0), (x1, z1), y = shadow.low, shadow.high, shadow.height
        # Counter-clockwise seen from above; texel rows run along +z, columns along +x.
        positions += [(x0, y, z0), (x0, y, z1), (x1, y, z1), (x1, y, z0)]
        u0, u1, v0, v1 = c / columns, (c + 1) / columns, r / rows, (r + 1) / rows
        uvs += [(u0, v0), (u0, v1), (u1, v1), (u1, v0)]
    count = len(shadows)
    indices = (np.arange(count, dtype=np.uint32)[:, None] * 4 + np.array([0, 1, 2, 0, 2, 3], dtype=np.uint32))
    primitive = Primitive(attributes={"POSITION": np.asarray(positions, dtype=np.float32),
                                      "NORMAL": np.tile(np.array([0.0, 1.0, 0.0], dtype=np.float32), (4 * count, 1)),
                                      "TEXCOORD_0": np.asarray(uvs, dtype=np.float32)},
                          indices=indices.reshape(-1), material=material)
    return Node(name=f"{name}-contact-shadows", mesh=Mesh(name=f"{name}-contact-shadows", primitives=[primitive]),
                extras={"vitrina": {MARK: [s.artifact for s in shadows]}})



@dataclass(frozen=True)
class Cast:
    """A room's contact shadows as one node, not yet laid into its scene; how many and how long they took."""

    node: Node | None
    count: int
    seconds: float


def cast(scene: Scene, name: str, models: Sequence[tuple[str, Node]], texels: int,
         remembered: Remembered, clock: Callable[[], float]) -> Cast:
    """Cast a room's contact shadows. It reads only the room's opaque triangles, which the light bake leaves as
    they are (it adds lightmap UVs and materials), so it may run beside the bake: `lay` adds the node after it."""
    started = clock()
    shadows = room_shadows(scene, models, texels, remembered)
    return Cast(shadow_node(name, shadows, remembered), len(shadows), round(clock() - started, 4))


def lay(scene: Scene, shadows: Cast) -> dict[str, float]:
    """Lay a room's cast shadows into its scene (one node); how many and how long, for the build report."""
    if shadows.node is not None:
        scene.nodes.append(shadows.node)
    return {"contact_shadows": shadows.count, "contact_seconds": shadows.seconds}
