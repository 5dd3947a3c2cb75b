"""simplify_scene bounds its work: six passes at most, each aiming lower, however little each pass gains (found
untested by the sampled mutation run, docs/benchmarks.md)."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline import budgets
from pipeline.scene import Mesh, Node, Primitive, Scene


def test_a_scene_that_barely_simplifies_gets_six_passes_then_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    positions = np.random.default_rng(7).random((300, 3)).astype(np.float32)
    primitive = Primitive(attributes={"POSITION": positions}, indices=np.arange(300, dtype=np.uint32))
    scene = Scene("hall", nodes=[Node("n", mesh=Mesh("m", [primitive]))])
    ratios: list[float] = []

    def one_triangle_less(target: Primitive, original: np.ndarray, ratio: float, max_error: float) -> float:
        ratios.append(ratio)  # a stubborn mesh: every pass gains one triangle, whatever the ratio asked
        assert target.indices is not None
        target.indices = target.indices[:-3]
        return 0.001

    monkeypatch.setattr(budgets, "_simplify_primitive", one_triangle_less)
    [report] = budgets.simplify_scene(scene, target_triangles=10, max_error=0.01)
    assert len(ratios) == 6
    assert all(later < earlier for earlier, later in zip(ratios, ratios[1:], strict=False))
    assert (report.triangles_before, report.triangles_after) == (100, 94)
