"""RedisStore paths that the sampled mutation run (docs/benchmarks.md, mutants) still found no test for: the head
seq and the reseed after Redis lost a tour (against a real redis-server), and the failure accounting and log line
an operator reads when Redis is away."""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

import pytest

from viewer.tours.session import TourInfo, TourState
from viewer.tours.store import RedisStore, retry_delay


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _until(condition: object, seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if callable(condition) and condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("timed out")


async def test_a_lost_tour_is_reseeded_from_the_replica_only_when_redis_is_behind(redis_url: str) -> None:
    store = RedisStore(redis_url, "test-origin")
    info = TourInfo("ex", "t", 3)
    try:
        assert await store.head_seq(info) is None, "an empty Redis holds no state for the tour"
        assert await store.reseed(TourState(info, seq=5)) is True
        assert await store.head_seq(info) == 5
        assert (await store.load(info)).seq == 5
        assert await store.reseed(TourState(info, seq=3)) is False, "Redis holds a newer state: keep it"
        assert await store.head_seq(info) == 5
        assert store.health()["reseeds"] == 1
    finally:
        await store.close()


async def test_following_a_tour_while_redis_is_away_counts_xread_failures() -> None:
    store = RedisStore(f"redis://127.0.0.1:{_closed_port()}/0", "test-origin")
    received: list[dict[str, Any]] = []

    async def sink(events: list[dict[str, Any]]) -> None:
        received.extend(events)

    follower = asyncio.create_task(store.follow(TourInfo("ex", "t", 3), lambda: 0, sink))
    try:
        await _until(lambda: store.failures)
        assert set(store.health()["failures"]) == {"xread"}
        assert not received
    finally:
        follower.cancel()
        await asyncio.gather(follower, return_exceptions=True)
        await store.close()


async def test_a_lost_pose_subscription_logs_when_it_retries(caplog: pytest.LogCaptureFixture) -> None:
    store = RedisStore(f"redis://127.0.0.1:{_closed_port()}/0", "test-origin")
    caplog.set_level(logging.WARNING, logger="vitrina.tours.store")
    watcher = asyncio.create_task(store.watch_poses(TourInfo("ex", "t", 3), lambda key, text: None))
    try:
        await _until(lambda: any("pose subscription" in r.getMessage() for r in caplog.records))
        [line] = [r.getMessage() for r in caplog.records if "pose subscription" in r.getMessage()]
        assert line.startswith("pose subscription ")
        assert line.endswith(f"; retry 1 in {retry_delay(1):.1f} s"), line  # operators read the wait in the log
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
        await store.close()
