"""USDZ for AR Quick Look: one artifact's scene as USD (UsdPreviewSurface, metres, y up), packaged for ARKit."""

from __future__ import annotations

import _imp
import functools
import hashlib
import importlib.util
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline import budgets
from pipeline.cache import Remembered
from pipeline.errors import BuildError
from pipeline.scene import (
    Material,
    Primitive,
    Scene,
    TextureRef,
    instance_matrices,
    node_matrix,
    transformed_uvs,
    world_nodes,
)

ARKIT_IMAGES = {"image/png": ".png", "image/jpeg": ".jpg"}


def _pxr():  # type: ignore[no-untyped-def]
    # usd-core's libraries take the GIL in their initialisers, which run under the dynamic loader's lock: a thread
    # that loads an extension module meanwhile (holding the GIL, waiting for that lock) hangs both. Under the
    # interpreter's import lock, such a thread waits for the import lock instead, without the GIL (tested). The
    # build's own threads stay the rule (see `load`): this covers the others, such as a live preview's HTTP threads.
    _imp.acquire_lock()
    try:
        from pxr import Gf, Sdf, Usd, UsdGeom, UsdShade, UsdUtils, Vt
    except ImportError:
        raise BuildError("USDZ for AR Quick Look needs usd-core: pip install usd-core") from None
    finally:
        _imp.release_lock()
    return Gf, Sdf, Usd, UsdGeom, UsdShade, UsdUtils, Vt


def load() -> None:
    """Import usd-core on this thread, while the build runs no other: a library loaded meanwhile other than by an
    import (ctypes loads libc, for one) would still hang with usd-core's initialisers (see `_pxr`). Once it is
    loaded, making a package loads no library (tested), so packages may be made beside other work."""
    _pxr()


def available() -> bool:
    """Whether usd-core is installed, without importing it: pxr takes 0.3 s to import, and a warm build takes every
    package from the cache."""
    return importlib.util.find_spec("pxr") is not None


# ---------------------------------------------------------------------------------------------- geometry


def _attribute(primitive: Primitive, name: str) -> np.ndarray | None:
    values = primitive.attributes.get(name)
    if values is None:
        return None
    array = np.asarray(values)
    if array.dtype.kind in "iu" and name in primitive.normalized:
        array = np.maximum(array / float(np.iinfo(array.dtype).max), -1.0)
    return array.astype(np.float64)


@dataclass
class _Part:
    """One primitive placed in the model's frame: triangles with positions, normals and UVs."""

    points: np.ndarray
    indices: np.ndarray
    normals: np.ndarray | None
    uvs: np.ndarray | None
    material: Material | None


def _parts(scene: Scene) -> list[_Part]:
    parts: list[_Part] = []
    for node, parent in world_nodes(scene.nodes):
        if node.mesh is None:
            continue
        for instance in instance_matrices(node):
            matrix = parent @ node_matrix(node) @ instance
            for primitive in node.mesh.primitives:
                positions = _attribute(primitive, "POSITION")
                if primitive.mode != 4 or positions is None or not len(positions):
                    continue
                indices = (np.asarray(primitive.indices, dtype=np.int64) if primitive.indices is not None
                           else np.arange(len(positions), dtype=np.int64))
                points = positions @ matrix[:3, :3].T + matrix[:3, 3]
                normals = _attribute(primitive, "NORMAL")
                if normals is not None:
                    normal_matrix = np.linalg.inv(matrix[:3, :3]).T
                    normals = normals[:, :3] @ normal_matrix.T
                    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
                if np.linalg.det(matrix[:3, :3]) < 0:  # a mirroring transform flips the winding
                    indices = indices.reshape(-1, 3)[:, [0, 2, 1]].reshape(-1)
                uvs = _attribute(primitive, "TEXCOORD_0")
                if uvs is not None:
                    uvs = _transformed_uvs(uvs, primitive.material)
                parts.append(_Part(points, indices[: len(indices) // 3 * 3], normals, uvs, primitive.material))
    return parts


def _transformed_uvs(uvs: np.ndarray, material: Material | None) -> np.ndarray:
    """UVs with the material's KHR_texture_transform applied (T·R·S, as glTF defines it), so that USD's textures
    need none: a ladder level's UVs are quantized to 16 bits and mapped back by such a transform. The quantizer
    gives every texture of a material the same one; the base colour's (else the first's) stands for them all."""
    refs = [] if material is None else [material.base_color_texture, material.metallic_roughness_texture,
                                        material.normal_texture, material.occlusion_texture]
    transform = next((ref.transform for ref in refs if ref is not None), None)
    return transformed_uvs(uvs, transform) if transform else uvs


def _standing(parts: list[_Part]) -> None:
    """Put the model's base centre at the origin (AR Quick Look sets the origin on the floor)."""
    low = np.min([p.points.min(axis=0) for p in parts], axis=0)
    high = np.max([p.points.max(axis=0) for p in parts], axis=0)
    anchor = np.array([(low[0] + high[0]) / 2, low[1], (low[2] + high[2]) / 2])
    for part in parts:
        part.points = part.points - anchor


# ---------------------------------------------------------------------------------------------- USD


def _identifier(text: str, fallback: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_]", "_", text)
    if not cleaned or cleaned[0].isdigit():
        cleaned = f"{fallback}_{cleaned}"
    return cleaned


class _Writer:
    def __init__(self, stage, folder: Path) -> None:  # type: ignore[no-untyped-def]
        self.stage = stage
        self.folder = folder
        self.materials: dict[int, object] = {}
        self.textures: dict[int, str] = {}

    def texture_file(self, ref: TextureRef) -> str | None:
        texture = ref.texture
        suffix = ARKIT_IMAGES.get(texture.mime_type)
        if suffix is None:
            return None  # ARKit reads PNG and JPEG only; the factor alone stands in
        if id(texture) not in self.textures:
            # "./": anchored to this layer. A bare "textures/t0.png" is a search path to USD's resolver, which the
            # packager resolves, absolutizes and renames to "0/t0.png", then looks for next to this layer and warns
            # that it cannot find it ("Failed to resolve reference @0/t0.png@").
            name = f"./textures/t{len(self.textures)}{suffix}"
            (self.folder / "textures").mkdir(exist_ok=True)
            (self.folder / name).write_bytes(texture.data)
            self.textures[id(texture)] = name
        return self.textures[id(texture)]

    def material(self, material: Material | None):  # type: ignore[no-untyped-def]
        Gf, Sdf, _, _, UsdShade, _, _ = _pxr()
        key = id(material)
        if key in self.materials:
            return self.materials[key]
        path = f"/Artifact/Materials/m{len(self.materials)}"
        usd_material = UsdShade.Material.Define(self.stage, path)
        surface = UsdShade.Shader.Define(self.stage, f"{path}/Surface")
        surface.CreateIdAttr("UsdPreviewSurface")
        m = material or Material()
        colour = surface.CreateInput("diffuseColor", Sdf.ValueTypeNames.Color3f)
        colour.Set(Gf.Vec3f(*(float(c) for c in m.base_color_factor[:3])))
        surface.CreateInput("metallic", Sdf.ValueTypeNames.Float).Set(float(m.metallic_factor))
        surface.CreateInput("roughness", Sdf.ValueTypeNames.Float).Set(float(m.roughness_factor))
        if m.alpha_mode != "OPAQUE" or m.base_color_factor[3] < 1:
            surface.CreateInput("opacity", Sdf.ValueTypeNames.Float).Set(float(m.base_color_factor[3]))
            if m.alpha_mode == "MASK":
                surface.CreateInput("opacityThreshold", Sdf.ValueTypeNames.Float).Set(float(m.alpha_cutoff))
        reader = None

        def sampler(ref: TextureRef, name: str, colour_space: str, scale: Sequence[float] = (1, 1, 1, 1),
                    bias: Sequence[float] = (0, 0, 0, 0)):  # type: ignore[no-untyped-def]
            nonlocal reader
            file = self.texture_file(ref)
            if file is None:
                return None
            if reader is None:
                reader = UsdShade.Shader.Define(self.stage, f"{path}/uv")
                reader.CreateIdAttr("UsdPrimvarReader_float2")
                reader.CreateInput("varname", Sdf.ValueTypeNames.String).Set("st")
                reader.CreateOutput("result", Sdf.ValueTypeNames.Float2)
            shader = UsdShade.Shader.Define(self.stage, f"{path}/{name}")
            shader.CreateIdAttr("UsdUVTexture")
            shader.CreateInput("file", Sdf.ValueTypeNames.Asset).Set(file)
            shader.CreateInput("st", Sdf.ValueTypeNames.Float2).ConnectToSource(reader.ConnectableAPI(), "result")
            shader.CreateInput("sourceColorSpace", Sdf.ValueTypeNames.Token).Set(colour_space)
            shader.CreateInput("wrapS", Sdf.ValueTypeNames.Token).Set("repeat")
            shader.CreateInput("wrapT", Sdf.ValueTypeNames.Token).Set("repeat")
            if tuple(scale) != (1, 1, 1, 1):
                shader.CreateInput("scale", Sdf.ValueTypeNames.Float4).Set(Gf.Vec4f(*scale))
            if tuple(bias) != (0, 0, 0, 0):
                shader.CreateInput("bias", Sdf.ValueTypeNames.Float4).Set(Gf.Vec4f(*bias))
            return shader

        if m.base_color_texture is not None:
            found = sampler(m.base_color_texture, "baseColor", "sRGB", (*m.base_color_factor[:3], 1.0))
            if found is not None:
                colour.ConnectToSource(found.ConnectableAPI(), "rgb")
                found.CreateOutput("rgb", Sdf.ValueTypeNames.Float3)
        if m.metallic_roughness_texture is not None:
            found = sampler(m.metallic_roughness_texture, "metallicRoughness", "raw",
                            (1.0, float(m.roughness_factor), float(m.metallic_factor), 1.0))
            if found is not None:
                for channel, name in (("g", "roughness"), ("b", "metallic")):
                    found.CreateOutput(channel, Sdf.ValueTypeNames.Float)
                    surface.GetInput(name).ConnectToSource(found.ConnectableAPI(), channel)
        if m.normal_texture is not None:
            strength = float(m.normal_texture.scale)
            found = sampler(m.normal_texture, "normal", "raw", (2 * strength, 2 * strength, 2, 1),
                            (-strength, -strength, -1, 0))
            if found is not None:
                found.CreateOutput("rgb", Sdf.ValueTypeNames.Float3)
                surface.CreateInput("normal", Sdf.ValueTypeNames.Normal3f).ConnectToSource(found.ConnectableAPI(), "rgb")
        if m.occlusion_texture is not None and m.occlusion_texture.texcoord == 0:
            found = sampler(m.occlusion_texture, "occlusion", "raw")
            if found is not None:
                found.CreateOutput("r", Sdf.ValueTypeNames.Float)
                surface.CreateInput("occlusion", Sdf.ValueTypeNames.Float).ConnectToSource(found.ConnectableAPI(), "r")
        usd_material.CreateSurfaceOutput().ConnectToSource(surface.ConnectableAPI(), "surface")
        self.materials[key] = usd_material
        return usd_material

    def mesh(self, index: int, part: _Part) -> None:
        _, Sdf, _, UsdGeom, UsdShade, _, Vt = _pxr()
        mesh = UsdGeom.Mesh.Define(self.stage, f"/Artifact/Geom/mesh{index}")
        mesh.CreateSubdivisionSchemeAttr("none")
        mesh.CreatePointsAttr(Vt.Vec3fArray.FromNumpy(part.points.astype(np.float32)))
        mesh.CreateFaceVertexCountsAttr(Vt.IntArray.FromNumpy(np.full(len(part.indices) // 3, 3, dtype=np.int32)))
        mesh.CreateFaceVertexIndicesAttr(Vt.IntArray.FromNumpy(part.indices.astype(np.int32)))
        mesh.CreateExtentAttr(Vt.Vec3fArray.FromNumpy(
            np.array([part.points.min(axis=0), part.points.max(axis=0)], dtype=np.float32)))
        if part.normals is not None:
            mesh.CreateNormalsAttr(Vt.Vec3fArray.FromNumpy(part.normals.astype(np.float32)))
            mesh.SetNormalsInterpolation(UsdGeom.Tokens.vertex)
        if part.uvs is not None:
            # glTF's v runs down the image, USD's t runs up.
            st = np.c_[part.uvs[:, 0], 1.0 - part.uvs[:, 1]].astype(np.float32)
            primvar = UsdGeom.PrimvarsAPI(mesh).CreatePrimvar("st", Sdf.ValueTypeNames.TexCoord2fArray,
                                                              UsdGeom.Tokens.vertex)
            primvar.Set(Vt.Vec2fArray.FromNumpy(st))
        if part.material is not None and part.material.double_sided:
            mesh.CreateDoubleSidedAttr(True)
        UsdShade.MaterialBindingAPI.Apply(mesh.GetPrim()).Bind(self.material(part.material))


def usdz_bytes(scene: Scene, title: str) -> bytes:
    """The model as a USDZ package: metres, y up, its base centre at the origin, titled `title`."""
    _, Sdf, Usd, UsdGeom, _, UsdUtils, _ = _pxr()
    parts = _parts(scene)
    if not parts:
        raise BuildError(f"'{title}': no triangles to write as USDZ")
    _standing(parts)
    with tempfile.TemporaryDirectory(prefix="vitrina-usdz-") as tmp:
        folder = Path(tmp)
        stage = Usd.Stage.CreateNew(str(folder / "model.usdc"))
        UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.y)
        UsdGeom.SetStageMetersPerUnit(stage, 1.0)
        root = UsdGeom.Xform.Define(stage, "/Artifact").GetPrim()
        stage.SetDefaultPrim(root)
        Usd.ModelAPI(root).SetKind("component")
        root.SetDisplayName(title)
        stage.GetRootLayer().documentation = title
        UsdGeom.Scope.Define(stage, "/Artifact/Geom")
        UsdGeom.Scope.Define(stage, "/Artifact/Materials")
        writer = _Writer(stage, folder)
        for index, part in enumerate(parts):
            writer.mesh(index, part)
        stage.GetRootLayer().Save()
        target = folder / "model.usdz"
        if not UsdUtils.CreateNewARKitUsdzPackage(Sdf.AssetPath(str(folder / "model.usdc")), str(target)):
            raise BuildError(f"'{title}': usd-core could not package the USDZ")
        return _fixed_timestamps(target.read_bytes())


def package_from_level(body: bytes) -> bytes:
    """The USDZ of a ladder level's GLB body (`PhoneLevel` names which): decoded as the viewer decodes it, so the
    package is the same whether it is made with the ladder or long after, from the cached level, when an artifact's
    rights come to allow its download. Titled per artifact later (`finished`)."""
    from pipeline import ladder

    return usdz_bytes(ladder.level_scene(body), "model")


# AR Quick Look takes one file, no ladder: it gets the level a phone would stream (see `PhoneLevel`), so that a
# 40M-triangle scan still opens on an iPhone. The faithful original stays the `full` GLB download.
AR_PROFILE = budgets.PROFILES["phone"]


def fits_a_phone(usage: budgets.Usage) -> bool:
    """Whether a phone's viewer could load a scene of this usage (budgets.measure) alone: within its triangles,
    texture side and texture memory (the test streaming.js makes of a level: `usable` and the budget)."""
    side = max((max(budgets.image_size(texture)) for texture in usage.textures.values()), default=0)
    return (usage.triangles <= AR_PROFILE.triangles and side <= AR_PROFILE.max_texture_size
            and usage.texture_bytes_gpu <= AR_PROFILE.texture_bytes_gpu)


class PhoneLevel:
    """Offered a model's ladder levels fine to coarse (`ladder.build_ladder`'s on_level), keeps the level a phone
    loads: the finest one that fits it (the coarsest offered if none fits), or a coarser one that keeps its
    triangles and still fits, as the viewer takes the coarsest level of the same error. For a big scan that is
    `low` (150k triangles, 1k textures) unless `medium` came out within 300k triangles by its error bound; a small
    model keeps its geometry with 2k textures, in `high` or `medium` rather than `full`, which keeps the source's
    textures byte for byte (a PNG where the levels below carry JPEG). With `keep_scene` it holds that level's scene
    too (one the ladder is still holding as the parent of the next, so the ladder's peak memory stays as it was);
    without, only its name, which is all a ladder needs whose levels AR Quick Look can read as they are."""

    def __init__(self, keep_scene: bool = True) -> None:
        self.keep_scene = keep_scene
        self.name: str | None = None
        self.scene: Scene | None = None
        self.fits = False
        self._triangles = -1

    def offer(self, name: str, scene: Scene) -> None:
        usage = budgets.measure(scene)
        if self.fits and usage.triangles != self._triangles:
            return
        fits = fits_a_phone(usage)
        if self.fits and not fits:
            return
        self.name, self.fits, self._triangles = name, fits, usage.triangles
        self.scene = scene if self.keep_scene else None


@dataclass(frozen=True)
class UsdzSource:
    """One artifact to package: its model's AR package from the ladder (`base`, named by `base_key`: the ladder's
    cache key), and the artifact's own title and height, set on that package."""

    artifact_id: str
    title: str
    height: float | None
    base_key: str
    base: bytes


def packages(sources: Sequence[UsdzSource], remembered: Remembered) -> dict[str, bytes]:
    """A USDZ per source, artifact id → bytes, through the cache (`remembered(key, compute)`).

    Geometry and materials come packaged with the model's ladder; the title and height are set on that package
    here, so editing a title reads and simplifies no model."""
    return {source.artifact_id: remembered(package_key(source.base_key, source.title, source.height),
                                           functools.partial(finished, source.base, source.title, source.height))
            for source in sources}


def package_key(base_key: str, title: str, height: float | None) -> str:
    """The cache key of an artifact's finished package: its model's package, its title and height, and this code."""
    return hashlib.sha256(f"usdz\0{base_key}\0{title}\0{height}\0{_code_version()}".encode()).hexdigest()


@functools.cache
def _code_version() -> str:
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


def finished(package: bytes, title: str, height: float | None = None) -> bytes:
    """The same USDZ titled `title` and, with a height, scaled (about its base centre, the origin) to that height
    in metres: one model's package serves every artifact that shows it."""
    import zipfile

    Gf, Sdf, Usd, UsdGeom, _, UsdUtils, _ = _pxr()
    with tempfile.TemporaryDirectory(prefix="vitrina-usdz-") as tmp:
        folder = Path(tmp)
        (folder / "in.usdz").write_bytes(package)
        with zipfile.ZipFile(folder / "in.usdz") as archive:
            names = archive.namelist()
            if not names or any(name.startswith(("/", "..")) or ".." in Path(name).parts for name in names):
                raise BuildError(f"'{title}': a cached USDZ is not a package this build wrote")
            archive.extractall(folder / "package")
        layer = folder / "package" / names[0]
        stage = Usd.Stage.Open(str(layer))
        root = stage.GetDefaultPrim()
        root.SetDisplayName(title)
        stage.GetRootLayer().documentation = title
        if height:
            box = UsdGeom.BBoxCache(Usd.TimeCode.Default(), [UsdGeom.Tokens.default_]).ComputeWorldBound(root)
            low, high = box.ComputeAlignedRange().GetMin()[1], box.ComputeAlignedRange().GetMax()[1]
            if high > low:
                UsdGeom.Xformable(root).AddScaleOp().Set(Gf.Vec3f(float(height / (high - low))))
        stage.GetRootLayer().Save()
        target = folder / "model.usdz"
        if not UsdUtils.CreateNewARKitUsdzPackage(Sdf.AssetPath(str(layer)), str(target)):
            raise BuildError(f"'{title}': usd-core could not package the USDZ")
        return _fixed_timestamps(target.read_bytes())


def arkit_problems(path: Path) -> list[str]:
    """What `usdchecker --arkit` reports for a USDZ file (its errors and failed checks); empty when it passes.

    This runs the checker's own engine, usd-core's ComplianceChecker with the ARKit rules (26.5 is the newest
    usd-core that still has it). Hand-written checks that once stood in for it are gone: the real one reports
    everything they did (a compressed entry, a WebP inside, a shader AR Quick Look lacks, no default prim) and
    more (64-byte alignment, shader property types), and their prim-type list refused prims ARKit reads."""
    import warnings

    _pxr()
    from pxr import UsdUtils

    with warnings.catch_warnings():
        # Deprecated in favour of UsdValidation, which has no ARKit rules yet: it is still what --arkit means.
        warnings.simplefilter("ignore", DeprecationWarning)
        checker = UsdUtils.ComplianceChecker(arkit=True, skipARKitRootLayerCheck=False, rootPackageOnly=False,
                                             skipVariants=False, verbose=False)
    checker.CheckCompliance(str(path))
    return [*checker.GetErrors(), *checker.GetFailedChecks()]


def _fixed_timestamps(data: bytes) -> bytes:
    """The same package with every entry dated 1980-01-01 00:00, so the same model gives the same bytes.

    The dates are patched in place (local and central headers), which keeps USDZ's 64-byte data alignment."""
    import io
    import zipfile

    patched = bytearray(data)
    dos_date = (1 << 5) | 1  # 1980-01-01
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        for member in package.infolist():
            local = member.header_offset
            patched[local + 10:local + 14] = (0).to_bytes(2, "little") + dos_date.to_bytes(2, "little")
    end = data.rfind(b"PK\x05\x06")
    count = int.from_bytes(data[end + 10:end + 12], "little")
    cursor = int.from_bytes(data[end + 16:end + 20], "little")
    for _ in range(count):
        name, extra, comment = (int.from_bytes(data[cursor + o:cursor + o + 2], "little") for o in (28, 30, 32))
        patched[cursor + 12:cursor + 16] = (0).to_bytes(2, "little") + dos_date.to_bytes(2, "little")
        cursor += 46 + name + extra + comment
    return bytes(patched)
