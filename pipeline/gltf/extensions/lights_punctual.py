"""KHR_lights_punctual: point, spot and directional lights, listed once and referenced by nodes."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from pipeline import scene as ir
from pipeline.gltf.extensions import Extension, is_index
from pipeline.gltf.json_text import floats, is_default, without_defaults
from pipeline.gltf.shape import ANY_OBJECT, NUMBER, TEXT, ListOf, Obj

if TYPE_CHECKING:
    from pipeline.gltf.reader import _GltfReader
    from pipeline.gltf.writer import _GlbWriter

NAME = "KHR_lights_punctual"


class LightsPunctual(Extension):
    name = NAME

    shapes = {"document": Obj({"lights": ListOf(Obj({
        "type": TEXT, "name": TEXT, "color": ListOf(NUMBER, 3), "intensity": NUMBER, "range": NUMBER,
        "spot": Obj({"innerConeAngle": NUMBER, "outerConeAngle": NUMBER})}))}), "node": ANY_OBJECT}  # noqa: RUF012

    def __init__(self) -> None:
        self.lights: list[ir.Light] = []  # read
        self.entries: list[dict[str, Any]] = []  # written
        self.index: dict[int, int] = {}

    def read_document(self, reader: _GltfReader) -> None:
        self.lights = [ir.Light(type=str(e.get("type", "point")), color=tuple(e.get("color", (1.0, 1.0, 1.0))),
                                intensity=float(e.get("intensity", 1.0)), range=e.get("range"),
                                inner_cone_angle=float(e.get("spot", {}).get("innerConeAngle", 0.0)),
                                outer_cone_angle=float(e.get("spot", {}).get("outerConeAngle", math.pi / 4)),
                                name=str(e.get("name", "")))
                       for e in reader.json.get("extensions", {}).get(NAME, {}).get("lights", [])]

    def read_node(self, reader: _GltfReader, node: ir.Node, entry: dict[str, Any]) -> None:
        light = entry.get("extensions", {}).get(NAME, {}).get("light")
        if is_index(light, len(self.lights)):
            node.light = self.lights[light]

    def write_node(self, writer: _GlbWriter, node: ir.Node, extensions: dict[str, Any]) -> None:
        if node.light is not None:
            extensions[NAME] = {"light": self._light(node.light)}

    def write_document(self, writer: _GlbWriter, extensions: dict[str, Any]) -> None:
        if self.entries:
            extensions[NAME] = {"lights": self.entries}
            writer.used.add(NAME)

    def _light(self, light: ir.Light) -> int:
        key = id(light)
        if key not in self.index:
            entry: dict[str, Any] = {"type": light.type}
            if light.name:
                entry["name"] = light.name
            if not is_default(light.color, (1.0, 1.0, 1.0)):
                entry["color"] = floats(light.color)
            if not is_default(light.intensity, 1.0):
                entry["intensity"] = float(light.intensity)
            if light.range is not None and light.type != "directional":
                entry["range"] = float(light.range)
            if light.type == "spot":
                entry["spot"] = without_defaults({"innerConeAngle": float(light.inner_cone_angle),
                                                  "outerConeAngle": float(light.outer_cone_angle)},
                                                 {"innerConeAngle": 0.0, "outerConeAngle": math.pi / 4})
            self.entries.append(entry)
            self.index[key] = len(self.entries) - 1
        return self.index[key]
