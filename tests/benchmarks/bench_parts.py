"""Big-scan levels simplified whole vs in spatial parts (pipeline.spatial_parts) vs gltfpack -si: time and error.

    python -m tests.benchmarks.bench_parts --sizes 4M,10M

For each synthetic scan (tests/benchmarks/scan_generator.py, as bench_scans makes them), `high` (to the desktop
budget) and then `medium` (to the quest2 budget, from `high`) are simplified as the ladder does: attribute-aware,
normals at the ladder's weight. Once by one meshoptimizer call over the whole mesh, once part by part; and, for
reference, `gltfpack -cc -si` from the source at each level's triangle count (its whole-process time). A level whose
cap is above its parent's count is not simplified (as in the ladder) and has no row. Errors are exact
point-to-triangle distances relative to the bounding-box diagonal, both ways: from seeded points on the source
surface to the level, and from seeded points on the level to the source (the nearest triangles by centroid are the
candidates, trimesh gives each one's closest point).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from tests.benchmarks.bench_ladder import gltfpack
from tests.benchmarks.bench_scans import SIZES
from tests.benchmarks.doc_section import write_section
from tests.benchmarks.glb_reader import read_glb
from tests.benchmarks.scan_generator import generate

SAMPLES = 200_000
CANDIDATES = 12  # nearest triangles by centroid whose exact distance is taken


def surface_points(positions: np.ndarray, indices: np.ndarray, count: int, seed: int) -> np.ndarray:
    """Area-weighted, seeded points on a triangle mesh."""
    triangles = positions[indices.reshape(-1, 3)].astype(np.float64)
    areas = np.linalg.norm(np.cross(triangles[:, 1] - triangles[:, 0], triangles[:, 2] - triangles[:, 0]), axis=1)
    rng = np.random.default_rng(seed)
    picked = triangles[rng.choice(len(triangles), count, p=areas / areas.sum())]
    u, v = rng.random(count), rng.random(count)
    flip = u + v > 1
    u[flip], v[flip] = 1 - u[flip], 1 - v[flip]
    return picked[:, 0] + u[:, None] * (picked[:, 1] - picked[:, 0]) + v[:, None] * (picked[:, 2] - picked[:, 0])


def distances(points: np.ndarray, positions: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Each point's distance to the mesh, through its nearest triangles by centroid."""
    import trimesh
    from scipy.spatial import cKDTree

    triangles = positions[indices.reshape(-1, 3)].astype(np.float64)
    _, near = cKDTree(triangles.mean(axis=1)).query(points, CANDIDATES)
    best = np.full(len(points), np.inf)
    for column in range(CANDIDATES):
        closest = trimesh.triangles.closest_point(triangles[near[:, column]], points)
        best = np.minimum(best, np.linalg.norm(points - closest, axis=1))
    return best


def measure(name: str, scans: Path, work: Path) -> list[dict[str, Any]]:
    from pipeline import budgets, ladder, meshopt, spatial_parts
    from pipeline.ingest import load_asset

    triangles, texture = SIZES[name]
    folder = scans / f"scan-{triangles}"
    if not (folder / "scan.glb").exists():
        generate(scans, triangles, texture, formats=("glb",))
    primitive = next(p for mesh in load_asset(folder / "scan.glb").meshes() for p in mesh.primitives)
    positions = np.ascontiguousarray(primitive.attributes["POSITION"], dtype=np.float32)
    normals = np.ascontiguousarray(primitive.attributes["NORMAL"], dtype=np.float32)
    source = np.ascontiguousarray(primitive.indices, dtype=np.uint32)
    weights = np.full(3, ladder.NORMAL_WEIGHT, dtype=np.float32)
    scale = meshopt.simplify_scale(positions)
    diagonal = float(np.linalg.norm(positions.max(axis=0) - positions.min(axis=0)))
    from_source = surface_points(positions, source, SAMPLES, seed=1)
    caps = [("high", budgets.PROFILES["desktop"].triangles), ("medium", budgets.PROFILES["quest2"].triangles)]

    def whole(indices: np.ndarray, cap: int) -> np.ndarray:
        return meshopt.simplify(positions, indices, cap * 3, 1.0, lock_border=False, attributes=normals,
                                attribute_weights=weights).indices

    def parts(indices: np.ndarray, cap: int) -> np.ndarray:
        return spatial_parts.simplify(positions, indices, cap * 3, scale, normals, weights)[0]

    def errors(level_positions: np.ndarray, indices: np.ndarray) -> dict[str, float]:
        there = distances(from_source, level_positions, indices) / diagonal
        back = distances(surface_points(level_positions, indices, SAMPLES, seed=2), positions, source) / diagonal
        both = np.concatenate([there, back])
        return {"rms": float(np.sqrt(np.mean(both ** 2))), "hausdorff": float(both.max())}

    rows = []
    for method, simplify in (("whole", whole), ("parts", parts)):
        parent = source
        for level, cap in caps:
            if cap >= len(parent) // 3:
                continue
            started = time.perf_counter()
            indices = simplify(parent, cap)
            seconds = time.perf_counter() - started
            rows.append({"scan": name, "level": level, "method": method, "from": len(parent) // 3,
                         "triangles": len(indices) // 3, "seconds": seconds,
                         "parts": 1 if method == "whole" else spatial_parts.part_count(len(parent) // 3),
                         **errors(positions, indices)})
            print(rows[-1], flush=True)
            parent = indices
    for level, cap in caps:
        if cap >= len(source) // 3:
            continue
        out = work / f"{name}.{level}.gltfpack.glb"
        started = time.perf_counter()
        gltfpack(folder / "scan.glb", cap / (len(source) // 3), out)
        seconds = time.perf_counter() - started
        theirs = read_glb(out)
        faces = np.asarray(theirs.faces, dtype=np.uint32).reshape(-1)
        rows.append({"scan": name, "level": level, "method": "gltfpack -si", "from": len(source) // 3,
                     "triangles": len(faces) // 3, "seconds": seconds, "parts": 1,
                     **errors(np.asarray(theirs.vertices, dtype=np.float32), faces)})
        print(rows[-1], flush=True)
    return rows


def table(rows: list[dict[str, Any]], command: str) -> str:
    from pipeline import ladder, spatial_parts

    lines = ["## Big-scan levels: simplified whole, in spatial parts, and by gltfpack -si", "",
             f"`{command}` (2 cores; normal weight {ladder.NORMAL_WEIGHT}, parts of {spatial_parts.PART_TRIANGLES:,} "
             "triangles, two at a time)", "",
             "| scan | level | simplified | parts | from → triangles | time | RMS error | Hausdorff |",
             "|---|---|---|---:|---|---:|---:|---:|"]
    for row in rows:
        lines.append(f"| {row['scan']} | {row['level']} | {row['method']} | {row['parts']} | "
                     f"{row['from']:,} → {row['triangles']:,} | {row['seconds']:.2f} s | {row['rms']:.3e} | "
                     f"{row['hausdorff']:.3e} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_parts", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="4M", help=f"comma-separated, of {', '.join(SIZES)}")
    parser.add_argument("--scans", type=Path, default=Path(tempfile.gettempdir()) / "vitrina-scans")
    parser.add_argument("--no-doc", action="store_true", help="print only; do not update docs/benchmarks.md")
    args = parser.parse_args(argv)
    sizes = [s for s in args.sizes.split(",") if s]
    with tempfile.TemporaryDirectory(prefix="vitrina-bench-parts-") as tmp:
        rows = [row for name in sizes for row in measure(name, args.scans, Path(tmp))]
    text = table(rows, "python -m tests.benchmarks.bench_parts --sizes " + ",".join(sizes))
    print(text)
    if not args.no_doc:
        write_section("scan-parts", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
