"""What `vitrina build`'s default posters cost: a cold build, then rebuilds after text edits, optionally beside another checkout.

    python -m tests.benchmarks.bench_posters [--exhibit exhibits/bronze-age] [--captions] [--before /path/to/checkout] [--no-doc]

Each build runs in its own process under /usr/bin/time, with posters rendered in headless Chromium (the CLI's
default), its own cache and remembered source facts: cold (empty), warm (nothing changed), after a record's
description changed (words no poster shows), and after an artifact's title changed in the default language. With
--captions, the copy turns on `exhibit.captions`, so that title is drawn on a plate in its room. With --before, the
same builds run from that checkout too, on a copy of the same exhibit.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

from pipeline.cache import CACHE_DIR_ENV
from tests.benchmarks.bench_gallery import _commit
from tests.benchmarks.bench_scans import REPO, Run, run_timed
from tests.benchmarks.doc_section import write_section

KINDS = ("cold", "warm", "description edit", "title edit")


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
    """Every artifact gets a caption plate (exhibit.captions)."""
    _edit_first(folder, r"(?m)^(exhibit:\n)", r"\1  captions: true\n")


def builds(tree: Path, exhibit: Path, work: Path, captions: bool = False) -> dict[str, Run]:
    """The four builds of a copy of the exhibit, from `tree`."""
    folder = work / "exhibit"
    shutil.copytree(exhibit, folder)
    if captions:
        turn_on_captions(folder)
    cache = work / "cache"
    command = [sys.executable, "-m", "pipeline.cli", "build", str(folder), "--out", str(work / "site"),
               "--cache-dir", str(cache), "--quiet"]
    env = {**os.environ, CACHE_DIR_ENV: str(cache), "PYTHONPATH": str(tree)}
    runs = {"cold": run_timed(command, tree, env=env), "warm": run_timed(command, tree, env=env)}
    edit_description(folder)
    runs["description edit"] = run_timed(command, tree, env=env)
    edit_title(folder)
    runs["title edit"] = run_timed(command, tree, env=env)
    return runs


def table(rows: dict[str, dict[str, Run]], command: str, exhibit: Path, captions: bool) -> str:
    plates = " and `captions: true` (a plate with each artifact's title)" if captions else ""
    lines = [f"`{command}`: `vitrina build {exhibit.name}` with its posters (the default){plates}, each build in its "
             "own process.", "", "| checkout | " + " | ".join(KINDS) + " |", "|---|" + "---:|" * len(KINDS)]
    for name, runs in rows.items():
        cells = [f"{runs[kind].seconds:.2f} s" if runs[kind].ok else f"failed: {runs[kind].message}" for kind in KINDS]
        lines.append(f"| {name} | {' | '.join(cells)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exhibit", type=Path, default=REPO / "exhibits" / "bronze-age")
    parser.add_argument("--captions", action="store_true", help="turn on exhibit.captions in the copy")
    parser.add_argument("--before", type=Path, help="another checkout to run beside this one")
    parser.add_argument("--no-doc", action="store_true")
    options = parser.parse_args(argv)
    trees = {f"this checkout ({_commit(REPO)})": REPO}
    if options.before:
        trees[f"before ({_commit(options.before)})"] = options.before.resolve()
    with tempfile.TemporaryDirectory(prefix="vitrina-bench-posters-") as tmp:
        rows = {name: builds(tree, options.exhibit.resolve(), Path(tmp) / f"turn-{number}", options.captions)
                for number, (name, tree) in enumerate(trees.items())}
    command = "python -m tests.benchmarks.bench_posters " + " ".join(argv if argv is not None else sys.argv[1:])
    text = table(rows, command.strip(), options.exhibit, options.captions)
    print(text)
    if not options.no_doc:
        write_section("posters-captions" if options.captions else "posters",
                      "## Posters: a cold build and rebuilds after text edits\n\n" + text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
