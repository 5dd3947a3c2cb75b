"""The clocks the tour server runs on: the system clock really waits; the manual one moves only when told."""

from __future__ import annotations

import asyncio
import time

from viewer.tours.clock import ManualClock, SystemClock


async def test_the_system_clock_sleeps_for_real() -> None:
    clock = SystemClock()
    started = time.monotonic()
    await clock.sleep(0.05)
    assert time.monotonic() - started >= 0.045
    assert abs(clock.time() - time.time()) < 1 and abs(clock.monotonic() - time.monotonic()) < 1


async def test_a_manual_clock_wakes_sleepers_exactly_when_their_time_has_come() -> None:
    clock = ManualClock(wall=1_000.0)
    woken: list[str] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woken.append(name)

    tasks = [asyncio.create_task(sleeper(name, seconds)) for name, seconds in (("b", 2.0), ("a", 1.0), ("c", 0.5))]
    await asyncio.sleep(0)
    await clock.advance(0.49)
    assert woken == []
    await clock.advance(0.01)
    assert woken == ["c"]
    await clock.advance(1.5)  # both due: woken in deadline order
    assert woken == ["c", "a", "b"]
    assert clock.time() == 1_002.0
    await asyncio.gather(*tasks)


async def test_a_manual_clock_does_not_block_on_a_zero_or_sub_second_sleep_it_was_not_told_about() -> None:
    clock = ManualClock()
    await asyncio.wait_for(clock.sleep(0), 1)  # no advance needed
    pending = asyncio.create_task(clock.sleep(0.5))
    await asyncio.sleep(0.01)
    assert not pending.done()  # a real half second is not the clock's half second
    await clock.advance(0.5)
    await asyncio.wait_for(pending, 1)
