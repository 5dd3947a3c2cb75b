"""An exhibit folder from someone else: its models never make the build read outside it, and its cache runs nothing."""

from __future__ import annotations

import base64
import json
import os
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pipeline import scene as ir
from pipeline.build import BuildOptions, build
from pipeline.cache import AssetCache, default_cache_dir
from pipeline.errors import AssetError
from pipeline.scene_codec import InvalidEntry, decode_scene, encode_scene
from tests.pipeline.tiny_exhibit import CUBE_OBJ, write_tiny_exhibit

SECRET = b"\x89PNG\r\n\x1a\n" + b"top secret bytes that must never be published" * 4

EXHIBIT_YAML = """exhibit:
  id: shared
  title: {{en: Shared}}
  languages: [en]
  targets: [desktop]
rooms:
  - id: hall
    size: [6, 6, 3]
artifacts:
  - id: thing
    model: {model}
    height: 0.5
    place: {{room: hall, at: [0, 0]}}
    record: {{title: {{en: Thing}}}}
    alt: {{en: A thing}}
"""


def _triangle_gltf(image_uri: str | None = None, buffer_uri: str | None = None) -> dict:
    positions = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], dtype=np.float32)
    uvs = np.array([[0, 0], [1, 0], [0, 1]], dtype=np.float32)
    data = positions.tobytes() + uvs.tobytes()
    uri = buffer_uri or "data:application/octet-stream;base64," + base64.b64encode(data).decode()
    document: dict = {
        "asset": {"version": "2.0"},
        "scene": 0, "scenes": [{"nodes": [0]}], "nodes": [{"mesh": 0}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0, "TEXCOORD_0": 1}}]}],
        "buffers": [{"uri": uri, "byteLength": len(data)}],
        "bufferViews": [{"buffer": 0, "byteOffset": 0, "byteLength": 36}, {"buffer": 0, "byteOffset": 36, "byteLength": 24}],
        "accessors": [
            {"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3", "min": [0, 0, 0], "max": [1, 1, 0]},
            {"bufferView": 1, "componentType": 5126, "count": 3, "type": "VEC2"},
        ],
    }
    if image_uri is not None:
        document["images"] = [{"uri": image_uri}]
        document["textures"] = [{"source": 0}]
        document["materials"] = [{"pbrMetallicRoughness": {"baseColorTexture": {"index": 0}}}]
        document["meshes"][0]["primitives"][0]["material"] = 0
    return document


def _shared_folder(tmp_path: Path, model_name: str, model_text: str) -> Path:
    """tmp/outside holds the secrets; tmp/exhibit is the folder someone sent us."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.png").write_bytes(SECRET)
    positions = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], dtype=np.float32).tobytes()
    (outside / "data.bin").write_bytes(positions + np.zeros((3, 2), np.float32).tobytes())
    (outside / "evil.mtl").write_text("newmtl painted\nKd 1 0 0\nmap_Kd secret.png\n", encoding="utf-8")
    exhibit = tmp_path / "exhibit"
    (exhibit / "models").mkdir(parents=True)
    (exhibit / "models" / model_name).write_text(model_text, encoding="utf-8")
    (exhibit / "exhibit.yaml").write_text(EXHIBIT_YAML.format(model=f"models/{model_name}"), encoding="utf-8")
    return exhibit


def _assert_refused_and_unpublished(tmp_path: Path, exhibit: Path, named: str) -> None:
    out = tmp_path / "site"
    with pytest.raises(AssetError) as caught:
        build(exhibit, out, BuildOptions(quiet=True, jobs=1, cache_dir=tmp_path / "cache"))
    assert named in str(caught.value) and "outside" in str(caught.value)
    written = [p for p in out.rglob("*") if p.is_file()] if out.exists() else []
    assert not written, "a refused build publishes nothing"
    for entry in (tmp_path / "cache").rglob("*") if (tmp_path / "cache").exists() else []:
        if entry.is_file():
            assert b"top secret bytes" not in entry.read_bytes()


def test_a_gltf_image_outside_the_folder_is_refused_and_never_published(tmp_path: Path) -> None:
    gltf = json.dumps(_triangle_gltf(image_uri="../../outside/secret.png"))
    exhibit = _shared_folder(tmp_path, "thing.gltf", gltf)
    _assert_refused_and_unpublished(tmp_path, exhibit, "secret.png")


def test_a_gltf_buffer_outside_the_folder_is_refused(tmp_path: Path) -> None:
    gltf = json.dumps(_triangle_gltf(buffer_uri="../../outside/data.bin"))
    exhibit = _shared_folder(tmp_path, "thing.gltf", gltf)
    _assert_refused_and_unpublished(tmp_path, exhibit, "data.bin")


def test_an_obj_material_library_outside_the_folder_is_refused(tmp_path: Path) -> None:
    obj = CUBE_OBJ.replace("mtllib cube parts.mtl", "mtllib ../../outside/evil.mtl")
    exhibit = _shared_folder(tmp_path, "thing.obj", obj)
    _assert_refused_and_unpublished(tmp_path, exhibit, "evil.mtl")


def test_an_obj_texture_outside_the_folder_is_refused(tmp_path: Path) -> None:
    exhibit = _shared_folder(tmp_path, "thing.obj", CUBE_OBJ)
    (exhibit / "models" / "cube parts.mtl").write_text(
        "newmtl painted\nKd 1 0 0\nmap_Kd ../../outside/secret.png\n", encoding="utf-8")
    _assert_refused_and_unpublished(tmp_path, exhibit, "secret.png")


def test_the_same_references_inside_the_folder_build(tmp_path: Path) -> None:
    """The refusal is about leaving the folder, not about sidecars: the same model with its files inside builds."""
    gltf = json.dumps(_triangle_gltf(image_uri="secret.png", buffer_uri="data.bin"))
    exhibit = _shared_folder(tmp_path, "thing.gltf", gltf)
    for name in ("secret.png", "data.bin"):
        (exhibit / "models" / name).write_bytes((tmp_path / "outside" / name).read_bytes())
    Image.new("RGB", (4, 4), (9, 99, 199)).save(exhibit / "models" / "secret.png")
    report = build(exhibit, tmp_path / "site", BuildOptions(quiet=True, jobs=1, cache_dir=tmp_path / "cache"))
    assert report.cache_misses == 1


class _Trap:
    """Unpickling this touches a marker file: proof that a cache entry ran code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (Path.touch, (self.marker,))


def test_a_poisoned_cache_entry_runs_nothing_and_is_a_miss(tmp_path: Path) -> None:
    spec = write_tiny_exhibit(tmp_path / "tiny")
    cache = tmp_path / "cache"
    options = BuildOptions(quiet=True, jobs=1, cache_dir=cache)
    build(spec, tmp_path / "site", options)
    marker = tmp_path / "pwned"
    entries = list(cache.rglob("*.scene"))
    assert entries
    for entry in entries:
        key = entry.stem
        # The old pickle layout under its own name, and a pickle behind the right key header in the new layout.
        (entry.parent / f"{key}.pkl").write_bytes(pickle.dumps((key, _Trap(marker))))
        entry.write_bytes(f"{key}\n".encode() + pickle.dumps(_Trap(marker)))
    report = build(spec, tmp_path / "site", options)
    assert not marker.exists()
    assert (report.cache_hits, report.cache_misses) == (0, 1)


def test_the_default_cache_is_outside_the_exhibit_and_a_cache_folder_inside_it_is_never_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VITRINA_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    spec = write_tiny_exhibit(tmp_path / "tiny")
    assert not default_cache_dir().resolve().is_relative_to(spec.resolve())
    marker = tmp_path / "pwned"
    planted = spec / ".vitrina-cache"
    for prefix in ("00", "ab", "ff"):
        (planted / prefix).mkdir(parents=True)
        (planted / prefix / f"{prefix * 32}.pkl").write_bytes(pickle.dumps((prefix * 32, _Trap(marker))))
    report = build(spec, tmp_path / "site", BuildOptions(quiet=True, jobs=1))
    assert report.cache_misses == 1 and not marker.exists()
    assert list((tmp_path / "user-cache").rglob("*.scene")), "entries go to the user's cache directory"
    assert sorted(p.name for p in planted.rglob("*") if p.is_file()) == sorted(f"{p * 32}.pkl" for p in ("00", "ab", "ff"))


def _rich_scene() -> ir.Scene:
    texture = ir.Texture(name="t", data=b"\x89PNG fake", mime_type="image/png", width=2, height=2)
    material = ir.Material(name="m", base_color_texture=ir.TextureRef(texture, transform={"offset": [0.5, 0.0]}),
                           extensions={"KHR_materials_sheen": {"sheenColorTexture": ir.TextureRef(texture, 1)}})
    positions = np.arange(9, dtype=np.float32).reshape(3, 3)
    first = ir.Primitive({"POSITION": positions, "COLOR_0": np.full((3, 4), 65535, np.uint16)},
                         indices=np.array([0, 1, 2], np.uint32), material=material, normalized={"COLOR_0"})
    second = ir.Primitive({"POSITION": positions * 2}, material=material, variants={"red": material})
    mesh = ir.Mesh("mesh", [first, second], extras={"a": [1, 2.5, None, "x"]})
    joint = ir.Node("joint", translation=(1.0, 2.0, 3.0))
    skinned = ir.Node("skinned", mesh=mesh, children=[joint], keep=True, xmp={"dc:title": "x"})
    skinned.skin = ir.Skin(joints=[joint, skinned], inverse_bind_matrices=np.eye(4, dtype=np.float32)[None])
    again = ir.Node("again", mesh=mesh, instances={"TRANSLATION": np.zeros((2, 3), np.float32)})
    sampler = ir.AnimationSampler(np.array([0, 1], np.float32), np.zeros((2, 3), np.float32))
    animation = ir.Animation("spin", [ir.AnimationChannel(sampler, joint, "translation")])
    return ir.Scene("rich", nodes=[skinned, again], animations=[animation], variants=["red"], copyright="©")


def test_the_scene_codec_keeps_values_and_sharing() -> None:
    scene = decode_scene(encode_scene(_rich_scene()))
    skinned, again = scene.nodes
    assert skinned.mesh is again.mesh
    first, second = skinned.mesh.primitives
    assert first.material is second.material is second.variants["red"]
    assert first.material.base_color_texture.texture is first.material.extensions[
        "KHR_materials_sheen"]["sheenColorTexture"].texture
    assert skinned.skin.joints[0] is skinned.children[0] is scene.animations[0].channels[0].node
    assert skinned.skin.joints[1] is skinned
    assert first.attributes["COLOR_0"].dtype == np.uint16 and first.normalized == {"COLOR_0"}
    np.testing.assert_array_equal(second.attributes["POSITION"], np.arange(9, dtype=np.float32).reshape(3, 3) * 2)
    assert skinned.children[0].translation == (1.0, 2.0, 3.0) and isinstance(skinned.children[0].translation, tuple)
    assert first.material.base_color_texture.texture.data == b"\x89PNG fake"
    assert skinned.mesh.extras == {"a": [1, 2.5, None, "x"]} and skinned.keep and scene.copyright == "©"
    first.attributes["POSITION"][0, 0] = 42.0  # decoded arrays are writable copies, as transforms expect


def _entry(document: dict, blob: bytes = b"") -> bytes:
    text = json.dumps(document).encode()
    return b"VSC1" + struct.pack("<Q", len(text)) + text + blob


@pytest.mark.parametrize("payload", [
    _entry({"root": 0, "objects": [{"type": "Popen", "fields": {}}]}),
    _entry({"root": 0, "objects": [{"type": "Scene", "fields": {"name": {"a": [0, 8, "|O", [1]]}}}]}, b"\0" * 8),
    _entry({"root": 0, "objects": [{"type": "Scene", "fields": {"name": "x"}}]}),
    _entry({"root": 5, "objects": []}),
    _entry({"root": 0, "objects": [{"type": "Texture", "fields": {}}]}),
    b"VSC1" + struct.pack("<Q", 10**9),
    b"\x80\x04garbage",
])
def test_a_malformed_entry_is_invalid_never_an_exception_or_code(payload: bytes) -> None:
    with pytest.raises(InvalidEntry):
        decode_scene(payload)


def test_an_invalid_entry_is_a_miss_and_removed(tmp_path: Path) -> None:
    cache = AssetCache(tmp_path)
    key = "ab" * 32
    entry = tmp_path / key[:2] / f"{key}.scene"
    entry.parent.mkdir()
    entry.write_bytes(f"{key}\n".encode() + _entry({"root": 0, "objects": [{"type": "Popen", "fields": {}}]}))
    assert cache.get(key) is None and cache.stats.corrupt == 1 and not entry.exists()
    assert os.listdir(entry.parent) == []
