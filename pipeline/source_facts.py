"""Facts about source files remembered across builds: content digests by stat, measures and references by digest.

Like ccache's and git's index, a file is identified without reading it by (size, mtime, ctime, inode, device), so a
warm build or `check` of an exhibit with a 1 GB scan reads none of it. Entries are JSON only, and any entry that does
not parse is a miss.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any


def file_digest(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


# ---- Facts about source files, remembered across builds --------------------------------------------------------

# Bump when what a remembered fact means changes (a reader of measure or references learns something new).
FACTS_FORMAT = 1

# A file changed this recently may change again within its file system's timestamp granularity (2 s on FAT) without
# its stat changing: its digest is not remembered until it is older (git's "racy clean" rule).
RACY_NS = 2_000_000_000


# False inside `recomputed()` (`vitrina build --no-cache`): every digest and fact is computed from the file again, and
# the entry rewritten, so that a designer who distrusts the cache gets a build that trusts nothing remembered.
_trust_remembered = True


@contextlib.contextmanager
def recomputed() -> Iterator[None]:
    """Within it, remembered digests and facts are not believed: each is computed again and its entry rewritten.
    A forked asset worker inherits the setting."""
    global _trust_remembered
    before, _trust_remembered = _trust_remembered, False
    try:
        yield
    finally:
        _trust_remembered = before


# A remembered fact unused for this long is dropped by `prune` (each use refreshes it): it only costs a hash again.
MAX_AGE_NS = 90 * 24 * 3600 * 1_000_000_000
# `prune` walks the facts at most this often, so that a warm build does not list thousands of files every time.
PRUNE_EVERY_NS = 24 * 3600 * 1_000_000_000


def facts_dir() -> Path:
    """Where remembered digests and measures live: in the default asset cache's folder, where prune never looks
    (it keeps `*.bin` entries in two-letter folders)."""
    from pipeline.cache import default_cache_dir

    return default_cache_dir() / "files"


def stat_key(stat: os.stat_result) -> list[int]:
    """What identifies one version of a file without reading it, as ccache and git's index do. The ctime is the
    part `touch -d` and a copy with preserved times cannot set back, so an edit that keeps size and mtime (or a file
    replaced by a rename, a new inode) never matches the remembered version."""
    return [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino, stat.st_dev]


def remembered_digest(path: Path, clock: Callable[[], int] = time.time_ns) -> str:
    """The sha256 of a file's bytes, read again only when its stat (size, mtime, ctime, inode, device) changed.

    A warm build of an exhibit with a 1 GB scan then reads none of it. An entry that does not parse, or that
    names another path or stat, is a miss; a file that changed while it was hashed, or too recently to tell
    (RACY_NS), is hashed but not remembered."""
    path = path.resolve()
    before = path.stat()
    entry = facts_dir() / "stat" / _name_key(str(path))
    if _trust_remembered:
        try:
            remembered = json.loads(entry.read_bytes())
            digest = remembered["sha256"]
            if (remembered["path"] == str(path) and remembered["stat"] == stat_key(before)
                    and remembered["format"] == FACTS_FORMAT and _is_digest(digest)):
                _touch(entry)
                return str(digest)
        except (OSError, ValueError, KeyError, TypeError):
            pass
    digest = file_digest(path)
    after = path.stat()
    settled = clock() - max(after.st_mtime_ns, after.st_ctime_ns) > RACY_NS
    if stat_key(after) == stat_key(before) and settled:
        _write_fact(entry, {"format": FACTS_FORMAT, "path": str(path), "stat": stat_key(after), "sha256": digest})
    return digest


def remembered_fact(path: Path, kind: str, compute: Callable[[], Any], parse: Callable[[Any], Any]) -> Any:
    """compute() for this file's content (a measure, the files it refers to), kept as JSON under its digest and kind.

    `parse` turns the stored JSON back into the value and raises ValueError, KeyError or TypeError on anything
    else: such an entry is a miss, computed and stored again. compute() must return JSON-able data."""
    digest = remembered_digest(path)
    entry = facts_dir() / "content" / _name_key(f"{digest}\0{kind}\0{FACTS_FORMAT}")
    if _trust_remembered:
        try:
            value = parse(json.loads(entry.read_bytes()))
            _touch(entry)
            return value
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            pass
    value = compute()
    _write_fact(entry, value)
    return parse(value)


def prune(clock: Callable[[], int] = time.time_ns) -> int:
    """Delete the remembered facts unused for MAX_AGE_NS (a file long gone, an old version of one); returns how
    many went. Walks them at most once per PRUNE_EVERY_NS, marked by the mtime of a `pruned` file."""
    root = facts_dir()
    marker = root / "pruned"
    now = clock()
    with contextlib.suppress(OSError):
        if now - marker.stat().st_mtime_ns < PRUNE_EVERY_NS:
            return 0
    removed = 0
    for entry in [*root.glob("stat/*/*.json"), *root.glob("content/*/*.json")]:
        with contextlib.suppress(OSError):
            if now - entry.stat().st_mtime_ns > MAX_AGE_NS:
                entry.unlink()
                removed += 1
    with contextlib.suppress(OSError):
        root.mkdir(parents=True, exist_ok=True)
        marker.touch()
        os.utime(marker, ns=(now, now))
    return removed


def _touch(entry: Path) -> None:
    """Mark a fact as just used, for prune (a read-only cache folder just forgoes that)."""
    with contextlib.suppress(OSError):
        os.utime(entry)


def _name_key(text: str) -> str:
    name = hashlib.sha256(text.encode()).hexdigest()
    return f"{name[:2]}/{name}.json"


def _is_digest(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def _write_fact(entry: Path, value: Any) -> None:
    """Keep a fact, atomically; a read-only or full cache folder only means it is computed again next time."""
    with contextlib.suppress(OSError):
        entry.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=entry.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(value, stream)
            os.replace(temp, entry)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
