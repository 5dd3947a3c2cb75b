"""An exhibit folder from someone else: its models never make the build read outside it, and its cache runs nothing."""

from __future__ import annotations

import base64
import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pipeline import images
from pipeline.build import BuildOptions, build
from pipeline.cache import default_cache_dir
from pipeline.errors import AssetError, SpecError
from pipeline.ingest import load_asset
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
    """`check` (inside build) refuses the model at its `model:` line; ingest refuses the same file on its own, for
    any caller that skips the spec (a second line of defence, tested without the spec)."""
    out = tmp_path / "site"
    with pytest.raises(SpecError) as caught:
        build(exhibit, out, BuildOptions(quiet=True, jobs=1, cache_dir=tmp_path / "cache"))
    message = str(caught.value)
    assert "exhibit.yaml:" in message and "artifacts[0].model" in message
    assert named in message and "leaves the exhibit folder" in message
    written = [p for p in out.rglob("*") if p.is_file()] if out.exists() else []
    assert not written, "a refused build publishes nothing"
    model = next((exhibit / "models").glob("thing.*"))
    with pytest.raises(AssetError) as refused:
        load_asset(model, root=exhibit)
    assert named in str(refused.value) and "outside" in str(refused.value)


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


def test_a_sidecar_named_by_an_absolute_path_is_read_beside_the_model_never_where_it_says(tmp_path: Path) -> None:
    # Exporters write where a texture was on their own disk; here that path leads to the secret outside the folder.
    exhibit = _shared_folder(tmp_path, "thing.obj", CUBE_OBJ.replace(
        "mtllib cube parts.mtl", f"mtllib {tmp_path / 'outside' / 'evil.mtl'}"))
    with pytest.raises(SpecError) as caught:
        build(exhibit, tmp_path / "site", BuildOptions(quiet=True, jobs=1, cache_dir=tmp_path / "cache"))
    assert "a path on the machine that wrote it; copy that file to 'models/evil.mtl'" in str(caught.value)
    assert not (tmp_path / "site").exists() or not any(p.is_file() for p in (tmp_path / "site").rglob("*"))
    with pytest.raises(AssetError, match="outside"):
        load_asset(exhibit / "models" / "thing.obj", root=exhibit)

    # The library beside the model names the secret by its absolute path too: only a file beside it is read.
    (exhibit / "models" / "evil.mtl").write_text(
        f"newmtl painted\nKd 1 0 0\nmap_Kd {tmp_path / 'outside' / 'secret.png'}\n", encoding="utf-8")
    with pytest.raises(AssetError, match="outside"):
        load_asset(exhibit / "models" / "thing.obj", root=exhibit)
    Image.new("RGB", (4, 4), (9, 99, 199)).save(exhibit / "models" / "secret.png")
    scene = load_asset(exhibit / "models" / "thing.obj", root=exhibit)
    [texture] = [p.material.base_color_texture.texture for m in scene.meshes() for p in m.primitives
                 if p.material is not None and p.material.base_color_texture is not None]
    assert texture.data == (exhibit / "models" / "secret.png").read_bytes()
    report = build(exhibit, tmp_path / "site", BuildOptions(quiet=True, jobs=1, cache_dir=tmp_path / "cache"))
    assert report.cache_misses == 1
    assert any("the build reads 'models/secret.png', the file of that name beside it" in w for w in report.warnings)


EPS = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\nnewpath 0 0 moveto 8 8 lineto stroke showpage\n%%EOF\n"


def _ghostscript_trap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A `gs` first on PATH that leaves a marker when run: Pillow hands an EPS image to Ghostscript to draw it."""
    folder = tmp_path / "bin"
    folder.mkdir()
    marker = tmp_path / "ghostscript-ran"
    (folder / "gs").write_text(f"#!/bin/sh\necho \"$@\" >> '{marker}'\nexit 1\n", encoding="utf-8")
    (folder / "gs").chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")
    return marker


@pytest.mark.parametrize("declared", ["image/png", "image/jpeg", "image/webp"])
def test_an_image_that_is_postscript_is_refused_and_never_drawn(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, declared: str) -> None:
    """A glTF names its image's type itself: one that says PNG but holds PostScript reached Ghostscript through
    Pillow (in the light bake) before the image formats were limited."""
    marker = _ghostscript_trap(tmp_path, monkeypatch)
    document = _triangle_gltf(image_uri="picture.png")
    document["images"][0]["mimeType"] = declared
    exhibit = _shared_folder(tmp_path, "thing.gltf", json.dumps(document))
    (exhibit / "models" / "picture.png").write_bytes(EPS)
    with pytest.raises(AssetError) as refused:
        build(exhibit, tmp_path / "site", BuildOptions(quiet=True, jobs=1, cache_dir=tmp_path / "cache"))
    assert "texture 'picture.png'" in str(refused.value) and "its bytes are not one" in str(refused.value)
    assert not marker.exists(), "Ghostscript ran"
    assert not [p for p in (tmp_path / "site").rglob("*") if p.is_file()], "a refused build publishes nothing"


def test_the_image_module_opens_no_postscript(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every reader of image bytes refuses an EPS as unreadable, without running anything."""
    marker = _ghostscript_trap(tmp_path, monkeypatch)
    (tmp_path / "picture.eps").write_bytes(EPS)
    assert images.pixel_size(EPS) == (0, 0)
    readers = [images.as_texture_bytes, images.mean_linear_colour, images.rgb_from_png, images.alpha_from_png,
               lambda data: images.resized(data, "image/png", (4, 4)), lambda data: images.webp(data, True),
               lambda data: images.fitted_jpeg(data, (4, 4)),
               lambda data: images.write_png_for_encoder(data, (4, 4), tmp_path / "out.png"),
               lambda data: images.file_pixel_size(tmp_path / "picture.eps")]
    for read in readers:
        with pytest.raises(images.UNREADABLE):
            read(EPS)
    assert not marker.exists(), "Ghostscript ran"


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
    entries = [p for p in cache.rglob("*") if p.is_file()]
    assert entries
    for entry in entries:
        key = entry.stem
        # A pickle under the old layout's name, and one behind the right key header in each entry of the new layout.
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
    assert [p for p in (tmp_path / "user-cache").rglob("*") if p.is_file()], "entries go to the user's cache directory"
    assert sorted(p.name for p in planted.rglob("*") if p.is_file()) == sorted(f"{p * 32}.pkl" for p in ("00", "ab", "ff"))
