"""Passive scene IR shared by every stage: scenes, nodes, meshes, materials and textures, with no I/O."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

# Attribute names follow glTF ("POSITION", "NORMAL", "TANGENT", "TEXCOORD_0", "COLOR_0", "JOINTS_0", "WEIGHTS_0").
# Arrays are numpy with shape (count, components). Float32 unless a transform quantized them; `normalized`
# lists the attributes whose integer values are normalized (glTF accessor.normalized).


@dataclass(eq=False)
class Texture:
    """An encoded image (PNG, JPEG, WebP or KTX2 bytes) and how it is sampled."""

    name: str
    data: bytes
    mime_type: str  # "image/png", "image/jpeg", "image/webp", "image/ktx2"
    width: int = 0
    height: int = 0
    mag_filter: int | None = None
    min_filter: int | None = None
    wrap_s: int = 10497
    wrap_t: int = 10497
    source_path: str = ""  # where it came from, for error messages and reports
    # Drawn text (a caption plate, a panel): the plain sRGB colour its words stand on, which is what the light bake
    # reflects from it. The mean of its pixels changes with every edit of its words, and rebaked the room for it.
    drawn_on: tuple[int, int, int] | None = None


@dataclass(eq=False)
class TextureRef:
    """A material's use of a texture: which UV set, scale or strength, and an optional KHR_texture_transform."""

    texture: Texture
    texcoord: int = 0
    scale: float = 1.0  # normalTexture.scale or occlusionTexture.strength
    transform: dict[str, Any] | None = None  # KHR_texture_transform: offset, rotation, scale, texCoord


@dataclass(eq=False)
class Material:
    """A glTF metallic-roughness material; extensions keep KHR_materials_* (texture refs as TextureRef)."""

    name: str = ""
    base_color_factor: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)
    base_color_texture: TextureRef | None = None
    metallic_factor: float = 1.0
    roughness_factor: float = 1.0
    metallic_roughness_texture: TextureRef | None = None
    normal_texture: TextureRef | None = None
    occlusion_texture: TextureRef | None = None
    emissive_factor: tuple[float, float, float] = (0.0, 0.0, 0.0)
    emissive_texture: TextureRef | None = None
    alpha_mode: str = "OPAQUE"  # OPAQUE, MASK, BLEND
    alpha_cutoff: float = 0.5
    double_sided: bool = False
    unlit: bool = False  # KHR_materials_unlit
    # Other KHR_materials_* extensions by name. Values are JSON-like; any texture inside is a TextureRef.
    extensions: dict[str, dict[str, Any]] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass(eq=False)
class Primitive:
    """One draw call: vertex attributes, optional indices, a material and morph targets."""

    attributes: dict[str, np.ndarray]
    indices: np.ndarray | None = None  # uint32 (or narrower) flat array
    mode: int = 4  # TRIANGLES; 0 POINTS, 1 LINES, 5 TRIANGLE_STRIP ...
    material: Material | None = None
    targets: list[dict[str, np.ndarray]] = field(default_factory=list)
    normalized: set[str] = field(default_factory=set)
    extras: dict[str, Any] = field(default_factory=dict)
    # KHR_materials_variants: variant name → the material this primitive uses in that variant. Primitives with
    # variants must not be merged with others, or the mapping would apply to the wrong triangles.
    variants: dict[str, Material] = field(default_factory=dict)

    @property
    def vertex_count(self) -> int:
        return int(len(self.attributes["POSITION"]))

    @property
    def triangle_count(self) -> int:
        if self.mode != 4:
            return 0
        n = len(self.indices) if self.indices is not None else self.vertex_count
        return int(n // 3)

    @property
    def materials(self) -> list[Material]:
        """The material this primitive draws with and every KHR_materials_variants alternative."""
        return ([self.material] if self.material is not None else []) + list(self.variants.values())


@dataclass(eq=False)
class Mesh:
    """A named list of primitives, shared by every node that instances it."""

    name: str
    primitives: list[Primitive]
    weights: list[float] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass(eq=False)
class Light:
    """A KHR_lights_punctual light."""

    type: str  # "directional", "point", "spot"
    color: tuple[float, float, float] = (1.0, 1.0, 1.0)
    intensity: float = 1.0
    range: float | None = None
    inner_cone_angle: float = 0.0
    outer_cone_angle: float = 0.7853981633974483
    name: str = ""


@dataclass(eq=False)
class Skin:
    """Joints and inverse bind matrices, kept as read so skinned and animated assets survive."""

    joints: list[Node]
    # (n, 4, 4) float32 in maths order (matrix @ column vector); glTF stores the transpose (column-major).
    inverse_bind_matrices: np.ndarray | None = None
    skeleton: Node | None = None
    name: str = ""


@dataclass(eq=False)
class Node:
    """A scene node. Artifact nodes are named by the artifact id; stages must keep such names."""

    name: str = ""
    mesh: Mesh | None = None
    translation: tuple[float, float, float] = (0.0, 0.0, 0.0)
    rotation: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 1.0)  # quaternion x, y, z, w
    scale: tuple[float, float, float] = (1.0, 1.0, 1.0)
    children: list[Node] = field(default_factory=list)
    light: Light | None = None
    skin: Skin | None = None
    camera: dict[str, Any] | None = None
    # EXT_mesh_gpu_instancing: per-instance TRANSLATION (n,3), ROTATION (n,4), SCALE (n,3).
    instances: dict[str, np.ndarray] | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    # JSON-LD object for KHR_xmp_json_ld (Dublin Core record of an artifact), or None.
    xmp: dict[str, Any] | None = None
    keep: bool = False  # named by the spec: never merge away, never rename

    def walk(self) -> list[Node]:
        """This node and all its descendants, depth first."""
        out = [self]
        for child in self.children:
            out.extend(child.walk())
        return out


@dataclass(eq=False)
class AnimationSampler:
    """Keyframes: input times (n,) and output values (n, k) with an interpolation mode."""

    input: np.ndarray
    output: np.ndarray
    interpolation: str = "LINEAR"


@dataclass(eq=False)
class AnimationChannel:
    sampler: AnimationSampler
    node: Node
    path: str  # "translation", "rotation", "scale", "weights"


@dataclass(eq=False)
class Animation:
    name: str
    channels: list[AnimationChannel]


@dataclass(eq=False)
class Scene:
    """One scene (one room, or one ingested asset): root nodes, animations and document-level metadata."""

    name: str
    nodes: list[Node] = field(default_factory=list)
    animations: list[Animation] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)
    xmp: dict[str, Any] | None = None  # document-level KHR_xmp_json_ld packet (exhibit rights)
    copyright: str = ""  # asset.copyright
    variants: list[str] = field(default_factory=list)  # KHR_materials_variants names, in the order to offer them
    notes: list[str] = field(default_factory=list)  # what ingest noticed and repaired, one plain sentence each

    def all_nodes(self) -> list[Node]:
        out: list[Node] = []
        for root in self.nodes:
            out.extend(root.walk())
        return out

    def meshes(self) -> list[Mesh]:
        seen: dict[int, Mesh] = {}
        for node in self.all_nodes():
            if node.mesh is not None:
                seen.setdefault(id(node.mesh), node.mesh)
        return list(seen.values())


def texture_refs(material: Material) -> list[TextureRef]:
    """Every texture a material samples: the core slots and any inside KHR_materials_* extensions."""
    found: list[TextureRef] = []

    def walk(value: Any) -> None:
        if isinstance(value, TextureRef):
            found.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)

    for f in fields(material):
        walk(getattr(material, f.name))
    return found


# The node transform maths, once for every stage: quaternions are glTF's (x, y, z, w). They agree with
# trimesh.transformations (tests/pipeline/test_scene.py checks it), which is not imported here because importing
# trimesh costs about a second that a build whose assets all come from the cache never otherwise pays.


def quaternion_matrix(quaternion: Any) -> np.ndarray:
    """The 3×3 rotation of a quaternion (x, y, z, w), normalized first; the zero quaternion gives the identity."""
    x, y, z, w = (float(v) for v in quaternion)
    norm = x * x + y * y + z * z + w * w
    s = 2.0 / norm if norm else 0.0
    return np.array([
        [1 - s * (y * y + z * z), s * (x * y - z * w), s * (x * z + y * w)],
        [s * (x * y + z * w), 1 - s * (x * x + z * z), s * (y * z - x * w)],
        [s * (x * z - y * w), s * (y * z + x * w), 1 - s * (x * x + y * y)],
    ])


def matrix_quaternion(rotation: np.ndarray) -> np.ndarray:
    """A 3×3 rotation matrix as a unit quaternion (x, y, z, w) with w ≥ 0."""
    m = rotation
    trace = m[0, 0] + m[1, 1] + m[2, 2]
    if trace > 0:
        s = 2.0 * np.sqrt(trace + 1.0)
        q = [(m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s, 0.25 * s]
    elif m[0, 0] > m[1, 1] and m[0, 0] > m[2, 2]:
        s = 2.0 * np.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2])
        q = [0.25 * s, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s, (m[2, 1] - m[1, 2]) / s]
    elif m[1, 1] > m[2, 2]:
        s = 2.0 * np.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2])
        q = [(m[0, 1] + m[1, 0]) / s, 0.25 * s, (m[1, 2] + m[2, 1]) / s, (m[0, 2] - m[2, 0]) / s]
    else:
        s = 2.0 * np.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1])
        q = [(m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, 0.25 * s, (m[1, 0] - m[0, 1]) / s]
    quat = np.array(q, dtype=np.float64)
    quat /= np.linalg.norm(quat)
    return -quat if quat[3] < 0 else quat


def local_matrix(translation: Any, rotation: Any, scale: Any) -> np.ndarray:
    """The 4×4 matrix T · R · S of a translation, a quaternion (x, y, z, w) and a scale."""
    matrix = np.eye(4)
    matrix[:3, :3] = quaternion_matrix(rotation) * np.asarray(scale, dtype=np.float64)
    matrix[:3, 3] = [float(v) for v in translation]
    return matrix


def yaw_quaternion(degrees: float) -> tuple[float, float, float, float]:
    """The quaternion of a turn about +y by `degrees`, counter-clockwise seen from above."""
    half = math.radians(degrees) / 2
    return (0.0, math.sin(half), 0.0, math.cos(half))


def rotate_yaw(vector: Any, degrees: float) -> tuple[float, float, float]:
    """Turn a vector about +y by `degrees`, counter-clockwise seen from above, as a glTF node rotation would (and
    as IIIF turns)."""
    angle = math.radians(degrees)
    c, s = math.cos(angle), math.sin(angle)
    x, y, z = (float(v) for v in vector)
    return (x * c + z * s, y, -x * s + z * c)


def transformed_uvs(uvs: np.ndarray, transform: dict[str, Any]) -> np.ndarray:
    """(n, 2) texture coordinates mapped by a KHR_texture_transform: T·R·S, R = [[c, s], [-s, c]] as glTF defines it."""
    offset = np.asarray(transform.get("offset", (0.0, 0.0)), dtype=np.float64)
    scale = np.asarray(transform.get("scale", (1.0, 1.0)), dtype=np.float64)
    angle = float(transform.get("rotation", 0.0))
    c, s = np.cos(angle), np.sin(angle)
    scaled = np.asarray(uvs)[:, :2] * scale
    return np.c_[c * scaled[:, 0] + s * scaled[:, 1], -s * scaled[:, 0] + c * scaled[:, 1]] + offset


def node_matrix(node: Node) -> np.ndarray:
    """The node's local transform as a 4×4 matrix (T · R · S)."""
    return local_matrix(node.translation, node.rotation, node.scale)


def world_nodes(nodes: Iterable[Node], parent: np.ndarray | None = None) -> list[tuple[Node, np.ndarray]]:
    """(node, world matrix of its parent) for every node under these roots, parents first; the roots' parent is
    `parent` (the identity when not given)."""
    out: list[tuple[Node, np.ndarray]] = []

    def visit(node: Node, above: np.ndarray) -> None:
        out.append((node, above))
        world = above @ node_matrix(node)
        for child in node.children:
            visit(child, world)

    for root in nodes:
        visit(root, np.eye(4) if parent is None else parent)
    return out


def instance_matrices(node: Node) -> list[np.ndarray]:
    """The node's EXT_mesh_gpu_instancing instances as matrices (one identity when it has none)."""
    if not node.instances:
        return [np.eye(4)]
    count = len(next(iter(node.instances.values())))
    translations = node.instances.get("TRANSLATION", np.zeros((count, 3)))
    rotations = node.instances.get("ROTATION", np.tile([0.0, 0.0, 0.0, 1.0], (count, 1)))
    scales = node.instances.get("SCALE", np.ones((count, 3)))
    return [local_matrix(translations[i], rotations[i], scales[i]) for i in range(count)]
