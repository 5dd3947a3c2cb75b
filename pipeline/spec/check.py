"""`vitrina check`: load an exhibit, print every problem and each model's placed size, and return the exit code."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from pipeline.errors import Problem, SpecError, format_problems
from pipeline.spec import load_exhibit
from pipeline.spec.content import image_notes, placed_model
from pipeline.spec.loader import display_path
from pipeline.spec.model import Exhibit


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def triangle_budgets() -> dict[str, int]:
    """Target → the triangles a device of that class may draw, from the compiler's device profiles."""
    from pipeline.budgets import PROFILES

    return {name: profile.triangles for name, profile in PROFILES.items()}


def texture_limits() -> dict[str, int]:
    """Target → the largest texture side (pixels) the build gives a device of that class."""
    from pipeline.budgets import PROFILES

    return {name: profile.max_texture_size for name, profile in PROFILES.items()}


def placed_models(exhibit: Exhibit) -> list[dict[str, Any]]:
    """Each model artifact's size as the build will place it (None when its file does not say), for people and tools."""
    rows = []
    for artifact in exhibit.artifacts:
        if artifact.model is None:
            continue
        placed = placed_model(artifact)
        rows.append({"id": artifact.id, "room": artifact.place.room if artifact.place else None,
                     "model": artifact.model.written,
                     "width": None if placed is None else round(placed.width, 4),
                     "depth": None if placed is None else round(placed.depth, 4),
                     "height": None if placed is None else round(placed.height, 4),
                     "triangles": None if placed is None else placed.triangles,
                     "text": "size unknown" if placed is None else placed.format()})
    return rows


def _problem_json(problem: Problem, exhibit: Exhibit | None = None) -> dict[str, Any]:
    """A problem as JSON; with the exhibit, also the id of the artifact it is about (for showing it on the object)."""
    fields = dataclasses.asdict(problem)
    index = re.match(r"^artifacts\[(\d+)\]", problem.path)
    if exhibit is not None and index and int(index.group(1)) < len(exhibit.artifacts):
        fields["artifact"] = exhibit.artifacts[int(index.group(1))].id
    return fields


def check(spec_path: Path, strict: bool, out: TextIO, as_json: bool = False,
          budgets: Mapping[str, int] | None = None) -> int:
    """Check the exhibit at `spec_path`; 0 when it may be built, 1 when it has errors (or warnings under strict).

    `as_json` prints one JSON object (problems, counts, placed models) instead of text, for editors and scripts.
    """
    budgets = triangle_budgets() if budgets is None else budgets
    try:
        loaded = load_exhibit(spec_path, strict=strict, rooms_fit=True, triangle_budgets=budgets)
    except SpecError as error:
        if as_json:
            errors = sum(p.severity == "error" for p in error.problems)
            json.dump({"ok": False, "errors": errors, "warnings": len(error.problems) - errors,
                       "problems": [_problem_json(p) for p in error.problems], "models": []}, out, ensure_ascii=False)
            out.write("\n")
        else:
            out.write(format_problems(error.problems, built=False) + "\n")
        return 1
    exhibit = loaded.exhibit
    models = placed_models(exhibit)
    from pipeline.budgets import fitted_size
    from pipeline.spec.exports import export_notes

    # Not warnings: what images the build will resize, and what the standards exports will leave out.
    notes = [*image_notes(exhibit, loaded.root, texture_limits(), fitted_size), *export_notes(exhibit)]
    if as_json:
        json.dump({"ok": True, "file": display_path(loaded.spec_file), "errors": 0, "warnings": len(loaded.warnings),
                   "problems": [_problem_json(p, exhibit) for p in loaded.warnings], "notes": notes, "models": models}, out,
                  ensure_ascii=False)
        out.write("\n")
        return 0
    for warning in loaded.warnings:
        out.write(warning.format() + "\n")
    for note in notes:
        out.write(f"note: {note}\n")
    if models:
        out.write("models as placed (width × depth × height):\n")
        for row in models:
            triangles = "" if row["triangles"] is None else f", {row['triangles']:,} triangles"
            out.write(f"  {row['id']}: {row['text']}{triangles}\n")
    annotations = sum(len(a.annotations) for a in exhibit.artifacts)
    out.write(f"{display_path(loaded.spec_file)}: {_count(len(exhibit.rooms), 'room')}, "
              f"{_count(len(exhibit.artifacts), 'artifact')}, {_count(annotations, 'annotation')}, "
              f"{_count(len(exhibit.tours), 'tour')} in {', '.join(exhibit.languages)}; "
              f"0 errors, {_count(len(loaded.warnings), 'warning')}.\n")
    return 0
