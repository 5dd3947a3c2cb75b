"""`make mutants` summary: the kill rate of the last mutmut run, per module and overall, from mutmut's own results."""

from __future__ import annotations

import argparse
import collections
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
KILLED = {"killed", "timeout"}  # a mutant that hangs the tests is noticed too


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mutation_score", description=__doc__)
    parser.add_argument("--doc", metavar="NOTE", help="also write the table to docs/benchmarks.md with this note")
    args = parser.parse_args(argv)
    listing = subprocess.run([str(REPO / ".venv" / "bin" / "mutmut"), "results", "--all", "true"], cwd=REPO,
                             capture_output=True, text=True, check=True).stdout
    by_module: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for line in listing.splitlines():
        found = re.match(r"\s*([\w.]+)__mutmut_\d+: (\w[\w ]*)", line)
        if found:
            module = found.group(1).rsplit(".x", 1)[0].split(".x_")[0]
            by_module[module][found.group(2).strip()] += 1
    total: collections.Counter[str] = collections.Counter()
    rows = []
    for module, counts in sorted(by_module.items()):
        total.update(counts)
        print(f"{module:40s} {_rate(counts)}")
        if _tested(counts):
            rows.append(f"| `{module}` | {_rate(counts)} |")
    print(f"{'all':40s} {_rate(total)}")
    if args.doc:
        from tests.benchmarks.doc_section import write_section

        write_section("mutants", "\n".join([
            "## Mutation testing", "", "Command: `make mutants` (mutmut over `viewer/tours/`, `pipeline/spec/`, "
            "`pipeline/gltf/`, `pipeline/budgets.py`; killed = a test failed or hung). Modules with no mutant "
            "checked in the run are left out.", "", args.doc, "", "| module | killed / checked |", "|---|---|",
            *rows, f"| **checked so far** | {_rate(total)} |"]))
    return 0


def _tested(counts: collections.Counter[str]) -> int:
    return sum(count for state, count in counts.items() if state not in ("skipped", "not checked"))


def _rate(counts: collections.Counter[str]) -> str:
    tested = _tested(counts)
    killed = sum(counts[state] for state in KILLED)
    detail = ", ".join(f"{state} {count}" for state, count in sorted(counts.items()))
    return f"{killed}/{tested} killed = {100 * killed / max(1, tested):5.1f} %  ({detail})"


if __name__ == "__main__":
    sys.exit(main())
