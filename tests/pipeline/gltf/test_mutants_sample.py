"""Reader behaviour that the sampled mutation run (docs/benchmarks.md, mutants) found untested: buffers in files
beside a .gltf, animation names, and a texture's declared type when its bytes do not say it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pipeline import scene as ir
from pipeline.errors import AssetError
from pipeline.gltf import read_gltf, write_glb
from pipeline.gltf.json_text import json_text
from tests.helpers import glb_json, glb_parts
from tests.pipeline.gltf.scenes import png_texture, round_trip, triangle_scene, with_json


def test_a_gltf_reads_its_buffer_from_a_percent_encoded_file_beside_it(tmp_path: Path) -> None:
    document, binary = glb_parts(write_glb(triangle_scene()))
    (tmp_path / "my mesh.bin").write_bytes(binary)
    document["buffers"][0]["uri"] = "my%20mesh.bin"
    (tmp_path / "triangle.gltf").write_text(json.dumps(document))
    scene = read_gltf(tmp_path / "triangle.gltf", tmp_path)
    mesh = scene.nodes[0].mesh
    assert mesh is not None
    positions = mesh.primitives[0].attributes["POSITION"]
    assert np.array_equal(positions, [[0, 0, 0], [1, 0, 0], [0, 1, 0]])


def test_a_buffer_file_that_is_missing_is_named_decoded(tmp_path: Path) -> None:
    document, _ = glb_parts(write_glb(triangle_scene()))
    document["buffers"][0]["uri"] = "gone%20away.bin"
    (tmp_path / "triangle.gltf").write_text(json.dumps(document))
    with pytest.raises(AssetError, match="buffer 0 'gone away.bin' is missing"):
        read_gltf(tmp_path / "triangle.gltf", tmp_path)


def test_animations_keep_their_names_and_unnamed_ones_are_numbered(tmp_path: Path) -> None:
    path = tmp_path / "animated.glb"
    path.write_bytes(with_json(write_glb(triangle_scene()), lambda doc: doc.update(animations=[
        {"name": "spin", "samplers": [], "channels": []}, {"samplers": [], "channels": []}])))
    assert [animation.name for animation in read_gltf(path, tmp_path).animations] == ["spin", "animation1"]


def test_a_texture_whose_bytes_are_unrecognised_is_judged_by_its_declared_type(tmp_path: Path) -> None:
    material = ir.Material(name="m", base_color_texture=ir.TextureRef(png_texture()))
    data = write_glb(triangle_scene(material))
    assert data.count(b"\x89PNG") == 1
    path = tmp_path / "damaged.glb"
    path.write_bytes(data.replace(b"\x89PNG", b"\x00PNG"))
    document, _ = glb_parts(data)
    assert document["images"][0]["mimeType"] == "image/png"
    with pytest.raises(AssetError, match="is said to be a PNG image, but its bytes are not one"):
        read_gltf(path, tmp_path)


def test_a_scalar_vertex_attribute_round_trips(tmp_path: Path) -> None:
    scene = triangle_scene()
    mesh = scene.nodes[0].mesh
    assert mesh is not None
    mesh.primitives[0].attributes["_HEAT"] = np.array([1.5, 2.5, 3.5], dtype=np.float32)
    back = round_trip(tmp_path, scene).nodes[0].mesh
    assert back is not None
    assert np.array_equal(np.asarray(back.primitives[0].attributes["_HEAT"]).reshape(-1), [1.5, 2.5, 3.5])


def test_an_unknown_name_in_the_gltf_package_is_an_attribute_error_naming_it() -> None:
    import pipeline.gltf

    with pytest.raises(AttributeError, match="module 'pipeline.gltf' has no attribute 'no_such_thing'"):
        pipeline.gltf.no_such_thing  # noqa: B018


def test_occlusion_strength_and_normal_scale_round_trip(tmp_path: Path) -> None:
    material = ir.Material(name="m", occlusion_texture=ir.TextureRef(png_texture(), scale=0.4),
                           normal_texture=ir.TextureRef(png_texture(name="bumps"), scale=0.7))
    mesh = round_trip(tmp_path, triangle_scene(material)).nodes[0].mesh
    assert mesh is not None and mesh.primitives[0].material is not None
    back = mesh.primitives[0].material
    assert back.occlusion_texture is not None and back.occlusion_texture.scale == pytest.approx(0.4)
    assert back.normal_texture is not None and back.normal_texture.scale == pytest.approx(0.7)


@pytest.mark.parametrize(("required", "message"), [
    (["EXT_unheard_of"], "requires the glTF extension EXT_unheard_of, which Vitrina cannot read"),
    (["EXT_one", "EXT_two"], "requires the glTF extensions EXT_one, EXT_two, which Vitrina cannot read"),
])
def test_a_required_extension_it_cannot_read_is_named(tmp_path: Path, required: list[str], message: str) -> None:
    path = tmp_path / "future.glb"
    path.write_bytes(with_json(write_glb(triangle_scene()), lambda doc: doc.update(
        extensionsUsed=required, extensionsRequired=required)))
    with pytest.raises(AssetError, match=message):
        read_gltf(path, tmp_path)


def test_numbered_sets_of_one_custom_attribute_share_a_buffer_view() -> None:
    scene = triangle_scene()
    mesh = scene.nodes[0].mesh
    assert mesh is not None
    mesh.primitives[0].attributes["_HEAT_0"] = np.array([1, 2, 3], dtype=np.float32)
    mesh.primitives[0].attributes["_HEAT_1"] = np.array([4, 5, 6], dtype=np.float32)
    document = glb_json(write_glb(scene))
    attributes = document["meshes"][0]["primitives"][0]["attributes"]
    views = {name: document["accessors"][index]["bufferView"] for name, index in attributes.items()}
    assert views["_HEAT_0"] == views["_HEAT_1"] != views["POSITION"]


def test_json_text_writes_non_ascii_keys_and_values_as_utf8() -> None:
    assert json_text({"é": 1, "k": "ü"}) == '{"é":1,"k":"ü"}'


def test_a_scene_with_nan_says_glTF_json_cannot_carry_it() -> None:
    scene = triangle_scene()
    scene.nodes[0].translation = (float("nan"), 0.0, 0.0)
    with pytest.raises(ValueError, match="NaN or infinite numbers .*, which glTF JSON cannot carry"):
        write_glb(scene)
