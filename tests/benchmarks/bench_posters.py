"""What `vitrina build`'s default posters cost: a cold build, then rebuilds after text edits, optionally beside another checkout.

    python -m tests.benchmarks.bench_posters [--exhibit exhibits/bronze-age | --big] [--captions] [--before /path/to/checkout] [--no-doc]

Each build runs in its own process under /usr/bin/time, with posters rendered in headless Chromium (the CLI's
default), its own cache and remembered source facts: cold (empty), warm (nothing changed), after a record's
description changed (words no poster shows), and after an artifact's title changed in the default language. With
--captions, the copy turns on `exhibit.captions`, so that title is drawn on a plate in its room. --big builds the
issue's 10-room, 200-artifact exhibit (tests/pipeline/test_incremental.big_exhibit: 210 posters) instead, cold, warm
and after a picture's title edit. With --before, the same builds run from that checkout too, on a copy of the same
exhibit.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from pipeline.cache import CACHE_DIR_ENV
from tests.benchmarks.bench_gallery import _commit
from tests.benchmarks.bench_scans import REPO, Run, run_timed
from tests.benchmarks.doc_section import write_section


def _edit_first(folder: Path, pattern: str, replacement: str) -> None:
    """Change the first match of `pattern` in the exhibit's YAML files (an edit a curator makes)."""
    for path in sorted(folder.rglob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        changed = re.sub(pattern, replacement, text, count=1)
        if changed != text:
            path.write_text(changed, encoding="utf-8")
            return
    raise SystemExit(f"nothing in {folder} matches {pattern!r}")


def edit_description(folder: Path) -> None:
    """The first description's text (a record's, in bronze-age) starts with another word."""
    _edit_first(folder, r"(?m)^(\s+description:\s*\{?\s*\n?\s*(?:zh|en):\s*)", r"\1Revised. ")


def edit_title(folder: Path) -> None:
    """The first title in Chinese (bronze-age's default language) gains a character."""
    _edit_first(folder, r"(title: \{zh: )", r"\1新")


def turn_on_captions(folder: Path) -> None:
    """Every artifact gets a caption plate (exhibit.captions), in a block `exhibit:` or a flow one."""
    text = (folder / "exhibit.yaml").read_text(encoding="utf-8")
    if re.search(r"(?m)^exhibit:\n", text):
        _edit_first(folder, r"(?m)^(exhibit:\n)", r"\1  captions: true\n")
    else:
        _edit_first(folder, r"(?m)^(exhibit: \{)", r"\1captions: true, ")


def edit_big_title(folder: Path) -> None:
    """The big exhibit's third room's picture is retitled."""
    _edit_first(folder, r"Picture 3\b", "Picture three")


EDITS: dict[str, Callable[[Path], None]] = {"description edit": edit_description, "title edit": edit_title}
BIG_EDITS: dict[str, Callable[[Path], None]] = {"title edit": edit_big_title}


def builds(tree: Path, exhibit: Path, work: Path, captions: bool = False,
           edits: dict[str, Callable[[Path], None]] = EDITS) -> dict[str, Run]:
    """A cold and a warm build of a copy of the exhibit, from `tree`, then one after each edit in turn."""
    folder = work / "exhibit"
    shutil.copytree(exhibit, folder)
    if captions:
        turn_on_captions(folder)
    cache = work / "cache"
    command = [sys.executable, "-m", "pipeline.cli", "build", str(folder), "--out", str(work / "site"),
               "--cache-dir", str(cache), "--quiet"]
    env = {**os.environ, CACHE_DIR_ENV: str(cache), "PYTHONPATH": str(tree)}
    runs = {"cold": run_timed(command, tree, env=env), "warm": run_timed(command, tree, env=env)}
    for label, edit in edits.items():
        edit(folder)
        runs[label] = run_timed(command, tree, env=env)
    return runs


def table(rows: dict[str, dict[str, Run]], command: str, exhibit: str, captions: bool) -> str:
    plates = " and `captions: true` (a plate with each artifact's title)" if captions else ""
    kinds = list(next(iter(rows.values())))
    lines = [f"`{command}`: `vitrina build {exhibit}` with its posters (the default){plates}, each build in its "
             "own process.", "", "| checkout | " + " | ".join(kinds) + " |", "|---|" + "---:|" * len(kinds)]
    for name, runs in rows.items():
        cells = [f"{runs[kind].seconds:.2f} s" if runs[kind].ok else f"failed: {runs[kind].message}" for kind in kinds]
        lines.append(f"| {name} | {' | '.join(cells)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exhibit", type=Path, default=REPO / "exhibits" / "bronze-age")
    parser.add_argument("--big", action="store_true", help="the 10-room, 200-artifact exhibit instead")
    parser.add_argument("--captions", action="store_true", help="turn on exhibit.captions in the copy")
    parser.add_argument("--before", type=Path, help="another checkout to run beside this one")
    parser.add_argument("--no-doc", action="store_true")
    options = parser.parse_args(argv)
    trees = {f"this checkout ({_commit(REPO)})": REPO}
    if options.before:
        trees[f"before ({_commit(options.before)})"] = options.before.resolve()
    with tempfile.TemporaryDirectory(prefix="vitrina-bench-posters-") as tmp:
        exhibit, edits = options.exhibit.resolve(), EDITS
        if options.big:
            from tests.pipeline.test_incremental import big_exhibit

            exhibit, edits = big_exhibit(Path(tmp) / "big"), BIG_EDITS
        rows = {name: builds(tree, exhibit, Path(tmp) / f"turn-{number}", options.captions, edits)
                for number, (name, tree) in enumerate(trees.items())}
    command = "python -m tests.benchmarks.bench_posters " + " ".join(argv if argv is not None else sys.argv[1:])
    name = "the 10-room, 200-artifact exhibit" if options.big else options.exhibit.name
    text = table(rows, command.strip(), name, options.captions)
    print(text)
    if not options.no_doc:
        section = "posters-big" if options.big else "posters"
        write_section(section + ("-captions" if options.captions else ""),
                      "## Posters: a cold build and rebuilds after text edits\n\n" + text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
