"""Suggestions stay right for large id sets, and the overlap sweep finds exactly what comparing every pair finds."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.spec.fields import Suggestions, did_you_mean
from pipeline.spec.layout import Box, _first_overlaps


def test_suggestions_for_small_and_large_sets() -> None:
    assert did_you_mean("hal", ["hall", "gallery"]) == " (did you mean 'hall'?)"
    assert did_you_mean("xyz", ["hall", "gallery"]) == ""
    many = Suggestions([f"artifact-{i}" for i in range(5000)] + ["taotie-mask"])
    assert many("artifact-4999x") == " (did you mean 'artifact-4999'?)"
    assert many("taotei-mask") == " (did you mean 'taotie-mask'?)"
    assert many("zzz") == ""


boxes = st.lists(st.tuples(st.integers(-20, 20), st.integers(-20, 20), st.integers(1, 8), st.integers(1, 8)),
                 max_size=25)


@settings(max_examples=200, deadline=None)
@given(boxes)
def test_overlap_sweep_matches_every_pair(specs: list[tuple[int, int, int, int]]) -> None:
    placed: list[tuple[int, Any, Box]] = [
        (index, f"artifact-{index}", Box((x / 2, z / 2), (x / 2 + w / 2, z / 2 + d / 2)))
        for index, (x, z, w, d) in enumerate(specs)]
    expected = []
    for index, _, box in placed:
        earlier = [other for other, _, other_box in placed if other < index and box.overlaps(other_box)]
        if earlier:
            expected.append((index, earlier[0], f"artifact-{earlier[0]}"))
    assert _first_overlaps(placed) == expected
