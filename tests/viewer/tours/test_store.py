"""Pure parts of the store: the retry backoff and when a snapshot is due."""

from __future__ import annotations

import pytest

from viewer.tours.session import TourInfo, TourState
from viewer.tours.store import RETRY_MAX_S, SNAPSHOT_EVERY, crosses_snapshot, retry_delay


@pytest.mark.parametrize(("attempt", "delay"), [(1, 0.1), (2, 0.2), (3, 0.4), (5, 1.6), (6, RETRY_MAX_S),
                                                (60, RETRY_MAX_S)])
def test_retries_back_off_by_doubling_up_to_the_cap(attempt: int, delay: float) -> None:
    assert retry_delay(attempt) == pytest.approx(delay)


@pytest.mark.parametrize(("seq", "count", "due"), [
    (0, 1, True),  # the first append stores a snapshot, so a state file or Redis always has one
    (1, 1, False),
    (SNAPSHOT_EVERY - 2, 1, False),
    (SNAPSHOT_EVERY - 1, 1, True),  # reaches the multiple
    (SNAPSHOT_EVERY - 1, 3, True),  # crosses it in one batch
    (SNAPSHOT_EVERY, 1, False),
    (2 * SNAPSHOT_EVERY - 1, 1, True),
])
def test_a_snapshot_is_due_when_an_append_reaches_a_multiple(seq: int, count: int, due: bool) -> None:
    state = TourState(TourInfo("ex", "t", 3), seq=seq)
    assert crosses_snapshot(state, [{"seq": seq + i + 1} for i in range(count)]) is due
