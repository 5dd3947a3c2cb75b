"""`make mutants` summary: the kill rate of the last mutmut run, per module and overall, from mutmut's own results.

`--sample N --seed S` draws a seeded sample of mutant names stratified by module (`make mutants-sample` runs exactly
those), and `--score-sample N --seed S` scores that same sample, with a Wilson 95 % interval for the overall rate.
"""

from __future__ import annotations

import argparse
import collections
import math
import random
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
KILLED = {"killed", "timeout"}  # a mutant that hangs the tests is noticed too
MINIMUM_PER_MODULE = 10  # so that each module's rate rests on more than one or two mutants


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mutation_score", description=__doc__)
    parser.add_argument("--doc", metavar="NOTE", help="also write the table to docs/benchmarks.md with this note")
    parser.add_argument("--sample", type=int, metavar="N", help="print a stratified sample of N mutant names")
    parser.add_argument("--score-sample", type=int, metavar="N", help="score the sample `--sample N` draws")
    parser.add_argument("--seed", type=int, default=12, help="seed of the sample (default 12)")
    parser.add_argument("--score-names", type=Path, metavar="FILE",
                        help="score the mutant names listed in FILE (a sample saved before the code changed: "
                             "redrawing after a `# pragma: no mutate` renumbers that function's mutants)")
    args = parser.parse_args(argv)
    states = mutant_states()
    if args.sample:
        print("\n".join(stratified_sample(states, args.sample, args.seed)))
        return 0
    if args.score_sample:
        return _score_sample(states, stratified_sample(states, args.score_sample, args.seed))
    if args.score_names:
        return _score_sample(states, args.score_names.read_text(encoding="utf-8").split())
    by_module: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for name, state in states.items():
        by_module[module_of(name)][state] += 1
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


def mutant_states() -> dict[str, str]:
    """Every mutant mutmut generated, by name, with its state ("killed", "survived", "not checked", ...)."""
    listing = subprocess.run([str(REPO / ".venv" / "bin" / "mutmut"), "results", "--all", "true"], cwd=REPO,
                             capture_output=True, text=True, check=True).stdout
    states = {}
    for line in listing.splitlines():
        found = re.match(r"\s*([\w.]+__mutmut_\d+): (\w[\w ]*)", line)
        if found:
            states[found.group(1)] = found.group(2).strip()
    return states


def module_of(mutant_name: str) -> str:
    """`pipeline.budgets.xǁDeviceProfileǁlimits__mutmut_3` -> `pipeline.budgets`."""
    return mutant_name.rsplit("__mutmut_", 1)[0].rsplit(".x", 1)[0]


def stratified_sample(states: dict[str, str], size: int, seed: int) -> list[str]:
    """`size` mutant names drawn without replacement, each module getting its share of `size` in proportion to its
    mutant count (largest remainder), but at least MINIMUM_PER_MODULE (or all it has). Same seed, same tree: same
    sample, whatever order mutmut listed them in."""
    by_module: dict[str, list[str]] = collections.defaultdict(list)
    for name in sorted(states):
        by_module[module_of(name)].append(name)
    total = sum(len(names) for names in by_module.values())
    quotas = {module: size * len(names) / total for module, names in by_module.items()}
    shares = {module: math.floor(quota) for module, quota in quotas.items()}
    by_remainder = sorted(quotas, key=lambda module: (shares[module] - quotas[module], module))
    for module in by_remainder[:size - sum(shares.values())]:
        shares[module] += 1
    rng = random.Random(seed)
    sample = []
    for module, names in sorted(by_module.items()):
        count = min(len(names), max(shares[module], MINIMUM_PER_MODULE))
        sample.extend(rng.sample(names, count))
    return sample


def wilson_interval(killed: int, checked: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a kill rate: sound near 100 % and for small modules, unlike p ± z·se."""
    if not checked:
        return 0.0, 1.0
    rate = killed / checked
    centre = (rate + z * z / (2 * checked)) / (1 + z * z / checked)
    spread = z * math.sqrt(rate * (1 - rate) / checked + z * z / (4 * checked * checked)) / (1 + z * z / checked)
    return centre - spread, centre + spread


def _score_sample(states: dict[str, str], sample: list[str]) -> int:
    gone = [name for name in sample if name not in states]
    if gone:
        print(f"{len(gone)} sampled mutant(s) no longer generated (marked equivalent since): {' '.join(gone)}")
        sample = [name for name in sample if name in states]
    population = collections.Counter(module_of(name) for name in states)
    by_module: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for name in sample:
        by_module[module_of(name)][states[name]] += 1
    print("| module | mutants | sampled | killed / checked |\n|---|---|---|---|")
    total: collections.Counter[str] = collections.Counter()
    weighted = weight = 0.0
    for module, counts in sorted(by_module.items()):
        total.update(counts)
        tested = _tested(counts)
        killed = sum(counts[state] for state in KILLED)
        if tested:  # a module with nothing checked yet says nothing about the rate
            weighted += population[module] * killed / tested
            weight += population[module]
        print(f"| `{module}` | {population[module]} | {sum(counts.values())} | {_rate(counts)} |")
    killed = sum(total[state] for state in KILLED)
    low, high = wilson_interval(killed, _tested(total))
    print(f"| **sample, all modules** | {len(states)} | {len(sample)} | {_rate(total)} |")
    print(f"\nWilson 95 % interval of the sample rate: {100 * low:.1f} % – {100 * high:.1f} %; weighted by each "
          f"module's share of all mutants (undoing the minimum of {MINIMUM_PER_MODULE} per module): "
          f"{100 * weighted / max(1.0, weight):.1f} %")
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
