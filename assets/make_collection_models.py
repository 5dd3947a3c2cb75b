"""Make the collection-import example's models: two turned ceramics as OBJ text files in centimetres (CC0).

Run `python assets/make_collection_models.py` from the repository root; tests/assets/test_collection_models.py checks
that the committed files are exactly what this makes. numpy only, and coordinates rounded, so the bytes are stable.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
FOLDER = "exhibits/collection-import/models"
SECTIONS = 48

# Profiles as (radius, height) in centimetres from the foot up to the rim, outside then back down the inside.
PROFILES: dict[str, list[tuple[float, float]]] = {
    "bowl": [(0.0, 0.0), (4.5, 0.0), (4.8, 0.8), (6.5, 2.5), (8.2, 5.0), (9.0, 7.2), (8.7, 7.4), (7.8, 5.2),
             (6.0, 2.9), (3.5, 1.2), (0.0, 1.0)],
    "vase": [(0.0, 0.0), (4.0, 0.0), (4.3, 1.0), (7.0, 6.0), (8.0, 11.0), (7.2, 17.0), (4.2, 22.0), (3.2, 25.0),
             (3.8, 28.0), (4.4, 30.0), (4.0, 30.2), (3.0, 28.0), (2.6, 25.0), (0.0, 24.8)],
}


def lathe_obj(name: str, profile: list[tuple[float, float]]) -> bytes:
    """The profile turned about +y into a closed mesh, as OBJ text (y up, centimetres)."""
    angles = np.linspace(0.0, 2.0 * np.pi, SECTIONS, endpoint=False)
    radius = np.array([r for r, _ in profile])
    height = np.array([h for _, h in profile])
    x = np.round(np.outer(radius, np.cos(angles)), 4)
    z = np.round(np.outer(radius, np.sin(angles)), 4)
    y = np.repeat(height[:, None], SECTIONS, axis=1)
    lines = [f"# {name}: a turned ceramic for the collection-import example (CC0), centimetres, y up", f"o {name}"]
    for ring in range(len(profile)):
        for step in range(SECTIONS):
            lines.append(f"v {x[ring, step]:.4f} {y[ring, step]:.4f} {z[ring, step]:.4f}")
    for ring in range(len(profile) - 1):
        for step in range(SECTIONS):
            a = ring * SECTIONS + step + 1
            b = ring * SECTIONS + (step + 1) % SECTIONS + 1
            c, d = a + SECTIONS, b + SECTIONS
            if radius[ring] > 0:
                lines.append(f"f {a} {c} {b}")
            if radius[ring + 1] > 0:
                lines.append(f"f {b} {c} {d}")
    return ("\n".join(lines) + "\n").encode("ascii")


def model_files() -> dict[str, bytes]:
    """Path relative to the repository → bytes, for every model of the example."""
    return {f"{FOLDER}/{name}.obj": lathe_obj(name, profile) for name, profile in PROFILES.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT, help="write under this root instead of the repository")
    args = parser.parse_args()
    for relative, data in model_files().items():
        target = args.out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        print(f"wrote {relative} ({len(data)} bytes)")


if __name__ == "__main__":
    main()
