"""The tour server's sense of time (monotonic, wall and sleeping), injectable so tests drive rates and grace exactly."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from typing import Protocol


class SystemClock:
    """The real clocks: what the server uses outside tests."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class ManualClock:
    """A clock that moves only when a test calls `advance`; sleepers wake when their deadline is passed."""

    def __init__(self, wall: float = 1_800_000_000.0) -> None:  # pragma: no mutate (any fixed start instant serves)
        self._monotonic = 1000.0
        self._wall = wall
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def monotonic(self) -> float:
        return self._monotonic

    def time(self) -> float:
        return self._wall

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._monotonic + seconds, next(self._order), waiter))
        await waiter

    async def advance(self, seconds: float) -> None:
        """Move both clocks forward, wake every sleeper that is due, and let them run."""
        self._monotonic += seconds
        self._wall += seconds
        while self._sleepers and self._sleepers[0][0] <= self._monotonic:
            _, _, waiter = heapq.heappop(self._sleepers)
            if not waiter.done():
                waiter.set_result(None)
        for _ in range(5):  # woken tasks may commit, which takes a few loop turns
            await asyncio.sleep(0)


class Clock(Protocol):
    """What the server asks of a clock."""

    def monotonic(self) -> float: ...

    def time(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...
