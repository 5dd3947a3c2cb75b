"""The event loop the tour server runs on: uvloop (asyncio on libuv) where it is installed, else asyncio's own."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

Result = TypeVar("Result")

# Set to "asyncio" to run on asyncio's own loop even where uvloop is installed (to compare, or to rule uvloop out).
LOOP_ENV = "VITRINA_TOUR_LOOP"


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop factory, or None (asyncio's default loop) where uvloop is not installed, as on Windows, which it
    does not support. Fanning a pose out to a thousand visitors is a thousand socket writes: uvloop's transports do
    them in C (docs/benchmarks.md, "Live tours under attack")."""
    if os.environ.get(LOOP_ENV, "").strip().lower() == "asyncio":
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
