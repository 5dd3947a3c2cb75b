"""What the tour state file costs: CPU per published event with and without SQLite, and the time to load a tour.

Measured in process CPU time (not wall time), so a busy shared machine changes the result little.
`.venv/bin/python -m tests.benchmarks.bench_tour_store [--members 2000]`.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from viewer.tours import protocol as p
from viewer.tours.session import Member, TourInfo, TourState
from viewer.tours.store import MemoryStore, StateFile

INFO = TourInfo("bench", "store", 10)


async def publish_tour(store: MemoryStore, members: int) -> tuple[TourState, int]:
    """`members` joins, a raised hand for each, and a stop change every 10 members: (final state, events)."""
    state = await store.load(INFO)
    published = 0

    async def publish(drafts: list[dict[str, Any]]) -> None:
        nonlocal published
        for draft in drafts:  # one event per append, as commands arrive
            events = state.number([draft], 0)
            await store.append(state, events)
            state.apply(events[0])
            published += 1

    await publish([{"kind": "tour_started", "by": "guide", "stop": 0, "start_at": 0}])
    for index in range(members):
        member = Member(f"m{index}", f"V{index}", "visitor", "phone")
        await publish(state.decide_join(member, room_cap=members))
        await publish(state.decide(member.id, p.Hand(True), 0).events)
        if index % 10 == 9:
            stop = state.stop or 0
            await publish([{"kind": "stop_changed", "by": "guide", "from": stop, "stop": (stop + 1) % INFO.stops,
                            "start_at": 0}])
    return state, published


def measure(members: int) -> list[tuple[str, float]]:
    results = []
    with tempfile.TemporaryDirectory(prefix="vitrina-store-bench-") as tmp:
        for name, state_file in (("memory", None), ("sqlite", StateFile(Path(tmp) / "tours.sqlite3"))):
            store = MemoryStore(state_file=state_file)
            started = time.process_time()
            state, published = asyncio.run(publish_tour(store, members))
            results.append((f"{name}: CPU per published event (µs)", (time.process_time() - started) / published * 1e6))
            asyncio.run(store.close())
        started = time.process_time()
        reopened = MemoryStore(state_file=StateFile(Path(tmp) / "tours.sqlite3"))
        loaded = asyncio.run(reopened.load(INFO))
        assert loaded.snapshot() == state.snapshot()
        results.append((f"sqlite: load a tour of {members} members after a restart (ms)",
                        (time.process_time() - started) * 1e3))
        results.append(("sqlite: file size (KB)", (Path(tmp) / "tours.sqlite3").stat().st_size / 1024))
        asyncio.run(reopened.close())
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_tour_store", description=__doc__)
    parser.add_argument("--members", type=int, default=2000)
    args = parser.parse_args(argv)
    for label, value in measure(args.members):
        print(f"{label}: {value:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
