"""KHR_materials_unlit and the generic KHR_materials_* plug-in: scene → GLB → scene keeps the extensions, their
textures (read as TextureRefs, written as textureInfos) and their non-default values."""

from __future__ import annotations

from pathlib import Path

from pipeline import scene as ir
from pipeline.gltf import write_glb
from tests.helpers import glb_json
from tests.pipeline.gltf.scenes import png_texture, round_trip, triangle_scene


def test_unlit_round_trips(tmp_path: Path) -> None:
    scene = triangle_scene(ir.Material(name="flat", unlit=True))
    document = glb_json(write_glb(scene))
    assert document["materials"][0]["extensions"] == {"KHR_materials_unlit": {}}
    back = round_trip(tmp_path, scene).nodes[0].mesh.primitives[0].material  # type: ignore[union-attr]
    assert back is not None and back.unlit and back.extensions == {}
    lit = round_trip(tmp_path, triangle_scene(ir.Material(name="lit"))).nodes[0].mesh.primitives[0].material  # type: ignore[union-attr]
    assert lit is not None and not lit.unlit


def test_material_extensions_round_trip_with_their_textures(tmp_path: Path) -> None:
    texture = png_texture()
    material = ir.Material(name="coat", unlit=True, extensions={
        "KHR_materials_clearcoat": {"clearcoatFactor": 0.5, "clearcoatRoughnessFactor": 0.0,
                                    "clearcoatNormalTexture": ir.TextureRef(texture, scale=0.5)},
        "KHR_materials_ior": {"ior": 1.5},
    })
    scene = triangle_scene(material)
    document = glb_json(write_glb(scene))
    written = document["materials"][0]["extensions"]
    assert list(written) == ["KHR_materials_unlit", "KHR_materials_clearcoat", "KHR_materials_ior"]
    assert written["KHR_materials_clearcoat"] == {"clearcoatFactor": 0.5,
                                                  "clearcoatNormalTexture": {"index": 0, "scale": 0.5}}
    assert written["KHR_materials_ior"] == {}  # 1.5 is the default
    assert {"KHR_materials_clearcoat", "KHR_materials_ior"} <= set(document["extensionsUsed"])
    back = round_trip(tmp_path, scene).nodes[0].mesh.primitives[0].material  # type: ignore[union-attr]
    assert back is not None and back.unlit
    coat = back.extensions["KHR_materials_clearcoat"]
    assert coat["clearcoatFactor"] == 0.5
    assert isinstance(coat["clearcoatNormalTexture"], ir.TextureRef)
    assert coat["clearcoatNormalTexture"].scale == 0.5
    assert coat["clearcoatNormalTexture"].texture.data == texture.data
    assert "KHR_materials_unlit" not in back.extensions
