"""Tour server behaviour that the sampled mutation run (docs/benchmarks.md, mutants) found untested: refusing an
unknown tour, the reason given to a visitor who leaves, dropped poses counted, idle connect buckets forgotten."""

from __future__ import annotations

import asyncio

import pytest

from tests.viewer.tours.conftest import TourServerHandle, guide_token
from viewer.tours import protocol as p
from viewer.tours.server import Bucket


async def test_a_token_for_a_tour_the_site_lacks_is_refused_by_name(tour_server: TourServerHandle) -> None:
    client = await tour_server.connect()
    await client.send(type="hello", v=1, token=guide_token("no-such-tour"), name="Mei", device="vr")
    error = await client.expect("error")
    assert (error["code"], error["message"]) == ("unknown_tour", "the site has no such tour")
    assert await client.closed() == p.CLOSE_UNKNOWN_TOUR


async def test_a_visitor_who_leaves_is_closed_normally_with_the_reason(tour_server: TourServerHandle) -> None:
    visitor = await tour_server.visitor()
    await visitor.send(type="leave")
    assert await visitor.closed() == p.CLOSE_NORMAL
    assert visitor.ws.close_reason == "left the tour"


async def test_a_pose_overtaken_before_it_went_out_is_counted_as_dropped(tour_server: TourServerHandle) -> None:
    guide = await tour_server.guide()
    assert tour_server.server is not None
    hub = next(iter(tour_server.server.hubs.values()))
    counters = tour_server.server.metrics.counters
    before = counters["poses_dropped"]
    hub.offer_pose('{"type":"pose","n":1}', "g")
    hub.offer_pose('{"type":"pose","n":2}', "g")
    hub.offer_pose('{"type":"pose","n":3}', "g")
    assert counters["poses_dropped"] == before + 2
    assert hub.pending_pose == ('{"type":"pose","n":3}', "g")
    await asyncio.sleep(0)
    assert hub.pending_pose is None
    await guide.close()


@pytest.mark.manual_clock
async def test_past_4096_sources_the_idle_connect_buckets_are_forgotten(tour_server: TourServerHandle) -> None:
    server, clock = tour_server.server, tour_server.clock
    assert server is not None and clock is not None
    limits = server.limits
    for index in range(4097):
        server.connect_buckets[f"10.0.{index // 256}.{index % 256}"] = Bucket(
            limits.source_connects_per_s, limits.source_connects_burst, clock)
    await clock.advance(limits.source_connects_burst / limits.source_connects_per_s + 1)
    server.connect_buckets["10.9.9.9"] = Bucket(limits.source_connects_per_s, limits.source_connects_burst, clock)
    assert server._connect_wait("192.0.2.1") == 0.0
    assert set(server.connect_buckets) == {"10.9.9.9", "192.0.2.1"}, "only the recently used buckets stay"


class _ReconnectingStore:
    """Stands in for a RedisStore that has reconnected twice: check_store must claim this process's members again."""

    def __init__(self) -> None:
        self.reclaimed: list[list[str]] = []

    async def head_seq(self, info: object) -> int | None:
        return None

    async def reseed(self, state: object) -> bool:
        return False

    def health(self) -> dict[str, int]:
        return {"reconnects": 2}

    async def reclaim(self, info: object, member_ids: list[str]) -> None:
        self.reclaimed.append(member_ids)


async def test_after_a_store_reconnect_the_hub_claims_its_members_again_once(tour_server: TourServerHandle) -> None:
    guide = await tour_server.guide()
    server = tour_server.server
    assert server is not None
    hub = next(iter(server.hubs.values()))
    real_store, fake = server.store, _ReconnectingStore()
    server.store = fake  # type: ignore[assignment]
    try:
        await hub.check_store()
        await hub.check_store()
    finally:
        server.store = real_store
    assert len(hub.peers) == 1 and fake.reclaimed == [list(hub.peers)], "claimed again once, not on every check"
    assert hub.reconnects_seen == 2
    await guide.close()
