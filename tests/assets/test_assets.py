"""Tests for assets/make_assets.py: the committed example assets are exactly what the script makes, and sound."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pygltflib
import pytest
import trimesh

from tests.conftest import REPO
from tests.gltf_validator import errors_of, validate_many

AUDIO = REPO / "exhibits" / "bronze-age" / "audio"
MODELS = REPO / "exhibits" / "bronze-age" / "models"

# (path, unit it is stored in, up axis, rough height of the object in metres)
MODEL_FILES = [
    ("exhibits/minimal/models/vase.stl", 0.001, "z", 0.24),
    ("exhibits/bronze-age/models/ding.glb", 1.0, "y", 0.43),
    ("exhibits/bronze-age/models/gu/gu.obj", 0.01, "y", 0.28),
    ("exhibits/bronze-age/models/bell.ply", 0.001, "z", 0.42),
    ("exhibits/bronze-age/models/mirror.stl", 0.001, "z", 0.016),
    ("exhibits/bronze-age/models/jade-bi/jade-bi.gltf", 1.0, "y", 0.009),
    ("exhibits/bronze-age/models/chime.glb", 1.0, "y", 0.21),
]


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("vitrina_make_assets", REPO / "assets" / "make_assets.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered before running, because dataclasses look their module up in sys.modules.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def script() -> ModuleType:
    return _load_script()


@pytest.fixture(scope="module")
def regenerated(script: ModuleType) -> dict[str, bytes]:
    """Models and images made afresh (audio needs espeak-ng and lame, so it is checked, not regenerated)."""
    files: dict[str, bytes] = script.exhibit_files(("models", "images"))
    return files


def test_regenerated_models_and_images_are_byte_identical(regenerated: dict[str, bytes]) -> None:
    assert len(regenerated) == 13
    stale = [rel for rel, data in sorted(regenerated.items())
             if not (REPO / rel).is_file() or (REPO / rel).read_bytes() != data]
    assert not stale, f"committed assets differ from `python assets/make_assets.py --skip-audio`: {stale}"


def test_sizes_stay_small() -> None:
    folders = ("exhibits/minimal/models", "exhibits/bronze-age/models", "exhibits/bronze-age/images", AUDIO)
    files = [p for d in folders for p in (REPO / d).rglob("*") if p.is_file()]
    assert all(p.stat().st_size < 1_000_000 for p in files), [p.name for p in files if p.stat().st_size >= 1e6]
    assert sum(p.stat().st_size for p in files) < 6_000_000


def _meshes(path: Path) -> list[trimesh.Trimesh]:
    loaded = trimesh.load(path, process=False)
    return list(loaded.geometry.values()) if isinstance(loaded, trimesh.Scene) else [loaded]


@pytest.mark.parametrize(("rel", "unit", "up", "height"), MODEL_FILES)
def test_models_load_with_stated_units_and_up_axis(rel: str, unit: float, up: str, height: float) -> None:
    meshes = _meshes(REPO / rel)
    triangles = sum(len(m.faces) for m in meshes)
    assert 2_000 <= triangles <= 40_000
    extents = np.ptp(np.vstack([m.vertices for m in meshes]), axis=0) * unit
    assert extents["xyz".index(up)] == pytest.approx(height, rel=0.1)


@pytest.mark.parametrize("rel", [row[0] for row in MODEL_FILES])
def test_models_are_closed_and_face_outwards(rel: str) -> None:
    """Inside-out triangles vanish under back-face culling, so every closed part must wind outwards."""
    for mesh in _meshes(REPO / rel):
        welded = trimesh.Trimesh(mesh.vertices, mesh.faces, process=True)
        assert welded.is_watertight and welded.is_winding_consistent
        assert welded.volume > 0


def test_ply_has_vertex_colours() -> None:
    (bell,) = _meshes(MODELS / "bell.ply")
    assert bell.visual.kind == "vertex"
    colours = bell.visual.vertex_colors[:, :3].astype(int)
    assert len(np.unique(colours, axis=0)) > 100  # bronze and patina, not one flat colour


def test_obj_texture_with_a_space_in_its_name_resolves() -> None:
    assert "map_Kd gu pattern.png" in (MODELS / "gu" / "gu.mtl").read_text()
    (gu,) = _meshes(MODELS / "gu" / "gu.obj")
    image = gu.visual.material.image
    assert image is not None and image.size == (512, 1024)


def test_gltf_extensions_and_animation() -> None:
    jade = pygltflib.GLTF2().load(str(MODELS / "jade-bi" / "jade-bi.gltf"))
    assert jade.buffers[0].uri == "jade-bi.bin" and jade.images[0].uri == "jade-bi.png"
    assert {"KHR_texture_transform", "KHR_materials_ior", "KHR_materials_specular"} <= set(jade.extensionsUsed)
    assert "KHR_texture_transform" in jade.materials[0].pbrMetallicRoughness.baseColorTexture.extensions
    chime = pygltflib.GLTF2().load(str(MODELS / "chime.glb"))
    (animation,) = chime.animations
    (channel,) = animation.channels
    assert channel.target.path == "rotation" and chime.nodes[channel.target.node].name == "chime-swing"
    ding = pygltflib.GLTF2().load(str(MODELS / "ding.glb"))
    assert ding.images and ding.materials[0].pbrMetallicRoughness.baseColorTexture is not None


def test_gltf_files_pass_the_khronos_validator() -> None:
    paths = [MODELS / "ding.glb", MODELS / "chime.glb", MODELS / "jade-bi" / "jade-bi.gltf"]
    reports: list[dict[str, Any]] = validate_many(paths)
    for path, report in zip(paths, reports, strict=True):
        assert report["issues"]["numErrors"] == 0, (path.name, errors_of(report))


def _cues(vtt: str) -> list[tuple[float, float, str]]:
    assert vtt.startswith("WEBVTT\n")
    stamp = r"(\d\d):(\d\d):(\d\d)\.(\d\d\d)"
    cues = []
    for block in vtt.strip().split("\n\n")[1:]:
        lines = block.split("\n")
        match = re.fullmatch(f"{stamp} --> {stamp}", lines[1])
        assert match, lines
        g = [int(x) for x in match.groups()]
        start = g[0] * 3600 + g[1] * 60 + g[2] + g[3] / 1000
        end = g[4] * 3600 + g[5] * 60 + g[6] + g[7] / 1000
        cues.append((start, end, "\n".join(lines[2:])))
    return cues


@pytest.mark.parametrize("name", ["ding", "bell", "tour-welcome"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_captions_follow_the_sentences_and_fit_the_audio(script: ModuleType, name: str, lang: str) -> None:
    mp3 = (AUDIO / f"{name}.{lang}.mp3").read_bytes()
    duration = script.mp3_duration(mp3)
    bitrate = len(mp3) * 8 / duration / 1000
    assert 30 <= bitrate <= 50, "mono MP3 at 32-48 kbps"
    cues = _cues((AUDIO / f"{name}.{lang}.vtt").read_text(encoding="utf-8"))
    assert [text for _, _, text in cues] == script.NARRATIONS[name][lang]
    previous_end = 0.0
    for start, end, _ in cues:
        assert previous_end <= start < end <= duration
        previous_end = end
    assert cues[-1][1] > duration - 1.0, "the last cue ends with the speech, not long before"


def test_audio_step_names_the_missing_tools(script: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(script.shutil, "which", lambda name: None)
    with pytest.raises(SystemExit, match="espeak-ng and lame"):
        script.exhibit_files(("audio",))
