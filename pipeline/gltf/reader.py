"""Read a .gltf or .glb file into the Scene IR, each part fetched once through one checked `get(kind, index)`."""

from __future__ import annotations

import base64
import binascii
import concurrent.futures
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import unquote

import numpy as np

from pipeline.asset_files import confine, make_texture
from pipeline.errors import AssetError
from pipeline.gltf import container
from pipeline.gltf.extensions import readable, registered
from pipeline.gltf.json_text import plain_copy
from pipeline.gltf.shape import document_shape, shape_mistake
from pipeline.scene import (
    Animation,
    AnimationChannel,
    AnimationSampler,
    Material,
    Mesh,
    Node,
    Primitive,
    Scene,
    Skin,
    Texture,
    TextureRef,
    matrix_quaternion,
)

# "http:", "file:" and the like (two letters at least, so a Windows drive letter is not a scheme).
URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")

DTYPES = {5120: np.int8, 5121: np.uint8, 5122: np.int16, 5123: np.uint16, 5125: np.uint32, 5126: np.float32}
SPARSE_INDEX_TYPES = (5121, 5123, 5125)
ZERO_ACCESSOR_LIMIT = 1 << 30  # bytes of an accessor without a bufferView (all zeros, maybe sparse)
# Above this many bytes, a primitive's accessors are copied on two threads (see _GltfReader._accessors).
PARALLEL_ACCESSOR_BYTES = 16 << 20
COMPONENTS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT2": 4, "MAT3": 9, "MAT4": 16}



def decompose_matrix(values: list[float]) -> tuple[tuple[float, float, float],
                                                    tuple[float, float, float, float],
                                                    tuple[float, float, float]]:
    """glTF column-major 4x4 → (translation, rotation quaternion, scale); shear, if any, is lost."""
    m = np.asarray(values, dtype=np.float64).reshape(4, 4).T
    translation = m[:3, 3]
    basis = m[:3, :3].copy()
    scale = np.linalg.norm(basis, axis=0)
    if np.linalg.det(basis) < 0:
        scale[0] = -scale[0]
    safe = np.where(scale == 0, 1.0, scale)
    x, y, z, w = (float(v) for v in matrix_quaternion(basis / safe))
    return ((float(translation[0]), float(translation[1]), float(translation[2])), (x, y, z, w),
            (float(scale[0]), float(scale[1]), float(scale[2])))





# Where each kind of glTF object lives in the document, for `_GltfReader.entry` and `.get`.
COLLECTIONS = {
    "accessor": "accessors", "animation": "animations", "buffer": "buffers", "bufferView": "bufferViews",
    "camera": "cameras", "image": "images", "material": "materials", "mesh": "meshes", "node": "nodes",
    "sampler": "samplers", "scene": "scenes", "skin": "skins", "texture": "textures",
}


class MissingProperty(KeyError):
    """A required property is absent from a JSON object of the file (a KeyError of the reader's own is a bug)."""


class _JsonObject(dict[str, Any]):
    """A JSON object read from the file: looking up an absent property raises MissingProperty."""

    def __missing__(self, key: str) -> Any:
        raise MissingProperty(key)



def read_gltf(path: Path, root: Path | None) -> Scene:
    """Read a .gltf or .glb into a Scene; every mistake in the file becomes an AssetError(path, cause).

    Properties of the wrong JSON type are found by `pipeline.gltf.shape` before reading, dangling indices by
    `_GltfReader.entry`, both reported with their place; an absent required property is reported by name. Any
    other exception is a bug of the reader, and keeps its traceback.
    """
    reader = _GltfReader(path, root)
    try:
        return reader.read()
    except MissingProperty as error:
        raise AssetError(str(path), f"malformed glTF: the required property '{error.args[0]}' is missing") from None
    except OSError as error:
        raise AssetError(str(path), f"cannot be read: {error.strerror or 'input/output error'}") from None
    finally:
        reader.release()


class _GltfReader:
    """One read of a .gltf or .glb file into the IR."""

    def __init__(self, path: Path, root: Path | None = None) -> None:
        self.path = path
        self.root = root
        self.bin_chunk: bytes | None = None
        self.json: dict[str, Any] = {}
        self.extensions = registered()
        self.nodes: list[Node] = []  # every node of the document, made before any is filled in
        # What get() reads, and what it has read. Accessors are left out: each use gets its own array, which
        # later stages own (and may change in place).
        self.loaders: dict[str, Callable[[int, dict[str, Any]], Any]] = {
            "buffer": self._load_buffer, "texture": self._load_texture, "material": self._load_material,
            "mesh": self._load_mesh, "skin": self._load_skin}
        self.loaded: dict[tuple[str, int], Any] = {}

    def release(self) -> None:
        """Drop the file's bytes and what was read from them now. The loaders' bound methods make a reference
        cycle, so without this a scan's BIN chunk stayed alive until the cyclic collector ran, well into the
        ladder's work on the arrays read from it."""
        self.loaders.clear()
        self.loaded.clear()
        self.bin_chunk = None

    def fail(self, cause: str) -> AssetError:
        return AssetError(str(self.path), cause)

    def entry(self, kind: str, index: Any) -> dict[str, Any]:
        """The JSON object `index` of `kind` ("mesh", "accessor", ...), after the checks every reference gets
        (as three.js GLTFLoader's getDependency): an integer, in range, pointing at an object."""
        items = self.json.get(COLLECTIONS[kind], [])
        if (isinstance(index, bool) or not isinstance(index, int) or not isinstance(items, list)
                or not 0 <= index < len(items) or not isinstance(items[index], dict)):
            raise self.fail(f"malformed glTF: an index points at nothing ({kind} {index!r} does not exist)")
        entry: dict[str, Any] = items[index]
        return entry

    def node(self, index: Any) -> Node:
        """Node `index` of the document, checked like every other reference."""
        self.entry("node", index)
        return self.nodes[index]

    def _animation_sampler(self, samplers: list[AnimationSampler], index: Any, animation: int) -> AnimationSampler:
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(samplers):
            raise self.fail(f"malformed glTF: an index points at nothing (sampler {index!r} of animation "
                            f"{animation} does not exist)")
        return samplers[index]

    def get(self, kind: str, index: Any) -> Any:
        """The IR object for `index` of `kind` ("buffer", "texture", "material", "mesh", "skin"), read once:
        later references share it, as the IR expects (three.js GLTFLoader's getDependency)."""
        entry = self.entry(kind, index)
        key = (kind, index)
        if key not in self.loaded:
            self.loaded[key] = self.loaders[kind](index, entry)
        return self.loaded[key]

    # -- container ---------------------------------------------------------------------------------

    def _parse_container(self) -> None:
        with self.path.open("rb") as handle:
            is_glb = handle.read(4) == container.MAGIC
            handle.seek(0)
            if is_glb:
                self._parse_glb(handle, os.fstat(handle.fileno()).st_size)
            else:
                raw = handle.read()
        if not is_glb:
            if self.path.suffix.lower() == ".glb":
                raise self.fail("not a GLB file (the 'glTF' magic bytes are missing)")
            try:
                self.json = json.loads(raw.decode("utf-8-sig"), object_hook=_JsonObject)
            except UnicodeDecodeError:
                raise self.fail("not a glTF file: the JSON is not UTF-8 text") from None
            except json.JSONDecodeError as error:
                raise self.fail(f"invalid glTF JSON at line {error.lineno}, column {error.colno}: "
                                f"{error.msg}") from None
        if not isinstance(self.json, dict) or "asset" not in self.json:
            raise self.fail("not a glTF 2.0 document (no 'asset' object)")
        places: dict[str, dict[str, Any]] = {}
        for extension in self.extensions:
            for place, shape in extension.shapes.items():
                places.setdefault(place, {})[extension.name] = shape
        mistake = shape_mistake(self.json, document_shape(places))
        if mistake:
            raise self.fail(f"malformed glTF: {mistake}")
        version = str(self.json.get("asset", {}).get("version", ""))
        if not version.startswith("2."):
            raise self.fail(f"glTF version '{version}' is not supported; Vitrina reads glTF 2.0")
        missing = [e for e in self.json.get("extensionsRequired", []) if e not in readable()]
        if missing:
            raise self.fail(f"requires the glTF extension{'s' if len(missing) > 1 else ''} "
                            f"{', '.join(missing)}, which Vitrina cannot read")

    def _parse_glb(self, handle: BinaryIO, size: int) -> None:
        try:
            text, binary = container.read_split(handle, size)
        except container.ContainerError as error:
            raise self.fail(str(error)) from None
        try:
            self.json = json.loads(text.decode("utf-8"), object_hook=_JsonObject)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise self.fail("corrupt GLB: its JSON chunk is not valid JSON") from None
        if binary is not None:
            self.bin_chunk = binary

    def _resolve_uri(self, uri: str, what: str) -> bytes:
        if uri.startswith("data:"):
            header, _, payload = uri.partition(",")
            try:
                return base64.b64decode(payload, validate=True) if ";base64" in header else unquote(
                    payload).encode("latin-1")
            except (binascii.Error, ValueError):
                raise self.fail(f"{what} has a corrupt data: URI") from None
        if URL_SCHEME.match(uri):
            raise self.fail(f"{what} refers to '{uri}'; only files next to the asset are read, never URLs")
        relative = unquote(uri)
        target = (self.path.parent / relative)
        confine(self.path, target, self.root, f"{what} '{relative}'")
        if not target.is_file():
            raise self.fail(f"{what} '{relative}' is missing (looked for {target})")
        return target.read_bytes()

    def _load_buffer(self, index: int, entry: dict[str, Any]) -> bytes:
        if "uri" in entry:
            data = self._resolve_uri(entry["uri"], f"buffer {index}")
        elif index == 0 and self.bin_chunk is not None:
            data = self.bin_chunk
        else:
            stored = next((d for d in (e.read_buffer(self, index, entry) for e in self.extensions)
                           if d is not None), None)
            if stored is None:
                raise self.fail(f"buffer {index} has no data (no uri and no GLB binary chunk)")
            data = stored
        declared = int(entry.get("byteLength", 0))
        if len(data) < declared:
            raise self.fail(f"buffer {index} is truncated: {len(data)} of {declared} bytes")
        return data

    def view_bytes(self, index: int) -> tuple[bytes, int | None]:
        data, stride = self._view(index)
        return bytes(data), stride

    def _view(self, index: int) -> tuple[bytes | memoryview, int | None]:
        """A bufferView's bytes without copying them out of their buffer: accessors copy what they read into
        arrays of their own anyway, and a copy of a scan's index view would be 48 MB more at the ingest peak."""
        view = self.entry("bufferView", index)
        for extension in self.extensions:
            stored = extension.read_buffer_view(self, index, view)
            if stored is not None:
                return stored, view.get("byteStride")
        data = self.get("buffer", view.get("buffer", 0))
        start = int(view.get("byteOffset", 0))
        end = start + int(view["byteLength"])
        if end > len(data):
            raise self.fail(f"bufferView {index} runs past the end of buffer {view.get('buffer', 0)} "
                            "(truncated file?)")
        return memoryview(data)[start:end], view.get("byteStride")

    # -- accessors -----------------------------------------------------------------------------------

    def _layout(self, index: Any, acc: dict[str, Any]) -> tuple[np.dtype[Any], int, int]:
        """An accessor's (little-endian component dtype, components per element, count), checked."""
        try:
            dtype = np.dtype(DTYPES[acc["componentType"]]).newbyteorder("<")
            components = COMPONENTS[acc["type"]]
            count = acc["count"]
            if not isinstance(count, int) or isinstance(count, bool):
                raise TypeError(count)
        except (KeyError, IndexError, TypeError, ValueError):
            raise self.fail(f"accessor {index} is missing or malformed") from None
        if count < 0:
            raise self.fail(f"accessor {index} has a negative count ({count})")
        return dtype, components, count

    def accessor(self, index: Any, *, dequantize: bool = True) -> np.ndarray:
        """Accessor `index` as a (count, components) array (flat for SCALAR); float32 when dequantized."""
        acc = self.entry("accessor", index)
        dtype, components, count = self._layout(index, acc)
        element = dtype.itemsize * components
        if "bufferView" in acc:
            data, stride = self._view(acc["bufferView"])
            offset = int(acc.get("byteOffset", 0))
            stride = int(stride or element)
            if stride < element or offset < 0:
                raise self.fail(f"accessor {index}: its {element}-byte elements do not fit its bufferView's "
                                f"byteStride {stride} (byteOffset {offset})")
            needed = offset + (count - 1) * stride + element if count else 0
            if needed > len(data):
                raise self.fail(f"accessor {index} reads past the end of its bufferView (truncated file?)")
            raw = np.ndarray((count, components), dtype=dtype, buffer=data, offset=offset,
                             strides=(stride, dtype.itemsize))
            values = np.array(raw, dtype=dtype.newbyteorder("="))
        else:
            # All zeros (then sparse values): the file holds no bytes for it, so its size needs a bound of its own.
            if count * element > ZERO_ACCESSOR_LIMIT:
                raise self.fail(f"accessor {index} has no bufferView and {count:,} elements; Vitrina reads such "
                                f"accessors up to {ZERO_ACCESSOR_LIMIT >> 20} MiB")
            values = np.zeros((count, components), dtype=dtype.newbyteorder("="))
        sparse = acc.get("sparse")
        if sparse:
            idx_data, _ = self._view(sparse["indices"]["bufferView"])
            index_type = sparse["indices"]["componentType"]
            if index_type not in SPARSE_INDEX_TYPES:
                raise self.fail(f"accessor {index} has sparse indices of componentType {index_type}; "
                                "glTF allows 5121, 5123 or 5125 (unsigned integers)")
            idx_type = np.dtype(DTYPES[index_type]).newbyteorder("<")
            n = int(sparse["count"])
            val_data, _ = self._view(sparse["values"]["bufferView"])
            try:
                where = np.frombuffer(idx_data, dtype=idx_type, count=n,
                                      offset=int(sparse["indices"].get("byteOffset", 0)))
                replacement = np.frombuffer(val_data, dtype=dtype, count=n * components,
                                            offset=int(sparse["values"].get("byteOffset", 0)))
            except ValueError:
                raise self.fail(f"accessor {index} has sparse data that runs past its bufferViews") from None
            if len(where) and int(where.max()) >= count:
                raise self.fail(f"accessor {index} has sparse indices out of range")
            values[where.astype(np.int64)] = replacement.reshape(n, components)
        if dequantize and values.dtype.kind != "f":
            if acc.get("normalized"):
                info = np.iinfo(values.dtype)
                values = np.maximum(values.astype(np.float32) / float(info.max), -1.0).astype(np.float32)
            else:
                values = values.astype(np.float32)
        return values.reshape(-1) if components == 1 else values

    # -- textures and materials ----------------------------------------------------------------------

    def _load_texture(self, index: int, entry: dict[str, Any]) -> Texture:
        source = entry.get("source")
        for extension in self.extensions:
            if source is None:
                source = extension.read_texture_source(self, entry)
        if source is None:
            raise self.fail(f"texture {index} has no image")
        image = self.entry("image", source)
        if "bufferView" in image:
            data, _ = self.view_bytes(image["bufferView"])
            label = image.get("name") or f"image {source}"
        elif "uri" in image:
            data = self._resolve_uri(image["uri"], f"image {source}")
            label = unquote(image["uri"]) if not image["uri"].startswith("data:") else f"image {source}"
        else:
            raise self.fail(f"image {source} has neither a uri nor a bufferView")
        name = image.get("name") or (Path(label).stem if "uri" in image else f"image{source}")
        texture = make_texture(self.path, data, name, image.get("mimeType"), label)
        sampler = self.entry("sampler", entry["sampler"]) if "sampler" in entry else {}
        texture.mag_filter = sampler.get("magFilter")
        texture.min_filter = sampler.get("minFilter")
        texture.wrap_s = int(sampler.get("wrapS", 10497))
        texture.wrap_t = int(sampler.get("wrapT", 10497))
        return texture

    def texture_ref(self, info: dict[str, Any], scale_key: str | None = None) -> TextureRef:
        ref = TextureRef(texture=self.get("texture", info["index"]), texcoord=int(info.get("texCoord", 0)))
        if scale_key and scale_key in info:
            ref.scale = float(info[scale_key])
        for extension in self.extensions:
            extension.read_texture_info(self, info, ref)
        return ref

    def _load_material(self, index: int, entry: dict[str, Any]) -> Material:
        pbr = entry.get("pbrMetallicRoughness", {})
        material = Material(
            name=entry.get("name", ""),
            base_color_factor=tuple(pbr.get("baseColorFactor", (1.0, 1.0, 1.0, 1.0))),  # type: ignore[arg-type]
            metallic_factor=float(pbr.get("metallicFactor", 1.0)),
            roughness_factor=float(pbr.get("roughnessFactor", 1.0)),
            emissive_factor=tuple(entry.get("emissiveFactor", (0.0, 0.0, 0.0))),  # type: ignore[arg-type]
            alpha_mode=entry.get("alphaMode", "OPAQUE"),
            alpha_cutoff=float(entry.get("alphaCutoff", 0.5)),
            double_sided=bool(entry.get("doubleSided", False)),
            extras=plain_copy(entry["extras"]) if isinstance(entry.get("extras"), dict) else {},
        )
        if "baseColorTexture" in pbr:
            material.base_color_texture = self.texture_ref(pbr["baseColorTexture"])
        if "metallicRoughnessTexture" in pbr:
            material.metallic_roughness_texture = self.texture_ref(pbr["metallicRoughnessTexture"])
        if "normalTexture" in entry:
            material.normal_texture = self.texture_ref(entry["normalTexture"], "scale")
        if "occlusionTexture" in entry:
            material.occlusion_texture = self.texture_ref(entry["occlusionTexture"], "strength")
        if "emissiveTexture" in entry:
            material.emissive_texture = self.texture_ref(entry["emissiveTexture"])
        for extension in self.extensions:
            extension.read_material(self, entry, material)
        return material

    # -- meshes --------------------------------------------------------------------------------------

    def _accessors(self, wanted: list[tuple[Any, bool]]) -> list[np.ndarray]:
        """accessor(index, dequantize=…) for each, on two threads when they are big and plain: numpy's copies
        release the GIL, and a 4M-triangle scan's four arrays (112 MB of fresh pages) took 0.19 s one by one and
        0.09 s on two threads. Errors come in the list's order, as one by one."""
        if len(wanted) < 2 or self._plain_accessor_bytes([index for index, _ in wanted]) < PARALLEL_ACCESSOR_BYTES:
            return [self.accessor(index, dequantize=dequantize) for index, dequantize in wanted]
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            futures = [pool.submit(self.accessor, index, dequantize=dequantize) for index, dequantize in wanted]
            return [future.result() for future in futures]

    def _plain_accessor_bytes(self, indices: list[Any]) -> int:
        """The bytes these accessors copy, with their buffers loaded (so that no two threads load one); 0 when one
        is not a plain bufferView read (sparse, compressed or malformed): those are read one by one, in order."""
        total = 0
        try:
            for index in indices:
                acc = self.entry("accessor", index)
                if "sparse" in acc or "bufferView" not in acc:
                    return 0
                if "extensions" in self.entry("bufferView", acc["bufferView"]):
                    return 0
                dtype, components, count = self._layout(index, acc)
                self._view(acc["bufferView"])  # loads (and checks) its buffer here, once
                total += count * components * dtype.itemsize
        except AssetError:
            return 0  # read one by one, which raises it again where it belongs
        return total

    def _load_mesh(self, index: int, entry: dict[str, Any]) -> Mesh:
        primitives = []
        for p in entry.get("primitives", []):
            decoded = next((d for d in (e.decode_primitive(self, p, index) for e in self.extensions)
                            if d is not None), None)
            if decoded is not None:
                primitive = decoded
            else:
                names = list(p.get("attributes", {}))
                wanted = [(p["attributes"][name], not name.startswith("JOINTS_")) for name in names]
                if "indices" in p:
                    wanted.append((p["indices"], False))
                arrays = self._accessors(wanted)
                indices = arrays[len(names)].astype(np.uint32, copy=False) if "indices" in p else None
                primitive = Primitive(attributes=dict(zip(names, arrays, strict=False)), indices=indices,
                                      mode=int(p.get("mode", 4)))
            if "POSITION" not in primitive.attributes:
                raise self.fail(f"mesh {index} has a primitive without POSITION")
            for name, values in list(primitive.attributes.items()):
                if values.ndim == 1:
                    primitive.attributes[name] = values.reshape(-1, 1)
            if primitive.indices is not None and len(primitive.indices) and (
                    int(primitive.indices.max()) >= primitive.vertex_count):
                raise self.fail(f"mesh {index} has indices beyond its {primitive.vertex_count} vertices")
            primitive.targets = [{name: self.accessor(a) for name, a in target.items()}
                                 for target in p.get("targets", [])]
            if "material" in p:
                primitive.material = self.get("material", p["material"])
            if isinstance(p.get("extras"), dict):
                primitive.extras = plain_copy(p["extras"])
            for extension in self.extensions:
                extension.read_primitive(self, p, primitive, index)
            primitive.mode, primitive.indices = _as_triangles(primitive.mode, primitive.indices,
                                                              primitive.vertex_count)
            primitives.append(primitive)
        mesh = Mesh(name=entry.get("name", ""), primitives=primitives,
                    weights=[float(w) for w in entry.get("weights", [])],
                    extras=plain_copy(entry["extras"]) if isinstance(entry.get("extras"), dict) else {})
        return mesh

    # -- document ------------------------------------------------------------------------------------

    def read(self) -> Scene:
        self._parse_container()
        doc = self.json
        for extension in self.extensions:
            extension.read_document(self)
        listed = doc.get("nodes", [])
        raw_nodes = [self.entry("node", i) for i in range(len(listed) if isinstance(listed, list) else 0)]
        self.nodes = nodes = [Node(name=str(n.get("name", ""))) for n in raw_nodes]
        for node, entry in zip(nodes, raw_nodes, strict=True):
            self._fill_node(node, entry)
        for node, entry in zip(nodes, raw_nodes, strict=True):
            if "skin" in entry:
                node.skin = self.get("skin", entry["skin"])
        scene_index = int(doc.get("scene", 0))
        scenes = doc.get("scenes", [])
        if scenes:
            if scene_index >= len(scenes):
                raise self.fail(f"scene {scene_index} does not exist")
            roots = [self.node(i) for i in scenes[scene_index].get("nodes", [])]
            name = scenes[scene_index].get("name") or self.path.stem
        else:
            children = {c for n in raw_nodes for c in n.get("children", [])}
            roots = [node for i, node in enumerate(nodes) if i not in children]
            name = self.path.stem
        scene = Scene(name=name, nodes=roots, copyright=str(doc["asset"].get("copyright", "")))
        for extension in self.extensions:
            extension.read_scene(self, scene)
        if scenes and isinstance(scenes[scene_index].get("extras"), dict):
            scene.extras = plain_copy(scenes[scene_index]["extras"])
        scene.animations = [self._animation(i, a) for i, a in enumerate(doc.get("animations", []))]
        return scene

    def _fill_node(self, node: Node, entry: dict[str, Any]) -> None:
        if "matrix" in entry:
            node.translation, node.rotation, node.scale = decompose_matrix(entry["matrix"])
        else:
            node.translation = tuple(float(v) for v in entry.get("translation", (0, 0, 0)))  # type: ignore[assignment]
            node.rotation = tuple(float(v) for v in entry.get("rotation", (0, 0, 0, 1)))  # type: ignore[assignment]
            node.scale = tuple(float(v) for v in entry.get("scale", (1, 1, 1)))  # type: ignore[assignment]
        children = entry.get("children", [])
        if not isinstance(children, list):
            raise self.fail(f"node '{node.name}' has a child that does not exist (children is not a list)")
        node.children = [self.node(i) for i in children]
        if "mesh" in entry:
            node.mesh = self.get("mesh", entry["mesh"])
        if "camera" in entry:
            node.camera = plain_copy(self.entry("camera", entry["camera"]))
        for extension in self.extensions:
            extension.read_node(self, node, entry)
        if isinstance(entry.get("extras"), dict):
            node.extras = plain_copy(entry["extras"])

    def _load_skin(self, index: int, entry: dict[str, Any]) -> Skin:
        matrices = None
        if "inverseBindMatrices" in entry:
            # glTF stores each matrix column-major; the IR keeps maths order (matrix @ column vector).
            values = self.accessor(entry["inverseBindMatrices"])
            if values.ndim != 2 or values.shape[1] != 16:
                raise self.fail(f"skin {index}: inverseBindMatrices must be a MAT4 accessor")
            matrices = values.reshape(-1, 4, 4).transpose(0, 2, 1)
            matrices = np.ascontiguousarray(matrices, dtype=np.float32)
        return Skin(joints=[self.node(j) for j in entry.get("joints", [])], inverse_bind_matrices=matrices,
                    skeleton=self.node(entry["skeleton"]) if "skeleton" in entry else None,
                    name=str(entry.get("name", "")))

    def _animation(self, index: int, entry: dict[str, Any]) -> Animation:
        samplers: list[AnimationSampler] = []
        for s in entry.get("samplers", []):
            samplers.append(AnimationSampler(input=self.accessor(s["input"]),
                                             output=self.accessor(s["output"]),
                                             interpolation=str(s.get("interpolation", "LINEAR"))))
        channels = []
        for c in entry.get("channels", []):
            target = c.get("target", {})
            if "node" not in target:
                continue  # animates something outside the core node model (e.g. KHR_animation_pointer)
            sampler = self._animation_sampler(samplers, c["sampler"], index)
            if target["path"] == "weights":
                output = np.asarray(sampler.output)
                keyframes = len(sampler.input)
                if output.size % max(keyframes, 1) or (keyframes == 0 and output.size):
                    raise self.fail(f"animation {index}: {output.size} morph weights cannot be spread over "
                                    f"{keyframes} keyframes")
                sampler.output = output.reshape(keyframes, -1) if keyframes else output.reshape(0, 0)
            channels.append(AnimationChannel(sampler=sampler, node=self.node(target["node"]),
                                             path=str(target["path"])))
        return Animation(name=str(entry.get("name", f"animation{index}")), channels=channels)


def _as_triangles(mode: int, indices: np.ndarray | None, vertex_count: int) -> tuple[int, np.ndarray | None]:
    """Triangle strips and fans become plain triangle lists, which every later stage expects."""
    if mode not in (5, 6):
        return mode, indices
    order = indices if indices is not None else np.arange(vertex_count, dtype=np.uint32)
    if mode == 5:
        return 4, strip_to_triangles(order.astype(np.int64))
    if len(order) < 3:
        return 4, np.zeros(0, dtype=np.uint32)
    fans = np.stack([np.full(len(order) - 2, order[0]), order[1:-1], order[2:]], axis=1)
    return 4, fans.astype(np.uint32).reshape(-1)


def strip_to_triangles(strip: np.ndarray, restart: int = -1) -> np.ndarray:
    """Triangle strip(s) → flat triangle list: `restart` separates strips, every other triangle is flipped to
    keep a consistent winding, and degenerate triangles (repeated vertices, used to join strips) are dropped."""
    strip = np.asarray(strip, dtype=np.int64).reshape(-1)
    breaks = np.flatnonzero(strip == restart)
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [len(strip)]])
    triangles = []
    for start, end in zip(starts, ends, strict=True):
        run = strip[start:end]
        if len(run) < 3:
            continue
        a, b, c = run[:-2], run[1:-1], run[2:]
        odd = (np.arange(len(a)) % 2) == 1
        first = np.where(odd, b, a)
        second = np.where(odd, a, b)
        triangles.append(np.stack([first, second, c], axis=1))
    if not triangles:
        return np.zeros(0, dtype=np.uint32)
    faces = np.concatenate(triangles)
    keep = (faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (faces[:, 0] != faces[:, 2])
    return faces[keep].astype(np.uint32).reshape(-1)

