"""Asset paths in a spec: keep them inside the exhibit folder, and sniff each file's type from its first bytes."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from pipeline import image_kinds
from pipeline.spec.fields import did_you_mean, quote

SNIFF_BYTES = 96


def _is_glb(head: bytes, size: int) -> bool:
    return head[:4] == b"glTF"


def _is_gltf(head: bytes, size: int) -> bool:
    return head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def _is_text(head: bytes, size: int) -> bool:
    return b"\x00" not in head


def _is_ply(head: bytes, size: int) -> bool:
    return head[:3] == b"ply"


def _is_stl(head: bytes, size: int) -> bool:
    if head.lstrip()[:5].lower() == b"solid" and b"\x00" not in head:
        return True
    # Binary STL: an 80-byte header, a triangle count, then exactly 50 bytes per triangle.
    if size >= 84 and len(head) >= 84:
        count = int.from_bytes(head[80:84], "little")
        return size == 84 + 50 * count
    return False


def _is_image(mime: str) -> Sniffer:
    matches = image_kinds.SIGNATURES[mime]
    return lambda head, size: matches(head)


def _is_mp3(head: bytes, size: int) -> bool:
    return head[:3] == b"ID3" or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0)


def _is_ogg(head: bytes, size: int) -> bool:
    return head[:4] == b"OggS"


def _is_wav(head: bytes, size: int) -> bool:
    return head[:4] == b"RIFF" and head[8:12] == b"WAVE"


def _is_m4a(head: bytes, size: int) -> bool:
    return head[4:8] == b"ftyp"


def _is_vtt(head: bytes, size: int) -> bool:
    text = head[3:] if head.startswith(b"\xef\xbb\xbf") else head
    return text[:6] == b"WEBVTT" and (len(text) == 6 or text[6:7] in (b" ", b"\t", b"\n", b"\r"))


Sniffer = Callable[[bytes, int], bool]

# kind → extension → (what the file should be, how to recognise it)
KINDS: dict[str, dict[str, tuple[str, Sniffer]]] = {
    "model": {
        ".glb": ("a GLB file (it should start with 'glTF')", _is_glb),
        ".gltf": ("a glTF JSON file", _is_gltf),
        ".obj": ("an OBJ text file", _is_text),
        ".ply": ("a PLY file (it should start with 'ply')", _is_ply),
        ".stl": ("an STL file", _is_stl),
    },
    "image": {suffix: (image_kinds.NAMES[mime], _is_image(mime))
              for suffix, mime in image_kinds.SUFFIXES.items() if mime != "image/ktx2"},
    "audio": {
        ".mp3": ("an MP3 file", _is_mp3),
        ".ogg": ("an Ogg file", _is_ogg),
        ".oga": ("an Ogg file", _is_ogg),
        ".wav": ("a WAV file", _is_wav),
        ".m4a": ("an M4A (MPEG-4 audio) file", _is_m4a),
    },
    "captions": {
        ".vtt": ("a WebVTT file (it should start with 'WEBVTT')", _is_vtt),
    },
}

KIND_NAMES = {"model": "model", "image": "image", "audio": "audio", "captions": "captions"}


def extensions(kind: str) -> list[str]:
    return list(KINDS[kind])


def _list_extensions(kind: str) -> str:
    names = [e for e in KINDS[kind] if e not in (".jpeg", ".oga", ".tiff")]
    return ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]


def resolve_asset(written: str, root: Path, kind: str) -> tuple[Path | None, str | None]:
    """Where the file `written` (relative to the exhibit folder `root`) is, or why it cannot be used.

    `kind` is a key of KINDS, whose extensions and first bytes are checked, or any other word (such as "sidecar")
    for a file that only has to exist. Returns (absolute resolved path, None) or (None, message). Never reads outside `root`: a path that
    leaves it, lexically or through a symlink, is refused before it is opened.
    """
    if not written.strip():
        return None, "the file name is empty"
    if "://" in written or written.startswith("data:"):
        return None, f"{quote(written)} is not a file in the exhibit folder (URLs are not allowed)"
    if written.startswith(("/", "\\")) or (len(written) > 1 and written[1] == ":"):
        return None, f"{quote(written)} is an absolute path; write it relative to the exhibit folder"
    if "\\" in written:
        return None, f"{quote(written)} uses backslashes; separate folders with '/'"
    if ".." in PurePosixPath(written).parts:
        return None, f"{quote(written)} leaves the exhibit folder; a spec may only use files inside its own folder"
    root = root.resolve()
    candidate = root / written
    resolved = candidate.resolve()
    if not resolved.is_relative_to(root):
        # `..` was refused above, so only a symlink can lead out; refuse it before anything is opened.
        return None, (f"{quote(written)} is a symlink that leads outside the exhibit folder; "
                      "a spec may only use files inside its own folder")
    if not resolved.exists():
        parent = PurePosixPath(written).parent
        siblings = ([p.name if parent == PurePosixPath(".") else f"{parent}/{p.name}" for p in candidate.parent.iterdir()]
                    if candidate.parent.is_dir() else [])
        if kind not in KINDS:  # a file a model refers to: only a file of the same type is a plausible meaning
            siblings = [name for name in siblings if PurePosixPath(name).suffix.lower() == candidate.suffix.lower()]
        return None, f"file not found: {quote(written)}{did_you_mean(written, siblings)}"
    if resolved.is_dir():
        return None, f"{quote(written)} is a folder, not a file"
    if not resolved.is_file():
        # A FIFO or device would block or stream forever when opened, so it is refused unopened.
        return None, f"{quote(written)} is not a regular file"
    if kind not in KINDS:
        return resolved, None  # a file a model loads beside itself: its reader judges its content
    suffix = PurePosixPath(written).suffix.lower()
    table = KINDS[kind]
    if suffix not in table:
        shown = suffix or "(no extension)"
        return None, f"{quote(written)}: unsupported {KIND_NAMES[kind]} type {shown} (use {_list_extensions(kind)})"
    try:
        with open(resolved, "rb") as handle:
            head = handle.read(SNIFF_BYTES)
        size = os.stat(resolved).st_size
    except PermissionError:
        return None, f"cannot read {quote(written)}: permission denied"
    except OSError as error:
        return None, f"cannot read {quote(written)}: {error.strerror or 'read error'}"
    if size == 0:
        return None, f"{quote(written)} is empty"
    what, sniff = table[suffix]
    if not sniff(head, size):
        return None, f"{quote(written)} is not {what}; the file may be damaged or misnamed"
    return resolved, None
