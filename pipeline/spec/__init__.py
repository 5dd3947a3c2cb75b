"""The exhibit language: load an exhibit.yaml into a typed, validated model (see model.py for every key)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pipeline.spec.model import Exhibit, LoadedSpec

__all__ = ["Exhibit", "LoadedSpec", "load_exhibit"]


def load_exhibit(path: Path, strict: bool = False, *, rooms_fit: bool = False,
                 triangle_budgets: Mapping[str, int] | None = None) -> LoadedSpec:
    """Load and validate an exhibit (a folder holding exhibit.yaml, or the YAML file itself).

    Raises SpecError holding every problem found (warnings too) when there is any error, or any warning
    under `strict`. On success the warnings are in the result, for the build report. `rooms_fit` adds the
    room-layout check that the compiler otherwise makes while composing (`vitrina check` asks for it), and
    `triangle_budgets` (target → triangles per model) a warning for each model over a target's budget.
    """
    from pipeline.spec.loader import load

    return load(Path(path), strict=strict, rooms_fit=rooms_fit, triangle_budgets=triangle_budgets)
