"""Source facts: digests remembered by stat (never stale after an edit), facts by content, damaged entries as misses."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from pipeline import source_facts
from pipeline.source_facts import facts_dir, file_digest, remembered_digest, remembered_fact, stat_key


def _later() -> int:
    """A clock 10 s ahead, so that a file written just now counts as settled (see source_facts.RACY_NS)."""
    return time.time_ns() + 10_000_000_000


def _counting_digests(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    reads: list[Path] = []
    real = source_facts.file_digest

    def counted(path: Path) -> str:
        reads.append(path)
        return real(path)

    monkeypatch.setattr(source_facts, "file_digest", counted)
    return reads


def test_an_unchanged_file_is_hashed_once_across_builds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reads = _counting_digests(monkeypatch)
    path = tmp_path / "scan.obj"
    path.write_bytes(b"v 0 0 0\n" * 1000)
    digest = remembered_digest(path, clock=_later)
    assert remembered_digest(path, clock=_later) == digest == file_digest(path)
    assert reads == [path.resolve()]  # the second call read nothing


def test_an_edit_that_keeps_size_and_restores_mtime_is_hashed_again(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # `touch -d` (or a tool that preserves times) can put size and mtime back; the ctime it cannot.
    reads = _counting_digests(monkeypatch)
    path = tmp_path / "scan.obj"
    path.write_bytes(b"v 0 0 0\n")
    before = path.stat()
    first = remembered_digest(path, clock=_later)
    path.write_bytes(b"v 9 9 9\n")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    second = remembered_digest(path, clock=_later)
    assert second != first and len(reads) == 2


def test_a_file_changed_too_recently_to_tell_is_not_remembered(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    reads = _counting_digests(monkeypatch)
    path = tmp_path / "scan.obj"
    path.write_bytes(b"v 0 0 0\n")
    remembered_digest(path)
    remembered_digest(path)  # written just now: a same-tick edit would not show in its stat
    assert len(reads) == 2
    remembered_digest(path, clock=_later)
    remembered_digest(path, clock=_later)
    assert len(reads) == 3


@pytest.mark.parametrize("damage", [b"", b"{not json", b'{"format": 1}', b"[1, 2]",
                                    b'{"format": 1, "path": "%s", "stat": %s, "sha256": "0000"}'])
def test_a_remembered_digest_that_does_not_parse_is_a_miss(damage: bytes, tmp_path: Path) -> None:
    path = tmp_path / "scan.obj"
    path.write_bytes(b"v 0 0 0\n")
    remembered_digest(path, clock=_later)
    (entry,) = (facts_dir() / "stat").rglob("*.json")
    entry.write_bytes(damage.replace(b"%s", str(path.resolve()).encode(), 1).replace(
        b"%s", json.dumps(stat_key(path.stat())).encode(), 1))
    assert remembered_digest(path, clock=_later) == file_digest(path)


def test_a_remembered_fact_that_does_not_parse_is_computed_again(tmp_path: Path) -> None:
    path = tmp_path / "scan.obj"
    path.write_bytes(b"v 0 0 0\n")
    computed: list[int] = []

    def compute() -> int:
        computed.append(1)
        return 7

    def parse(stored: object) -> int:
        if not isinstance(stored, int):
            raise TypeError(stored)
        return stored

    assert [remembered_fact(path, "count", compute, parse) for _ in range(3)] == [7, 7, 7]
    assert len(computed) == 1
    (entry,) = (facts_dir() / "content").rglob("*.json")
    entry.write_text('"seven"', encoding="utf-8")
    assert remembered_fact(path, "count", compute, parse) == 7 and len(computed) == 2
    path.write_bytes(b"v 1 1 1\n")  # other content: another fact
    assert remembered_fact(path, "count", compute, parse) == 7 and len(computed) == 3


def test_prune_drops_facts_unused_for_their_age_and_keeps_the_ones_in_use(tmp_path: Path) -> None:
    used, gone = tmp_path / "used.obj", tmp_path / "gone.obj"
    for path in (used, gone):
        path.write_bytes(path.name.encode() * 100)
        remembered_digest(path, clock=_later)
    entries = sorted((facts_dir() / "stat").glob("*/*.json"))
    assert len(entries) == 2
    old = time.time_ns() - source_facts.MAX_AGE_NS - 10**9
    for entry in entries:
        os.utime(entry, ns=(old, old))
    remembered_digest(used, clock=_later)  # a hit refreshes its entry
    assert source_facts.prune() == 1
    (kept,) = (facts_dir() / "stat").glob("*/*.json")
    assert json.loads(kept.read_bytes())["path"] == str(used.resolve())
    # Walked at most once a day: an entry that ages meanwhile waits for the next walk.
    os.utime(kept, ns=(old, old))
    assert source_facts.prune() == 0 and kept.exists()
    later = time.time_ns() + source_facts.PRUNE_EVERY_NS + 10**9
    assert source_facts.prune(clock=lambda: later) == 1 and not kept.exists()


def test_a_remembered_fact_in_use_is_refreshed(tmp_path: Path) -> None:
    path = tmp_path / "scan.ply"
    path.write_bytes(b"ply" * 100)
    remembered_fact(path, "measure", lambda: {"n": 1}, lambda value: value["n"])
    (entry,) = (facts_dir() / "content").glob("*/*.json")
    old = time.time_ns() - source_facts.MAX_AGE_NS - 10**9
    os.utime(entry, ns=(old, old))
    assert remembered_fact(path, "measure", lambda: {"n": 2}, lambda value: value["n"]) == 1
    assert time.time_ns() - entry.stat().st_mtime_ns < source_facts.MAX_AGE_NS


def test_recomputed_believes_no_remembered_digest_or_fact_and_corrects_them(tmp_path: Path) -> None:
    # A remembered entry can be wrong without looking damaged (a file system whose clock went back, a hand edit):
    # `build --no-cache` computes everything again, and what it finds replaces the entry.
    path = tmp_path / "scan.ply"
    path.write_bytes(b"ply" * 100)
    truth = remembered_digest(path, clock=_later)
    (entry,) = (facts_dir() / "stat").rglob("*.json")
    stale = json.loads(entry.read_bytes())
    stale["sha256"] = "0" * 64
    entry.write_text(json.dumps(stale), encoding="utf-8")
    assert remembered_digest(path, clock=_later) == "0" * 64  # believed: it is shaped right and the stat matches
    with source_facts.recomputed():
        assert remembered_digest(path, clock=_later) == truth
    assert remembered_digest(path, clock=_later) == truth  # the entry was rewritten

    assert remembered_fact(path, "count", lambda: 1, int) == 1
    with source_facts.recomputed():
        assert remembered_fact(path, "count", lambda: 2, int) == 2
    assert remembered_fact(path, "count", lambda: 3, int) == 2
