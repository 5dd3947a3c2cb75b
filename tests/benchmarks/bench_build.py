"""Cold and warm build time of the rich example (exhibits/bronze-age): python -m tests.benchmarks.bench_build."""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from pipeline.build import BuildOptions, build
from tests.benchmarks.doc_section import write_section
from tests.conftest import REPO

EXAMPLE = REPO / "exhibits" / "bronze-age"


def one_round(root: Path, jobs: int) -> dict[str, float]:
    """A cold build (empty cache), a warm one (same cache, nothing changed), and a cold one in one process."""
    out = root / "site"
    timings: dict[str, float] = {}
    for label, workers in (("cold", jobs), ("warm", jobs), ("serial", 1)):
        cache = root / f"cache-{label if label != 'warm' else 'cold'}"
        if label != "warm":
            shutil.rmtree(cache, ignore_errors=True)
        started = time.perf_counter()
        report = build(EXAMPLE, out, BuildOptions(quiet=True, cache_dir=cache, jobs=workers))
        timings[label] = time.perf_counter() - started
        timings[f"{label}_assets"] = report.timings.get("assets", 0.0)
        for stage, seconds in report.timings.items():
            timings[f"{label}:{stage}"] = seconds
        timings[f"{label}_misses"] = report.cache_misses
    return timings


def table(rows: list[dict[str, float]], jobs: int, load: tuple[float, float, float]) -> str:
    def median(key: str) -> float:
        return statistics.median(row[key] for row in rows)

    lines = [
        "## Build time of the rich example",
        "",
        f"`python -m tests.benchmarks.bench_build --rounds {len(rows)} --jobs {jobs}`: exhibits/bronze-age "
        f"(2 rooms, {int(rows[0]['cold_misses'])} model files), median of {len(rows)} rounds, cold, warm and "
        f"serial cold in turn in each round; load average before the run {load[0]:.2f}.",
        "",
        "| build | wall time (median) | min–max | asset stage | assets processed |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, meaning in (("cold", f"cold (empty cache), {jobs} asset jobs"), ("warm", "warm (nothing changed)"),
                           ("serial", "cold, 1 asset job")):
        values = [row[label] for row in rows]
        lines.append(f"| {meaning} | {median(label):.2f} s | {min(values):.2f}–{max(values):.2f} s | "
                     f"{median(label + '_assets'):.2f} s | {int(median(label + '_misses'))} |")
    stages = [key.split(":", 1)[1] for key in rows[0] if key.startswith("cold:")]
    lines += ["", "Median seconds per stage:", "", "| build | " + " | ".join(stages) + " |",
              "|---|" + "---:|" * len(stages)]
    for label in ("cold", "warm", "serial"):
        lines.append(f"| {label} | " + " | ".join(f"{median(f'{label}:{stage}'):.2f}" for stage in stages) + " |")
    speedup = median("cold") / median("warm") if median("warm") else 0.0
    lines += ["", f"Warm over cold: {speedup:.1f}× faster. The example's models are small (about 80k triangles in "
                  "all). A warm build takes every model's ladder (its simplified, quantized and compressed levels) and "
                  "every unchanged room shell from the cache, and still writes the pages and the report, so that "
                  "editing only text in the YAML gives a complete new site. On 2 busy cores, two asset workers do "
                  "not beat one for six small files (forking costs about as much as the work)."]
    return "\n".join(lines)


def write_doc(text: str) -> None:
    write_section("build", text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_build", description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=0, help="parallel asset jobs (0: one per core)")
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args(argv)
    load = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory(prefix="vitrina-bench-build-") as tmp:
        for _ in range(args.rounds):
            rows.append(one_round(Path(tmp), args.jobs))
    jobs = args.jobs or (os.cpu_count() or 1)
    text = table(rows, jobs, load)
    print(text)
    if not args.no_doc:
        write_doc(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
