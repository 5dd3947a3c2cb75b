"""`vitrina check`: load an exhibit, print every problem (or a one-line summary) and return the exit code."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from pipeline.errors import SpecError, format_problems
from pipeline.spec import load_exhibit
from pipeline.spec.loader import display_path


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def check(spec_path: Path, strict: bool, out: TextIO) -> int:
    """Check the exhibit at `spec_path`; 0 when it may be built, 1 when it has errors (or warnings under strict)."""
    try:
        loaded = load_exhibit(spec_path, strict=strict, rooms_fit=True)
    except SpecError as error:
        out.write(format_problems(error.problems, built=False) + "\n")
        return 1
    exhibit = loaded.exhibit
    for warning in loaded.warnings:
        out.write(warning.format() + "\n")
    from pipeline.spec.exports import export_notes

    for note in export_notes(exhibit):  # not warnings: what the standards exports leave out, said before a build
        out.write(f"note: {note}\n")
    annotations = sum(len(a.annotations) for a in exhibit.artifacts)
    out.write(f"{display_path(loaded.spec_file)}: {_count(len(exhibit.rooms), 'room')}, "
              f"{_count(len(exhibit.artifacts), 'artifact')}, {_count(annotations, 'annotation')}, "
              f"{_count(len(exhibit.tours), 'tour')} in {', '.join(exhibit.languages)}; "
              f"0 errors, {_count(len(loaded.warnings), 'warning')}.\n")
    return 0
