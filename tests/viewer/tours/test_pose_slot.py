"""A slow connection keeps one pose slot, not a queue: while its buffer is full, only the newest pose survives."""

from __future__ import annotations

import asyncio
from typing import Any

from viewer.tours.clock import ManualClock
from viewer.tours.server import POSE_BACKLOG_BYTES, Bucket, Metrics, Peer

BUCKETS = [Bucket(1.0, 1.0, ManualClock()) for _ in range(4)]


class SlowTransport:
    def __init__(self) -> None:
        self.buffered = POSE_BACKLOG_BYTES * 4  # the client stopped reading

    def get_write_buffer_size(self) -> int:
        return self.buffered


class SlowConnection:
    """Stands in for a ServerConnection whose peer reads nothing until `release` is set."""

    def __init__(self) -> None:
        self.transport = SlowTransport()
        self.sent: list[str] = []
        self.release = asyncio.Event()

    async def send(self, text: str) -> None:
        self.sent.append(text)
        await self.release.wait()


async def test_a_slow_client_gets_the_newest_pose_and_nothing_piles_up() -> None:
    connection = SlowConnection()
    peer = Peer(connection, *BUCKETS)  # type: ignore[arg-type]
    metrics = Metrics()
    for index in range(100):
        peer.send_pose(f"pose {index}", metrics)
        await asyncio.sleep(0)
    assert connection.sent == ["pose 0"]  # the drainer is stuck sending the first one
    assert peer.pose_slot == "pose 99"  # one slot, holding the newest
    connection.release.set()
    for _ in range(10):
        await asyncio.sleep(0)
    assert connection.sent == ["pose 0", "pose 99"]
    assert peer.pose_slot is None and peer.pose_drainer is None
    assert metrics.counters["poses_dropped"] == 98 and metrics.counters["poses_out"] == 2


async def test_a_fast_client_gets_every_pose_written_at_once() -> None:
    written: list[Any] = []

    class FastPeer(Peer):
        def write(self, text: str) -> None:
            written.append(text)

    connection = SlowConnection()
    connection.transport.buffered = 0
    peer = FastPeer(connection, *BUCKETS)  # type: ignore[arg-type]
    metrics = Metrics()
    for index in range(5):
        peer.send_pose(f"pose {index}", metrics)
    assert written == [f"pose {i}" for i in range(5)] and peer.pose_drainer is None
    assert metrics.counters["poses_out"] == 5 and metrics.counters["poses_dropped"] == 0
