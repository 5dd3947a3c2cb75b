"""A big text model's second half parsed in a forked process (pipeline.forked_half): its answer, its errors, and
this process taking the half over when the child dies or none can be forked."""

from __future__ import annotations

import os

import numpy as np
import pytest

from pipeline import forked_half
from pipeline.forked_half import ForkedHalf, received_array, received_whole, send_array, send_whole


def where_parsed() -> np.ndarray:
    return np.array([os.getpid(), 7, 8], dtype=np.int64)


def test_the_half_is_parsed_in_another_process_and_comes_back_as_it_was() -> None:
    with ForkedHalf(where_parsed, send_array, received_array) as half:
        answer = half.result()
    assert answer is not None and answer[0] != os.getpid() and answer[1:].tolist() == [7, 8]
    records = np.zeros(3, dtype=[("x", "<f4"), ("n", "u1"), ("i", "<u4", (3,))])
    records["x"], records["n"], records["i"] = [1.5, 2.5, 3.5], 3, [[0, 1, 2], [2, 1, 3], [4, 5, 6]]
    with ForkedHalf(lambda: records, send_array, received_array) as half:
        structured = half.result()
    assert structured is not None and structured.dtype == records.dtype and structured.tobytes() == records.tobytes()
    with ForkedHalf(lambda: None, send_whole, received_whole) as half:
        assert half.result() is None


def test_the_childs_error_is_raised_here() -> None:
    def fails() -> None:
        raise ValueError("'1.5' is not a number")

    with ForkedHalf(fails, send_whole, received_whole) as half, pytest.raises(ValueError, match="is not a number"):
        half.result()


def test_a_child_that_dies_or_cannot_be_forked_leaves_its_half_to_this_process(
        monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as dying:
        dying.setattr(forked_half, "_in_child", lambda *args: os._exit(3))
        with ForkedHalf(where_parsed, send_array, received_array) as half:
            answer = half.result()
    assert answer is not None and answer[0] == os.getpid()

    def no_more_processes() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_more_processes)
    with ForkedHalf(where_parsed, send_array, received_array) as half:
        answer = half.result()
    assert answer is not None and answer[0] == os.getpid()
