"""column_range: the same bounds as numpy's axis-0 reductions, in the array's own dtype."""

from __future__ import annotations

import numpy as np

from pipeline.columns import column_range, joint_range


def test_bounds_match_numpy_for_floats_ints_and_single_columns() -> None:
    rng = np.random.default_rng(3)
    for rows in (rng.normal(size=(1000, 3)).astype(np.float32), rng.integers(-500, 500, size=(77, 4)).astype(np.int16),
                 rng.random((5, 1)), rng.random(9)):
        low, high = column_range(rows)
        assert np.array_equal(low, rows.min(axis=0)) and np.array_equal(high, rows.max(axis=0))
        assert low.dtype == rows.dtype and high.dtype == rows.dtype


def test_a_nan_shows_in_its_column_only() -> None:
    rows = np.array([[0.0, 1.0], [np.nan, 2.0], [3.0, -1.0]], dtype=np.float32)
    low, high = column_range(rows)
    assert np.isnan(low[0]) and np.isnan(high[0])
    assert (low[1], high[1]) == (-1.0, 2.0)


def test_joint_range_spans_every_array_in_float64() -> None:
    first = np.array([[0.0, 5.0, -1.0], [2.0, 1.0, 0.0]], dtype=np.float32)
    second = np.array([[-3.0, 2.0, 4.0]], dtype=np.float32)
    low, high = joint_range([first, second])
    assert low.dtype == np.float64 and high.dtype == np.float64
    assert low.tolist() == [-3.0, 1.0, -1.0] and high.tolist() == [2.0, 5.0, 4.0]
