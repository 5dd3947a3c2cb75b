"""Fitting simplified levels back to the scan: kept vertices move towards the surface, borders and seams hold."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline import ladder, meshopt, surface_fit
from pipeline.scene import Mesh, Node, Primitive, Scene


def _noisy_sheet(size: int = 60, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """A square sheet of size×size vertices whose heights are noise around z = 0 (a rough, flat scan)."""
    rng = np.random.default_rng(seed)
    x, y = np.meshgrid(np.linspace(0, 1, size), np.linspace(0, 1, size))
    positions = np.c_[x.ravel(), y.ravel(), rng.normal(0, 0.004, size * size)].astype(np.float32)
    corner = (np.arange(size - 1)[:, None] * size + np.arange(size - 1)).ravel()
    quads = np.c_[corner, corner + 1, corner + size, corner + 1, corner + size + 1, corner + size]
    return positions, quads.reshape(-1).astype(np.uint32)


def _kept(positions: np.ndarray, indices: np.ndarray, triangles: int) -> np.ndarray:
    return meshopt.simplify(positions, indices, triangles * 3, float("inf"), lock_border=False).indices


def test_kept_vertices_move_towards_the_surface_they_replace() -> None:
    positions, indices = _noisy_sheet()
    kept = _kept(positions, indices, 300)
    moved = surface_fit.fitted_positions(positions, indices, kept)
    inner = np.setdiff1d(np.unique(kept), surface_fit._border_positions(kept.reshape(-1, 3).astype(np.int64)))
    # The sheet's surface is z = 0 on average: the kept (noisy) vertices come closer to it.
    before, after = np.abs(positions[inner, 2]).mean(), np.abs(moved[inner, 2]).mean()
    assert after < 0.8 * before


def test_border_vertices_stay_and_vertices_at_one_position_move_together() -> None:
    positions, indices = _noisy_sheet()
    kept = _kept(positions, indices, 300).reshape(-1, 3)
    on_edge = (positions[:, 0] == 0) | (positions[:, 0] == 1) | (positions[:, 1] == 0) | (positions[:, 1] == 1)
    inner = [v for v in np.unique(kept) if not on_edge[v]]
    # A UV seam through each kept inner vertex: its position again as a new vertex, used by one triangle before and
    # one after simplification.
    triangles = indices.reshape(-1, 3).copy()
    seams = {}
    for vertex in inner:
        seams[vertex] = len(positions)
        positions = np.vstack([positions, positions[vertex:vertex + 1]])
        for faces in (triangles, kept):
            first = np.flatnonzero((faces == vertex).any(axis=1))[0]
            faces[first] = np.where(faces[first] == vertex, seams[vertex], faces[first])
    moved = surface_fit.fitted_positions(positions, triangles.reshape(-1), kept.reshape(-1))
    assert all(np.array_equal(moved[vertex], moved[seam]) for vertex, seam in seams.items())
    assert sum(not np.array_equal(moved[vertex], positions[vertex]) for vertex in inner) > len(inner) // 2
    edge = np.intersect1d(np.unique(kept), np.flatnonzero(on_edge))
    assert len(edge) and np.array_equal(moved[edge], positions[edge])


def test_a_vertex_moves_no_farther_than_the_points_it_stands_for() -> None:
    positions, indices = _noisy_sheet()
    kept = _kept(positions, indices, 300)
    moved = surface_fit.fitted_positions(positions, indices, kept)
    assert np.abs(moved[:, 2]).max() <= np.abs(positions[:, 2]).max() + 1e-6


def test_many_nearest_point_queries_split_over_two_threads_find_the_same_points() -> None:
    rng = np.random.default_rng(3)
    points, queries = rng.random((500, 3)), rng.random((3 * surface_fit.NEAREST_SPLIT, 3))
    found = surface_fit._nearest(points, queries)
    for chunk in range(0, len(queries), 5_000):  # by brute force, a chunk at a time
        squared = ((queries[chunk:chunk + 5_000, None, :] - points[None, :, :]) ** 2).sum(axis=2)
        assert np.array_equal(found[chunk:chunk + 5_000], squared.argmin(axis=1))
    assert np.array_equal(surface_fit._nearest(points, queries[:100]), found[:100])


def test_normals_of_a_bare_mesh_are_shared_across_a_seam() -> None:
    positions = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0], [1, 0, 0]], dtype=np.float32)
    indices = np.array([0, 1, 2, 4, 3, 2], dtype=np.uint32)  # vertices 1 and 4 share a position
    normals = surface_fit.normals_of(positions, indices)
    assert np.allclose(normals, [0, 0, 1])


def test_a_scan_without_normals_is_simplified_with_its_own_normals_and_fitted(monkeypatch: pytest.MonkeyPatch) -> None:
    positions, indices = _noisy_sheet()
    primitive = Primitive(attributes={"POSITION": positions}, indices=indices)
    seen: list[np.ndarray | None] = []
    simplify = meshopt.simplify

    def watched(*args: object, **options: object) -> meshopt.SimplifyResult:
        seen.append(options.get("attribute_weights"))  # type: ignore[arg-type]
        return simplify(*args, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(meshopt, "simplify", watched)
    scene = Scene(name="sheet", nodes=[Node(name="sheet", mesh=Mesh(name="sheet", primitives=[primitive]))])
    ladder.simplify_within(scene, 0.0, 500, diagonal=float(np.sqrt(2)))
    assert seen and all(w is not None and np.allclose(w, ladder.SHAPE_WEIGHT) for w in seen)
    assert primitive.triangle_count <= 500
    # Noise heights are all distinct: a height that is none of them belongs to a vertex the fit moved.
    assert not np.isin(primitive.attributes["POSITION"][:, 2], positions[:, 2]).all()


FORK_AFTER_A_FIT = """
import multiprocessing
import numpy as np
from pipeline import meshopt, surface_fit
from tests.pipeline.test_surface_fit import _kept, _noisy_sheet

positions, indices = _noisy_sheet(200)
kept = _kept(positions, indices, 2000)
def fit(_):
    return float(surface_fit.fitted_positions(positions, indices, kept).sum())
here = fit(0)
with multiprocessing.get_context("fork").Pool(2) as pool:
    assert pool.map(fit, range(2)) == [here, here]
print("forked fits done")
"""


def test_an_asset_worker_forked_after_a_fit_can_fit_too() -> None:
    # The nearest-point search runs on OpenMP, whose threads a fork does not copy: with more than one, the worker's
    # first search waited for them for ever. A fresh interpreter, since OpenMP reads its settings as it loads.
    import os
    import signal
    import subprocess
    import sys

    from tests.conftest import REPO

    environment = {key: value for key, value in os.environ.items() if key != "OMP_NUM_THREADS"}
    child = subprocess.Popen([sys.executable, "-c", FORK_AFTER_A_FIT], cwd=REPO, env=environment,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, _ = child.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.communicate()
        pytest.fail("a worker forked after a fit hung in its own fit")
    assert child.returncode == 0 and "forked fits done" in output, output
