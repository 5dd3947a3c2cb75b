"""The event loop the tour server runs on: asyncio's own, or uvloop (asyncio on libuv) when asked for and installed."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

Result = TypeVar("Result")

# Set to "uvloop" to run on uvloop where it is installed (pip install vitrina[uvloop]; it has no Windows build).
LOOP_ENV = "VITRINA_TOUR_LOOP"


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop factory when VITRINA_TOUR_LOOP=uvloop and it is installed, else None (asyncio's own loop).

    Not the default, by measurement (docs/benchmarks.md, "Live tours under attack"): on uvloop a connection refused
    at accept costs about 50 µs of server CPU instead of 80, but filling one tour with 10,000 visitors took 15-17 s
    instead of 9.5-12.7 s, and fanning a pose out costs the same on both."""
    if os.environ.get(LOOP_ENV, "").strip().lower() != "uvloop":
        return None
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def name() -> str:
    """"uvloop" or "asyncio": what `run` will use (logged at start)."""
    return "asyncio" if loop_factory() is None else "uvloop"


def run(main: Coroutine[Any, Any, Result]) -> Result:
    """asyncio.run(main) on the loop loop_factory() gives."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main)
