"""Compose: the spec model plus model shapes → one shell Scene per room (walls, doors, plinths, frames, pictures) and
where each model artifact stands (its GLB ladder is written apart, see pipeline.ladder)."""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from pipeline import images
from pipeline.cache import Remembered, code_version
from pipeline.colour import srgb_to_linear
from pipeline.columns import column_range
from pipeline.errors import AssetError, BuildError
from pipeline.scene import (
    Light,
    Material,
    Mesh,
    Node,
    Primitive,
    Scene,
    Texture,
    TextureRef,
    instance_matrices,
    node_matrix,
    rotate_yaw,
    world_nodes,
    yaw_quaternion,
)
from pipeline.source_facts import stat_key
from pipeline.spec.model import Artifact, Case, Exhibit, Place, Record, Room, Surface

Vec3 = tuple[float, float, float]

# Walls by compass name. North is -Z, so a visitor facing yaw 0 (three.js looks down -Z) faces the north wall.
# For each wall: its inward normal, and the axis (and direction) along which wall offsets are measured, chosen so
# that an offset runs from the left end of the wall as a visitor inside the room faces it.
WALLS = ("north", "east", "south", "west")
OPPOSITE = {"north": "south", "south": "north", "east": "west", "west": "east"}
DEFAULT_DOOR_HEIGHT = 2.2
PLINTH_MARGIN = 0.08  # metres of plinth around the artifact's footprint
VITRINE_MARGIN = 0.06  # metres of air between an artifact and its glass
PICTURE_GAP = 0.015  # pictures and panels hang this far in front of the wall, so they never z-fight with it
FRAME_WIDTH = 0.05
FRAME_DEPTH = 0.035


# ---------------------------------------------------------------------------------------------- small math


def _position_range(primitive: Primitive) -> tuple[np.ndarray, np.ndarray] | None:
    """(min, max) of the primitive's positions as float64 (normalized integers scaled), None when it has none.

    Taken in the stored type and converted after: a float64 copy of a 4M-triangle scan's positions took 0.09 s."""
    positions = np.asarray(primitive.attributes["POSITION"])
    if not len(positions):
        return None
    low, high = (bound.astype(np.float64) for bound in column_range(positions.reshape(len(positions), -1)))
    if positions.dtype.kind in "iu" and "POSITION" in primitive.normalized:
        scale = float(np.iinfo(positions.dtype).max)
        low, high = low / scale, high / scale
    return low, high


def nodes_bounds(nodes: Iterable[Node], parent: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """World AABB of every mesh under these nodes (instances included), or None when there is no geometry."""
    placed = _placed_boxes(nodes, parent)
    if not placed:
        return None
    corners = np.concatenate(placed)
    return corners.min(axis=0), corners.max(axis=0)


def _placed_boxes(nodes: Iterable[Node], parent: np.ndarray | None = None) -> list[np.ndarray]:
    """The eight world corners of each mesh node's box, once per instance: what nodes_bounds and model_shape
    bound and keep."""
    placed: list[np.ndarray] = []
    for node, above in world_nodes(nodes, parent):
        bounds = [] if node.mesh is None else [b for b in map(_position_range, node.mesh.primitives) if b is not None]
        if bounds:
            local = _box_corners(np.min([low for low, _ in bounds], axis=0),
                                 np.max([high for _, high in bounds], axis=0))
            world = above @ node_matrix(node)
            for instance in instance_matrices(node):
                placed.append((world @ instance @ np.c_[local, np.ones(8)].T).T[:, :3])
    return placed


def _box_corners(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    return np.array([[x, y, z] for x in (low[0], high[0]) for y in (low[1], high[1]) for z in (low[2], high[2])])


@dataclass(frozen=True)
class ModelShape:
    """What compose needs of a model to place it: the corners of its meshes' boxes, in the model's own frame.

    Small and plain (a few corners per mesh), so a build can keep it in the cache and place a model without
    loading its geometry."""

    corners: np.ndarray  # (N, 3) float64

    @property
    def low(self) -> np.ndarray:
        return np.asarray(self.corners.min(axis=0), dtype=float)

    @property
    def high(self) -> np.ndarray:
        return np.asarray(self.corners.max(axis=0), dtype=float)

    def to_json(self) -> list[list[float]]:
        return [[float(v) for v in row] for row in self.corners]

    @classmethod
    def from_json(cls, rows: list[list[float]]) -> ModelShape:
        return cls(np.asarray(rows, dtype=float).reshape(-1, 3))


def model_shape(scene: Scene) -> ModelShape | None:
    """The corners of every mesh's box (instances included) in the scene's frame; None without geometry.

    Placing these corners gives the same world bounds as placing the model itself (see nodes_bounds)."""
    found = _placed_boxes(scene.nodes)
    if not found:
        return None
    corners = np.concatenate(found)
    return ModelShape(corners) if np.all(np.isfinite(corners)) else None


def model_offset(shape: ModelShape) -> Vec3:
    """The translation that stands a model on its base centre: the `<id>.model` node's, inside the artifact node."""
    low, high = shape.low, shape.high
    return (-float(low[0] + high[0]) / 2 + 0.0, -float(low[1]) + 0.0, -float(low[2] + high[2]) / 2 + 0.0)


def world_bounds_of(node: Node) -> tuple[np.ndarray, np.ndarray] | None:
    """AABB of a root node of a room scene, in world coordinates."""
    return nodes_bounds([node])


# ---------------------------------------------------------------------------------------------- primitives


def _primitive(positions: list[Vec3], normals: list[Vec3], uvs: list[tuple[float, float]], indices: list[int],
               material: Material) -> Primitive:
    return Primitive(
        attributes={
            "POSITION": np.asarray(positions, dtype=np.float32).reshape(-1, 3),
            "NORMAL": np.asarray(normals, dtype=np.float32).reshape(-1, 3),
            "TEXCOORD_0": np.asarray(uvs, dtype=np.float32).reshape(-1, 2),
        },
        indices=np.asarray(indices, dtype=np.uint32),
        material=material,
    )


class MeshBuilder:
    """Accumulates quads into one primitive per material, so a room's shell costs few draw calls."""

    def __init__(self) -> None:
        self._parts: dict[int, tuple[Material, list[Vec3], list[Vec3], list[tuple[float, float]], list[int]]] = {}
        self._order: list[int] = []

    def quad(self, corner: ArrayLike, u_edge: ArrayLike, v_edge: ArrayLike, material: Material,
             uv_scale: tuple[float, float] | None = None, uv_origin: tuple[float, float] = (0.0, 0.0),
             tile: float = 1.0) -> None:
        """A rectangle from `corner` spanning `u_edge` and `v_edge`, facing u × v (counter-clockwise front).

        UVs count texture repeats of `tile` metres (uv_origin is in metres too), unless `uv_scale` gives the UV
        span explicitly.
        """
        c = np.asarray(corner, dtype=float)
        u = np.asarray(u_edge, dtype=float)
        v = np.asarray(v_edge, dtype=float)
        normal = np.cross(u, v)
        length = float(np.linalg.norm(normal))
        if length < 1e-9:
            return
        normal /= length
        su, sv = uv_scale if uv_scale is not None else (float(np.linalg.norm(u)) / tile, float(np.linalg.norm(v)) / tile)
        ou, ov = uv_origin[0] / tile, uv_origin[1] / tile
        key = id(material)
        if key not in self._parts:
            self._parts[key] = (material, [], [], [], [])
            self._order.append(key)
        _, positions, normals, uvs, indices = self._parts[key]
        base = len(positions)
        for corner_point in (c, c + u, c + u + v, c + v):
            positions.append(_unit(corner_point))
            normals.append(_unit(normal))
        # glTF UV origin is top-left: v grows downwards, so the top edge of the quad gets the smaller v.
        uvs.extend([(ou, ov + sv), (ou + su, ov + sv), (ou + su, ov), (ou, ov)])
        indices.extend([base, base + 1, base + 2, base, base + 2, base + 3])

    def box(self, low: Sequence[float], high: Sequence[float], material: Material, bottom: bool = False) -> None:
        """An axis-aligned box with outward faces; the bottom face is left out unless asked (it sits on something)."""
        x0, y0, z0 = (float(a) for a in low)
        x1, y1, z1 = (float(a) for a in high)
        dx, dy, dz = x1 - x0, y1 - y0, z1 - z0
        self.quad((x0, y0, z1), (dx, 0, 0), (0, dy, 0), material)  # +Z
        self.quad((x1, y0, z0), (-dx, 0, 0), (0, dy, 0), material)  # -Z
        self.quad((x1, y0, z1), (0, 0, -dz), (0, dy, 0), material)  # +X
        self.quad((x0, y0, z0), (0, 0, dz), (0, dy, 0), material)  # -X
        self.quad((x0, y1, z1), (dx, 0, 0), (0, 0, -dz), material)  # +Y
        if bottom:
            self.quad((x0, y0, z0), (dx, 0, 0), (0, 0, dz), material)  # -Y

    def mesh(self, name: str) -> Mesh | None:
        primitives = [_primitive(p, n, t, i, m) for m, p, n, t, i in (self._parts[k] for k in self._order)]
        return Mesh(name=name, primitives=primitives) if primitives else None


def _rgba(color: Sequence[float]) -> tuple[float, float, float, float]:
    channels = [float(c) for c in color]
    return (channels[0], channels[1], channels[2], channels[3] if len(channels) > 3 else 1.0)


def solid(name: str, color: Sequence[float], roughness: float = 0.9, metallic: float = 0.0) -> Material:
    return Material(name=name, base_color_factor=_rgba(color), roughness_factor=roughness, metallic_factor=metallic)


def hex_color(text: str | None, default: Sequence[float]) -> tuple[float, float, float, float]:
    """'#rrggbb' (sRGB, as designers pick it) → linear RGBA as glTF base colour factors expect."""
    if not text:
        return _rgba(default)
    value = text.lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    channels = [int(value[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    alpha = int(value[6:8], 16) / 255 if len(value) == 8 else 1.0
    linear = srgb_to_linear(channels).tolist()
    return (round(linear[0], 6), round(linear[1], 6), round(linear[2], 6), round(alpha, 6))


def hex_to_srgb(text: str) -> tuple[int, int, int]:
    """'#rrggbb' → 8-bit sRGB channels, for drawing into images (textures are sRGB, factors are linear)."""
    value = text.lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    return (int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16))


@dataclass
class Opening:
    """A hole in a wall: from `start` to `end` along the wall (metres from its left end), `bottom` to `top` high."""

    start: float
    end: float
    bottom: float
    top: float


def wall_segments(length: float, height: float, openings: Sequence[Opening]) -> list[tuple[float, float, float, float]]:
    """Rectangles (u0, u1, v0, v1) covering a wall except its openings; openings are clamped into the wall."""
    pieces: list[tuple[float, float, float, float]] = []
    cursor = 0.0
    for opening in sorted(openings, key=lambda o: o.start):
        start = max(cursor, min(length, opening.start))
        end = max(start, min(length, opening.end))
        bottom = max(0.0, min(height, opening.bottom))
        top = max(bottom, min(height, opening.top))
        if start > cursor:
            pieces.append((cursor, start, 0.0, height))
        if end > start:
            if bottom > 0:
                pieces.append((start, end, 0.0, bottom))
            if top < height:
                pieces.append((start, end, top, height))
        cursor = max(cursor, end)
    if cursor < length:
        pieces.append((cursor, length, 0.0, height))
    return pieces


@dataclass
class RoomFrame:
    """Where a room's interior sits in the world: its min corner (x, z) and its size (width x, depth z, height y)."""

    id: str
    origin: tuple[float, float]
    size: Vec3

    @property
    def width(self) -> float:
        return self.size[0]

    @property
    def depth(self) -> float:
        return self.size[1]

    @property
    def height(self) -> float:
        return self.size[2]

    @property
    def low(self) -> Vec3:
        return (self.origin[0], 0.0, self.origin[1])

    @property
    def high(self) -> Vec3:
        return (self.origin[0] + self.width, self.height, self.origin[1] + self.depth)

    def wall_length(self, wall: str) -> float:
        return self.width if wall in ("north", "south") else self.depth

    def wall_point(self, wall: str, offset: float, y: float = 0.0) -> Vec3:
        """The world point `offset` metres from the wall's left end (as seen from inside), at height y."""
        x0, z0 = self.origin
        x1, z1 = x0 + self.width, z0 + self.depth
        if wall == "north":
            return (x0 + offset, y, z0)
        if wall == "east":
            return (x1, y, z0 + offset)
        if wall == "south":
            return (x1 - offset, y, z1)
        if wall == "west":
            return (x0, y, z1 - offset)
        raise ValueError(f"unknown wall {wall}")

    @staticmethod
    def wall_along(wall: str) -> Vec3:
        """Unit vector along the wall, from its left end to its right end as seen from inside."""
        return {"north": (1.0, 0.0, 0.0), "east": (0.0, 0.0, 1.0), "south": (-1.0, 0.0, 0.0),
                "west": (0.0, 0.0, -1.0)}[wall]

    @staticmethod
    def wall_normal(wall: str) -> Vec3:
        """The wall's inward normal (pointing into the room)."""
        return {"north": (0.0, 0.0, 1.0), "east": (-1.0, 0.0, 0.0), "south": (0.0, 0.0, -1.0),
                "west": (1.0, 0.0, 0.0)}[wall]

    def offset_of(self, wall: str, point: Sequence[float]) -> float:
        """The inverse of wall_point: how far along `wall` the world point lies."""
        start = self.wall_point(wall, 0.0)
        along = self.wall_along(wall)
        return (point[0] - start[0]) * along[0] + (point[2] - start[2]) * along[2]


@dataclass
class DoorLink:
    """A door between two rooms, in world coordinates: its centre on the shared wall plane."""

    room: str
    wall: str
    to: str
    centre: Vec3
    width: float
    height: float


@dataclass
class SurfaceLook:
    """A wall, floor or ceiling: colour (linear RGBA), an optional texture repeating every `tile` metres, and for
    built-in materials their relief (normal map) and roughness map on the same repeat."""

    color: tuple[float, float, float, float]
    texture: Texture | None = None
    tile: float = 1.0
    roughness: float = 0.9
    normal: Texture | None = None
    normal_scale: float = 1.0
    roughness_map: Texture | None = None

    def material(self, name: str) -> Material:
        material = solid(name, self.color, roughness=self.roughness)
        if self.texture is not None:
            material.base_color_texture = TextureRef(texture=self.texture)
        if self.normal is not None:
            material.normal_texture = TextureRef(texture=self.normal, scale=self.normal_scale)
        if self.roughness_map is not None:
            # The map holds the roughness (G) and no metal (B); the factors let it through unchanged.
            material.metallic_roughness_texture = TextureRef(texture=self.roughness_map)
            material.roughness_factor, material.metallic_factor = 1.0, 1.0
        return material


@dataclass
class RoomShellSpec:
    """What compose needs to build a room's shell, independent of how the spec spells it."""

    id: str
    walls: SurfaceLook
    floor: SurfaceLook
    ceiling: SurfaceLook
    lights: list[tuple[Light, Vec3]] = field(default_factory=list)


def build_shell(frame: RoomFrame, spec: RoomShellSpec, openings: dict[str, list[Opening]]) -> list[Node]:
    """Floor, ceiling and four walls facing inwards (with door openings), plus the room's lights."""
    walls = MeshBuilder()
    x0, z0 = frame.origin
    w, d, h = frame.width, frame.depth, frame.height
    floor = spec.floor.material(f"{spec.id}-floor")
    ceiling = spec.ceiling.material(f"{spec.id}-ceiling")
    wall = spec.walls.material(f"{spec.id}-wall")
    # The floor's UVs follow world X/Z so adjacent rooms' floor textures line up at the door.
    walls.quad((x0, 0.0, z0 + d), (w, 0, 0), (0, 0, -d), floor, uv_origin=(x0, -z0 - d), tile=spec.floor.tile)
    walls.quad((x0, h, z0), (w, 0, 0), (0, 0, d), ceiling, tile=spec.ceiling.tile)
    for name in WALLS:
        start = frame.wall_point(name, 0.0)
        along = np.asarray(frame.wall_along(name))
        for u0, u1, v0, v1 in wall_segments(frame.wall_length(name), h, openings.get(name, [])):
            corner = np.asarray(start) + along * u0 + np.array([0.0, v0, 0.0])
            walls.quad(corner, along * (u1 - u0), (0.0, v1 - v0, 0.0), wall, uv_origin=(u0, -v1),
                       tile=spec.walls.tile)
    nodes = []
    mesh = walls.mesh(f"{spec.id}-shell")
    if mesh is not None:
        nodes.append(Node(name=f"{spec.id}-shell", mesh=mesh, extras=lightmap_mark()))
    for index, (light, position) in enumerate(spec.lights):
        nodes.append(Node(name=f"{spec.id}-light-{index}", light=light, translation=position,
                          # Spot and directional lights shine down -Z; tilt them to face the floor.
                          rotation=(-math.sqrt(0.5), 0.0, 0.0, math.sqrt(0.5)) if light.type != "point" else
                          (0.0, 0.0, 0.0, 1.0)))
    return nodes


def lightmap_mark() -> dict[str, Any]:
    """Node extras that ask the bake stage for a lightmap: the shell and the stands, the surfaces light falls on."""
    return {"vitrina": {"lightmap": True}}


def default_lights(frame: RoomFrame, intensity: float = 1.0) -> list[tuple[Light, Vec3]]:
    """A grid of point lights below the ceiling, one per ~6 m of length, no more than four (each costs a pass)."""
    nx = max(1, min(2, round(frame.width / 6)))
    nz = max(1, min(2, round(frame.depth / 6)))
    lights = []
    reach = max(frame.width, frame.depth, frame.height) * 1.5
    for i in range(nx):
        for j in range(nz):
            x = frame.origin[0] + frame.width * (i + 0.5) / nx
            z = frame.origin[1] + frame.depth * (j + 0.5) / nz
            light = Light(type="point", color=(1.0, 0.97, 0.92), intensity=round(12.0 * intensity, 4),
                          range=round(reach, 3), name=f"{frame.id}-light-{i}-{j}")
            lights.append((light, (round(x, 6), round(frame.height - 0.3, 6), round(z, 6))))
    return lights


def look_rotation(direction: Sequence[float]) -> tuple[float, float, float, float]:
    """The quaternion that turns a light's -Z axis to point along `direction`."""
    d = np.asarray(direction, dtype=float)
    d = d / max(float(np.linalg.norm(d)), 1e-12)
    source = np.array([0.0, 0.0, -1.0])
    axis = np.cross(source, d)
    dot = float(np.clip(np.dot(source, d), -1.0, 1.0))
    if np.linalg.norm(axis) < 1e-9:
        return (0.0, 0.0, 0.0, 1.0) if dot > 0 else (1.0, 0.0, 0.0, 0.0)
    axis = axis / np.linalg.norm(axis)
    half = math.acos(dot) / 2
    s = math.sin(half)
    return (round(float(axis[0] * s), 7), round(float(axis[1] * s), 7), round(float(axis[2] * s), 7),
            round(math.cos(half), 7))


def _r(values: Iterable[float]) -> list[float]:
    """Round world coordinates for the manifest: sub-micrometre digits only make the JSON noisy."""
    return [round(float(v), 6) + 0.0 for v in values]


def _v3(values: Iterable[float]) -> Vec3:
    """Three rounded coordinates as a tuple (node translations, placements)."""
    x, y, z = _r(values)
    return (x, y, z)


def _unit(values: Iterable[float]) -> Vec3:
    x, y, z = (float(v) for v in values)
    return (x, y, z)


# ---------------------------------------------------------------------------------------------- panel text


PANEL_PIXELS_PER_METRE = 1024
# Fonts with CJK glyphs, looked for in this order; Pillow's own font covers Latin, Greek and Cyrillic.
CJK_FONT_PATTERNS = ("**/NotoSansCJK*-Regular.tt[cf]", "**/NotoSansSC-Regular.[ot]tf", "**/wqy-microhei.ttc",
                     "**/wqy-zenhei.ttc", "**/DroidSansFallback*.ttf")
FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".fonts")


def _needs_cjk(text: str) -> bool:
    return any(0x2E80 <= ord(c) <= 0x9FFF or 0xAC00 <= ord(c) <= 0xD7AF or 0xF900 <= ord(c) <= 0xFFEF for c in text)


def find_cjk_font() -> Path | None:
    for folder in FONT_DIRS:
        if folder.is_dir():
            for pattern in CJK_FONT_PATTERNS:
                found = sorted(folder.glob(pattern))
                if found:
                    return found[0]
    return None


CAPTION_SIZE = (0.24, 0.12)  # metres: a gallery label
CAPTION_BACKGROUND = (244, 241, 234)  # a plate's card, sRGB
CAPTION_PIXELS_PER_METRE = 2048  # labels are read from half a metre away: twice a panel's resolution
CAPTION_GAP = 0.06  # metres between a wall object's right edge and its label
LECTERN_DISTANCE, LECTERN_HEIGHT, LECTERN_TILT = 0.35, 1.0, 35.0  # a floor object's label stand, in front of it
MOUNT_SETBACK = 0.02  # metres between the wall and a mounted model's back


def _case_of(room: Room | None, place: Place) -> Case | None:
    """The case an artifact stands in (checked to exist by the spec's rules), or None."""
    if room is None or place.case is None:
        return None
    return next((case for case in room.cases if case.id == place.case), None)


def _drawn_text(remembered: Remembered | None, size: tuple[int, int], background: tuple[int, int, int],
                colour: tuple[int, int, int], title: str, body: str, font: Path | None, by_character: bool) -> bytes:
    """images.text_panel_png, remembered by its words, colours, size and font (the file's path and stat_key): a warm
    build of bronze-age with captions drew its twenty plates again, 0.16 s of 0.6."""
    def draw() -> bytes:
        return images.text_panel_png(size, background, colour, title, body, font, by_character=by_character)

    if remembered is None:
        return draw()
    font_version = None if font is None else [str(font), *stat_key(os.stat(font))]
    drawn = ["drawn text", list(size), list(background), list(colour), title, body, font_version, by_character,
             code_version()]
    return remembered(hashlib.sha256(json.dumps(drawn).encode()).hexdigest(), draw)


def render_caption_textures(artifact: Artifact, languages: tuple[str, ...],
                            remembered: Remembered | None = None) -> dict[str, Texture]:
    """A caption plate per language (the title, then maker · date · material), for each language that has a text
    and that a font here can draw, in the exhibit's language order: the first goes into the room, the viewer swaps
    in the others when the visitor changes language."""
    width = round(CAPTION_SIZE[0] * CAPTION_PIXELS_PER_METRE)
    height = round(CAPTION_SIZE[1] * CAPTION_PIXELS_PER_METRE)
    record = artifact.record
    cjk_font = find_cjk_font()
    plates: dict[str, Texture] = {}
    for language in languages:
        title = dict(record.title).get(language) or dict(artifact.alt).get(language, "")
        details = " · ".join(text for text in (dict(field).get(language, "") for field in
                                               (record.creator, record.date, record.material)) if text)
        if not title and not details:
            continue
        needs_cjk = _needs_cjk(title + details)
        if needs_cjk and cjk_font is None:
            continue
        data = _drawn_text(remembered, (width, height), CAPTION_BACKGROUND, (34, 34, 34), title, details,
                           cjk_font if needs_cjk else None, needs_cjk)
        plates[language] = Texture(name=f"{artifact.id}-caption.png", data=data, mime_type="image/png", width=width,
                                   height=height, source_path=f"caption of {artifact.id} ({language})",
                                   drawn_on=CAPTION_BACKGROUND)
    return plates


def render_panel_texture(artifact: Artifact, languages: tuple[str, ...],
                         remembered: Remembered | None = None) -> Texture | None:
    """The panel's title and text drawn on its background, in the first language that a font here can draw.

    Without a CJK font a Chinese text is skipped for the next language rather than drawn as boxes; with no
    drawable language at all the panel stays plain (its text is in the manifest and on the text pages).
    """
    width_m, height_m = artifact.size if artifact.size is not None else (1.0, 0.7)
    width = min(2048, max(64, round(width_m * PANEL_PIXELS_PER_METRE)))
    height = min(2048, max(64, round(height_m * PANEL_PIXELS_PER_METRE)))
    cjk_font = find_cjk_font()
    for language in languages:
        body = dict(artifact.text).get(language, "")
        title = dict(artifact.record.title).get(language, "")
        if not body and not title:
            continue
        needs_cjk = _needs_cjk(body + title)
        if needs_cjk and cjk_font is None:
            continue
        background = hex_to_srgb(artifact.background)
        data = _drawn_text(remembered, (width, height), background, hex_to_srgb(artifact.color),
                           title, body, cjk_font if needs_cjk else None, needs_cjk)
        return Texture(name=f"{artifact.id}-panel.png", data=data, mime_type="image/png", width=width, height=height,
                       source_path=f"panel text of {artifact.id} ({language})", drawn_on=background)
    return None


# ---------------------------------------------------------------------------------------------- the exhibit


@dataclass
class ArtifactPlacement:
    """Where compose put an artifact, in world coordinates: what the manifest and the tours need."""

    id: str
    kind: str
    room: str
    position: Vec3  # the artifact node's origin: a model's base centre, an image's or panel's centre
    bounds: tuple[Vec3, Vec3]
    front: Vec3  # unit vector the artifact faces (horizontal)
    view: dict[str, list[float]]
    annotations: dict[str, Vec3] = field(default_factory=dict)
    # A model's artifact node (placement, record, no children): its ladder GLBs carry it as their root.
    node: Node | None = None


@dataclass
class ComposedRoom:
    id: str
    frame: RoomFrame
    scene: Scene
    doors: list[DoorLink]
    artifact_ids: list[str]


@dataclass
class Composition:
    """Everything compose produced: a Scene per room (in spec order) and world placements for the manifest."""

    rooms: list[ComposedRoom]
    artifacts: dict[str, ArtifactPlacement]
    stop_views: dict[tuple[str, int], dict[str, list[float]]]
    start: dict[str, Any]
    caption_plates: dict[str, dict[str, Texture]] = field(default_factory=dict)
    """Artifact id → its caption plate per language, when it has more than one (the room holds the first)."""


def text_map(text: Any) -> dict[str, str]:
    """A language map as a plain dict without empty values (the model stores read-only mappings)."""
    if not text:
        return {}
    return {str(k): str(v) for k, v in dict(text).items() if v}


def record_dict(record: Record) -> dict[str, Any]:
    """The object record as JSON, every key present (so readers need no guards): language maps and URI strings."""
    out: dict[str, Any] = {}
    for name in ("title", "creator", "date", "culture", "material", "dimensions"):
        out[name] = text_map(getattr(record, name))
    out["accession"] = record.accession or ""
    out["credit"] = text_map(record.credit)
    out["rights"] = record.rights or ""
    out["description"] = text_map(record.description)
    out["source"] = record.source or ""
    return out


def _lang_alt(text: dict[str, str], default_language: str) -> dict[str, Any]:
    # XMP language alternatives: the default language first, so readers that take the first item get it.
    ordered = sorted(text.items(), key=lambda item: (item[0] != default_language, 0))
    alt: dict[str, Any] = {"@type": "rdf:Alt"}
    for n, (language, value) in enumerate(ordered, start=1):
        alt[f"rdf:_{n}"] = {"@language": language, "@value": value}
    return alt


def _in_default(text: dict[str, str], default_language: str) -> str:
    return text.get(default_language) or next(iter(text.values()), "")


def dublin_core(artifact_id: str, record: Record, default_language: str, exhibit_rights: str,
                fallback_title: dict[str, str] | None = None) -> dict[str, Any]:
    """The record as a KHR_xmp_json_ld packet: Dublin Core elements, XMP rights and the credit line.

    Every packet has a dc:title; an untitled record (a text panel, say) uses `fallback_title`, else its id.
    """
    packet: dict[str, Any] = {
        "@context": {
            "dc": "http://purl.org/dc/elements/1.1/",
            "xmpRights": "http://ns.adobe.com/xap/1.0/rights/",
            "photoshop": "http://ns.adobe.com/photoshop/1.0/",
            "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
        },
        "@id": "",
    }
    data = record_dict(record)
    title = data.get("title") or fallback_title or {default_language: artifact_id}
    packet["dc:title"] = _lang_alt(title, default_language)
    if data["creator"]:
        packet["dc:creator"] = {"@list": [_in_default(data["creator"], default_language)]}
    if data["date"]:
        packet["dc:date"] = {"@list": [_in_default(data["date"], default_language)]}
    if data["description"]:
        packet["dc:description"] = _lang_alt(data["description"], default_language)
    if data["culture"]:
        packet["dc:coverage"] = _in_default(data["culture"], default_language)
    packet["dc:identifier"] = data.get("accession") or artifact_id
    rights = data.get("rights") or exhibit_rights
    if rights:
        packet["dc:rights"] = _lang_alt({"x-default": rights}, "x-default")
        packet["xmpRights:WebStatement"] = rights
    if data["credit"]:
        packet["photoshop:Credit"] = _in_default(data["credit"], default_language)
    if data["source"]:
        packet["dc:source"] = data["source"]
    return packet


def layout_rooms(exhibit: Exhibit) -> dict[str, tuple[float, float]]:
    """Each room's centre [x, z] in the world: given, or beside the room whose door leads to it, door to door."""
    rooms = {room.id: room for room in exhibit.rooms}
    centres: dict[str, tuple[float, float]] = {
        r.id: (float(r.position[0]), float(r.position[1])) for r in exhibit.rooms if r.position is not None}
    if not centres and exhibit.rooms:
        centres[exhibit.rooms[0].id] = (0.0, 0.0)
    # Doors as edges in both directions: (from, wall, offset on from's wall, to, offset on to's wall if declared).
    edges: dict[str, list[tuple[str, float, str, str]]] = {r.id: [] for r in exhibit.rooms}
    for room in exhibit.rooms:
        for door in room.doors:
            if door.to not in rooms:
                continue
            edges[room.id].append((door.wall, door.at, door.to, room.id))
            edges[door.to].append((OPPOSITE[door.wall], _declared_offset(rooms[door.to], room.id, OPPOSITE[door.wall]),
                                   room.id, room.id))
    while True:
        pending = [r.id for r in exhibit.rooms if r.id in centres]
        placed_any = False
        for room_id in pending:
            for wall, offset, other_id, _ in edges[room_id]:
                if other_id in centres:
                    continue
                room, other = rooms[room_id], rooms[other_id]
                frame = _frame(room, centres[room_id])
                door_centre = frame.wall_point(wall, frame.wall_length(wall) / 2 + offset)
                other_wall = OPPOSITE[wall]
                other_offset = _declared_offset(other, room_id, other_wall)
                probe = _frame(other, (0.0, 0.0))
                probe_point = probe.wall_point(other_wall, probe.wall_length(other_wall) / 2 + other_offset)
                centres[other_id] = (round(door_centre[0] - probe_point[0], 6), round(door_centre[2] - probe_point[2], 6))
                placed_any = True
        if not placed_any:
            loose = [r for r in exhibit.rooms if r.id not in centres]
            if not loose:
                break
            # A room no door reaches: set it beside the others, east of everything, with a 2 m gap.
            east = max(centres[r][0] + rooms[r].size[0] / 2 for r in centres)
            centres[loose[0].id] = (round(east + 2.0 + loose[0].size[0] / 2, 6), 0.0)
    return centres


def _declared_offset(room: Room, to: str, wall: str) -> float:
    door = next((d for d in room.doors if d.to == to and d.wall == wall), None)
    return door.at if door is not None else 0.0


def _frame(room: Room, centre: tuple[float, float]) -> RoomFrame:
    width, depth, height = (float(v) for v in room.size)
    return RoomFrame(id=room.id, origin=(centre[0] - width / 2, centre[1] - depth / 2), size=(width, depth, height))


def _door_links(exhibit: Exhibit, frames: dict[str, RoomFrame]) -> dict[str, list[DoorLink]]:
    """Every door once per room it opens from: the declared side and the far side, on the shared wall plane."""
    links: dict[str, list[DoorLink]] = {room.id: [] for room in exhibit.rooms}
    seen: set[tuple[str, str, str]] = set()
    for room in exhibit.rooms:
        frame = frames[room.id]
        for door in room.doors:
            if door.to not in frames or (room.id, door.wall, door.to) in seen:
                continue
            height = min(door.height, frame.height, frames[door.to].height)
            centre = frame.wall_point(door.wall, frame.wall_length(door.wall) / 2 + door.at)
            links[room.id].append(DoorLink(room.id, door.wall, door.to, centre, door.width, height))
            seen.add((room.id, door.wall, door.to))
            back = OPPOSITE[door.wall]
            if (door.to, back, room.id) not in seen:
                links[door.to].append(DoorLink(door.to, back, room.id, centre, door.width, height))
                seen.add((door.to, back, room.id))
    return links


def check_room_layout(exhibit: Exhibit, frames: dict[str, RoomFrame]) -> None:
    """Rooms must not overlap, and every door must open onto the room it leads to (BuildError otherwise).

    Rooms placed beside a door always line up; rooms with an explicit `position` may not, and a door into
    a wall of nothing, or two rooms inside each other, would only show up as a broken walk in the viewer.
    """
    problems: list[str] = []
    ids = [room.id for room in exhibit.rooms]
    for index, first in enumerate(ids):
        for second in ids[index + 1:]:
            a, b = frames[first], frames[second]
            overlap_x = min(a.high[0], b.high[0]) - max(a.low[0], b.low[0])
            overlap_z = min(a.high[2], b.high[2]) - max(a.low[2], b.low[2])
            if overlap_x > 1e-6 and overlap_z > 1e-6:
                problems.append(f"rooms {first} and {second} overlap by {overlap_x:.2f} × {overlap_z:.2f} m")
    for room in exhibit.rooms:
        frame = frames[room.id]
        for door in room.doors:
            if door.to not in frames:
                continue
            other = frames[door.to]
            back = OPPOSITE[door.wall]
            centre = frame.wall_point(door.wall, frame.wall_length(door.wall) / 2 + door.at)
            plane = other.wall_point(back, 0.0)
            axis = 0 if door.wall in ("east", "west") else 2
            along = other.offset_of(back, centre)
            if abs(centre[axis] - plane[axis]) > 1e-3 or along - door.width / 2 < -1e-3 \
                    or along + door.width / 2 > other.wall_length(back) + 1e-3:
                problems.append(
                    f"room {room.id}: the door on its {door.wall} wall leads to {door.to}, but {door.to}'s "
                    f"{back} wall is not there; leave out {door.to}'s position to place it beside the door")
    if problems:
        raise BuildError("the rooms do not fit together:\n  " + "\n  ".join(problems))


def _openings(frame: RoomFrame, doors: list[DoorLink]) -> dict[str, list[Opening]]:
    out: dict[str, list[Opening]] = {}
    for door in doors:
        along = frame.offset_of(door.wall, door.centre)
        out.setdefault(door.wall, []).append(Opening(along - door.width / 2, along + door.width / 2, 0.0, door.height))
    return out


DEFAULT_SURFACES = {"walls": "#e8e4dc", "floor": "#8a8178", "ceiling": "#f4f2ee"}


class Composer:
    """Builds the rooms of one exhibit; holds the materials it creates so equal ones are shared."""

    def __init__(self, exhibit: Exhibit, assets: Mapping[str, ModelShape | Scene], textures: dict[str, Texture],
                 panel_textures: dict[str, Texture] | None = None, remembered: Remembered | None = None) -> None:
        self.exhibit = exhibit
        self.remembered = remembered  # where drawn text is kept (see _drawn_text)
        self.assets = assets  # artifact id → the model's shape (or its scene, whose shape is taken)
        self.textures = textures  # file path (str) → texture, for images and surfaces
        self.panel_textures = panel_textures or {}  # artifact id → rendered panel text
        self.language = exhibit.default_language
        self._materials: dict[tuple[Any, ...], Material] = {}
        self.caption_plates: dict[str, dict[str, Texture]] = {}

    def material(self, name: str, color: tuple[float, float, float, float], roughness: float = 0.9,
                 metallic: float = 0.0, alpha: str = "OPAQUE", double_sided: bool = False) -> Material:
        key = (name, color, roughness, metallic, alpha, double_sided)
        if key not in self._materials:
            material = solid(name, color, roughness, metallic)
            material.alpha_mode = alpha
            material.double_sided = double_sided
            self._materials[key] = material
        return self._materials[key]

    def compose(self) -> Composition:
        exhibit = self.exhibit
        centres = layout_rooms(exhibit)
        frames = {room.id: _frame(room, centres[room.id]) for room in exhibit.rooms}
        check_room_layout(exhibit, frames)
        doors = _door_links(exhibit, frames)
        placements: dict[str, ArtifactPlacement] = {}
        rooms: list[ComposedRoom] = []
        for room in exhibit.rooms:
            frame = frames[room.id]
            scene = Scene(name=room.id, copyright=exhibit.exhibit.rights or "")
            scene.extras = {"vitrina": {"room": room.id, "ambient": room.lighting.ambient,
                                        "light_color": room.lighting.color,
                                        "exposure": round(exhibit.exhibit.exposure * room.lighting.exposure, 4)}}
            if exhibit.exhibit.rights:
                scene.xmp = {"@context": {"dc": "http://purl.org/dc/elements/1.1/",
                                          "xmpRights": "http://ns.adobe.com/xap/1.0/rights/"},
                             "@id": "", "xmpRights:WebStatement": exhibit.exhibit.rights,
                             "dc:title": _lang_alt(text_map(exhibit.exhibit.title), self.language)}
            shell = self._shell_spec(room, frame)
            scene.nodes.extend(build_shell(frame, shell, _openings(frame, doors[room.id])))
            scene.nodes.extend(self._case_node(room, frame, case) for case in room.cases)
            ids = []
            for artifact in exhibit.artifacts:
                if artifact.place is None or artifact.place.room != room.id:
                    continue
                placement = self._place(artifact, room, frame, scene)
                placements[artifact.id] = placement
                ids.append(artifact.id)
            rooms.append(ComposedRoom(room.id, frame, scene, doors[room.id], ids))
        _unique_artifact_names(rooms, set(placements))
        stop_views = self._stop_views(placements, frames)
        start_room = exhibit.start_room
        frame = frames[start_room.id]
        centre = centres[start_room.id]
        at = start_room.start.at if start_room.start is not None else (0.0, 0.0)
        position = (centre[0] + at[0], 0.0, centre[1] + at[1])
        if start_room.start is None:
            # The default spot is the room's centre, where a one-object room puts its object: step back from it.
            standing = [placement for placement in placements.values() if placement.room == start_room.id]
            position = start_clear_of(position, standing, frame)
        facing = start_room.start.facing if start_room.start is not None else None
        if facing is None:
            featured = exhibit.featured_artifact(start_room.id)
            target = placements[featured.id].bounds if featured is not None and featured.id in placements else None
            facing = start_facing(frame, position, target)
        start = {"room": start_room.id, "position": _r(position), "yaw": round(-float(facing), 6) + 0.0}
        return Composition(rooms, placements, stop_views, start, self.caption_plates)

    # ---- rooms

    def _surface_texture(self, surface: Surface) -> Texture | None:
        if surface.texture is None:
            return None
        return self.textures.get(str(surface.texture.path))

    def _shell_spec(self, room: Room, frame: RoomFrame) -> RoomShellSpec:
        def look(name: str) -> SurfaceLook:
            surface: Surface = getattr(room, name)
            if surface.material is not None:
                return self._material_look(surface)
            colour = hex_color(surface.color or DEFAULT_SURFACES[name], (1, 1, 1))
            return SurfaceLook(colour, self._surface_texture(surface), surface.texture_size, surface.roughness)

        light_colour = hex_color(room.lighting.color, (1, 1, 1))[:3]
        lights = default_lights(frame, intensity=max(room.lighting.ambient, 0.0))
        for light, _ in lights:
            light.color = (round(light_colour[0], 6), round(light_colour[1], 6), round(light_colour[2], 6))
        return RoomShellSpec(id=room.id, walls=look("walls"), floor=look("floor"), ceiling=look("ceiling"),
                             lights=lights)

    def _material_look(self, surface: Surface) -> SurfaceLook:
        """A built-in material's maps (loaded by the build from pipeline/surfaces), tinted by the surface's colour."""
        from pipeline.surfaces import LIBRARY

        assert surface.material is not None
        library = LIBRARY[surface.material]
        maps = {slot: self.textures.get(str(library.file(slot))) for slot in ("basecolor.jpg", "normal.png",
                                                                            "roughness.png")}
        tile = surface.texture_size if surface.texture_size != 1.0 else library.tile
        return SurfaceLook(hex_color(surface.color or "#ffffff", (1, 1, 1)), maps["basecolor.jpg"], tile,
                           surface.roughness, maps["normal.png"], library.normal_scale, maps["roughness.png"])

    def _spotlight(self, room: Room, frame: RoomFrame, scene: Scene, artifact_id: str, target: Vec3,
                   radius: float, offset: Vec3 = (0.0, 0.0, 0.0)) -> None:
        if not room.lighting.spotlights:
            return
        position = (target[0] + offset[0], frame.height - 0.05, target[2] + offset[2])
        direction = np.asarray(target) - np.asarray(position)
        distance = float(np.linalg.norm(direction))
        cone = min(math.atan2(radius * 1.3, max(distance, 1e-3)), math.radians(40))
        colour = hex_color(room.lighting.color, (1, 1, 1))[:3]
        light = Light(type="spot", color=(round(colour[0], 6), round(colour[1], 6), round(colour[2], 6)),
                      intensity=round(20.0 * room.lighting.spot_intensity, 4), range=round(distance * 2.5, 3),
                      inner_cone_angle=round(cone * 0.6, 6), outer_cone_angle=round(cone, 6),
                      name=f"{artifact_id}-spot")
        scene.nodes.append(Node(name=f"{artifact_id}-spot", light=light, translation=_v3(position),
                                rotation=look_rotation(direction)))

    # ---- artifacts

    def _place(self, artifact: Artifact, room: Room, frame: RoomFrame, scene: Scene) -> ArtifactPlacement:
        if artifact.kind == "model":
            return self._place_model(artifact, room, frame, scene)
        return self._place_flat(artifact, room, frame, scene)

    def _artifact_node(self, artifact: Artifact) -> Node:
        record = record_dict(artifact.record)
        extras = {"vitrina": {"id": artifact.id, "kind": artifact.kind, "record": record}}
        if artifact.alt:
            extras["vitrina"]["alt"] = text_map(artifact.alt)
        return Node(name=artifact.id, keep=True, extras=extras,
                    xmp=dublin_core(artifact.id, artifact.record, self.language, self.exhibit.exhibit.rights,
                                    fallback_title=text_map(artifact.alt)))

    def _place_model(self, artifact: Artifact, room: Room, frame: RoomFrame, scene: Scene) -> ArtifactPlacement:
        asset = self.assets.get(artifact.id)
        shape = model_shape(asset) if isinstance(asset, Scene) else asset
        if shape is None:
            source = artifact.model.written if artifact.model is not None else artifact.id
            raise AssetError(source, "the model has no geometry to place")
        low, high = shape.low, shape.high
        size = high - low
        scale = 1.0
        if artifact.height is not None and size[1] > 0:
            scale = float(artifact.height) / float(size[1])
        place = artifact.placed
        if place.wall is not None:
            # Hung on a wall (a relief, a mask): front out of the wall, back against it, centred at `height`;
            # with a mount it stands on a board whose top is at `height`.
            normal = frame.wall_normal(place.wall)
            yaw = math.degrees(math.atan2(normal[0], normal[2]))
            depth = float(size[2]) * scale
            base_y = place.wall_height if place.mount else place.wall_height - float(size[1]) * scale / 2
            centre = frame.wall_point(place.wall, frame.wall_length(place.wall) / 2 + place.wall_offset, base_y)
            gap = MOUNT_SETBACK if place.mount else PICTURE_GAP
            base = _v3(np.asarray(centre) + np.asarray(normal) * (depth / 2 + gap))
            if place.mount:
                scene.nodes.append(self._wall_mount(artifact.id, place.mount, centre, yaw,
                                                    float(size[0]) * scale, depth + 2 * gap))
        else:
            yaw = -float(place.rotate)  # the spec turns clockwise seen from above; glTF's +Y turns the other way
            centre_x, centre_z = frame.origin[0] + frame.width / 2, frame.origin[1] + frame.depth / 2
            at = place.floor_at
            case = _case_of(room, place)
            standing = case.plinth_height if case is not None else place.base_height
            base = (centre_x + at[0], standing, centre_z + at[1])
        # The model itself is not in the room's shell: its ladder GLBs carry this node (see pipeline.ladder).
        node = self._artifact_node(artifact)
        node.translation = _v3(base)
        node.rotation = yaw_quaternion(yaw)
        node.scale = (scale, scale, scale)

        footprint = (float(size[0]) * scale, float(size[2]) * scale)
        tall = float(size[1]) * scale
        if place.wall is None and (place.plinth is not None or place.vitrine is not None):
            scene.nodes.append(self._stand(artifact, place, base, yaw, footprint, tall))
        offset = np.eye(4)
        offset[:3, 3] = model_offset(shape)
        placed = (node_matrix(node) @ offset @ np.c_[shape.corners, np.ones(len(shape.corners))].T).T[:, :3]
        wlow, whigh = placed.min(axis=0), placed.max(axis=0)
        front = rotate_yaw((0.0, 0.0, 1.0), yaw)
        if self._wants_caption(artifact):
            plate = self._model_caption(artifact, frame, base, yaw, footprint, float(whigh[1] + wlow[1]) / 2)
            if plate is not None:
                scene.nodes.append(plate)
        annotations = {a.id: _v3(np.asarray(base) + np.asarray(rotate_yaw(a.at, yaw)))
                       for a in artifact.annotations}
        target = _v3((wlow + whigh) / 2)
        radius = float(np.linalg.norm(whigh - wlow)) / 2
        self._spotlight(room, frame, scene, artifact.id, target, radius, offset=_v3(np.asarray(front) * 0.8))
        view = default_view(target, radius, front, frame)
        return ArtifactPlacement(artifact.id, "model", room.id, _v3(base), (_v3(wlow), _v3(whigh)), front, view,
                                 annotations, node=node)

    def _stand(self, artifact: Artifact, place: Place, base: Vec3, yaw: float, footprint: tuple[float, float],
               tall: float) -> Node:
        """A plinth, or a vitrine's pedestal and glass, turned with the artifact and sized to its footprint."""
        builder = MeshBuilder()
        if place.vitrine is not None:
            v = place.vitrine
            width, depth = footprint[0] + 2 * v.margin, footprint[1] + 2 * v.margin
            glass_height = v.height if v.height is not None else tall + v.margin
            pedestal = self.material(f"{artifact.id}-pedestal", hex_color(v.color, (1, 1, 1)))
            glass = self.material("vitrine-glass", (0.92, 0.96, 1.0, 0.12), roughness=0.05, alpha="BLEND",
                                  double_sided=True)
            builder.box((-width / 2, -v.plinth_height, -depth / 2), (width / 2, 0.0, depth / 2), pedestal)
            builder.box((-width / 2, 0.0, -depth / 2), (width / 2, glass_height, depth / 2), glass)
        else:
            p = place.plinth
            assert p is not None  # the caller builds a stand only for a plinth or a vitrine
            width = p.width if p.width is not None else footprint[0] + 2 * p.margin
            depth = p.depth if p.depth is not None else footprint[1] + 2 * p.margin
            stone = self.material(f"{artifact.id}-plinth", hex_color(p.color, (1, 1, 1)))
            builder.box((-width / 2, -p.height, -depth / 2), (width / 2, 0.0, depth / 2), stone)
        mesh = builder.mesh(f"{artifact.id}-stand")
        return Node(name=f"{artifact.id}-stand", mesh=mesh, translation=base, rotation=yaw_quaternion(yaw),
                    extras=lightmap_mark())

    def _place_flat(self, artifact: Artifact, room: Room, frame: RoomFrame, scene: Scene) -> ArtifactPlacement:
        """An image in its frame or a text panel: on a wall, or (panels) standing on the floor."""
        place = artifact.placed
        width, height = self._flat_size(artifact)
        along: np.ndarray
        normal: np.ndarray
        if place.wall is not None:
            wall = place.wall
            along = np.asarray(frame.wall_along(wall), dtype=float)
            normal = np.asarray(frame.wall_normal(wall), dtype=float)
            wall_point = frame.wall_point(wall, frame.wall_length(wall) / 2 + place.wall_offset, place.wall_height)
            centre = np.asarray(wall_point) + normal * PICTURE_GAP
            yaw = math.degrees(math.atan2(normal[0], normal[2]))
        else:
            yaw = -float(place.rotate)
            normal = np.asarray(rotate_yaw((0.0, 0.0, 1.0), yaw))
            along = np.asarray(rotate_yaw((1.0, 0.0, 0.0), yaw))
            at = place.floor_at
            centre = np.array([frame.origin[0] + frame.width / 2 + at[0], place.wall_height,
                               frame.origin[1] + frame.depth / 2 + at[1]])
        up = np.array([0.0, 1.0, 0.0])
        builder = MeshBuilder()
        # Geometry is built in the node's frame (x along, y up, +z out of the wall), then turned by the node.
        x, y = np.array([1.0, 0, 0]), up
        face = self._face_material(artifact)
        builder.quad(-x * width / 2 - y * height / 2, x * width, y * height, face, uv_scale=(1.0, 1.0))
        if artifact.kind == "image" and artifact.frame is not None and artifact.frame.width > 0:
            self._frame_boxes(builder, artifact, width, height)
        elif artifact.kind == "panel":
            back = self.material(f"{artifact.id}-back", hex_color(artifact.background, (1, 1, 1)))
            builder.box((-width / 2, -height / 2, -0.02), (width / 2, height / 2, -0.001), back, bottom=True)
            if not place.on_wall:
                post = self.material("panel-post", (0.2, 0.2, 0.2, 1.0), roughness=0.5, metallic=0.8)
                builder.box((-0.03, -place.wall_height, -0.05), (0.03, -height / 2, -0.01), post)
        node = self._artifact_node(artifact)
        node.mesh = builder.mesh(f"{artifact.id}")
        node.translation = _v3(centre)
        node.rotation = yaw_quaternion(yaw)
        scene.nodes.append(node)
        if place.wall is not None and artifact.kind == "image" and self._wants_caption(artifact):
            plate = self._wall_caption(artifact, frame, place.wall, place.wall_offset + width / 2, place.wall_height)
            if plate is not None:
                scene.nodes.append(plate)
        world = nodes_bounds([node])
        assert world is not None
        wlow, whigh = world
        annotations = {a.id: _v3(centre + along * a.at[0] + up * a.at[1] + normal * a.at[2])
                       for a in artifact.annotations}
        target = _v3(centre)
        radius = math.hypot(width, height) / 2
        front = _unit(normal)
        self._spotlight(room, frame, scene, artifact.id, target, radius, offset=_v3(normal * 1.2))
        view = default_view(target, radius, front, frame, elevation=0.0)
        return ArtifactPlacement(artifact.id, artifact.kind, room.id, target, (_v3(wlow), _v3(whigh)), front, view,
                                 annotations)

    # ---- caption plates and wall mounts (exhibit.captions, artifacts[].caption, place.mount)

    def _wants_caption(self, artifact: Artifact) -> bool:
        wanted = artifact.caption if artifact.caption is not None else self.exhibit.exhibit.captions
        return bool(wanted) and artifact.kind != "panel"

    def _caption_node(self, artifact: Artifact, centre: ArrayLike, yaw: float, tilt: float = 0.0,
                      post: float = 0.0) -> Node | None:
        """The plate (facing +z of a node turned by yaw, leaning back by tilt degrees), on a post `post` m tall."""
        plates = render_caption_textures(artifact, self.exhibit.languages, self.remembered)
        if not plates:
            return None
        texture = next(iter(plates.values()))
        if len(plates) > 1:
            self.caption_plates[artifact.id] = plates
        width, height = CAPTION_SIZE
        face = Material(name=f"{artifact.id}-caption", roughness_factor=0.9, metallic_factor=0.0,
                        base_color_texture=TextureRef(texture=texture))
        builder = MeshBuilder()
        lean = math.radians(tilt)
        up = np.array([0.0, math.cos(lean), -math.sin(lean)])
        builder.quad(np.array([-width / 2, 0.0, 0.0]) - up * height / 2, (width, 0.0, 0.0), up * height, face,
                     uv_scale=(1.0, 1.0))
        back = self.material("caption-back", (0.16, 0.16, 0.16, 1.0), roughness=0.6)
        builder.box((-width / 2, -height / 2, -0.012), (width / 2, height / 2, -0.002), back, bottom=True)
        if post > 0:
            builder.box((-0.02, -post, -0.04), (0.02, -height / 2, 0.0), back)
        return Node(name=f"{artifact.id}-caption", mesh=builder.mesh(f"{artifact.id}-caption"),
                    translation=_v3(np.asarray(centre, dtype=float)), rotation=yaw_quaternion(yaw))

    def _model_caption(self, artifact: Artifact, frame: RoomFrame, base: Vec3, yaw: float,
                       footprint: tuple[float, float], middle_y: float) -> Node | None:
        place = artifact.place
        if place is None:  # not placed yet: no plate either
            return None
        if place.wall is not None:
            half = footprint[0] / 2
            height = place.wall_height + 0.1 if place.mount else middle_y
            return self._wall_caption(artifact, frame, place.wall, place.wall_offset + half, height)
        front = np.asarray(rotate_yaw((0.0, 0.0, 1.0), yaw))
        case = _case_of(self.exhibit.room(place.room), place)
        if case is not None:  # on the pedestal's front face, straight in front of the object
            case_front = np.asarray(rotate_yaw((0.0, 0.0, 1.0), -case.rotate))
            case_centre = np.array([frame.origin[0] + frame.width / 2 + case.at[0], 0.0,
                                    frame.origin[1] + frame.depth / 2 + case.at[1]])
            ahead = case.size[1] / 2 - float(np.dot(np.asarray(base) - case_centre, case_front)) + 0.004
            centre = np.asarray(base) + case_front * ahead - np.array([0.0, min(0.12, case.plinth_height * 0.3), 0.0])
            return self._caption_node(artifact, centre, -case.rotate)
        if place.plinth is not None or place.vitrine is not None:
            stand = place.vitrine or place.plinth
            depth = footprint[1] + 2 * stand.margin if stand is not None else footprint[1]
            if place.plinth is not None and place.plinth.depth is not None and place.vitrine is None:
                depth = place.plinth.depth
            top = place.base_height
            centre = np.asarray(base) + front * (depth / 2 + 0.004) - np.array([0.0, min(0.12, top * 0.3), 0.0])
            return self._caption_node(artifact, centre, yaw)
        # On the floor with nothing to carry a plate: a small lectern in front of the object.
        centre = np.asarray(base) + front * (footprint[1] / 2 + LECTERN_DISTANCE)
        centre[1] = LECTERN_HEIGHT
        return self._caption_node(artifact, centre, yaw, tilt=LECTERN_TILT, post=LECTERN_HEIGHT)

    def _wall_caption(self, artifact: Artifact, frame: RoomFrame, wall: str, right_edge: float,
                      height: float) -> Node | None:
        """A plate on the wall to the right of the object (a visitor facing the wall), at a readable height."""
        width, _ = CAPTION_SIZE
        offset = right_edge + CAPTION_GAP + width / 2
        y = min(max(height, 1.0), 1.6)
        point = np.asarray(frame.wall_point(wall, frame.wall_length(wall) / 2 + offset, y))
        normal = np.asarray(frame.wall_normal(wall))
        yaw = math.degrees(math.atan2(normal[0], normal[2]))
        return self._caption_node(artifact, point + normal * (PICTURE_GAP + 0.012), yaw)

    def _case_node(self, room: Room, frame: RoomFrame, case: Case) -> Node:
        """A case for several artifacts: a pedestal and a glass box above it, turned with the case."""
        width, depth, glass_height = case.size
        builder = MeshBuilder()
        pedestal = self.material(f"{room.id}-{case.id}-pedestal", hex_color(case.color, (1, 1, 1)))
        glass = self.material("vitrine-glass", (0.92, 0.96, 1.0, 0.12), roughness=0.05, alpha="BLEND",
                              double_sided=True)
        builder.box((-width / 2, 0.0, -depth / 2), (width / 2, case.plinth_height, depth / 2), pedestal)
        builder.box((-width / 2, case.plinth_height, -depth / 2), (width / 2, case.plinth_height + glass_height,
                                                                    depth / 2), glass)
        centre = (frame.origin[0] + frame.width / 2 + case.at[0], 0.0, frame.origin[1] + frame.depth / 2 + case.at[1])
        name = f"{room.id}-case-{case.id}"
        return Node(name=name, mesh=builder.mesh(name), translation=_v3(centre),
                    rotation=yaw_quaternion(-float(case.rotate)))

    def _wall_mount(self, artifact_id: str, mount: str, wall_point: Sequence[float], yaw: float, width: float,
                    depth: float) -> Node:
        """A shelf (a board wider than the object) or a bracket (a small board on two angled supports)."""
        builder = MeshBuilder()
        wood = self.material(f"mount-{mount}", (0.42, 0.33, 0.25, 1.0), roughness=0.7)
        extra = 0.3 if mount == "shelf" else 0.08
        board_width, board_depth, thickness = width + extra, depth + 0.04, 0.025
        builder.box((-board_width / 2, -thickness, 0.0), (board_width / 2, 0.0, board_depth), wood, bottom=True)
        if mount == "bracket":
            for side in (-1, 1):  # two knees under the board, from the wall to near its front edge
                x = side * (board_width / 2 - 0.03)
                builder.box((x - 0.008, -thickness - board_depth * 0.7, 0.0), (x + 0.008, -thickness, 0.02), wood)
                builder.box((x - 0.008, -thickness - 0.02, 0.0), (x + 0.008, -thickness, board_depth * 0.8), wood)
        return Node(name=f"{artifact_id}-mount", mesh=builder.mesh(f"{artifact_id}-mount"),
                    translation=_v3(wall_point), rotation=yaw_quaternion(yaw))

    def _flat_size(self, artifact: Artifact) -> tuple[float, float]:
        if artifact.size is not None:
            return float(artifact.size[0]), float(artifact.size[1])
        if artifact.image is not None:
            texture = self.textures.get(str(artifact.image.path))
            if texture is not None and texture.width and texture.height:
                return 1.0, round(texture.height / texture.width, 6)
            return 1.0, 1.0
        return 1.0, 0.7

    def _face_material(self, artifact: Artifact) -> Material:
        if artifact.image is not None:
            material = Material(name=f"{artifact.id}-image", roughness_factor=0.85, metallic_factor=0.0)
            texture = self.textures.get(str(artifact.image.path))
            if texture is not None:
                material.base_color_texture = TextureRef(texture=texture)
            return material
        material = Material(name=f"{artifact.id}-panel", base_color_factor=hex_color(artifact.background, (1, 1, 1)),
                            roughness_factor=0.95, metallic_factor=0.0)
        texture = self.panel_textures.get(artifact.id) or render_panel_texture(artifact, self.exhibit.languages,
                                                                                self.remembered)
        if texture is not None:
            material.base_color_factor = (1.0, 1.0, 1.0, 1.0)
            material.base_color_texture = TextureRef(texture=texture)
        return material

    def _frame_boxes(self, builder: MeshBuilder, artifact: Artifact, width: float, height: float) -> None:
        frame = artifact.frame
        assert frame is not None
        mat = frame.mat
        if mat > 0:
            passe = self.material("passe-partout", (0.93, 0.92, 0.88, 1.0))
            builder.quad((-width / 2 - mat, -height / 2 - mat, -0.002), (width + 2 * mat, 0, 0), (0, height + 2 * mat, 0),
                         passe)
        moulding = self.material(f"frame-{frame.color}", hex_color(frame.color, (0.2, 0.15, 0.1)), roughness=0.6)
        fw, fd = frame.width, max(frame.depth, 0.005)
        inner_w, inner_h = width / 2 + mat, height / 2 + mat
        back = -PICTURE_GAP + 0.001  # the frame stands on the wall and out to its depth
        builder.box((-inner_w - fw, -inner_h - fw, back), (inner_w + fw, -inner_h, fd), moulding, bottom=True)
        builder.box((-inner_w - fw, inner_h, back), (inner_w + fw, inner_h + fw, fd), moulding, bottom=True)
        builder.box((-inner_w - fw, -inner_h, back), (-inner_w, inner_h, fd), moulding)
        builder.box((inner_w, -inner_h, back), (inner_w + fw, inner_h, fd), moulding)

    # ---- tours

    def _stop_views(self, placements: dict[str, ArtifactPlacement],
                    frames: dict[str, RoomFrame]) -> dict[tuple[str, int], dict[str, list[float]]]:
        views: dict[tuple[str, int], dict[str, list[float]]] = {}
        for tour in self.exhibit.tours:
            for index, stop in enumerate(tour.stops):
                placement = placements.get(stop.artifact_id)
                if placement is None:
                    continue
                frame = frames[placement.room]
                low, high = np.asarray(placement.bounds[0]), np.asarray(placement.bounds[1])
                radius = float(np.linalg.norm(high - low)) / 2
                target = _v3((low + high) / 2)
                front = placement.front
                if stop.annotation:
                    key = stop.annotation.split("/", 1)[1] if "/" in stop.annotation else stop.annotation
                    point = placement.annotations.get(key)
                    if point is not None:
                        side = np.asarray(point) - np.asarray(target)
                        side[1] = 0.0
                        if placement.kind == "model" and np.linalg.norm(side) > 1e-3:
                            front = _unit(side / np.linalg.norm(side))
                        target = point
                        radius = max(radius * 0.4, 0.15)
                if stop.view is not None:
                    views[(tour.id, index)] = orbit_view(target, front, stop.view.distance, stop.view.azimuth,
                                                         stop.view.elevation, frame)
                else:
                    views[(tour.id, index)] = default_view(target, radius, front, frame)
        return views


def _unique_artifact_names(rooms: list[ComposedRoom], artifact_ids: set[str]) -> None:
    """Rename asset nodes that happen to share an artifact's id (an OBJ's object named like the artifact), so that
    in every room GLB exactly one node carries each artifact id: the viewer finds artifacts by node name."""
    taken = {node.name for room in rooms for node in room.scene.all_nodes()}
    for room in rooms:
        for node in room.scene.all_nodes():
            if node.keep or node.name not in artifact_ids:
                continue
            candidate = f"{node.name}_part"
            while candidate in taken or candidate in artifact_ids:
                candidate += "_"
            taken.add(candidate)
            node.name = candidate


# How near the start may be to an artifact's footprint before it steps back (a plinth is wider than its object),
# and how far back it steps: a 0.5 m bust on a plinth is seen whole, and close, from 2 m at eye height.
START_CLEARANCE = 0.5
START_DISTANCE = 2.0
START_MARGIN = 0.4  # from the walls


def start_clear_of(position: Vec3, placements: list[ArtifactPlacement], frame: RoomFrame) -> Vec3:
    """The start, moved out of an artifact standing on it: back from the artifact along the side its own view
    looks from (its front), START_DISTANCE away or as far as its view stands if farther, inside the room. A visitor
    who begins inside a plinth sees its inside, or a wall behind it."""
    for placement in placements:
        low, high = placement.bounds
        if not (low[0] - START_CLEARANCE <= position[0] <= high[0] + START_CLEARANCE
                and low[2] - START_CLEARANCE <= position[2] <= high[2] + START_CLEARANCE):
            continue
        centre = np.array([(low[0] + high[0]) / 2, (low[2] + high[2]) / 2])
        eye = np.array([placement.view["position"][0], placement.view["position"][2]])
        away = eye - centre
        reach = float(np.linalg.norm(away))
        if reach < 1e-6:
            away = np.array([placement.front[0], placement.front[2]])
        spot = centre + away / (float(np.linalg.norm(away)) or 1.0) * max(reach, START_DISTANCE)
        spot = np.minimum(np.maximum(spot, np.array([frame.low[0], frame.low[2]]) + START_MARGIN),
                          np.array([frame.high[0], frame.high[2]]) - START_MARGIN)
        return (float(spot[0]), 0.0, float(spot[1]))
    return position


def start_facing(frame: RoomFrame, position: Vec3, target: tuple[Vec3, Vec3] | None) -> float:
    """Degrees clockwise from north that frame the start: towards the target's centre, else down the room's long
    axis towards the farther wall (a first view of a bare corner tells a visitor nothing)."""
    if target is not None:
        dx = (target[0][0] + target[1][0]) / 2 - position[0]
        dz = (target[0][2] + target[1][2]) / 2 - position[2]
        if math.hypot(dx, dz) > 0.3:
            return round(math.degrees(math.atan2(dx, -dz)) % 360, 4)
    low, high = frame.low, frame.high
    if frame.width >= frame.depth:
        return 90.0 if high[0] - position[0] >= position[0] - low[0] else 270.0
    return 180.0 if high[2] - position[2] >= position[2] - low[2] else 0.0


def orbit_view(target: Vec3, front: Vec3, distance: float, azimuth: float, elevation: float,
               frame: RoomFrame) -> dict[str, list[float]]:
    """Camera at `distance` from target, `azimuth` degrees clockwise (from above) from the front, `elevation` up."""
    horizontal = np.asarray(rotate_yaw(front, -azimuth))
    horizontal[1] = 0.0
    norm = float(np.linalg.norm(horizontal))
    horizontal = horizontal / norm if norm > 1e-9 else np.array([0.0, 0.0, 1.0])
    el = math.radians(elevation)
    eye = np.asarray(target) + distance * (horizontal * math.cos(el) + np.array([0.0, math.sin(el), 0.0]))
    # Keep the camera inside the room, so a tour never glides a visitor into (or through) a wall.
    low, high = np.asarray(frame.low), np.asarray(frame.high)
    margin = np.array([0.25, 0.3, 0.25])
    eye = np.minimum(np.maximum(eye, low + margin), high - margin)
    return {"target": _r(target), "position": _r(eye)}


def default_view(target: Vec3, radius: float, front: Vec3, frame: RoomFrame,
                 elevation: float = 10.0) -> dict[str, list[float]]:
    """Frame the artifact's bounding sphere in a 50° field of view, from its front, a little above."""
    distance = min(max(radius / math.tan(math.radians(25)) * 1.15, 0.8), 8.0)
    return orbit_view(target, front, distance, 0.0, elevation, frame)


def compose(exhibit: Exhibit, assets: Mapping[str, ModelShape | Scene], textures: dict[str, Texture],
            panel_textures: dict[str, Texture] | None = None, remembered: Remembered | None = None) -> Composition:
    """One shell Scene per room (in spec order) with every image and panel hung and every stand built, plus world
    placements (model artifacts' nodes included) for the manifest and the ladders.

    `assets` maps a model artifact's id to its shape (or its processed scene, whose shape is taken); `textures` maps image and surface file
    paths (str of the resolved path) to textures; `panel_textures` optionally holds rendered panel text;
    `remembered` keeps drawn text (caption plates, panels) across builds.
    """
    return Composer(exhibit, assets, textures, panel_textures, remembered).compose()
