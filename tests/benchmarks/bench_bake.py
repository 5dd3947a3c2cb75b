"""Light bake cost on the rich example: time per room, share of a cold build, cache, bytes added (bench_bake)."""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from pipeline.bake import BAKE_PROFILES, settings_for
from pipeline.build import BuildOptions, build
from tests.benchmarks.doc_section import write_section
from tests.conftest import REPO

EXAMPLE = REPO / "exhibits" / "bronze-age"


def one_round(root: Path) -> dict[str, Any]:
    """A cold build without the bake, a cold build with it, then a warm build with it (lightmaps cached)."""
    out = root / "site"
    result: dict[str, Any] = {}
    for label, bake, cold in (("plain", False, True), ("cold", True, True), ("warm", True, False)):
        cache = root / f"cache-{'plain' if label == 'plain' else 'baked'}"
        if cold:
            shutil.rmtree(cache, ignore_errors=True)
        started = time.perf_counter()
        report = build(EXAMPLE, out, BuildOptions(quiet=True, cache_dir=cache, jobs=2, bake=bake))
        result[label] = time.perf_counter() - started
        result[f"{label}:bake"] = report.timings.get("bake", 0.0)
        result[f"{label}:rooms"] = {room.room: room.bytes for room in report.rooms}
        result[f"{label}:bakes"] = report.bakes
    return result


def table(rows: list[dict[str, Any]], load: tuple[float, float, float]) -> str:
    def median(key: str) -> float:
        return statistics.median(float(row[key]) for row in rows)

    settings = settings_for(("quest2", "quest3", "phone", "desktop"))
    rooms = list(rows[0]["cold:rooms"])
    lines = [
        "## Light bake",
        "",
        f"`python -m tests.benchmarks.bench_bake --rounds {len(rows)}`: exhibits/bronze-age (its targets quest2, quest3, "
        f"phone, desktop bake at the finest: {settings.texel * 100:.0f} cm texels, {settings.rays} hemisphere rays per "
        f"texel on every 2nd texel, {settings.light_samples} shadow rays per light), `--jobs 2` (rooms bake in 2 "
        f"threads), median of "
        f"{len(rows)} rounds; load average before the run {load[0]:.2f}.",
        "",
        "| build | wall time (median) | bake stage | bake share |",
        "|---|---:|---:|---:|",
        f"| cold, `--no-bake` | {median('plain'):.2f} s | – | – |",
        f"| cold, baked | {median('cold'):.2f} s | {median('cold:bake'):.2f} s | "
        f"{median('cold:bake') / median('cold'):.0%} |",
        f"| warm, baked (lightmaps from the cache) | {median('warm'):.2f} s | {median('warm:bake'):.2f} s | "
        f"{median('warm:bake') / median('warm'):.0%} |",
        "",
        "| room | lightmap | texel | bake (cold) | from cache (warm) | contact shadows (cold / warm) "
        "| room GLB without → with bake | added |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for room in rooms:
        cold = [next(b for b in row["cold:bakes"] if b["room"] == room) for row in rows]
        warm = [next(b for b in row["warm:bakes"] if b["room"] == room) for row in rows]
        plain_bytes = rows[0]["plain:rooms"][room]
        baked_bytes = rows[0]["cold:rooms"][room]
        width, height = cold[0]["size"]
        lines.append(
            f"| {room} | {width}×{height} | {cold[0]['texel'] * 100:.0f} cm | "
            f"{statistics.median(b['seconds'] for b in cold):.2f} s | "
            f"{statistics.median(b['seconds'] for b in warm):.2f} s ({'hit' if all(b['cached'] for b in warm) else 'MISS'}) | "
            f"{cold[0]['contact_shadows']}: {statistics.median(b['contact_seconds'] for b in cold):.2f} s / "
            f"{statistics.median(b['contact_seconds'] for b in warm):.2f} s | "
            f"{plain_bytes:,} → {baked_bytes:,} B | {baked_bytes - plain_bytes:+,} B |")
    lines += [
        "",
        "The bake share is the bake stage over the whole cold build (which also ingests the models and writes "
        "their USDZ files); every bake after the first takes the lightmaps from the cache, and a room re-bakes "
        "only when something that lights it changes (tests/pipeline/test_bake.py moves an artifact). The bake "
        "stage also lays each model's contact shadow (pipeline/contact_shadows.py: its coarsest level's occlusion "
        "seen from below, 64-128 px by target, cached by content). Bytes added are the lightmap PNG, the second UV "
        "set and the room's contact-shadow atlas and quads in the room GLB.",
        "",
        "Per profile (bake.BAKE_PROFILES): " + "; ".join(
            f"{name} {s.texel * 100:.0f} cm, {s.rays} rays, {s.light_samples} shadow rays"
            for name, s in BAKE_PROFILES.items()) + ". A build bakes once at the finest setting its targets ask "
        "for; a target with a smaller texture limit gets the lightmap downsized with the room's other textures.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print the section instead of writing docs/benchmarks.md")
    args = parser.parse_args()
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="vitrina-bench-bake-") as tmp:
        rows = [one_round(Path(tmp)) for _ in range(args.rounds)]
    text = table(rows, load)
    print(text)
    if not args.no_write:
        write_section("bake", text)


if __name__ == "__main__":
    main()
