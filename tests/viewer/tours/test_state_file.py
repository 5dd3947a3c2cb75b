"""Without Redis, tours live in a SQLite state file: a tour server killed and started again resumes them exactly."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.viewer.tours.conftest import REPO_ROOT, SECRET, Client, ServerProcess, fill_tour, write_site
from viewer.tours.session import TourInfo, TourState
from viewer.tours.store import SNAPSHOT_EVERY, MemoryStore, StateFile


def event_seqs(*clients: Client) -> list[int]:
    return [m["seq"] for client in clients for m in client.seen if m["type"] == "event"]


@pytest.fixture
def paths(tmp_path: Path) -> tuple[Path, Path, Path]:
    secret_file = tmp_path / "secret"
    secret_file.write_bytes(SECRET)
    return write_site(tmp_path / "site"), secret_file, tmp_path / "state" / "tours.sqlite3"


async def test_a_killed_server_resumes_its_tours_exactly(paths: tuple[Path, Path, Path]) -> None:
    site, secret_file, state = paths
    first = ServerProcess(site, secret_file, "--state", str(state))
    guide = await first.handle.guide()
    visitor = await first.handle.visitor()
    await guide.send(type="start")
    await guide.send(type="advance", **{"from": 0, "to": 2})
    await guide.send(type="gather", position=[1, 0, 2], yaw=90, room="hall")
    await visitor.send(type="hand", raised=True)
    await guide.expect("event", kind="hand_raised")
    await guide.send(type="sync")
    before = await guide.expect("snapshot")
    first.stop()  # SIGKILL: nothing is flushed on the way out
    assert await guide.closed() == 1006

    second = ServerProcess(site, secret_file, "--state", str(state))
    try:
        back = await second.handle.join({"resume": {"token": guide.welcome["resume_token"], "seq": before["seq"]}})
        assert back.welcome["member"] == guide.welcome["member"] and back.welcome["resumed"]
        assert back.welcome["replay"]  # the event log came back too, not only a snapshot
        # Replayed: both members went away with the old process, and the guide is back; no gap, no duplicate.
        replayed = [await back.expect("event") for _ in range(3)]
        assert [(e["kind"], e["member"]) for e in replayed] == [
            ("member_away", guide.welcome["member"]), ("member_away", visitor.welcome["member"]),
            ("member_back", guide.welcome["member"])]
        seqs = event_seqs(guide, back)
        assert seqs == list(range(seqs[0], seqs[-1] + 1)) and seqs[-1] == before["seq"] + 3
        await back.send(type="sync")
        after = await back.expect("snapshot")
        assert after["seq"] == before["seq"] + 3 and after["tour"] == before["tour"]  # stop, gather, lead
        hands = {m["id"]: (m["hand"], m["online"]) for m in after["members"]}
        assert hands == {guide.welcome["member"]: (False, True), visitor.welcome["member"]: (True, False)}
        # The visitor resumes too, and the guide leads on from the same stop.
        again = await second.handle.join({"resume": {"token": visitor.welcome["resume_token"], "seq": 0}})
        assert again.welcome["resumed"] and again.welcome["member"] == visitor.welcome["member"]
        await back.send(type="advance", **{"from": 2, "to": 1})
        changed = await again.expect("event", kind="stop_changed", stop=1)  # after the replayed 0 → 2
        assert (changed["from"], changed["stop"], changed["by"]) == (2, 1, guide.welcome["member"])
    finally:
        second.stop()


async def test_a_second_process_may_not_share_the_state_file(paths: tuple[Path, Path, Path]) -> None:
    site, secret_file, state = paths
    first = ServerProcess(site, secret_file, "--state", str(state))
    try:
        second = subprocess.run(
            [sys.executable, "-m", "pipeline.cli", "tour-server", "--site", str(site), "--port", "0",
             "--secret-file", str(secret_file), "--state", str(state)],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=30)
        assert second.returncode == 2
        assert f"{state} is used by another tour server" in second.stderr
        assert (await first.handle.guide()).welcome["role"] == "guide"  # the first one is unharmed
    finally:
        first.stop()


async def test_the_state_file_keeps_a_snapshot_and_a_bounded_log(tmp_path: Path) -> None:
    info = TourInfo("ex", "t", 3)
    log_length = 2 * SNAPSHOT_EVERY + 10
    store = MemoryStore(log_length, StateFile(tmp_path / "tours.sqlite3", log_length))
    state = await store.load(info)
    await fill_tour(store, state, 3 * SNAPSHOT_EVERY + 20)  # past several snapshots, ending between two
    await store.close()
    assert (tmp_path / "tours.sqlite3").stat().st_mode & 0o777 == 0o600  # visitors' names are in it
    reopened = MemoryStore(log_length, StateFile(tmp_path / "tours.sqlite3", log_length))
    loaded = await reopened.load(info)
    assert loaded.seq == state.seq and loaded.snapshot() == state.snapshot()
    assert loaded.snapshot() != TourState(info).snapshot()
    assert await reopened.events_after(info, state.seq - log_length + SNAPSHOT_EVERY, state.seq) is not None
    assert await reopened.events_after(info, 0, state.seq) is None  # trimmed: a resume this old gets a snapshot
    await reopened.close()


def test_a_preview_keeps_its_secret_and_state_beside_the_site(tmp_path: Path) -> None:
    from viewer.tours.server import preview_persistence

    secret, state = preview_persistence(tmp_path / "site")
    assert state == tmp_path / "site.tours.sqlite3"
    assert (tmp_path / "site.tour-secret").stat().st_mode & 0o777 == 0o600 and len(secret) == 64
    assert preview_persistence(tmp_path / "site") == (secret, state)  # the next run: same links, same tours
    assert preview_persistence(tmp_path / "other")[0] != secret


def test_the_default_state_file_is_per_site_in_the_user_data_dir(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from viewer.tours.server import default_state_path

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    first = default_state_path(tmp_path / "museum" / "site")
    assert first.parent == tmp_path / "data" / "vitrina" / "tours" and first.name.startswith("site-")
    assert default_state_path(tmp_path / "other" / "site") != first  # two sites never share tours
    assert default_state_path(tmp_path / "museum" / "site") == first  # the next start finds its tours


class FullDisk:
    """Stands in for the state file's SQLite connection: inserts fail while `full` is set."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db, self.full = db, False

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        return self.db.execute(sql, *args)

    def executemany(self, sql: str, rows: Any) -> sqlite3.Cursor:
        if self.full:
            raise sqlite3.OperationalError("database or disk is full")
        return self.db.executemany(sql, rows)

    def close(self) -> None:
        self.db.close()


async def test_a_full_disk_does_not_stop_the_tour_and_the_file_catches_up(tmp_path: Path) -> None:
    info = TourInfo("ex", "t", 3)
    state_file = StateFile(tmp_path / "tours.sqlite3")
    disk = FullDisk(state_file._db)
    state_file._db = disk  # type: ignore[assignment]
    store = MemoryStore(state_file=state_file)
    state = await store.load(info)
    await fill_tour(store, state, 5)
    disk.full = True
    await fill_tour(store, state, 8)  # m0…m7 again: five are known (no events), three join, with hands
    health = store.health()
    assert health["up"] is False and health["failures"]["state_file"] > 0
    lost = state.seq
    disk.full = False
    await fill_tour(store, state, 9)  # m8 joins: the first write after the outage
    assert store.health()["up"] is True
    await store.close()
    reopened = MemoryStore(state_file=StateFile(tmp_path / "tours.sqlite3"))
    loaded = await reopened.load(info)
    assert loaded.seq == state.seq and loaded.snapshot() == state.snapshot()  # the events the disk refused included
    assert await reopened.events_after(info, lost, state.seq) is not None
    assert await reopened.events_after(info, lost - 1, state.seq) is None  # the gap: a snapshot instead
    await reopened.close()
