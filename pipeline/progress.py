"""Progress hooks: a long step names what it does and how far it is; the build decides where that is shown."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol


class Task(Protocol):
    """One long step in progress: `advance` adds finished work (in the units its total was given in)."""

    def advance(self, amount: float = 1.0) -> None: ...

    def describe(self, label: str) -> None:
        """Say what the step does now (a ladder's "simplifying level 2/5"), shown at once."""


class Reporter(Protocol):
    """Where tasks go: report.Progress in a build."""

    def task(self, label: str, total: float) -> Task: ...


class _Silent:
    def advance(self, amount: float = 1.0) -> None:
        pass

    def describe(self, label: str) -> None:
        pass


_REPORTER: ContextVar[Reporter | None] = ContextVar("progress_reporter", default=None)


@contextmanager
def reporting_to(reporter: Reporter) -> Iterator[None]:
    """Within this block, `task` reports to `reporter`."""
    token = _REPORTER.set(reporter)
    try:
        yield
    finally:
        _REPORTER.reset(token)


@contextmanager
def task(label: str, total: float, worth_showing: bool = True) -> Iterator[Task]:
    """A long step, e.g. task("quantizing 4.1M triangles", total=4_100_000); silent outside a build, and when
    not worth_showing (small inputs, whose lines would only be noise)."""
    reporter = _REPORTER.get()
    if reporter is None or not worth_showing:
        yield _Silent()
        return
    yield reporter.task(label, total)


def count(n: float) -> str:
    """A count for a label: 950, 250k, 4.1M."""
    if n >= 1e6:
        return f"{n / 1e6:.1f}M"
    if n >= 1e4:
        return f"{n / 1e3:.0f}k"
    return f"{n:,.0f}"
