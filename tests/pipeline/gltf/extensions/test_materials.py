"""KHR_materials_unlit and the generic KHR_materials_* plug-in: scene → GLB → scene keeps the extensions, their
textures (read as TextureRefs, written as textureInfos) and their non-default values."""

from __future__ import annotations

from pathlib import Path

import pytest

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


SPEC_DEFAULTS = [  # (extension, property, its default in the Khronos spec, another value)
    ("KHR_materials_emissive_strength", "emissiveStrength", 1.0, 4.0), ("KHR_materials_ior", "ior", 1.5, 1.33),
    ("KHR_materials_specular", "specularFactor", 1.0, 0.5),
    ("KHR_materials_specular", "specularColorFactor", [1.0, 1.0, 1.0], [1.0, 0.5, 1.0]),
    ("KHR_materials_sheen", "sheenColorFactor", [0.0, 0.0, 0.0], [0.5, 0.0, 0.0]),
    ("KHR_materials_sheen", "sheenRoughnessFactor", 0.0, 0.5),
    ("KHR_materials_clearcoat", "clearcoatFactor", 0.0, 1.0),
    ("KHR_materials_clearcoat", "clearcoatRoughnessFactor", 0.0, 0.25),
    ("KHR_materials_transmission", "transmissionFactor", 0.0, 0.75),
    ("KHR_materials_volume", "thicknessFactor", 0.0, 0.1),
    ("KHR_materials_volume", "attenuationColor", [1.0, 1.0, 1.0], [1.0, 1.0, 0.5]),
    ("KHR_materials_iridescence", "iridescenceFactor", 0.0, 1.0),
    ("KHR_materials_iridescence", "iridescenceIor", 1.3, 1.8),
    ("KHR_materials_iridescence", "iridescenceThicknessMinimum", 100.0, 200.0),
    ("KHR_materials_iridescence", "iridescenceThicknessMaximum", 400.0, 500.0),
    ("KHR_materials_anisotropy", "anisotropyStrength", 0.0, 0.5),
    ("KHR_materials_anisotropy", "anisotropyRotation", 0.0, 1.5),
    ("KHR_materials_dispersion", "dispersion", 0.0, 0.25),
]


@pytest.mark.parametrize(("extension", "prop", "default", "other"), SPEC_DEFAULTS,
                         ids=[f"{e}.{p}" for e, p, _, _ in SPEC_DEFAULTS])
def test_a_spec_default_is_left_out_and_any_other_value_kept(extension: str, prop: str, default: object,
                                                            other: object) -> None:
    def written(value: object) -> object:
        scene = triangle_scene(ir.Material(name="m", extensions={extension: {prop: value, "other": 0.0}}))
        return glb_json(write_glb(scene))["materials"][0]["extensions"][extension]

    assert written(default) == {"other": 0}  # an unknown property is never taken for a default
    assert written(other) == {prop: other, "other": 0}


def test_textures_inside_lists_and_plain_index_objects_are_read_as_they_are(tmp_path: Path) -> None:
    texture = png_texture()
    material = ir.Material(name="layers", extensions={"EXT_materials_layers": {
        "layers": [{"colorTexture": ir.TextureRef(texture)}, {"weight": 0.5}],
        "lookup": {"index": 7}, "unscaledTexture": ir.TextureRef(texture, scale=2.0)}})
    scene = triangle_scene(material)
    written = glb_json(write_glb(scene))["materials"][0]["extensions"]["EXT_materials_layers"]
    assert written == {"layers": [{"colorTexture": {"index": 0}}, {"weight": 0.5}], "lookup": {"index": 7},
                       "unscaledTexture": {"index": 0, "scale": 2}}  # a scale of 1 is left out
    back = round_trip(tmp_path, scene).nodes[0].mesh.primitives[0].material  # type: ignore[union-attr]
    assert back is not None
    layers = back.extensions["EXT_materials_layers"]
    assert isinstance(layers["layers"][0]["colorTexture"], ir.TextureRef)
    assert layers["layers"][0]["colorTexture"].texture.data == texture.data
    assert layers["layers"][1] == {"weight": 0.5}
    assert layers["lookup"] == {"index": 7}  # not under a *Texture key: plain JSON
    assert layers["unscaledTexture"].scale == 2.0


def test_only_extensions_with_a_plug_in_of_their_own_may_be_required() -> None:
    from pipeline.gltf.extensions import readable

    names = readable()
    assert {"KHR_lights_punctual", "KHR_materials_unlit", "KHR_texture_transform"} <= names
    assert not [name for name in names if "*" in name]  # the catch-all for KHR_materials_* reads, but not for sure
