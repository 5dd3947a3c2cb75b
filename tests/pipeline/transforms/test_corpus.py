"""Real models through the default preset and the meshopt writer: valid glTF, same triangles, same shape."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline.gltf import GltfOptions, write_glb
from pipeline.ingest import load_asset
from pipeline.transforms.presets import apply_transforms, default_transforms
from tests.benchmarks.bench_compiler import surface_error
from tests.benchmarks.glb_reader import read_glb
from tests.gltf_validator import errors_of, validate_many

MODELS = [
    "Duck/Duck.glb",  # textured, KHR_texture_transform from the UV box
    "2CylinderEngine/2CylinderEngine.glb",  # many nodes: merge and instancing
    "SmithsonianSeaTurtle/sea_turtle-150k-2048-medium.glb",  # Draco input (gltfpack cannot read it)
    "Igea/igea.ply",  # triangle strips (glTF-Transform wrote an empty file)
    "GlamVelvetSofa/GlamVelvetSofa.glb",  # material variants and a rotated texture transform
]


@pytest.fixture(scope="module")
def compiled(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """model → (plain GLB of the ingested source, optimized GLB)."""
    folder = tmp_path_factory.mktemp("compiled")
    out: dict[str, tuple[Path, Path]] = {}
    for model in MODELS:
        name = Path(model).stem
        plain, optimized = folder / f"{name}.plain.glb", folder / f"{name}.glb"
        scene = load_asset(corpus / model)
        plain.write_bytes(write_glb(scene, GltfOptions()))
        apply_transforms(scene, default_transforms())
        optimized.write_bytes(write_glb(scene, GltfOptions(meshopt=True)))
        out[model] = (plain, optimized)
    return out


def test_optimized_corpus_models_pass_the_validator(compiled: dict[str, tuple[Path, Path]]) -> None:
    reports = validate_many([optimized for _, optimized in compiled.values()])
    for model, report in zip(compiled, reports, strict=True):
        assert report["issues"]["numErrors"] == 0, (model, errors_of(report)[:5])
        assert "EXT_meshopt_compression" in report["info"].get("extensionsUsed", []), model


@pytest.mark.parametrize("model", MODELS)
def test_optimized_models_draw_the_same_triangles_in_the_same_place(
        model: str, compiled: dict[str, tuple[Path, Path]]) -> None:
    plain, optimized = compiled[model]
    source, result = read_glb(plain), read_glb(optimized)
    # Welding drops triangles with a repeated vertex (2CylinderEngine has 11k): they have no area to draw.
    corners = source.vertices[source.faces]
    areas = np.linalg.norm(np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]), axis=1)
    assert int((areas > 0).sum()) <= result.triangles <= source.triangles
    assert result.draw_calls <= source.draw_calls
    diagonal = float(np.linalg.norm(source.vertices.max(0) - source.vertices.min(0)))
    assert np.abs(result.vertices.min(0) - source.vertices.min(0)).max() < 1e-3 * diagonal
    assert np.abs(result.vertices.max(0) - source.vertices.max(0)).max() < 1e-3 * diagonal
    assert optimized.stat().st_size < plain.stat().st_size


def test_quantization_error_of_a_real_model_is_tiny(compiled: dict[str, tuple[Path, Path]]) -> None:
    import trimesh

    plain, optimized = compiled["Duck/Duck.glb"]
    meshes = [read_glb(p) for p in (plain, optimized)]
    rms, hausdorff = surface_error(*(trimesh.Trimesh(m.vertices, m.faces, process=False) for m in meshes), 2000)
    assert rms < 2e-5 and hausdorff < 1e-4  # 14-bit positions: half a step is 3e-5 of the largest side
