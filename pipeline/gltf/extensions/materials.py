"""KHR_materials_* (clearcoat, sheen, transmission, ...): every other material extension, carried as its JSON
with each textureInfo inside read as a TextureRef, so its texture is processed like the core ones."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline import scene as ir
from pipeline.gltf.extensions import Extension
from pipeline.gltf.json_text import plain_json, without_defaults

if TYPE_CHECKING:
    from pipeline.gltf.reader import _GltfReader
    from pipeline.gltf.writer import _GlbWriter

# Property values the extensions define as defaults; left out of the JSON when a material has them.
DEFAULTS: dict[str, dict[str, Any]] = {
    "KHR_materials_emissive_strength": {"emissiveStrength": 1.0},
    "KHR_materials_ior": {"ior": 1.5},
    "KHR_materials_specular": {"specularFactor": 1.0, "specularColorFactor": [1.0, 1.0, 1.0]},
    "KHR_materials_sheen": {"sheenColorFactor": [0.0, 0.0, 0.0], "sheenRoughnessFactor": 0.0},
    "KHR_materials_clearcoat": {"clearcoatFactor": 0.0, "clearcoatRoughnessFactor": 0.0},
    "KHR_materials_transmission": {"transmissionFactor": 0.0},
    "KHR_materials_volume": {"thicknessFactor": 0.0, "attenuationColor": [1.0, 1.0, 1.0]},
    "KHR_materials_iridescence": {"iridescenceFactor": 0.0, "iridescenceIor": 1.3,
                                  "iridescenceThicknessMinimum": 100.0, "iridescenceThicknessMaximum": 400.0},
    "KHR_materials_anisotropy": {"anisotropyStrength": 0.0, "anisotropyRotation": 0.0},
    "KHR_materials_dispersion": {"dispersion": 0.0},
}


class Materials(Extension):
    name = "KHR_materials_*"

    def read_material(self, reader: _GltfReader, entry: dict[str, Any], material: ir.Material) -> None:
        # Extensions with a plug-in of their own (unlit) are that plug-in's to read.
        claimed = {e.name for e in reader.extensions if type(e).read_material is not Extension.read_material}
        for name, value in entry.get("extensions", {}).items():
            if name not in claimed:
                material.extensions[name] = self._read_value(reader, name, value)

    def write_material(self, writer: _GlbWriter, material: ir.Material, extensions: dict[str, Any]) -> None:
        for name, value in material.extensions.items():
            extensions[name] = without_defaults(self._write_value(writer, value), DEFAULTS.get(name, {}))

    def _read_value(self, reader: _GltfReader, key: str, value: Any) -> Any:
        """The JSON with each textureInfo (an object with an 'index' under a *Texture key) as a TextureRef."""
        if isinstance(value, dict):
            if key.endswith("Texture") and "index" in value:
                return reader.texture_ref(value, "scale")
            return {k: self._read_value(reader, k, v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._read_value(reader, key, v) for v in value]
        return value

    def _write_value(self, writer: _GlbWriter, value: Any) -> Any:
        """The JSON, with every TextureRef inside replaced by a textureInfo."""
        if isinstance(value, ir.TextureRef):
            return writer.texture_info(value, "scale" if value.scale != 1.0 else None)
        if isinstance(value, dict):
            return {str(k): self._write_value(writer, v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._write_value(writer, v) for v in value]
        return plain_json(value)
