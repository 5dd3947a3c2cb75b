"""KHR_texture_transform: scene → GLB → scene keeps each textureInfo's transform; defaults are left out."""

from __future__ import annotations

from pathlib import Path

from pipeline import scene as ir
from pipeline.gltf import write_glb
from tests.helpers import glb_json
from tests.pipeline.gltf.scenes import png_texture, round_trip, triangle_scene


def test_transforms_round_trip_with_defaults_left_out(tmp_path: Path) -> None:
    texture = png_texture()
    material = ir.Material(
        base_color_texture=ir.TextureRef(texture, transform={"offset": [0.5, 0.25], "rotation": 0.0,
                                                             "scale": [2.0, 2.0]}),
        emissive_texture=ir.TextureRef(texture))
    scene = triangle_scene(material)
    document = glb_json(write_glb(scene))
    info = document["materials"][0]["pbrMetallicRoughness"]["baseColorTexture"]
    assert info["extensions"] == {"KHR_texture_transform": {"offset": [0.5, 0.25], "scale": [2, 2]}}
    assert "extensions" not in document["materials"][0]["emissiveTexture"]
    assert "KHR_texture_transform" in document["extensionsUsed"]
    back = round_trip(tmp_path, scene).nodes[0].mesh.primitives[0].material  # type: ignore[union-attr]
    assert back is not None and back.base_color_texture is not None and back.emissive_texture is not None
    assert back.base_color_texture.transform == {"offset": [0.5, 0.25], "scale": [2, 2]}
    assert back.emissive_texture.transform is None
