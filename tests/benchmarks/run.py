"""`make bench`: run every benchmark module's main() in turn; each prints its table and updates docs/benchmarks.md."""

from __future__ import annotations

import importlib
import sys

# One line per run: a benchmark module (each exposes main(argv: list[str] | None = None) -> int) and its arguments.
BENCHMARKS: list[tuple[str, list[str]]] = [
    ("tests.benchmarks.bench_compiler", []),
    ("tests.benchmarks.bench_tours", []),
    ("tests.benchmarks.bench_tours_attack", []),
    ("tests.benchmarks.bench_build", []),
    ("tests.benchmarks.bench_viewer", []),
    ("tests.benchmarks.bench_scans", []),
    ("tests.benchmarks.bench_ladder", []),
    ("tests.benchmarks.bench_streaming", []),
    ("tests.benchmarks.bench_gallery", []),
    ("tests.benchmarks.bench_posters", []),
    ("tests.benchmarks.bench_posters", ["--captions"]),
    ("tests.benchmarks.bench_posters", ["--big", "--captions"]),
]


def main(argv: list[str] | None = None) -> int:
    status = 0
    for name, arguments in BENCHMARKS:
        print(f"== {name} {' '.join(arguments)}".rstrip(), flush=True)
        status = max(status, int(importlib.import_module(name).main(arguments) or 0))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
