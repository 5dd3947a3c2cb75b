"""KHR_texture_transform: offset, rotation and scale of texture coordinates, per textureInfo."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline import scene as ir
from pipeline.gltf.extensions import Extension
from pipeline.gltf.json_text import plain_copy, plain_json, without_defaults
from pipeline.gltf.shape import INDEX, NUMBER, ListOf, Obj

if TYPE_CHECKING:
    from pipeline.gltf.reader import _GltfReader
    from pipeline.gltf.writer import _GlbWriter

NAME = "KHR_texture_transform"
DEFAULTS: dict[str, Any] = {"offset": [0.0, 0.0], "rotation": 0.0, "scale": [1.0, 1.0]}


class TextureTransform(Extension):
    name = NAME

    shapes = {"textureInfo": Obj({"offset": ListOf(NUMBER, 2), "rotation": NUMBER,
                                        "scale": ListOf(NUMBER, 2), "texCoord": INDEX})}  # noqa: RUF012

    def read_texture_info(self, reader: _GltfReader, info: dict[str, Any], ref: ir.TextureRef) -> None:
        transform = info.get("extensions", {}).get(NAME)
        if transform is not None:
            ref.transform = plain_copy(transform)

    def write_texture_info(self, writer: _GlbWriter, ref: ir.TextureRef, info: dict[str, Any]) -> None:
        if ref.transform:
            writer.used.add(NAME)
            info.setdefault("extensions", {})[NAME] = without_defaults(plain_json(ref.transform), DEFAULTS)
