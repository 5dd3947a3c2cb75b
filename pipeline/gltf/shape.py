"""The JSON types of the glTF properties Vitrina reads, checked once before reading: a property of the wrong type
in a designer's file is reported by name and place, so a TypeError inside the reader is always a reader bug."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ListOf:
    item: Any
    length: int | None = None


@dataclass(frozen=True)
class Obj:
    """A JSON object; only the listed properties are checked (others are free, as glTF allows)."""

    properties: dict[str, Any]


INDEX, NUMBER, TEXT, FLAG, ANY_OBJECT, ANYTHING = "integer", "number", "string", "boolean", "object", "any"

_LEAF_CHECKS = {
    INDEX: lambda v: isinstance(v, int) and not isinstance(v, bool),
    NUMBER: lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    TEXT: lambda v: isinstance(v, str), FLAG: lambda v: isinstance(v, bool),
    ANY_OBJECT: lambda v: isinstance(v, dict), ANYTHING: lambda v: True,
}
ATTRIBUTES = ANY_OBJECT  # names → accessor indices; the indices are checked where they are used


def document_shape(extension_shapes: dict[str, dict[str, Any]] | None = None) -> Obj:
    """The shape of a glTF document; `extension_shapes` maps a place ("document", "node", "primitive",
    "texture", "textureInfo", "buffer", "bufferView") to {extension name: the shape of its object there}."""
    by_place = extension_shapes or {}

    def extensions(place: str) -> Obj:
        return Obj(by_place.get(place, {}))

    def common(place: str) -> dict[str, Any]:
        return {"name": TEXT, "extensions": extensions(place)}

    texture_info = Obj({"index": INDEX, "texCoord": INDEX, "scale": NUMBER, "strength": NUMBER,
                        "extensions": extensions("textureInfo")})
    return Obj({
        "asset": Obj({"version": TEXT, "copyright": TEXT, "extensions": extensions("asset")}),
        "extensions": extensions("document"),
        "extensionsRequired": ListOf(TEXT),
        "scene": INDEX,
        "scenes": ListOf(Obj({**common("scene"), "nodes": ListOf(INDEX)})),
        # children is checked by the reader itself, as componentType, type and count are by its accessor().
        "nodes": ListOf(Obj({**common("node"), "mesh": INDEX, "skin": INDEX, "camera": INDEX,
                             "matrix": ListOf(NUMBER, 16), "translation": ListOf(NUMBER, 3),
                             "rotation": ListOf(NUMBER, 4), "scale": ListOf(NUMBER, 3),
                             "weights": ListOf(NUMBER)})),
        "meshes": ListOf(Obj({**common("mesh"), "weights": ListOf(NUMBER), "primitives": ListOf(Obj({
            "attributes": ATTRIBUTES, "indices": INDEX, "material": INDEX, "mode": INDEX,
            "targets": ListOf(ATTRIBUTES), "extensions": extensions("primitive")}))})),
        "materials": ListOf(Obj({
            **common("material"), "pbrMetallicRoughness": Obj({
                "baseColorFactor": ListOf(NUMBER, 4), "metallicFactor": NUMBER, "roughnessFactor": NUMBER,
                "baseColorTexture": texture_info, "metallicRoughnessTexture": texture_info}),
            "normalTexture": texture_info, "occlusionTexture": texture_info, "emissiveTexture": texture_info,
            "emissiveFactor": ListOf(NUMBER, 3), "alphaMode": TEXT, "alphaCutoff": NUMBER, "doubleSided": FLAG})),
        "textures": ListOf(Obj({**common("texture"), "source": INDEX, "sampler": INDEX})),
        "images": ListOf(Obj({**common("image"), "uri": TEXT, "bufferView": INDEX, "mimeType": TEXT})),
        "samplers": ListOf(Obj({"magFilter": INDEX, "minFilter": INDEX, "wrapS": INDEX, "wrapT": INDEX})),
        "accessors": ListOf(Obj({
            **common("accessor"), "bufferView": INDEX, "byteOffset": INDEX, "normalized": FLAG, "sparse": Obj({
                "count": INDEX, "indices": Obj({"bufferView": INDEX, "byteOffset": INDEX, "componentType": INDEX}),
                "values": Obj({"bufferView": INDEX, "byteOffset": INDEX})})})),
        "bufferViews": ListOf(Obj({**common("bufferView"), "buffer": INDEX, "byteOffset": INDEX,
                                   "byteLength": INDEX, "byteStride": INDEX})),
        "buffers": ListOf(Obj({**common("buffer"), "uri": TEXT, "byteLength": INDEX})),
        "skins": ListOf(Obj({**common("skin"), "joints": ListOf(INDEX), "skeleton": INDEX,
                             "inverseBindMatrices": INDEX})),
        "cameras": ListOf(ANY_OBJECT),
        "animations": ListOf(Obj({
            **common("animation"),
            "samplers": ListOf(Obj({"input": INDEX, "output": INDEX, "interpolation": TEXT})),
            "channels": ListOf(Obj({"sampler": INDEX, "target": Obj({"node": INDEX, "path": TEXT})}))})),
    })


def shape_mistake(value: Any, shape: Any, where: str = "the document") -> str | None:
    """The first place where `value` does not have `shape`, as a sentence, or None when it has it."""
    if isinstance(shape, Obj):
        if not isinstance(value, dict):
            return f"{where} should be an object"
        for name, inner in shape.properties.items():
            if name in value:
                mistake = shape_mistake(value[name], inner, f"{where}.{name}" if where != "the document" else name)
                if mistake:
                    return mistake
        return None
    if isinstance(shape, ListOf):
        if not isinstance(value, list):
            return f"{where} should be a list"
        if shape.length is not None and len(value) != shape.length:
            return f"{where} should hold {shape.length} values, not {len(value)}"
        for position, item in enumerate(value):
            mistake = shape_mistake(item, shape.item, f"{where}[{position}]")
            if mistake:
                return mistake
        return None
    return None if _LEAF_CHECKS[shape](value) else f"{where} should be {'an' if shape[0] in 'aeiou' else 'a'} {shape}"
