"""A gallery of big paintings: cold, warm and title-edit builds, optionally beside another checkout in one run.

    python -m tests.benchmarks.bench_gallery [--paintings 10] [--masters jpeg|tiff] [--before /path/to/checkout] [--no-doc]

A museum's paintings come as camera-sized photographs (24 megapixels, 6000 x 4000, JPEG), or as the masters its
photographers keep (`--masters tiff`: uncompressed 8-bit TIFF in Adobe RGB, 72 MB each). The gallery is one room
with that many seeded synthetic photographs (smooth colour fields with grain, so JPEG costs what a photograph does)
hung on its walls. Each build runs in its own process under /usr/bin/time (wall time, peak RSS), with this run's own
cache and remembered source facts: cold (empty), warm (nothing changed), and after one painting's title changed.
With --before, the same builds run from that checkout too, taking turns, on the same gallery.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from pipeline.cache import CACHE_DIR_ENV
from tests.benchmarks.bench_scans import REPO, Run, median_run, run_timed
from tests.benchmarks.doc_section import write_section
from tests.helpers import adobe_rgb_icc

SIDE = (6000, 4000)
WALLS = ("north", "east", "south", "west")
MASTERS = {"jpeg": ".jpg", "tiff": ".tif"}


def photograph(seed: int, size: tuple[int, int] = SIDE) -> Image.Image:
    """A seeded stand-in for a painting's photograph: colour fields that drift across it, and grain."""
    rng = np.random.default_rng(seed)
    width, height = size
    x = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    phases = rng.uniform(0, 6.3, (3, 2))
    fields = [128 + 90 * np.sin(5 * x + phases[c, 0]) * np.cos(4 * y + phases[c, 1]) for c in range(3)]
    pixels = np.stack(fields, -1) + rng.normal(0, 12, (height, width, 3)).astype(np.float32)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def write_gallery(folder: Path, paintings: int, size: tuple[int, int] = SIDE, masters: str = "jpeg") -> Path:
    """The exhibit folder (written once per count and kept: the photographs take a while to encode)."""
    spec = folder / "exhibit.yaml"
    if spec.exists():
        return folder
    (folder / "images").mkdir(parents=True, exist_ok=True)
    entries = []
    suffix = MASTERS[masters]
    for number in range(paintings):
        picture = photograph(number, size)
        if masters == "tiff":
            picture.save(folder / "images" / f"painting-{number}{suffix}", icc_profile=adobe_rgb_icc())
        else:
            picture.save(folder / "images" / f"painting-{number}{suffix}", quality=92)
        entries.append(f"  - id: painting-{number}\n    image: images/painting-{number}{suffix}\n    size: [1.5, 1.0]\n"
                       f"    alt: {{en: Painting {number}}}\n    record: {{title: {{en: Painting {number}}}}}\n"
                       f"    place: {{room: hall, wall: {WALLS[number % 4]}, at: {(number // 4) * 2.5 - 2.5}}}\n")
    spec.write_text("exhibit:\n  id: gallery\n  title: A gallery of paintings\n  languages: [en]\n"
                    "  rights: https://creativecommons.org/publicdomain/zero/1.0/\n"
                    "  targets: [quest2, phone, desktop]\nrooms:\n  - id: hall\n    size: [10, 8, 3.5]\n"
                    "artifacts:\n" + "".join(entries), encoding="utf-8")
    return folder


def builds(tree: Path, gallery: Path, work: Path) -> dict[str, Run]:
    """Cold, warm and title-edit builds of a copy of the gallery's spec (the pictures shared) from `tree`."""
    spec_folder = work / "exhibit"
    # Hard links: an exhibit reads nothing outside its folder, so a link to the pictures' folder would be refused.
    shutil.copytree(gallery / "images", spec_folder / "images", copy_function=os.link)
    spec = spec_folder / "exhibit.yaml"
    text = (gallery / "exhibit.yaml").read_text(encoding="utf-8")
    spec.write_text(text, encoding="utf-8")
    cache = work / "cache"
    command = [sys.executable, "-m", "pipeline.cli", "build", str(spec_folder), "--out", str(work / "site"),
               "--cache-dir", str(cache), "--quiet", "--no-posters"]
    env = {**os.environ, CACHE_DIR_ENV: str(cache), "PYTHONPATH": str(tree)}
    runs = {"cold": run_timed(command, tree, env=env), "warm": run_timed(command, tree, env=env)}
    spec.write_text(text.replace("title: {en: Painting 0}", "title: {en: The first painting}"), encoding="utf-8")
    runs["title edit"] = run_timed(command, tree, env=env)
    return runs


def table(rows: dict[str, dict[str, Run]], paintings: int, command: str, masters: str = "jpeg") -> str:
    kind = "JPEG, quality 92" if masters == "jpeg" else "uncompressed TIFF in Adobe RGB"
    lines = [f"`{command}`: {paintings} paintings of {SIDE[0]} x {SIDE[1]} px ({kind}) in one room; "
             "each build in its own process, medians of the turns.", "",
             "| checkout | cold | warm | title edit | peak RSS cold / warm |", "|---|---:|---:|---:|---:|"]
    for name, runs in rows.items():
        cells = [f"{runs[kind].seconds:.2f} s" if runs[kind].ok else f"failed: {runs[kind].message}"
                 for kind in ("cold", "warm", "title edit")]
        lines.append(f"| {name} | {' | '.join(cells)} | {runs['cold'].peak_rss_kb / 1024:.0f} / "
                     f"{runs['warm'].peak_rss_kb / 1024:.0f} MB |")
    return "\n".join(lines)


def _commit(tree: Path) -> str:
    done = subprocess.run(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                          check=False)
    return done.stdout.strip() or "not a git checkout"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paintings", type=int, default=10)
    parser.add_argument("--masters", choices=sorted(MASTERS), default="jpeg", help="the pictures' files")
    parser.add_argument("--before", type=Path, help="another checkout to run beside this one")
    parser.add_argument("--repeat", type=int, default=1, help="turns per checkout; the median is shown")
    parser.add_argument("--galleries", type=Path, default=Path(tempfile.gettempdir()) / "vitrina-galleries")
    parser.add_argument("--no-doc", action="store_true")
    options = parser.parse_args(argv)
    suffix = "" if options.masters == "jpeg" else f"-{options.masters}"
    gallery = write_gallery(options.galleries / f"gallery-{options.paintings}{suffix}", options.paintings,
                            masters=options.masters)
    trees = {f"this checkout ({_commit(REPO)})": REPO}
    if options.before:
        trees[f"before ({_commit(options.before)})"] = options.before.resolve()
    turns: dict[str, list[dict[str, Run]]] = {name: [] for name in trees}
    with tempfile.TemporaryDirectory(prefix="vitrina-bench-gallery-") as tmp:
        for turn in range(options.repeat):
            for name, tree in trees.items():
                turns[name].append(builds(tree, gallery, Path(tmp) / f"{name}-{turn}".replace(" ", "-")))
    rows = {name: {kind: median_run([runs[kind] for runs in done]) for kind in done[0]}
            for name, done in turns.items()}
    command = "python -m tests.benchmarks.bench_gallery " + " ".join(argv if argv is not None else sys.argv[1:])
    text = table(rows, options.paintings, command.strip(), options.masters)
    print(text)
    if not options.no_doc:
        title = "A gallery of big paintings" if options.masters == "jpeg" else "A gallery of TIFF masters"
        write_section(f"gallery{suffix}", f"## {title}: cold, warm and title-edit builds\n\n" + text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
