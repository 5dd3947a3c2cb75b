"""The build's output: content-named files in the staged exhibit folder, and the staging folder published into OUT
all or nothing (other exhibits already there are kept, and listed)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pipeline import images, manifest
from pipeline.errors import AssetError
from pipeline.spec.model import AudioTrack


def _content_name(stem: str, data: bytes, suffix: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", stem).strip("-") or "file"
    return f"{safe}.{hashlib.sha256(data).hexdigest()[:10]}{suffix}"


def write_named(folder: Path, subfolder: str, stem: str, data: bytes, suffix: str) -> str:
    """Write data under folder/subfolder, named by its content; returns its path relative to folder."""
    relative = f"{subfolder}/{_content_name(stem, data, suffix)}"
    target = folder / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return relative



class MediaWriter:
    """Copies audio and captions into media/ under content-hashed names, each file once."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.written: dict[Path, str] = {}

    def add(self, path: Path) -> str:
        if path not in self.written:
            self.written[path] = write_named(self.folder, "media", path.stem, path.read_bytes(), path.suffix.lower())
        return self.written[path]

    def add_image(self, path: Path, written: str, converted: Callable[[], bytes] | None = None) -> str:
        """An image as browsers show it: the file itself when it is a PNG, JPEG or WebP, upright and in sRGB, else
        converted as textures are (images.as_texture_bytes: a TIFF, an Adobe RGB file, a phone's picture stored
        on its side); `converted()` gives the conversion the build makes of it (a hung picture's, as its room
        shows it), asked for only when the file itself will not do."""
        if path not in self.written:
            try:
                suffix = path.suffix.lower()
                if images.shown_as_stored(path, ("PNG", "JPEG", "WEBP")):
                    data = path.read_bytes()
                else:  # a master's conversion is cached by the file's digest: a rebuild need not read it
                    if converted is not None:
                        data = converted()
                    else:
                        with path.open("rb") as handle:
                            data = images.as_texture_bytes(handle)[0]
                    suffix = ".png" if data.startswith(b"\x89PNG") else ".jpg"
            except images.UNREADABLE as error:
                raise AssetError(written, f"not a readable image ({images.why_unreadable(error)})") from None
            self.written[path] = write_named(self.folder, "media", path.stem, data, suffix)
        return self.written[path]

    def add_data(self, stem: str, data: bytes, suffix: str) -> str:
        """A file made by the build (a caption plate), under a content-hashed name."""
        return write_named(self.folder, "media", stem, data, suffix)

    def audio(self, tracks: Any) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = {}
        for language, track in dict(tracks or {}).items():
            if not isinstance(track, AudioTrack) or track.src is None:
                continue
            entry = {"src": self.add(track.src.path)}
            if track.captions is not None:
                entry["captions"] = self.add(track.captions.path)
            out[str(language)] = entry
        return out



def existing_manifests(out_dir: Path, skip: str) -> list[dict[str, Any]]:
    """Manifests of the other exhibits already in OUT, so the shared index keeps listing them."""
    found = []
    if out_dir.is_dir():
        for path in sorted(out_dir.glob("*/" + manifest.MANIFEST_NAME)):
            if path.parent.name == skip or path.parent.name.startswith("."):
                continue
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue  # a foreign or damaged folder is not ours to fix; it just is not listed
            # Another schema version would not render with these templates; it keeps its pages, unlisted.
            if isinstance(data, dict) and data.get("schema_version") == manifest.SCHEMA_VERSION:
                found.append(data)
    return found


def remove_abandoned_staging(out_dir: Path) -> None:
    """Delete staging folders left by builds that were killed outright (SIGKILL, power loss).

    A staging folder is named after its build's process id; one whose process is gone is abandoned. Folders
    of builds still running (another `vitrina build` into the same OUT) are left alone.
    """
    for folder in out_dir.glob(".staging-*-*"):
        pid_text = folder.name.split("-")[1]
        if not pid_text.isdigit() or int(pid_text) == os.getpid():
            continue
        try:
            os.kill(int(pid_text), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except PermissionError:
            continue  # alive, and someone else's


@contextlib.contextmanager
def _no_interrupts() -> Iterator[None]:
    """Hold off Ctrl-C during the few renames that publish a build, so OUT is never left half swapped."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def publish(staging: Path, out_dir: Path, names: list[str]) -> None:
    """Move each staged entry into OUT, replacing what was there, all or nothing.

    The entries replaced go to the staging folder's trash (deleted with it). If any move fails, the ones
    already made are undone, so OUT never mixes a new exhibit with old shared files or the reverse.
    """
    trash = staging / ".previous"
    trash.mkdir(exist_ok=True)
    done: list[tuple[Path, Path, Path | None]] = []  # (staged path, final path, where the old one went)
    with _no_interrupts():
        try:
            for name in names:
                new, final = staging / name, out_dir / name
                old = trash / name if final.exists() else None
                if old is not None:
                    os.rename(final, old)
                done.append((new, final, old))
                os.rename(new, final)
        except BaseException:
            for new, final, old in reversed(done):
                if final.exists() and not new.exists():
                    os.rename(final, new)
                if old is not None and old.exists():
                    os.rename(old, final)
            raise
