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


async def test_while_redis_is_down_a_pose_publish_is_tried_once_a_second() -> None:
    from tests.viewer.tours.conftest import free_port
    from viewer.tours.store import DOWN_PUBLISH_INTERVAL_S, RedisStore

    now = [100.0]
    store = RedisStore(f"redis://127.0.0.1:{free_port()}/0", origin="test", clock=lambda: now[0])  # nobody there
    info = TourInfo("ex", "t", 3)
    await store.publish_pose(info, "{}")  # tried: fails, counted, dropped (never raised to the guide's handler)
    assert (store.up, store.failures["publish_pose"], store.poses_unpublished) == (False, 1, 1)
    now[0] = 100.0 + DOWN_PUBLISH_INTERVAL_S - 0.001
    await store.publish_pose(info, "{}")  # too soon: dropped without waiting on Redis
    assert (store.failures["publish_pose"], store.poses_unpublished) == (1, 2)
    now[0] = 100.0 + DOWN_PUBLISH_INTERVAL_S
    await store.publish_pose(info, "{}")  # a second after the last try: tried again
    assert (store.failures["publish_pose"], store.poses_unpublished) == (2, 3)
    assert store.health()["up"] is False
    await store.close()
