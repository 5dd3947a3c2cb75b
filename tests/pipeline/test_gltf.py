"""GLB writing: valid per the Khronos validator, deterministic, and faithful to every IR feature it carries."""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipeline import __version__
from pipeline import scene as ir
from pipeline.gltf import GltfOptions, encode_draco, write_glb
from pipeline.ingest import load_asset
from tests.gltf_validator import errors_of, validate_many
from tests.helpers import glb_json_text, glb_parts, image_bytes, wavy_grid

CORPUS_MODELS = [
    "2CylinderEngine/2CylinderEngine.glb", "Avocado/Avocado.gltf", "DamagedHelmet/DamagedHelmet.glb",
    "Duck/Duck.glb", "Fuze/fuze.obj", "Gargoyle/gargo.ply", "GlamVelvetSofa/GlamVelvetSofa.glb",
    "Igea/igea.ply", "Nefertiti/nefertiti.obj", "SmithsonianSeaTurtle/sea_turtle-150k-2048-medium.glb",
    "StainedGlassLamp/StainedGlassLamp.gltf", "VC/VC.glb",
]


def grid_primitive(n: int, material: ir.Material | None = None) -> ir.Primitive:
    positions, uvs, indices = wavy_grid(n, lambda x, y: 0.05 * np.sin(6 * x))
    normals = np.tile(np.array([0, 0, 1], np.float32), (len(positions), 1))
    return ir.Primitive({"POSITION": positions, "NORMAL": normals, "TEXCOORD_0": uvs}, indices, material=material)


def rich_scene() -> ir.Scene:
    """A room with every feature the writer supports, built fresh on each call (new object identities)."""
    texture = ir.Texture("swatch", image_bytes(color=(200, 20, 20)), "image/png", 4, 4)
    same_pixels = ir.Texture("swatch copy", image_bytes(color=(200, 20, 20)), "image/png", 4, 4)
    bronze = ir.Material("bronze", base_color_texture=ir.TextureRef(texture, transform={
        "offset": [0.5, 0.0], "rotation": 0.25, "scale": [2.0, 2.0]}), metallic_factor=0.9,
        normal_texture=ir.TextureRef(same_pixels, scale=0.5), emissive_factor=(0.2, 0.1, 0.0),
        extensions={"KHR_materials_clearcoat": {"clearcoatFactor": 0.5,
                                                "clearcoatTexture": ir.TextureRef(same_pixels)},
                    "KHR_materials_emissive_strength": {"emissiveStrength": 2.0}})
    label = ir.Material("label", unlit=True, alpha_mode="MASK", alpha_cutoff=0.3, double_sided=True)
    grid = ir.Mesh("grid", [grid_primitive(6, bronze)], extras={"source": "generated"})
    # Quantized as the transforms helper does it: int16 positions, int8 normalized normals, uint16 UVs.
    quantized = ir.Primitive(
        {"POSITION": np.array([[0, 0, 0], [1000, 0, 0], [0, 1000, 0], [1000, 1000, 0]], np.int16),
         "NORMAL": np.tile(np.array([0, 0, 127], np.int8), (4, 1)),
         "TEXCOORD_0": np.array([[0, 0], [65535, 0], [0, 65535], [65535, 65535]], np.uint16)},
        np.array([0, 1, 2, 2, 1, 3], np.uint32), material=label, normalized={"NORMAL", "TEXCOORD_0"})
    morph = grid_primitive(3, bronze)
    morph.variants = {"patina": label, "polished": bronze}
    morph.targets = [{"POSITION": np.full((9, 3), 0.1, np.float32)}]
    morphing = ir.Mesh("breathing", [morph], weights=[0.0])
    tile = ir.Mesh("tile", [quantized])
    piece = ir.Node("piece", mesh=grid, translation=(1.0, 0.0, 2.0), keep=True,
                    xmp={"dc:title": {"@type": "rdf:Alt", "rdf:_1": {"@language": "en", "@value": "Ding"}},
                         "xmpRights:WebStatement": "http://rightsstatements.org/vocab/InC/1.0/"},
                    extras={"artifact": "ding", "accession": "1987.12.3", "credit": "", "tags": [],
                            "record": {"notes": {}}})
    floor = ir.Node("floor-tiles", mesh=tile, scale=(0.001, 0.001, 0.001), instances={
        "TRANSLATION": np.array([[0, 0, 0], [2000, 0, 0], [0, 0, 2000]], np.float32),
        "SCALE": np.ones((3, 3), np.float32)})
    lamp = ir.Node("lamp", light=ir.Light("spot", color=(1.0, 0.9, 0.8), intensity=40.0, range=8.0,
                                          outer_cone_angle=0.6), translation=(0, 3, 0))
    sun = ir.Node("sun", light=ir.Light("directional", intensity=2.0))
    camera = ir.Node("view", camera={"type": "perspective", "perspective": {"yfov": 0.8, "znear": 0.05}})
    bone = ir.Node("bone", translation=(0, 1, 0))
    skinned_primitive = grid_primitive(3, label)
    skinned_primitive.attributes["JOINTS_0"] = np.zeros((9, 4), np.uint8)
    skinned_primitive.attributes["WEIGHTS_0"] = np.tile(np.array([1, 0, 0, 0], np.float32), (9, 1))
    figure = ir.Node("figure", mesh=ir.Mesh("figure", [skinned_primitive]),
                     skin=ir.Skin([bone], np.eye(4, dtype=np.float32)[None]))
    breathing = ir.Node("breathing", mesh=morphing)
    root = ir.Node("hall", children=[piece, floor, lamp, sun, camera, bone, breathing])
    times = np.array([0.0, 0.5, 1.0], np.float32)
    animations = [ir.Animation("turn", [
        ir.AnimationChannel(ir.AnimationSampler(times, np.array([[0, 0, 0, 1], [0, 0.7071068, 0, 0.7071068],
                                                                 [0, 1, 0, 0]], np.float32)), piece, "rotation"),
        ir.AnimationChannel(ir.AnimationSampler(times, np.array([[0.0], [1.0], [0.0]], np.float32)),
                            breathing, "weights")])]
    return ir.Scene("hall", [root, figure], animations, extras={"exhibit": "bronze-age"}, variants=["polished"],
                    xmp={"dc:rights": "CC BY 4.0"}, copyright="© Museum")


@pytest.fixture(scope="module")
def rich_outputs() -> dict[str, bytes]:
    return {mode: write_glb(rich_scene(), options(mode)) for mode in ("plain", "meshopt", "draco")}


def options(mode: str) -> GltfOptions:
    if mode == "draco":
        return GltfOptions(draco=True, draco_encoder=encode_draco)
    return GltfOptions(meshopt=mode == "meshopt")


def test_rich_scene_passes_the_khronos_validator(rich_outputs: dict[str, bytes]) -> None:
    reports = validate_many(list(rich_outputs.values()))
    for name, report in zip(rich_outputs, reports, strict=True):
        assert report["issues"]["numErrors"] == 0, (name, errors_of(report))
        # The one expected warning: the normal-mapped test grid carries no TANGENT attribute.
        warnings = {line.split(" ")[0] for line in errors_of(report, 1)}
        assert warnings <= {"MESH_PRIMITIVE_GENERATED_TANGENT_SPACE"}, (name, errors_of(report, 1))


@pytest.mark.parametrize("mode", ["plain", "meshopt", "draco"])
def test_writing_is_deterministic(rich_outputs: dict[str, bytes], mode: str) -> None:
    again = write_glb(rich_scene(), options(mode))
    assert again == rich_outputs[mode]


def test_reading_back_and_writing_again_gives_the_same_bytes(tmp_path: Path, rich_outputs: dict[str, bytes]) -> None:
    path = tmp_path / "hall.glb"
    path.write_bytes(write_glb(rich_scene()))
    first = write_glb(load_asset(path))
    path.write_bytes(first)
    assert write_glb(load_asset(path)) == first


def test_metadata_xmp_extras_and_asset(rich_outputs: dict[str, bytes]) -> None:
    doc, _ = glb_parts(rich_outputs["plain"])
    assert doc["asset"]["generator"] == f"Vitrina {__version__}"
    assert doc["asset"]["copyright"] == "© Museum"
    packets = doc["extensions"]["KHR_xmp_json_ld"]["packets"]
    for packet in packets:
        assert packet["@context"]["dc"] == "http://purl.org/dc/elements/1.1/"
        assert packet["@context"]["dcterms"] == "http://purl.org/dc/terms/"
        assert packet["@context"]["xmpRights"] == "http://ns.adobe.com/xap/1.0/rights/"
    nodes = {n.get("name"): n for n in doc["nodes"]}
    piece = nodes["piece"]
    node_packet = packets[piece["extensions"]["KHR_xmp_json_ld"]["packet"]]
    assert node_packet["dc:title"]["rdf:_1"]["@value"] == "Ding"
    assert packets[doc["asset"]["extensions"]["KHR_xmp_json_ld"]["packet"]]["dc:rights"] == "CC BY 4.0"
    # Empty values are the designer's, and stay (pygltflib alone would drop them).
    assert piece["extras"] == {"artifact": "ding", "accession": "1987.12.3", "credit": "", "tags": [],
                               "record": {"notes": {}}}
    assert doc["scenes"][doc["scene"]]["extras"] == {"exhibit": "bronze-age"}
    assert "KHR_xmp_json_ld" in doc["extensionsUsed"]


def test_lights_instancing_and_quantization(rich_outputs: dict[str, bytes]) -> None:
    doc, blob = glb_parts(rich_outputs["plain"])
    nodes = {n.get("name"): n for n in doc["nodes"]}
    lights = doc["extensions"]["KHR_lights_punctual"]["lights"]
    spot = lights[nodes["lamp"]["extensions"]["KHR_lights_punctual"]["light"]]
    assert spot["type"] == "spot" and spot["range"] == 8.0 and spot["spot"]["outerConeAngle"] == 0.6
    assert lights[nodes["sun"]["extensions"]["KHR_lights_punctual"]["light"]]["type"] == "directional"
    instancing = nodes["floor-tiles"]["extensions"]["EXT_mesh_gpu_instancing"]["attributes"]
    translation = doc["accessors"][instancing["TRANSLATION"]]
    assert (translation["count"], translation["type"]) == (3, "VEC3")
    assert {"KHR_mesh_quantization"} <= set(doc["extensionsRequired"])
    tile = doc["meshes"][nodes["floor-tiles"]["mesh"]]["primitives"][0]["attributes"]
    position, normal = doc["accessors"][tile["POSITION"]], doc["accessors"][tile["NORMAL"]]
    assert (position["componentType"], position["min"], position["max"]) == (5122, [0, 0, 0], [1000, 1000, 0])
    assert (normal["componentType"], normal["normalized"]) == (5120, True)
    view = doc["bufferViews"][position["bufferView"]]
    assert view["byteStride"] == 8  # int16 VEC3 padded to a 4-byte boundary
    start = view["byteOffset"]
    rows = np.frombuffer(blob[start:start + view["byteLength"]], np.int16).reshape(4, 4)[:, :3]
    np.testing.assert_array_equal(rows, [[0, 0, 0], [1000, 0, 0], [0, 1000, 0], [1000, 1000, 0]])


def test_materials_textures_are_deduplicated_and_extensions_written(rich_outputs: dict[str, bytes]) -> None:
    doc, _ = glb_parts(rich_outputs["plain"])
    assert len(doc["images"]) == 1 and len(doc["textures"]) == 1
    # Default sampling (repeat, automatic filters) is what a texture without a sampler gets: none is written.
    assert "samplers" not in doc and "sampler" not in doc["textures"][0]
    bronze = next(m for m in doc["materials"] if m.get("name") == "bronze")
    base = bronze["pbrMetallicRoughness"]["baseColorTexture"]
    assert base["extensions"]["KHR_texture_transform"] == {"offset": [0.5, 0.0], "rotation": 0.25,
                                                           "scale": [2.0, 2.0]}
    assert bronze["normalTexture"] == {"index": 0, "scale": 0.5}
    assert bronze["extensions"]["KHR_materials_clearcoat"] == {"clearcoatFactor": 0.5,
                                                               "clearcoatTexture": {"index": 0}}
    label = next(m for m in doc["materials"] if m.get("name") == "label")
    assert label["extensions"] == {"KHR_materials_unlit": {}}
    assert (label["alphaMode"], label["alphaCutoff"], label["doubleSided"]) == ("MASK", 0.3, True)
    assert {"KHR_texture_transform", "KHR_materials_clearcoat", "KHR_materials_emissive_strength",
            "KHR_materials_unlit"} <= set(doc["extensionsUsed"])


def test_material_variants_and_skins(rich_outputs: dict[str, bytes]) -> None:
    doc, blob = glb_parts(rich_outputs["plain"])
    assert doc["extensions"]["KHR_materials_variants"]["variants"] == [{"name": "polished"}, {"name": "patina"}]
    mesh = next(m for m in doc["meshes"] if m.get("name") == "breathing")
    mappings = mesh["primitives"][0]["extensions"]["KHR_materials_variants"]["mappings"]
    names = {doc["materials"][m["material"]]["name"]: m["variants"] for m in mappings}
    assert names == {"label": [1], "bronze": [0]}
    skin = doc["skins"][0]
    assert [doc["nodes"][j]["name"] for j in skin["joints"]] == ["bone"]
    assert doc["accessors"][skin["inverseBindMatrices"]]["type"] == "MAT4"


def test_buffer_views_and_accessors_are_aligned(rich_outputs: dict[str, bytes]) -> None:
    sizes = {5120: 1, 5121: 1, 5122: 2, 5123: 2, 5125: 4, 5126: 4}
    for data in rich_outputs.values():
        doc, blob = glb_parts(data)
        for view in doc["bufferViews"]:
            assert view.get("byteOffset", 0) % 4 == 0
            assert view.get("byteStride", 4) % 4 == 0
            compressed = view.get("extensions", {}).get("EXT_meshopt_compression")
            if compressed:
                assert compressed["byteOffset"] % 4 == 0
                assert compressed["byteOffset"] + compressed["byteLength"] <= len(blob)
            else:
                assert view.get("byteOffset", 0) + view["byteLength"] <= len(blob)
        for accessor in doc["accessors"]:
            if "bufferView" not in accessor:
                continue  # Draco accessors: the data is in the extension's view
            view = doc["bufferViews"][accessor["bufferView"]]
            offset = accessor.get("byteOffset", 0)
            assert offset % sizes[accessor["componentType"]] == 0
            if view.get("target") == 34962:
                assert offset % 4 == 0  # vertex elements start on 4-byte boundaries


def test_meshopt_layout_follows_the_extension(rich_outputs: dict[str, bytes]) -> None:
    doc, _ = glb_parts(rich_outputs["meshopt"])
    assert "EXT_meshopt_compression" in doc["extensionsRequired"]
    fallback = doc["buffers"][1]
    assert "uri" not in fallback and fallback["extensions"]["EXT_meshopt_compression"] == {"fallback": True}
    modes = {}
    for view in doc["bufferViews"]:
        compressed = view.get("extensions", {}).get("EXT_meshopt_compression")
        if compressed:
            assert view["buffer"] == 1 and compressed["buffer"] == 0
            modes.setdefault(compressed["mode"], []).append(compressed)
    assert all(c["byteStride"] % 4 == 0 for c in modes["ATTRIBUTES"])
    assert all(c["byteStride"] in (2, 4) and c["count"] % 3 == 0 for c in modes["TRIANGLES"])
    assert any(c.get("filter") == "OCTAHEDRAL" for c in modes["ATTRIBUTES"])  # the int8 normals


def test_meshopt_output_reads_back_to_the_same_geometry(tmp_path: Path) -> None:
    scene = ir.Scene("grid", [ir.Node("grid", mesh=ir.Mesh("grid", [grid_primitive(60)]))])
    plain, packed = write_glb(scene), write_glb(scene, GltfOptions(meshopt=True))
    assert len(packed) < len(plain) * 0.6
    path = tmp_path / "packed.glb"
    path.write_bytes(packed)
    back = load_asset(path).meshes()[0].primitives[0]
    original = scene.meshes()[0].primitives[0]
    for name, values in original.attributes.items():
        np.testing.assert_array_equal(back.attributes[name], values)
    # The index codec keeps triangle order but may rotate the corners of a triangle (winding is kept).
    def canonical(indices: np.ndarray) -> np.ndarray:
        triangles = indices.reshape(-1, 3)
        turn = np.argmin(triangles, axis=1)
        return np.stack([np.roll(t, -k) for t, k in zip(triangles, turn, strict=True)])

    np.testing.assert_array_equal(canonical(back.indices), canonical(original.indices))


def test_draco_output_compresses_what_it_can_and_reads_back(tmp_path: Path, rich_outputs: dict[str, bytes]) -> None:
    doc, _ = glb_parts(rich_outputs["draco"])
    assert "KHR_draco_mesh_compression" in doc["extensionsRequired"]
    compressed = {m["name"] for m in doc["meshes"] for p in m["primitives"]
                  if "KHR_draco_mesh_compression" in p.get("extensions", {})}
    # Quantized, skinned and morphing primitives are beyond DracoPy and stay as they are.
    assert compressed == {"grid"}
    path = tmp_path / "draco.glb"
    path.write_bytes(rich_outputs["draco"])
    grid = next(m for m in load_asset(path).meshes() if m.name == "grid").primitives[0]
    original = rich_scene().nodes[0].children[0].mesh
    assert original is not None
    source = original.primitives[0]
    assert grid.triangle_count == source.triangle_count
    low, high = source.attributes["POSITION"].min(axis=0), source.attributes["POSITION"].max(axis=0)
    np.testing.assert_allclose(grid.attributes["POSITION"].min(axis=0), low, atol=1e-3)
    np.testing.assert_allclose(grid.attributes["POSITION"].max(axis=0), high, atol=1e-3)


def test_draco_needs_its_encoder() -> None:
    with pytest.raises(ValueError, match="draco_encoder"):
        write_glb(rich_scene(), GltfOptions(draco=True))


def test_empty_scene_is_still_a_valid_glb() -> None:
    data = write_glb(ir.Scene("empty", [ir.Node("nothing")]))
    doc, blob = glb_parts(data)
    assert blob == b"" and "buffers" not in doc
    (report,) = validate_many([data])
    assert report["issues"]["numErrors"] == 0, errors_of(report)


# -- the corpus, round-tripped -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus_round_trips(corpus: Path) -> dict[str, tuple[ir.Scene, bytes, bytes]]:
    out = {}
    for model in CORPUS_MODELS:
        scene = load_asset(corpus / model)
        out[model] = (scene, write_glb(scene), write_glb(scene, GltfOptions(meshopt=True)))
    return out


def test_every_corpus_model_round_trips_to_a_valid_glb(corpus_round_trips: dict[str, Any]) -> None:
    names = [(model, mode) for model in corpus_round_trips for mode in ("plain", "meshopt")]
    outputs = [corpus_round_trips[m][1 if mode == "plain" else 2] for m, mode in names]
    for name, report in zip(names, validate_many(outputs), strict=True):
        assert report["issues"]["numErrors"] == 0, (name, errors_of(report))


def test_corpus_extensions_texture_transforms_and_animations_survive(
        tmp_path: Path, corpus_round_trips: dict[str, Any]) -> None:
    _, sofa, _ = corpus_round_trips["GlamVelvetSofa/GlamVelvetSofa.glb"]
    doc, _ = glb_parts(sofa)
    assert {"KHR_materials_sheen", "KHR_materials_specular", "KHR_texture_transform",
            "KHR_materials_variants"} <= set(doc["extensionsUsed"])
    assert len(doc["extensions"]["KHR_materials_variants"]["variants"]) == 5
    city, city_glb, _ = corpus_round_trips["VC/VC.glb"]
    path = tmp_path / "vc.glb"
    path.write_bytes(city_glb)
    back = load_asset(path)
    assert len(back.animations) == len(city.animations) == 1
    before, after = city.animations[0].channels, back.animations[0].channels
    assert [(c.node.name, c.path) for c in after] == [(c.node.name, c.path) for c in before]
    for old, new in zip(before, after, strict=True):
        np.testing.assert_array_equal(new.sampler.input, old.sampler.input)
        np.testing.assert_array_equal(new.sampler.output, old.sampler.output)


def test_corpus_textures_pass_through_byte_for_byte(corpus: Path, corpus_round_trips: dict[str, Any]) -> None:
    _, helmet, _ = corpus_round_trips["DamagedHelmet/DamagedHelmet.glb"]
    original_doc, original_blob = glb_parts((corpus / "DamagedHelmet/DamagedHelmet.glb").read_bytes())
    doc, blob = glb_parts(helmet)

    def images(d: dict[str, Any], b: bytes) -> set[bytes]:
        views = [d["bufferViews"][i["bufferView"]] for i in d["images"]]
        return {b[v.get("byteOffset", 0):v.get("byteOffset", 0) + v["byteLength"]] for v in views}

    assert images(doc, blob) == images(original_doc, original_blob)


def test_a_subtree_used_twice_becomes_two_glb_nodes() -> None:
    shared = ir.Node("leg", mesh=ir.Mesh("leg", [grid_primitive(3)]))
    scene = ir.Scene("tables", [ir.Node("left", children=[shared]), ir.Node("right", children=[shared])])
    data = write_glb(scene)
    doc, _ = glb_parts(data)
    parents = [i for n in doc["nodes"] for i in n.get("children", [])]
    assert len(parents) == len(set(parents)) == 2
    assert [doc["nodes"][i]["name"] for i in parents] == ["leg", "leg"]
    assert len(doc["meshes"]) == 1
    (report,) = validate_many([data])
    assert report["issues"]["numErrors"] == 0, errors_of(report)


def test_a_cycle_in_the_node_tree_is_refused() -> None:
    loop = ir.Node("loop")
    loop.children = [loop]
    with pytest.raises(ValueError, match="'loop' is its own ancestor"):
        write_glb(ir.Scene("bad", [loop]))


def test_meshopt_uses_indices_mode_for_lines(tmp_path: Path) -> None:
    points = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], np.float32)
    outline = ir.Primitive({"POSITION": points}, np.array([0, 1, 1, 2, 2, 3], np.uint32), mode=1)
    scene = ir.Scene("lines", [ir.Node("outline", mesh=ir.Mesh("outline", [outline]))])
    data = write_glb(scene, GltfOptions(meshopt=True))
    doc, _ = glb_parts(data)
    modes = [v["extensions"]["EXT_meshopt_compression"]["mode"] for v in doc["bufferViews"]]
    assert sorted(modes) == ["ATTRIBUTES", "INDICES"]
    (report,) = validate_many([data])
    assert report["issues"]["numErrors"] == 0, errors_of(report)


def test_non_finite_data_is_refused_rather_than_written() -> None:
    primitive = grid_primitive(3)
    primitive.attributes["POSITION"][4, 1] = np.nan
    with pytest.raises(ValueError, match="POSITION data holds NaN"):
        write_glb(ir.Scene("bad", [ir.Node("bad", mesh=ir.Mesh("bad", [primitive]))]))
    with pytest.raises(ValueError, match="NaN|inf"):
        write_glb(ir.Scene("bad", [ir.Node("bad", translation=(0.0, float("inf"), 0.0))]))


def test_corpus_round_trip_is_idempotent(tmp_path: Path, corpus_round_trips: dict[str, Any]) -> None:
    """What we write, we read back completely: writing it again gives the same bytes."""
    for model, (_, plain, _) in corpus_round_trips.items():
        path = tmp_path / "again.glb"
        path.write_bytes(plain)
        assert write_glb(load_asset(path)) == plain, model


def test_the_validator_helper_reports_broken_files(tmp_path: Path, rich_outputs: dict[str, bytes]) -> None:
    """The helper every GLB test leans on must be able to fail: truncation, corrupt meshopt data, missing files."""
    packed = bytearray(rich_outputs["meshopt"])
    doc, _ = glb_parts(bytes(packed))
    json_length = struct.unpack_from("<I", packed, 12)[0]
    first = next(v["extensions"]["EXT_meshopt_compression"] for v in doc["bufferViews"] if "extensions" in v)
    start = 20 + json_length + 8 + first["byteOffset"]
    packed[start + 1:start + first["byteLength"]] = bytes(first["byteLength"] - 1)
    plain = rich_outputs["plain"]
    reports = validate_many([plain, plain[: len(plain) // 2], bytes(packed), tmp_path / "absent.glb"])
    assert [r["issues"]["numErrors"] > 0 for r in reports] == [False, True, True, True]


# -- compact output: JSON, shared views, compressed keyframes ----------------------------------------------------


def test_json_has_shortest_float32_numbers_and_no_default_values() -> None:
    plain_material = ir.Material("plain")
    node = ir.Node("third", mesh=ir.Mesh("grid", [grid_primitive(3, plain_material)]), translation=(1 / 3, 0.1, -0.0),
                   scale=(1.0000000001, 1.0, 1.0), extras={"ratio": 0.12345678901234})
    data = write_glb(ir.Scene("numbers", [node]))
    text = glb_json_text(data)
    assert not re.search(r"[,:\[{]\s|\s[,:\]}]", text.rstrip())  # no whitespace between tokens
    doc = json.loads(text)
    written = doc["nodes"][0]
    # float32(1/3) is 0.33333334; a scale that rounds to 1 in float32 is a default and is left out.
    assert '"translation":[0.33333334,0.1,0]' in text and "scale" not in written
    assert written["extras"] == {"ratio": 0.12345678901234}  # the designer's numbers keep double precision
    assert doc["materials"] == [{"name": "plain"}]  # factors, alphaMode, doubleSided all at their defaults
    primitive = doc["meshes"][0]["primitives"][0]
    assert "mode" not in primitive  # TRIANGLES is the default
    assert all("byteOffset" not in a for a in doc["accessors"] if a.get("byteOffset", 0) == 0)
    (report,) = validate_many([data])
    assert report["issues"]["numErrors"] == 0, errors_of(report)


def test_accessors_of_one_kind_share_a_buffer_view(rich_outputs: dict[str, bytes]) -> None:
    for mode in ("plain", "meshopt"):
        doc, _ = glb_parts(rich_outputs[mode])
        by_view: dict[int, list[dict[str, Any]]] = {}
        for accessor in doc["accessors"]:
            if "bufferView" in accessor:
                by_view.setdefault(accessor["bufferView"], []).append(accessor)
        assert len(by_view) < len(doc["accessors"]) - len(doc["images"])  # some views hold several accessors
        for index, accessors in by_view.items():
            view = doc["bufferViews"][index]
            compressed = view.get("extensions", {}).get("EXT_meshopt_compression")
            if compressed:
                # One meshopt stream per view: its count is every accessor's elements, back to back.
                assert compressed["count"] == sum(a["count"] for a in accessors)
                assert compressed["count"] * compressed["byteStride"] == view["byteLength"]
            ends = sorted((a.get("byteOffset", 0), a["count"]) for a in accessors)
            assert all(a < b for (a, _), (b, _) in zip(ends, ends[1:], strict=False))  # no two start together


def test_meshopt_keyframes_use_gltfpack_filters_and_read_back_closely(tmp_path: Path) -> None:
    times = np.linspace(0, 2, 61, dtype=np.float32)
    turn = np.stack([np.zeros_like(times), np.sin(times / 2), np.zeros_like(times), np.cos(times / 2)], 1)
    rotation = np.round(turn * 32767).astype(np.int16)
    slide = np.stack([times * 3, np.sin(times), np.zeros_like(times)], 1).astype(np.float32)
    piece = ir.Node("piece", mesh=ir.Mesh("grid", [grid_primitive(3)]))
    animation = ir.Animation("move", [
        ir.AnimationChannel(ir.AnimationSampler(times, rotation), piece, "rotation"),
        ir.AnimationChannel(ir.AnimationSampler(times.copy(), slide), piece, "translation")])
    data = write_glb(ir.Scene("moving", [piece], [animation]), GltfOptions(meshopt=True))
    doc, _ = glb_parts(data)
    samplers = doc["animations"][0]["samplers"]
    assert samplers[0]["input"] == samplers[1]["input"]  # equal time arrays are written once
    assert all("interpolation" not in s for s in samplers)  # LINEAR is the default
    filters = {doc["bufferViews"][doc["accessors"][s["output"]]["bufferView"]]["extensions"][
        "EXT_meshopt_compression"].get("filter") for s in samplers}
    assert filters == {"QUATERNION", "EXPONENTIAL"}
    (report,) = validate_many([data])
    assert report["issues"]["numErrors"] == 0, errors_of(report)
    path = tmp_path / "moving.glb"
    path.write_bytes(data)
    channels = load_asset(path).animations[0].channels
    np.testing.assert_array_equal(channels[0].sampler.input, times)
    quats = np.asarray(channels[0].sampler.output, np.float64).reshape(-1, 4)
    quats = quats / 32767 if channels[0].sampler.output.dtype == np.int16 else quats
    quats *= np.sign((quats * turn).sum(1, keepdims=True))  # q and -q are the same rotation
    assert np.abs(quats - turn).max() < 5e-4  # 12-bit quaternion components, as gltfpack -cc writes them
    back = np.asarray(channels[1].sampler.output, np.float32).reshape(-1, 3)
    assert np.all(np.abs(back - slide) <= 2.0 ** -15 * np.abs(slide).max(axis=0))


def test_morph_target_normal_deltas_are_not_octahedral_encoded(tmp_path: Path) -> None:
    """Deltas are not unit vectors: the OCTAHEDRAL filter would turn them into directions."""
    positions = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], np.float32)
    primitive = ir.Primitive({"POSITION": positions, "NORMAL": np.tile(np.array([0, 0, 127], np.int8), (3, 1))},
                             np.array([0, 1, 2], np.uint32), normalized={"NORMAL"})
    deltas = np.array([[10, 0, 0], [0, -5, 0], [0, 0, 0]], np.int8)
    primitive.targets = [{"POSITION": np.full((3, 3), 0.1, np.float32), "NORMAL": deltas}]
    data = write_glb(ir.Scene("morph", [ir.Node("morph", mesh=ir.Mesh("morph", [primitive], weights=[0.0]))]),
                     GltfOptions(meshopt=True))
    path = tmp_path / "morph.glb"
    path.write_bytes(data)
    back = load_asset(path).meshes()[0].primitives[0]
    np.testing.assert_allclose(back.targets[0]["NORMAL"], deltas / 127.0, atol=1e-6)
    (report,) = validate_many([data])
    assert report["issues"]["numErrors"] == 0, errors_of(report)
