"""RedisStore's health report and failure accounting, which need no Redis server to check (found untested by the
sampled mutation run, docs/benchmarks.md)."""

from __future__ import annotations

import socket

import pytest

from viewer.tours.store import RedisStore, StoreUnavailable


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_redis_store_reports_itself_and_counts_failures_by_operation() -> None:
    store = RedisStore(f"redis://127.0.0.1:{_closed_port()}/0", "test-origin")
    try:
        assert store.health() == {"backend": "redis", "up": True, "pose_subscriptions": 0,
                                  "pose_subscriptions_down": 0, "resubscribes": 0, "reseeds": 0, "reconnects": 0,
                                  "poses_unpublished": 0, "failures": {}}
        with pytest.raises(StoreUnavailable, match="^redis ping failed: "):
            await store.ping()
        health = store.health()
        assert health["up"] is False and health["failures"] == {"ping": 1}
    finally:
        await store.close()
