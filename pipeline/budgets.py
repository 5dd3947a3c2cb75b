"""Device budgets: profiles, what a room costs (per room and per asset), and simplifying within an error bound."""

from __future__ import annotations

import copy
import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pipeline import meshopt, progress
from pipeline.columns import column_range
from pipeline.scene import Node, Primitive, Scene, Texture, texture_refs
from pipeline.transforms.reorder import reorder_primitive

MB = 1024 * 1024


@dataclass(frozen=True)
class DeviceProfile:
    """What one class of device can draw smoothly in one room (DESIGN §4; to be checked on devices).

    `bytes` is our download proposal per room GLB: about 10 s of the slowest link the class meets in a museum
    (phones on 15 Mbit/s mobile data, headsets on shared Wi-Fi at ~25 Mbit/s, desktops on ~75 Mbit/s).
    """

    name: str
    draw_calls: int
    triangles: int
    texture_bytes_gpu: int
    max_texture_size: int
    bytes: int

    def limits(self) -> dict[str, int]:
        """Metric → limit, with the metric names of pipeline.report (triangles, draw_calls, bytes, texture_bytes_gpu)."""
        return {"triangles": self.triangles, "draw_calls": self.draw_calls, "bytes": self.bytes,
                "texture_bytes_gpu": self.texture_bytes_gpu}


PROFILES: dict[str, DeviceProfile] = {
    "quest2": DeviceProfile("quest2", draw_calls=100, triangles=500_000, texture_bytes_gpu=256 * MB,
                            max_texture_size=2048, bytes=32 * MB),
    "quest3": DeviceProfile("quest3", draw_calls=200, triangles=1_000_000, texture_bytes_gpu=512 * MB,
                            max_texture_size=2048, bytes=32 * MB),
    "phone": DeviceProfile("phone", draw_calls=100, triangles=300_000, texture_bytes_gpu=256 * MB,
                           max_texture_size=2048, bytes=16 * MB),
    "desktop": DeviceProfile("desktop", draw_calls=500, triangles=3_000_000, texture_bytes_gpu=1024 * MB,
                             max_texture_size=4096, bytes=96 * MB),
}


# ---- GPU texture memory -----------------------------------------------------------------------------------


def image_size(texture: Texture) -> tuple[int, int]:
    """(width, height): as ingest recorded it, else read from the PNG, JPEG or KTX2 header."""
    if texture.width and texture.height:
        return texture.width, texture.height
    data = texture.data
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        # Equivalent mutant (make mutants): ">ii" reads the same, as PNG limits each side to 2³¹ - 1.
        width, height = struct.unpack(">II", data[16:24])  # pragma: no mutate
        return int(width), int(height)
    if data[:12] == b"\xabKTX 20\xbb\r\n\x1a\n" and len(data) >= 28:
        # Equivalent mutant: "<ii" reads the same for any size a GPU takes (far below 2³¹).
        width, height = struct.unpack("<II", data[20:28])  # pragma: no mutate
        return int(width), int(height)
    if data[:2] == b"\xff\xd8":
        offset = 2
        while offset + 9 < len(data):
            if data[offset] != 0xFF:
                break
            marker = data[offset + 1]
            length = struct.unpack(">H", data[offset + 2:offset + 4])[0]
            if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
                height, width = struct.unpack(">HH", data[offset + 5:offset + 9])
                return int(width), int(height)
            offset += 2 + length
    return 0, 0


def fitted_size(width: int, height: int, max_size: int | None) -> tuple[int, int]:
    """The size after halving until the larger side fits max_size (how textures are resized per target)."""
    while max_size and max(width, height) > max_size:
        width, height = max(1, width // 2), max(1, height // 2)
    return width, height


def texture_gpu_bytes(texture: Texture, max_size: int | None = None) -> int:
    """Estimated GPU memory of one texture with its mip chain (× 4/3).

    PNG, JPEG and WebP are decoded to RGBA8: w·h·4. KTX2 (Basis) stays block-compressed on the GPU: BC7 or ASTC
    4×4 are one byte per texel, so w·h (ETC1S transcodes to smaller formats on some devices; this is the bound).
    """
    width, height = fitted_size(*image_size(texture), max_size)
    per_texel = 1 if texture.mime_type == "image/ktx2" else 4
    return width * height * per_texel * 4 // 3


# ---- what a scene costs -------------------------------------------------------------------------------------


@dataclass
class Usage:
    """What part of a scene costs to draw: triangles (instances counted), draw calls, GPU texture memory."""

    name: str
    triangles: int = 0
    draw_calls: int = 0
    texture_bytes_gpu: int = 0
    textures: dict[int, Texture] = field(default_factory=dict, repr=False)


def _add_node(usage: Usage, node: Node) -> None:
    if node.mesh is None:
        return
    copies = len(next(iter(node.instances.values()))) if node.instances else 1
    for primitive in node.mesh.primitives:
        usage.triangles += primitive.triangle_count * copies
        usage.draw_calls += 1
        for material in primitive.materials:
            for ref in texture_refs(material):
                usage.textures[id(ref.texture)] = ref.texture


def _finish(usage: Usage, max_texture_size: int | None) -> Usage:
    usage.texture_bytes_gpu = sum(texture_gpu_bytes(t, max_texture_size) for t in usage.textures.values())
    return usage


def measure(scene: Scene, max_texture_size: int | None = None) -> Usage:
    """The whole scene; each distinct texture counted once, at the size the target would receive."""
    usage = Usage(scene.name)
    for node in scene.all_nodes():
        _add_node(usage, node)
    return _finish(usage, max_texture_size)


def asset_usage(scene: Scene, artifact_ids: list[str] | set[str] | None = None,
                max_texture_size: int | None = None) -> list[Usage]:
    """One Usage per artifact (the subtree of the node named by its id), then the rest of the room as "room".

    Without artifact_ids every `keep` node counts as an artifact. A texture two artifacts share is counted in both.
    """
    wanted = set(artifact_ids) if artifact_ids is not None else None
    out: list[Usage] = []
    rest = Usage("room")

    def visit(node: Node, owner: Usage) -> None:
        is_artifact = node.keep and (wanted is None or node.name in wanted)
        if is_artifact and owner is rest:
            owner = Usage(node.name)
            out.append(owner)
        _add_node(owner, node)
        for child in node.children:
            visit(child, owner)

    for root in scene.nodes:
        visit(root, rest)
    return [_finish(u, max_texture_size) for u in [*out, rest]]


@dataclass
class BudgetReport:
    """One room against one profile: the room's values, the limits and what is over (per-asset costs: asset_report)."""

    room: str
    profile: str
    values: dict[str, int]
    limits: dict[str, int]

    @property
    def over(self) -> list[str]:
        return [m for m, limit in self.limits.items() if m in self.values and self.values[m] > limit]

    @property
    def ok(self) -> bool:
        return not self.over


def check_budget(scene: Scene, profile: DeviceProfile | str, download_bytes: int | None = None) -> BudgetReport:
    """Classify one room for one profile; `download_bytes` (the written GLB's size) is checked when given."""
    device = PROFILES[profile] if isinstance(profile, str) else profile
    usage = measure(scene, device.max_texture_size)
    values = {"triangles": usage.triangles, "draw_calls": usage.draw_calls,
              "texture_bytes_gpu": usage.texture_bytes_gpu}
    limits = device.limits()
    if download_bytes is None:
        limits.pop("bytes")
    else:
        values["bytes"] = download_bytes
    return BudgetReport(scene.name, device.name, values, limits)


def asset_report(scene: Scene, artifact_ids: list[str] | set[str] | None = None) -> list[str]:
    """Per-asset lines for a budget failure message, largest first."""
    return [f"  {u.name}: {u.triangles:,} triangles, {u.draw_calls} draw calls, "
            f"{u.texture_bytes_gpu / MB:.1f} MB GPU textures"
            for u in sorted(asset_usage(scene, artifact_ids), key=lambda u: -u.triangles)]


# ---- lower level of detail within an error bound --------------------------------------------------------------


@dataclass
class SimplifiedMesh:
    """What simplification did to one mesh; error is relative to the mesh's bounding-box diagonal."""

    mesh: str
    triangles_before: int
    triangles_after: int
    error: float


MIN_TRIANGLES = 64  # below this a mesh is not worth simplifying (walls, frames, plinths)
# meshoptimizer's error is a quadric estimate. Against sampled two-way Hausdorff distances (trimesh, on the grid
# test mesh, Igea, Nefertiti and Duck at bounds 1e-2..5e-4) the true error was 1.0-3.0× the estimate, so we ask
# for a third of the bound and report three times the estimate: a calibrated, conservative figure.
HAUSDORFF_FACTOR = 3.0


def _copy_scene(scene: Scene) -> Scene:
    """A deep copy whose textures are shared (their bytes are large and simplification never changes them)."""
    memo: dict[int, Any] = {}
    for usage_texture in measure(scene).textures.values():
        memo[id(usage_texture)] = usage_texture
    return copy.deepcopy(scene, memo)


def _draw_counts(scene: Scene) -> dict[int, int]:
    """id(mesh) → how many times it is drawn (nodes × instances)."""
    counts: dict[int, int] = {}
    for node in scene.all_nodes():
        if node.mesh is not None:
            copies = len(next(iter(node.instances.values()))) if node.instances else 1
            counts[id(node.mesh)] = counts.get(id(node.mesh), 0) + copies
    return counts


def _simplify_primitive(primitive: Primitive, original: np.ndarray, ratio: float, max_error: float) -> float:
    """Simplify from the original indices towards ratio × triangles; return the error relative to the diagonal."""
    # Equivalent mutant: astype(None) gives float64, which meshopt converts to the same float32.
    positions = primitive.attributes["POSITION"].astype(np.float32)  # pragma: no mutate
    low, high = column_range(positions)
    # Equivalent mutants: `or 2.0` instead of `or 1.0` only for a mesh of one point, which has no error to scale.
    diagonal = float(np.linalg.norm(high - low)) or 1.0  # pragma: no mutate
    scale = meshopt.simplify_scale(positions) or 1.0  # pragma: no mutate
    # Equivalent mutants: len(original) is a multiple of 3, so `/` equals `//`; a floor of 4 instead of 3 indices,
    # or a target a third higher, only costs another pass, which the loop in simplify_scene makes.
    target = max(3, int(len(original) // 3 * ratio) * 3)  # pragma: no mutate
    result = meshopt.simplify(positions, original, target, max_error / HAUSDORFF_FACTOR * diagonal / scale)
    # Unreachable in practice (meshopt keeps at least one triangle of a mesh this size), kept as a guard.
    if len(result.indices) == 0:  # pragma: no mutate
        return 0.0  # pragma: no mutate
    primitive.indices = result.indices  # unused vertices stay until the last pass (originals refer to them)
    return min(max_error, HAUSDORFF_FACTOR * result.relative_error * scale / diagonal)


def simplify_scene(scene: Scene, target_triangles: int, max_error: float) -> list[SimplifiedMesh]:
    """Simplify the scene's larger meshes in place towards target_triangles drawn, each within max_error.

    Every pass restarts from the original indices with a lower ratio, so errors do not accumulate; it stops when
    the target is met or no mesh can go further within the bound.
    """
    counts = _draw_counts(scene)
    meshes = [m for m in scene.meshes() if any(p.mode == 4 for p in m.primitives)]
    originals: dict[int, np.ndarray] = {}
    for mesh in meshes:
        for p in mesh.primitives:
            if p.mode == 4 and p.triangle_count >= MIN_TRIANGLES:
                # Equivalent mutants on the dtype: meshopt takes any integer indices as uint32.
                indices = np.arange(p.vertex_count, dtype=np.uint32) if p.indices is None else p.indices  # pragma: no mutate
                originals[id(p)] = np.asarray(indices, dtype=np.uint32).copy()  # pragma: no mutate
    # Equivalent mutants on the default: every mesh of scene.meshes() is drawn by a node, so it is in counts.
    drawn = {id(p): p.triangle_count * counts.get(id(m), 1) for m in meshes for p in m.primitives}  # pragma: no mutate
    reducible = sum(drawn[key] for key in originals)
    fixed = sum(drawn.values()) - reducible
    report: dict[int, SimplifiedMesh] = {}
    ratio = 1.0
    for _ in range(6):
        if fixed + reducible <= target_triangles or not reducible:
            break
        # Aim a little under, so the next pass is rarely needed.
        ratio *= max(0.0, target_triangles - fixed) / reducible * 0.98
        for mesh in meshes:
            errors, before, after = [], 0, 0
            for primitive in mesh.primitives:
                original = originals.get(id(primitive))
                if original is None:
                    continue
                before += len(original) // 3
                errors.append(_simplify_primitive(primitive, original, ratio, max_error))
                after += primitive.triangle_count
                drawn[id(primitive)] = primitive.triangle_count * counts.get(id(mesh), 1)
            if errors:
                report[id(mesh)] = SimplifiedMesh(mesh.name, before, after, max(errors))
        now = sum(drawn[key] for key in originals)
        # Equivalent mutant `>`: a pass that reduced nothing is followed by another that reduces nothing.
        if now >= reducible:  # pragma: no mutate
            break  # the error bound stops every mesh: no further pass can help
        reducible = now
    for mesh in meshes:
        for primitive in mesh.primitives:
            if id(primitive) in originals and primitive.triangle_count * 3 < len(originals[id(primitive)]):
                reorder_primitive(primitive)  # drop the vertices nothing uses any more, in cache order
    return list(report.values())


PROGRESS_TRIANGLES = 1_000_000  # simplifying this many takes seconds: say so while it does


def simplify_to_budget(scene: Scene, profile: DeviceProfile | str, max_error: float) -> tuple[Scene, float]:
    """A lighter copy of the room for this profile, simplified only as far as max_error (a fraction of each
    mesh's bounding-box diagonal) allows; and the largest error it made (a conservative estimate, see
    HAUSDORFF_FACTOR). The caller checks the copy against the budget again."""
    device = PROFILES[profile] if isinstance(profile, str) else profile
    lighter = _copy_scene(scene)
    triangles = measure(lighter).triangles
    # Equivalent mutant: with `<`, a room exactly at the budget goes to simplify_scene, which stops before its
    # first pass (already at the target) and reports no error: the same result.
    if triangles <= device.triangles:  # pragma: no mutate
        return lighter, 0.0
    with progress.task(f"simplifying {progress.count(triangles)} triangles for {device.name}", 1,
                       triangles >= PROGRESS_TRIANGLES):
        simplified = simplify_scene(lighter, device.triangles, max_error)
    return lighter, max((s.error for s in simplified), default=0.0)


__all__ = ["PROFILES", "DeviceProfile", "BudgetReport", "Usage", "SimplifiedMesh", "asset_report",
           "asset_usage", "check_budget", "measure", "simplify_scene", "simplify_to_budget", "texture_gpu_bytes"]
