"""Writes one benchmark's section of docs/benchmarks.md between its markers, leaving the other sections alone."""

from __future__ import annotations

from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "benchmarks.md"
INTRO = ("# Benchmarks\n\nMeasured on the shared development machine (2 cores, shared with other work), "
         "so compare rows of one run, not runs. Each section names the command that reproduces it.\n")


def write_section(name: str, text: str, doc: Path = DOC) -> None:
    """Replace the block between `<!-- name:start -->` and `<!-- name:end -->` (appended when absent)."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{text}\n{end}"
    current = doc.read_text(encoding="utf-8") if doc.exists() else INTRO
    if start in current and end in current:
        head, _, rest = current.partition(start)
        _, _, tail = rest.partition(end)
        current = head + block + tail
    else:
        current = current.rstrip("\n") + "\n\n" + block + "\n"
    doc.write_text(current, encoding="utf-8")
