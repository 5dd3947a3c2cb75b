"""Content-addressed cache of processed assets and re-encoded textures, keyed by input bytes, options and code.

Entries are data only (JSON and GLB or image bytes, checked by sha256): the cache may be shared or copied, and
reading it must never run code.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs

import pipeline
from pipeline.source_facts import remembered_digest

# The cache keeps at most this much; a build then drops the entries used longest ago (every hit refreshes one).
CACHE_MAX_BYTES = 2 << 30

# Bump when the stored shape changes in a way the code-version hash would not notice.
CACHE_FORMAT = 2

# Set to put the cache elsewhere than the user's cache directory (CI, tests, a shared build machine).
CACHE_DIR_ENV = "VITRINA_CACHE_DIR"

# Source files whose behaviour shapes a processed asset; editing any of them invalidates every entry. A test runs an
# asset job and checks that every module it loads is here or shapes nothing cached (the OBJ reader, the spatial
# parts and the surface fit were missing: an edit to them kept serving ladders the old code had made).
_CODE_PATHS = ("scene.py", "ingest.py", "obj_text.py", "forked_half.py", "colour.py", "columns.py", "meshopt.py",
               "cache.py", "transforms", "ladder.py", "spatial_parts.py", "surface_fit.py", "gltf", "asset_files.py",
               "image_kinds.py", "budgets.py", "build.py", "compose.py", "images.py", "textures.py", "usdz.py",
               "spec/measure.py")


def default_cache_dir() -> Path:
    """Where builds keep their cache unless told otherwise: never inside the exhibit, which may be someone else's."""
    override = os.environ.get(CACHE_DIR_ENV)
    if override:
        return Path(override)
    return Path(platformdirs.user_cache_dir("vitrina", appauthor=False)) / "assets"


@functools.cache
def code_version() -> str:
    """A hash of the package version and of the sources that turn an input file into a processed asset.

    Computed once per process: the code that runs is the code that was imported, whatever happens to the
    files later (an editor saving mid-build must not split one build between two versions).
    """
    digest = hashlib.sha256(f"{pipeline.__name__}:{CACHE_FORMAT}".encode())
    root = Path(pipeline.__file__).parent
    for file in code_files():
        digest.update(file.relative_to(root).as_posix().encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def code_files() -> list[Path]:
    """The source files code_version hashes, in order."""
    root = Path(pipeline.__file__).parent
    found = []
    for name in _CODE_PATHS:
        path = root / name
        found += [file for file in (sorted(path.rglob("*.py")) if path.is_dir() else [path]) if file.is_file()]
    return found


def sidecar_files(path: Path, root: Path) -> list[Path]:
    """Files an asset reads besides itself (a .gltf's buffers and images, an .obj's .mtl files and their textures,
    a PLY's texture), as `check` lists them (spec.measure.references), that lie inside `root`. A reference leaving
    `root` is never read, not even to hash it: ingest refuses it by name."""
    from pipeline.spec.measure import references, sidecar_name

    root = root.resolve()
    found: dict[str, Path] = {}
    pending = [path]
    while pending:
        current = pending.pop()
        for what, name in references(current):
            # Several libraries on one mtllib line, or one name with spaces: try both readings.
            names = [name, *name.split()] if what == "material library" else [name]
            for candidate in ((current.parent / sidecar_name(current.parent, n)).resolve() for n in names):
                if candidate.is_relative_to(root) and candidate.is_file() and str(candidate) not in found:
                    found[str(candidate)] = candidate
                    if candidate.suffix.lower() == ".mtl":
                        pending.append(candidate)
    return [found[k] for k in sorted(found)]


def asset_key(path: Path, options: Any, root: Path, version: str | None = None) -> str:
    """The cache key of one asset: its bytes, its sidecars' bytes (by name), the options' repr and the code version.

    `root` is the exhibit folder: only sidecars inside it are hashed (ingest refuses the others)."""
    digest = hashlib.sha256()
    digest.update(remembered_digest(path).encode())
    for sidecar in sidecar_files(path, root):
        # Names matter too: an OBJ that refers to 'a b.png' differs from one whose texture was renamed.
        relative = os.path.relpath(sidecar, path.parent)
        digest.update(f"\0{relative}\0{remembered_digest(sidecar)}".encode())
    digest.update(f"\0{options!r}\0{version or code_version()}".encode())
    return digest.hexdigest()


def content_digest(value: Any) -> str:
    """A sha256 of a value's content: dataclasses (an IR Scene), dicts, sequences, numpy arrays, bytes and scalars.

    An object met twice (a material, a texture shared by many primitives) is hashed once and then referred to by
    the order it was first met, so sharing is part of the content and cycles end."""
    digest = hashlib.sha256()
    seen: dict[int, int] = {}

    def feed(item: Any) -> None:
        if item is None or isinstance(item, bool | int | float | str):
            digest.update(f"{type(item).__name__}:{item!r};".encode())
        elif isinstance(item, bytes | bytearray):
            digest.update(f"bytes:{len(item)}:".encode() + hashlib.sha256(item).digest())
        elif isinstance(item, np.ndarray):
            digest.update(f"array:{item.dtype.str}:{item.shape}:".encode() + hashlib.sha256(
                np.ascontiguousarray(item).tobytes()).digest())
        elif id(item) in seen:
            digest.update(f"ref:{seen[id(item)]};".encode())
        elif dataclasses.is_dataclass(item):
            seen[id(item)] = len(seen)
            digest.update(f"{type(item).__name__}(".encode())
            for spec in dataclasses.fields(item):
                digest.update(f"{spec.name}=".encode())
                feed(getattr(item, spec.name))
            digest.update(b")")
        elif isinstance(item, dict):
            digest.update(b"{")
            for key in sorted(item, key=repr):
                feed(key)
                feed(item[key])
            digest.update(b"}")
        elif isinstance(item, list | tuple):
            digest.update(f"{type(item).__name__}[".encode())
            for element in item:
                feed(element)
            digest.update(b"]")
        elif isinstance(item, set | frozenset):
            feed(sorted(item, key=repr))
        else:
            digest.update(f"{type(item).__name__}:{item!r};".encode())

    feed(value)
    return digest.hexdigest()


# AssetCache.remembered as a callable: what a stage that keeps small results across builds is handed.
Remembered = Callable[[str, Callable[[], bytes]], bytes]


@dataclass
class CacheStats:
    encoded_hits: int = 0  # re-encoded textures (KTX2, WebP) taken from the cache
    encoded_misses: int = 0


class AssetCache:
    """Bytes kept under content keys in root/<k[:2]>/<k>.bin (ladders, room shells, encoded textures, grid choices);
    `root=None` disables caching. Entries are data only: JSON and GLB/image bytes, never pickle."""

    def __init__(self, root: Path | None) -> None:
        self.root = root
        self.stats = CacheStats()

    def encoded(self, key: str, encode: Callable[[], bytes]) -> bytes:
        """The bytes an encoder made for this key before, or encode() now (and keep them for next time).

        For re-encoded textures: the key must name the source bytes, the encoder and its settings."""
        data, hit = self._bytes(key, encode)
        if hit:
            self.stats.encoded_hits += 1
        else:
            self.stats.encoded_misses += 1
        return data

    def remembered(self, key: str, compute: Callable[[], bytes]) -> bytes:
        """Like `encoded`, for small results of costly decisions (a mesh's quantization grid); not counted."""
        return self._bytes(key, compute)[0]

    def _bytes(self, key: str, compute: Callable[[], bytes]) -> tuple[bytes, bool]:
        """(bytes stored under key, True), or (compute(), False) after storing them."""
        stored = self.stored(key)
        if stored is not None:
            return stored, True
        data = compute()
        self.store(key, data)
        return data, False

    def holds(self, key: str) -> bool:
        """Whether an entry is kept under key, without reading it (`stored` checks it when read)."""
        return self.root is not None and (self.root / key[:2] / f"{key}.bin").is_file()

    def stored(self, key: str) -> bytes | None:
        """The bytes kept under key (a built ladder level, a composed room shell), or None on a miss.

        The entry starts with its key and the sha256 of its bytes, so a truncated, damaged or foreign file is a
        miss, never a wrong result."""
        if self.root is None:
            return None
        path = self.root / key[:2] / f"{key}.bin"
        try:
            with path.open("rb") as handle:
                # Header lines first, then the body in one read: splitting the whole entry would copy a scan's
                # full level (hundreds of MB) twice on every warm build.
                key_line = handle.readline(len(key) + 1)
                checksum = handle.readline(65)
                data = handle.read(max(os.fstat(handle.fileno()).st_size - handle.tell(), 0))
        except OSError:
            return None
        if (key_line != f"{key}\n".encode() or not data
                or checksum != f"{hashlib.sha256(data).hexdigest()}\n".encode()):
            return None
        _touch(path)
        return data

    def store(self, key: str, data: bytes) -> None:
        """Keep data under key, atomically (see `stored`); nothing happens when caching is off."""
        if self.root is not None:
            header = f"{key}\n{hashlib.sha256(data).hexdigest()}\n".encode()
            self._store(self.root / key[:2] / f"{key}.bin", header + data)

    def prune(self, max_bytes: int = CACHE_MAX_BYTES) -> int:
        """Delete the least recently used entries until the cache holds at most max_bytes; returns how many went.

        Entries another build is writing are temporary files and left alone; an entry deleted under a reader is a
        miss for it, never a wrong result."""
        if self.root is None or not self.root.is_dir():
            return 0
        entries = []
        for path in self.root.glob("*/*"):
            if path.suffix == ".bin" and not path.name.startswith(".tmp-"):
                with contextlib.suppress(OSError):
                    stat = path.stat()
                    entries.append((stat.st_mtime, stat.st_size, path))
        total = sum(size for _, size, _ in entries)
        removed = 0
        for _, size, path in sorted(entries):
            if total <= max_bytes:
                break
            path.unlink(missing_ok=True)
            total -= size
            removed += 1
        return removed

    def _store(self, path: Path, payload: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(payload)
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise


def _touch(path: Path) -> None:
    """Mark an entry as just used, for prune (a read-only cache folder just forgoes that)."""
    with contextlib.suppress(OSError):
        os.utime(path)
