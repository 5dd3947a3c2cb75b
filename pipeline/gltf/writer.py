"""Write a Scene as deterministic GLB bytes: the core (buffers, accessors, nodes); extensions are plug-ins."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pygltflib as gl

from pipeline import __version__
from pipeline import scene as ir
from pipeline.columns import column_range
from pipeline.gltf import container
from pipeline.gltf.extensions import registered
from pipeline.gltf.json_text import (
    extras_json,
    floats,
    is_default,
    json_text,
    plain_json,
)

GENERATOR = f"Vitrina {__version__}"

ARRAY_BUFFER = 34962
ELEMENT_ARRAY_BUFFER = 34963

COMPONENT_TYPES: dict[np.dtype[Any], int] = {
    np.dtype(np.int8): 5120,
    np.dtype(np.uint8): 5121,
    np.dtype(np.int16): 5122,
    np.dtype(np.uint16): 5123,
    np.dtype(np.uint32): 5125,
    np.dtype(np.float32): 5126,
}
ACCESSOR_TYPES = {1: "SCALAR", 2: "VEC2", 3: "VEC3", 4: "VEC4", 9: "MAT3", 16: "MAT4"}


REPEAT = 10497



@dataclass(frozen=True)
class GltfOptions:
    """How to write a GLB.

    meshopt: compress vertex and index buffer views with EXT_meshopt_compression (needs pipeline.meshopt).
    draco: compress triangle meshes with KHR_draco_mesh_compression (slower to decode in browsers; opt-in).
      Primitives Draco cannot carry (tangents, skins, morph targets, quantized data) stay uncompressed.
    draco_encoder: `pipeline.gltf.encode_draco`, or one with other quantization settings, passed in by the build. Left out of repr and comparisons, so cache keys stay stable.
    generator: written to asset.generator.
    """

    meshopt: bool = False
    draco: bool = False
    generator: str = GENERATOR
    draco_encoder: Callable[..., Any] | None = field(default=None, repr=False, compare=False)


def write_glb(scene: ir.Scene, options: GltfOptions = GltfOptions()) -> bytes:  # noqa: B008 - frozen, safe
    """Serialize `scene` as a GLB. The same scene and options always give the same bytes."""
    if options.draco and options.draco_encoder is None:
        raise ValueError("GltfOptions(draco=True) needs draco_encoder=pipeline.gltf.encode_draco")
    return _GlbWriter(scene, options).build()


def _pad4(data: bytes | bytearray, fill: bytes = b"\x00") -> bytes:
    return bytes(data) + fill * (-len(data) % 4)


def _raw(array: np.ndarray) -> np.ndarray:
    """An array's bytes as a flat uint8 view (a copy only where it is not contiguous)."""
    return np.ascontiguousarray(array).reshape(-1).view(np.uint8)


def _padded_rows(rows: np.ndarray) -> np.ndarray:
    """(count, k) values as (count, stride) bytes, each row zero-padded to a multiple of 4 bytes."""
    count = len(rows)
    element = rows.dtype.itemsize * (rows.shape[1] if rows.ndim > 1 else 1)
    padded = np.zeros((count, element + (-element % 4)), dtype=np.uint8)
    padded[:, :element] = rows.view(np.uint8).reshape(count, element)
    return padded


@dataclass
class _ViewGroup:
    """Accessors that share one bufferView: same kind of data, same element layout, same meshopt mode and filter.

    element is the byteStride (vertex data, and every meshopt ATTRIBUTES view) or the index size; mode None means
    the view is stored uncompressed. Chunks follow each other without gaps, so a compressed view is one stream.
    """

    target: int | None
    element: int
    mode: str | None
    filter: str = "NONE"
    chunks: list[np.ndarray] = field(default_factory=list)  # each a flat uint8 view, copied once, when joined
    accessors: list[tuple[int, int]] = field(default_factory=list)
    length: int = 0
    count: int = 0

    def add(self, accessor: int, data: np.ndarray, count: int) -> None:
        self.accessors.append((accessor, self.length))
        self.chunks.append(data)
        self.length += data.nbytes
        self.count += count


class _GlbWriter:
    """One write: accumulates buffer views in one binary blob, deduplicating shared IR objects by identity."""

    def __init__(self, scene: ir.Scene, options: GltfOptions) -> None:
        self.scene = scene
        self.options = options
        self.doc = gl.GLTF2(asset=gl.Asset(generator=options.generator, version="2.0"))
        self.blob = bytearray()
        self.groups: dict[tuple[Any, ...], _ViewGroup] = {}
        self.times_index: dict[str, int] = {}
        self.used: set[str] = set()
        self.required: set[str] = set()
        self.node_index: dict[int, int] = {}
        self.mesh_index: dict[int, int] = {}
        self.material_index: dict[int, int] = {}
        self.skin_index: dict[int, int] = {}
        self.image_index: dict[str, int] = {}
        self.sampler_index: dict[tuple[Any, ...], int] = {}
        self.texture_index: dict[tuple[Any, ...], int] = {}
        self.camera_index: dict[str, int] = {}
        self.extensions = registered()
        for extension in self.extensions:
            extension.begin_write(self)
        self.occurrences: list[tuple[ir.Node, list[int]]] = []

    # -- buffers and accessors -------------------------------------------------------------------------

    def append(self, data: bytes | memoryview) -> int:
        offset = len(self.blob)
        self.blob += data
        self.blob += b"\x00" * (-len(self.blob) % 4)
        return offset

    def buffer_view(self, data: bytes | memoryview, target: int | None = None, stride: int | None = None) -> int:
        view = gl.BufferView(buffer=0, byteOffset=self.append(data) or None, byteLength=len(data),
                             byteStride=stride, target=target)
        self.doc.bufferViews.append(view)
        return len(self.doc.bufferViews) - 1

    def _group(self, key: tuple[Any, ...], target: int | None, element: int, mode: str | None,
               filter_name: str = "NONE") -> _ViewGroup:
        if key not in self.groups:
            self.groups[key] = _ViewGroup(target, element, mode, filter_name)
        return self.groups[key]

    def accessor(self, array: np.ndarray, *, kind: str, target: int | None = None, normalized: bool = False,
                  min_max: bool = False, attribute: str = "", triangle_list: bool = False,
                  keyframes: str = "") -> int:
        """Add an accessor whose bytes join the shared bufferView of its kind (see `_ViewGroup`).

        kind names what the data is for ("vertex:NORMAL", "index", "time", "keyframe:rotation", "skin",
        "instance"): like gltfpack, data of one kind and layout shares one view, so the JSON holds a few views
        and meshopt encodes long streams. keyframes: the animation path whose meshopt filter applies.
        """
        array = np.ascontiguousarray(array)
        if array.dtype == np.float64:
            array = array.astype(np.float32)
        if array.dtype not in COMPONENT_TYPES:
            raise ValueError(f"cannot store {array.dtype} in a glTF accessor")
        count = int(array.shape[0])
        components = int(np.prod(array.shape[1:])) if array.ndim > 1 else 1
        rows = array.reshape(count, components)
        layout = next((found for found in (
            e.accessor_layout(self, rows, target=target, attribute=attribute, normalized=normalized,
                              keyframes=keyframes, triangle_list=triangle_list) for e in self.extensions)
            if found is not None), None)
        if target == ELEMENT_ARRAY_BUFFER:
            size = rows.dtype.itemsize
            mode = layout.mode if layout else None
            group = self._group(("index", size, mode), target, size, mode)
            data = _raw(rows)
        elif layout is not None and layout.rows is not None:
            stride = int(layout.rows.shape[1])
            group = self._group((kind, stride, layout.filter, layout.mode), target, stride, layout.mode,
                                layout.filter)
            data = _raw(layout.rows)
        elif target == ARRAY_BUFFER:
            # Vertex attribute elements must start on 4-byte boundaries: pad each row (int16 VEC3 → 8 bytes).
            stored = _padded_rows(rows)
            stride = int(stored.shape[1])
            group = self._group((kind, stride, "NONE", None), target, stride, None, "NONE")
            data = _raw(stored)
        else:
            group = self._group((kind, None, "NONE", None), target, 4, None)
            data = np.frombuffer(_pad4(rows.tobytes()), dtype=np.uint8)
        accessor = gl.Accessor(bufferView=None, byteOffset=None, componentType=COMPONENT_TYPES[rows.dtype],
                               normalized=True if normalized else None, count=count,
                               type=ACCESSOR_TYPES[components])
        if min_max and count:
            low, high = column_range(rows)
            if rows.dtype.kind == "f" and not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
                raise ValueError(f"{attribute or 'accessor'} data holds NaN or infinite values")
            if rows.dtype.kind == "f":
                accessor.min, accessor.max = floats(low), floats(high)
            else:
                accessor.min, accessor.max = [int(v) for v in low], [int(v) for v in high]
        self.doc.accessors.append(accessor)
        group.add(len(self.doc.accessors) - 1, data, count)
        return len(self.doc.accessors) - 1

    def _write_groups(self) -> None:
        """One bufferView per group, in the order the groups were first used, so the bytes are deterministic."""
        for group in self.groups.values():
            # The accessors' own arrays, copied only here, into one view's bytes: a copy of each as it was added,
            # then the view's join, held a 3M-triangle level's indices three times at once.
            data = (group.chunks[0] if len(group.chunks) == 1 else np.concatenate(group.chunks)).data
            group.chunks = []  # the raw bytes of a scan's views go as each is written, not all at the end
            if group.mode is None:
                view = self.buffer_view(data, target=group.target,
                                         stride=group.element if group.target == ARRAY_BUFFER else None)
            else:
                view = self._extension_view(data, group)
            for accessor, offset in group.accessors:
                self.doc.accessors[accessor].bufferView = view
                self.doc.accessors[accessor].byteOffset = offset or None

    def _extension_view(self, data: memoryview, group: _ViewGroup) -> int:
        for extension in self.extensions:
            view = extension.write_buffer_view(self, data, group)
            if view is not None:
                return view
        raise ValueError(f"no glTF extension writes bufferViews of mode {group.mode}")

    # -- textures and materials ------------------------------------------------------------------------

    def _image(self, texture: ir.Texture) -> int:
        key = hashlib.sha256(texture.data).hexdigest() + texture.mime_type
        if key not in self.image_index:
            view = self.buffer_view(texture.data)
            # Image names are left out (as gltfpack does): no viewer uses them, and they are bytes in every room.
            self.doc.images.append(gl.Image(bufferView=view, mimeType=texture.mime_type))
            self.image_index[key] = len(self.doc.images) - 1
        return self.image_index[key]

    def _sampler(self, texture: ir.Texture) -> int | None:
        key = (texture.mag_filter, texture.min_filter, texture.wrap_s, texture.wrap_t)
        if key == (None, None, REPEAT, REPEAT):
            return None  # a texture without a sampler repeats and filters automatically: the same thing
        if key not in self.sampler_index:
            self.doc.samplers.append(gl.Sampler(
                magFilter=texture.mag_filter, minFilter=texture.min_filter,
                wrapS=None if texture.wrap_s == REPEAT else texture.wrap_s,
                wrapT=None if texture.wrap_t == REPEAT else texture.wrap_t))
            self.sampler_index[key] = len(self.doc.samplers) - 1
        return self.sampler_index[key]

    def _texture(self, texture: ir.Texture) -> int:
        image, sampler = self._image(texture), self._sampler(texture)
        key = (image, sampler)
        if key not in self.texture_index:
            entry = next((t for t in (e.write_texture(self, texture, image, sampler) for e in self.extensions)
                          if t is not None), None) or gl.Texture(sampler=sampler, source=image)
            self.doc.textures.append(entry)
            self.texture_index[key] = len(self.doc.textures) - 1
        return self.texture_index[key]

    def texture_info(self, ref: ir.TextureRef, scale_key: str | None = None) -> dict[str, Any]:
        info: dict[str, Any] = {"index": self._texture(ref.texture)}
        if ref.texcoord:
            info["texCoord"] = ref.texcoord
        if scale_key and ref.scale != 1.0:
            info[scale_key] = float(ref.scale)
        for extension in self.extensions:
            extension.write_texture_info(self, ref, info)
        return info

    def material(self, material: ir.Material) -> int:
        key = id(material)
        if key in self.material_index:
            return self.material_index[key]
        # Values equal to the glTF defaults are left out (as gltfpack does): the JSON is part of the download.
        pbr = gl.PbrMetallicRoughness(
            baseColorFactor=None if is_default(material.base_color_factor, (1.0, 1.0, 1.0, 1.0))
            else floats(material.base_color_factor),
            metallicFactor=None if is_default(material.metallic_factor, 1.0) else float(material.metallic_factor),
            roughnessFactor=None if is_default(material.roughness_factor, 1.0)
            else float(material.roughness_factor))
        if material.base_color_texture:
            pbr.baseColorTexture = self.texture_info(material.base_color_texture)  # type: ignore[assignment]
        if material.metallic_roughness_texture:
            pbr.metallicRoughnessTexture = self.texture_info(  # type: ignore[assignment]
                material.metallic_roughness_texture)
        empty_pbr = all(v is None for v in (pbr.baseColorFactor, pbr.metallicFactor, pbr.roughnessFactor,
                                             pbr.baseColorTexture, pbr.metallicRoughnessTexture))
        mask = material.alpha_mode == "MASK"
        out = gl.Material(name=material.name or None, pbrMetallicRoughness=None if empty_pbr else pbr,
                          emissiveFactor=None if is_default(material.emissive_factor, (0.0, 0.0, 0.0))
                          else floats(material.emissive_factor),
                          alphaMode=None if material.alpha_mode == "OPAQUE" else material.alpha_mode,
                          alphaCutoff=float(material.alpha_cutoff) if mask and not is_default(material.alpha_cutoff, 0.5)
                          else None,
                          doubleSided=True if material.double_sided else None)
        if material.normal_texture:
            out.normalTexture = self.texture_info(material.normal_texture, "scale")  # type: ignore[assignment]
        if material.occlusion_texture:
            out.occlusionTexture = self.texture_info(  # type: ignore[assignment]
                material.occlusion_texture, "strength")
        if material.emissive_texture:
            out.emissiveTexture = self.texture_info(material.emissive_texture)  # type: ignore[assignment]
        extensions: dict[str, Any] = {}
        for extension in self.extensions:
            extension.write_material(self, material, extensions)
        self.used.update(extensions)
        out.extensions = extensions
        out.extras = extras_json(material.extras)
        self.doc.materials.append(out)
        self.material_index[key] = len(self.doc.materials) - 1
        return self.material_index[key]

    # -- meshes ----------------------------------------------------------------------------------------

    def _attribute(self, name: str, array: np.ndarray, normalized: bool, use: str = "vertex") -> int:
        for extension in self.extensions:
            extension.write_attribute(self, name, array)
        # Morph target deltas are not unit vectors: only base NORMAL/TANGENT may take the OCTAHEDRAL filter.
        return self.accessor(array, kind=f"{use}:{_semantic(name)}", target=ARRAY_BUFFER, normalized=normalized,
                              min_max=name == "POSITION", attribute=name if use == "vertex" else f"{use}:{name}")

    def _indices(self, indices: np.ndarray, vertex_count: int, mode: int) -> int:
        flat = np.asarray(indices).reshape(-1)
        # The largest value of each type is the primitive-restart index, which WebGL 2 always honours.
        dtype = np.uint16 if vertex_count < 0xFFFF else np.uint32
        return self.accessor(flat.astype(dtype, copy=False), kind="index", target=ELEMENT_ARRAY_BUFFER,
                              triangle_list=mode == 4)

    def _primitive(self, primitive: ir.Primitive) -> gl.Primitive:
        compressed = next((p for p in (e.encode_primitive(self, primitive) for e in self.extensions)
                           if p is not None), None)
        if compressed is not None:
            if primitive.material is not None:
                compressed.material = self.material(primitive.material)
            compressed.extras = extras_json(primitive.extras)
            self._extend_primitive(primitive, compressed)
            return compressed
        attributes = gl.Attributes()
        for name in attribute_order(primitive.attributes):
            setattr(attributes, name, self._attribute(name, primitive.attributes[name],
                                                      name in primitive.normalized))
        out = gl.Primitive(attributes=attributes, mode=None if primitive.mode == 4 else primitive.mode)
        if primitive.indices is not None:
            out.indices = self._indices(primitive.indices, primitive.vertex_count, primitive.mode)
        if primitive.material is not None:
            out.material = self.material(primitive.material)
        targets = []
        for target in primitive.targets:
            attrs = gl.Attributes()
            for name in attribute_order(target):
                setattr(attrs, name, self._attribute(name, target[name], name in primitive.normalized, "target")
                        if name != "POSITION" else self.accessor(target[name], kind="target:POSITION",
                                                                  target=ARRAY_BUFFER, min_max=True))
            targets.append(attrs)
        out.targets = targets
        out.extras = extras_json(primitive.extras)
        self._extend_primitive(primitive, out)
        return out

    def _extend_primitive(self, primitive: ir.Primitive, out: gl.Primitive) -> None:
        for extension in self.extensions:
            extension.write_primitive(self, primitive, out)

    def _mesh(self, mesh: ir.Mesh) -> int:
        key = id(mesh)
        if key not in self.mesh_index:
            out = gl.Mesh(name=mesh.name or None, primitives=[self._primitive(p) for p in mesh.primitives],
                          weights=[float(w) for w in mesh.weights])
            out.extras = extras_json(mesh.extras)
            self.doc.meshes.append(out)
            self.mesh_index[key] = len(self.doc.meshes) - 1
        return self.mesh_index[key]

    # -- nodes -----------------------------------------------------------------------------------------

    def _camera(self, camera: dict[str, Any]) -> int:
        body = plain_json(camera)
        key = json.dumps(body, sort_keys=True)
        if key not in self.camera_index:
            self.doc.cameras.append(gl.Camera(type=body.get("type"), name=body.get("name"),
                                              perspective=body.get("perspective"),
                                              orthographic=body.get("orthographic")))
            self.camera_index[key] = len(self.doc.cameras) - 1
        return self.camera_index[key]

    def _number_nodes(self, node: ir.Node, ancestors: frozenset[int] = frozenset()) -> int:
        """Give every occurrence of a node in the tree its own glTF node (glTF nodes have one parent, while the
        IR may reuse a subtree); skins and animations point at the first occurrence."""
        if id(node) in ancestors:
            raise ValueError(f"node '{node.name}' is its own ancestor")
        index = len(self.doc.nodes)
        self.node_index.setdefault(id(node), index)
        self.doc.nodes.append(gl.Node())
        self.occurrences.append((node, []))
        inner = ancestors | {id(node)}
        children = [self._number_nodes(child, inner) for child in node.children]
        self.occurrences[index] = (node, children)
        return index

    def _node(self, index: int, node: ir.Node, children: list[int]) -> None:
        out = self.doc.nodes[index]
        out.name = node.name or None
        if not is_default(node.translation, (0.0, 0.0, 0.0)):
            out.translation = floats(node.translation)
        if not is_default(node.rotation, (0.0, 0.0, 0.0, 1.0)):
            out.rotation = floats(node.rotation)
        if not is_default(node.scale, (1.0, 1.0, 1.0)):
            out.scale = floats(node.scale)
        out.children = children
        if node.mesh is not None:
            out.mesh = self._mesh(node.mesh)
        if node.skin is not None:
            out.skin = self._skin(node.skin)
        if node.camera is not None:
            out.camera = self._camera(node.camera)
        extensions: dict[str, Any] = {}
        for extension in self.extensions:
            extension.write_node(self, node, extensions)
        out.extensions = extensions
        out.extras = extras_json(node.extras)

    def _skin(self, skin: ir.Skin) -> int:
        key = id(skin)
        if key not in self.skin_index:
            out = gl.Skin(name=skin.name or None,
                          joints=[self.node_index[id(j)] for j in skin.joints if id(j) in self.node_index])
            if skin.inverse_bind_matrices is not None:
                # The IR keeps maths order; glTF wants each matrix column-major.
                maths_order = np.asarray(skin.inverse_bind_matrices, dtype=np.float32).reshape(-1, 4, 4)
                matrices = np.ascontiguousarray(maths_order.transpose(0, 2, 1)).reshape(-1, 16)
                out.inverseBindMatrices = self.accessor(matrices, kind="skin")
            if skin.skeleton is not None and id(skin.skeleton) in self.node_index:
                out.skeleton = self.node_index[id(skin.skeleton)]
            self.doc.skins.append(out)
            self.skin_index[key] = len(self.doc.skins) - 1
        return self.skin_index[key]

    def _times(self, times: np.ndarray) -> int:
        """One accessor per distinct keyframe-time array: tracks sampled at the same times share it."""
        key = hashlib.sha256(times.tobytes()).hexdigest()
        if key not in self.times_index:
            self.times_index[key] = self.accessor(times, kind="time", min_max=True)
        return self.times_index[key]

    def _animation(self, animation: ir.Animation) -> gl.Animation:
        out = gl.Animation(name=animation.name or None)
        sampler_index: dict[int, int] = {}
        for channel in animation.channels:
            if id(channel.node) not in self.node_index:
                continue
            sampler = channel.sampler
            if id(sampler) not in sampler_index:
                times = self._times(np.asarray(sampler.input, dtype=np.float32).reshape(-1))
                values = np.asarray(sampler.output)
                values = values.reshape(-1) if channel.path == "weights" else values.reshape(len(values), -1)
                # With meshopt, keyframes get gltfpack's filters (QUATERNION for int16 rotations, EXPONENTIAL for
                # translation and scale); cubic-spline tangents are not unit quaternions, so they get none.
                keyframes = "" if channel.path == "rotation" and sampler.interpolation == "CUBICSPLINE" \
                    else channel.path
                output = self.accessor(values, kind=f"keyframe:{channel.path}", keyframes=keyframes,
                                        normalized=values.dtype.kind != "f")
                out.samplers.append(gl.AnimationSampler(
                    input=times, output=output,
                    interpolation=None if sampler.interpolation == "LINEAR" else sampler.interpolation))
                sampler_index[id(sampler)] = len(out.samplers) - 1
            out.channels.append(gl.AnimationChannel(
                sampler=sampler_index[id(sampler)],
                target=gl.AnimationChannelTarget(node=self.node_index[id(channel.node)], path=channel.path)))
        return out

    # -- document ----------------------------------------------------------------------------------------

    def build(self) -> bytes:
        scene = self.scene
        roots = [self._number_nodes(root) for root in scene.nodes]
        for index, (node, children) in enumerate(self.occurrences):
            self._node(index, node, children)
        self.doc.scenes = [gl.Scene(name=scene.name or None, nodes=roots)]
        self.doc.scenes[0].extras = extras_json(scene.extras)
        self.doc.scene = 0
        self.doc.animations = [a for a in (self._animation(anim) for anim in scene.animations) if a.channels]
        if scene.copyright:
            self.doc.asset.copyright = scene.copyright
        extensions: dict[str, Any] = {}
        for extension in self.extensions:
            extension.write_document(self, extensions)
        self.doc.extensions = extensions
        self._write_groups()
        self.doc.buffers = [gl.Buffer(byteLength=len(self.blob))]
        for extension in self.extensions:
            extension.write_buffers(self)
        self.doc.extensionsUsed = sorted(self.used)
        self.doc.extensionsRequired = sorted(self.required)
        return _pack_glb(self.doc, self.blob)


def _pack_glb(doc: gl.GLTF2, blob: bytes | bytearray) -> bytes:
    # Packed here rather than by pygltflib's save_to_bytes, which would merge the meshopt fallback buffer.
    if not blob:
        doc.buffers = doc.buffers[1:] if len(doc.buffers) > 1 else []
    try:
        document = json_text(gl.delete_empty_keys(gl.gltf_asdict(doc)))
    except ValueError:
        raise ValueError("the scene holds NaN or infinite numbers (a transform, light or factor), "
                         "which glTF JSON cannot carry") from None
    return container.pack(document.encode("utf-8"), blob)


def _semantic(name: str) -> str:
    """TEXCOORD_1 → TEXCOORD: every set of one semantic shares a view, as gltfpack groups them."""
    head, _, index = name.rpartition("_")
    return head if head and index.isdigit() else name


def attribute_order(attributes: dict[str, np.ndarray]) -> list[str]:
    core = ["POSITION", "NORMAL", "TANGENT"]
    return [n for n in core if n in attributes] + sorted(n for n in attributes if n not in core)
