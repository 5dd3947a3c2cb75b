"""`vitrina tour-server` runs on asyncio's own loop, and on uvloop when told to and it is installed."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.viewer.tours.conftest import SECRET, ServerProcess, write_site
from viewer.tours import loop


def started_on(tmp_path: Path) -> str:
    """Start a real tour-server process, and read from its log which event loop it said it runs on."""
    site = write_site(tmp_path / "site")
    secret_file = tmp_path / "secret"
    secret_file.write_bytes(SECRET)
    log = tmp_path / "tours.log"
    server = ServerProcess(site, secret_file, log=log)
    try:
        deadline = time.monotonic() + 10
        while "event loop " not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        return log.read_text().split("event loop ", 1)[1].split()[0]
    finally:
        server.stop()


def test_the_tour_server_runs_on_asyncio_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(loop.LOOP_ENV, raising=False)
    assert started_on(tmp_path) == "asyncio"


def test_uvloop_is_one_variable_away(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("uvloop")  # in the dev extras, so CI runs this
    monkeypatch.setenv(loop.LOOP_ENV, "uvloop")
    assert started_on(tmp_path) == "uvloop"


def test_without_uvloop_run_falls_back_to_asyncio(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setenv(loop.LOOP_ENV, "uvloop")
    monkeypatch.setitem(sys.modules, "uvloop", None)  # as on Windows, where it has no build

    async def which() -> type[asyncio.AbstractEventLoop]:
        return type(asyncio.get_running_loop())

    assert loop.name() == "asyncio"
    assert loop.run(which()).__module__.startswith("asyncio")
