"""The glTF property types checked before reading (pipeline/gltf/shape.py): each wrong type is named with its place."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.gltf.shape import INDEX, Obj, document_shape, shape_mistake

BAD = {"integer": "0", "number": "x", "string": 5, "boolean": 1, "object": 5, "list": 5}
ARTICLE = {"integer": "an", "number": "a", "string": "a", "boolean": "a", "object": "an", "list": "a"}

# Every property the reader relies on, with the type it must have (docs: the glTF 2.0 schema).
PROPERTIES = """
asset.version string; asset.copyright string; asset.extensions object; extensions object; scene integer
extensionsRequired list; extensionsRequired.0 string
scenes.0.name string; scenes.0.extensions object; scenes.0.nodes list; scenes.0.nodes.0 integer
nodes.0.name string; nodes.0.extensions object; nodes.0.mesh integer; nodes.0.skin integer; nodes.0.camera integer
nodes.0.matrix list; nodes.0.translation list; nodes.0.rotation list; nodes.0.scale list; nodes.0.weights list
nodes.0.weights.0 number
meshes.0.name string; meshes.0.extensions object; meshes.0.weights list; meshes.0.weights.0 number
meshes.0.primitives list; meshes.0.primitives.0 object; meshes.0.primitives.0.attributes object
meshes.0.primitives.0.indices integer; meshes.0.primitives.0.material integer; meshes.0.primitives.0.mode integer
meshes.0.primitives.0.targets list; meshes.0.primitives.0.targets.0 object; meshes.0.primitives.0.extensions object
materials.0.name string; materials.0.extensions object; materials.0.pbrMetallicRoughness object
materials.0.pbrMetallicRoughness.baseColorFactor list
materials.0.pbrMetallicRoughness.metallicFactor number; materials.0.pbrMetallicRoughness.roughnessFactor number
materials.0.pbrMetallicRoughness.baseColorTexture object; materials.0.pbrMetallicRoughness.baseColorTexture.index integer
materials.0.pbrMetallicRoughness.metallicRoughnessTexture.texCoord integer
materials.0.normalTexture.scale number; materials.0.occlusionTexture.strength number
materials.0.emissiveTexture.index integer; materials.0.emissiveTexture.extensions object
materials.0.emissiveFactor list; materials.0.alphaMode string
materials.0.alphaCutoff number; materials.0.doubleSided boolean
textures.0.name string; textures.0.extensions object; textures.0.source integer; textures.0.sampler integer
images.0.name string; images.0.extensions object; images.0.uri string; images.0.bufferView integer
images.0.mimeType string
samplers.0.magFilter integer; samplers.0.minFilter integer; samplers.0.wrapS integer; samplers.0.wrapT integer
accessors.0.name string; accessors.0.extensions object; accessors.0.bufferView integer; accessors.0.byteOffset integer
accessors.0.normalized boolean; accessors.0.sparse object; accessors.0.sparse.count integer
accessors.0.sparse.indices object; accessors.0.sparse.indices.bufferView integer
accessors.0.sparse.indices.byteOffset integer; accessors.0.sparse.indices.componentType integer
accessors.0.sparse.values object; accessors.0.sparse.values.bufferView integer; accessors.0.sparse.values.byteOffset integer
bufferViews.0.name string; bufferViews.0.extensions object; bufferViews.0.buffer integer
bufferViews.0.byteOffset integer; bufferViews.0.byteLength integer; bufferViews.0.byteStride integer
buffers.0.name string; buffers.0.extensions object; buffers.0.uri string; buffers.0.byteLength integer
skins.0.name string; skins.0.extensions object; skins.0.joints list; skins.0.joints.0 integer
skins.0.skeleton integer; skins.0.inverseBindMatrices integer
cameras list; cameras.0 object
animations.0.name string; animations.0.extensions object; animations.0.samplers list
animations.0.samplers.0.input integer; animations.0.samplers.0.output integer
animations.0.samplers.0.interpolation string; animations.0.channels list; animations.0.channels.0.sampler integer
animations.0.channels.0.target object; animations.0.channels.0.target.node integer
animations.0.channels.0.target.path string
"""
CASES = [tuple(item.split()) for line in PROPERTIES.strip().splitlines() for item in line.split(";") if item.strip()]


def placed(path: list[str], value: Any) -> Any:
    """A document holding `value` at `path` (numbers are list positions, filled with empty objects before)."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if head.isdigit():
        return [{}] * int(head) + [placed(rest, value)]
    return {head: placed(rest, value)}


def place_name(path: list[str]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if part.isdigit() else (f".{part}" if text else part)
    return text


@pytest.mark.parametrize(("path", "kind"), CASES, ids=[path for path, _ in CASES])
def test_a_property_of_the_wrong_type_is_named_with_its_place(path: str, kind: str) -> None:
    parts = path.split(".")
    mistake = shape_mistake(placed(parts, BAD[kind]), document_shape())
    assert mistake == f"{place_name(parts)} should be {ARTICLE[kind]} {kind}"


@pytest.mark.parametrize(("path", "length", "kind"), [
    ("nodes.0.matrix", 16, "list"), ("nodes.0.translation", 3, "list"), ("nodes.0.rotation", 4, "list"),
    ("nodes.0.scale", 3, "list"), ("materials.0.pbrMetallicRoughness.baseColorFactor", 4, "list"),
    ("materials.0.emissiveFactor", 3, "list"),
])
def test_fixed_length_lists_are_checked(path: str, length: int, kind: str) -> None:
    parts = path.split(".")
    assert shape_mistake(placed(parts, [0] * length), document_shape()) is None
    assert shape_mistake(placed(parts, [0] * (length + 1)), document_shape()) == (
        f"{place_name(parts)} should hold {length} values, not {length + 1}")
    assert shape_mistake(placed(parts, [0, "1", *[0] * (length - 2)]), document_shape()) == (
        f"{place_name(parts)}[1] should be a number")


def test_right_types_free_properties_and_the_root() -> None:
    good = {"asset": {"version": "2.0"}, "scene": 0, "nodes": [{"mesh": 0, "translation": [0, 0.5, 1],
                                                                "custom": "anything"}],
            "meshes": [{"weights": [0, 1.5], "primitives": [{"attributes": {"POSITION": 0}}]}],
            "accessors": [{"normalized": False}], "cameras": [{"type": "perspective"}], "extras": [1, "x"]}
    assert shape_mistake(good, document_shape()) is None
    assert shape_mistake([], document_shape()) == "the document should be an object"
    assert shape_mistake({"nodes": [{"mesh": True}]}, document_shape()) == "nodes[0].mesh should be an integer"
    assert shape_mistake({"nodes": [{"weights": [True]}]}, document_shape()) == "nodes[0].weights[0] should be a number"
    # The first mistake in document order is the one reported.
    assert shape_mistake({"nodes": [{"mesh": 0}, {"mesh": "1"}, {"skin": "2"}]}, document_shape()) == (
        "nodes[1].mesh should be an integer")


@pytest.mark.parametrize("place", ["document", "asset", "scene", "node", "mesh", "primitive", "material", "texture",
                                   "textureInfo", "image", "sampler", "accessor", "bufferView", "buffer", "skin",
                                   "animation"])
def test_an_extensions_shape_is_checked_at_its_own_place(place: str) -> None:
    where = {"document": [], "asset": ["asset"], "scene": ["scenes", "0"], "node": ["nodes", "0"],
             "mesh": ["meshes", "0"], "primitive": ["meshes", "0", "primitives", "0"],
             "material": ["materials", "0"], "texture": ["textures", "0"],
             "textureInfo": ["materials", "0", "normalTexture"], "image": ["images", "0"],
             "sampler": ["samplers", "0"], "accessor": ["accessors", "0"], "bufferView": ["bufferViews", "0"],
             "buffer": ["buffers", "0"], "skin": ["skins", "0"], "animation": ["animations", "0"]}[place]
    shape = document_shape({place: {"EXT_x": Obj({"level": INDEX})}})
    path = [*where, "extensions", "EXT_x", "level"]
    if place == "sampler":  # samplers carry no extensions the reader knows of
        assert shape_mistake(placed(path, "0"), shape) is None
        return
    assert shape_mistake(placed(path, "0"), shape) == f"{place_name(path)} should be an integer"
    assert shape_mistake(placed(path, 0), shape) is None


def test_extensions_nobody_registered_are_free_at_every_place() -> None:
    document = {"extensions": {"EXT_unknown": 1}, "nodes": [{"extensions": {"EXT_other": "x"}}],
                "materials": [{"normalTexture": {"extensions": {"EXT_y": []}}}]}
    assert shape_mistake(document, document_shape()) is None
    assert shape_mistake(document, document_shape({"node": {"EXT_z": Obj({"a": INDEX})}})) is None
