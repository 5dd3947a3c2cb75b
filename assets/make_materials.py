"""Generate the built-in tileable surface materials (base colour, normal, roughness), deterministically (CC0-1.0).

Writes pipeline/surfaces/<name>/{basecolor.jpg,normal.png,roughness.png}: package data, so `walls: {material:
plaster}` works wherever Vitrina is installed. Every map tiles seamlessly: the noise is made periodic in the
frequency domain, and every feature (planks, chips) wraps around the edges.
"""

from __future__ import annotations

import argparse
import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "pipeline" / "surfaces"
SIZE = 512


def periodic_noise(rng: np.random.Generator, size: int, scale: float, stretch: tuple[float, float] = (1.0, 1.0)
                   ) -> np.ndarray:
    """Tileable smooth noise in [-1, 1]: white noise low-passed in the frequency domain (so it wraps exactly)."""
    white = rng.normal(size=(size, size))
    fy = np.fft.fftfreq(size)[:, None] * stretch[1]
    fx = np.fft.rfftfreq(size)[None, :] * stretch[0]
    radius = np.sqrt(fx**2 + fy**2) * size / scale
    smooth = np.fft.irfft2(np.fft.rfft2(white) * np.exp(-(radius**2)), s=(size, size))
    return smooth / max(float(np.abs(smooth).max()), 1e-9)


def normal_map(height: np.ndarray, strength: float) -> np.ndarray:
    """A tangent-space normal map (0..1 RGB, +Y up as glTF wants) from a tileable height field."""
    dx = (np.roll(height, -1, axis=1) - np.roll(height, 1, axis=1)) / 2
    dy = (np.roll(height, -1, axis=0) - np.roll(height, 1, axis=0)) / 2
    # Image rows run down while the texture's v runs down too; glTF normals have +Y towards v = 0 (up the image).
    normal = np.dstack([-dx * strength, dy * strength, np.ones_like(height)])
    normal /= np.linalg.norm(normal, axis=2, keepdims=True)
    return normal * 0.5 + 0.5


def oak(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Oak floor: six planks per tile running along u, staggered ends, grain, a groove between planks."""
    size = SIZE
    v, u = np.mgrid[0:size, 0:size] / size
    planks = 6
    row = np.floor(v * planks).astype(int)
    offset = rng.random(planks)[row]
    along = (u + offset) % 1.0
    tone = (rng.random(planks) * 0.25 - 0.12)[row] + np.where(along < 0.5, 0.03, -0.03)
    grain_noise = periodic_noise(rng, size, 40.0, stretch=(8.0, 1.0))  # smooth along the plank, varied across
    grain = np.sin((v * planks * 9 + grain_noise * 3.0) * 2 * np.pi) * 0.5 + 0.5
    fine = periodic_noise(rng, size, 160.0, stretch=(6.0, 1.0))
    groove = np.minimum(np.abs(v * planks - np.round(v * planks)) * size / planks, 1.0)  # 0 at the seam
    end_joint = np.minimum(np.abs(along - 0.5) * size, 1.0)
    seam = np.minimum(groove, end_joint)
    base = np.array([0.34, 0.19, 0.09])  # linear RGB of oiled oak
    shade = 1 + tone[..., None] * 1.6 + (grain[..., None] - 0.5) * 0.5 + fine[..., None] * 0.1
    colour = base * shade * (0.55 + 0.45 * seam[..., None])
    height = grain * 0.3 + fine * 0.2 + seam * 1.0
    roughness = 0.55 + 0.15 * grain + 0.25 * (1 - seam)
    return colour, normal_map(height, 2.0), roughness


def plaster(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Smooth painted plaster: near white (the spec's colour tints it), soft trowel marks."""
    broad = periodic_noise(rng, SIZE, 6.0)
    fine = periodic_noise(rng, SIZE, 90.0)
    colour = np.full((SIZE, SIZE, 3), 0.93) * (1 + broad[..., None] * 0.025 + fine[..., None] * 0.015)
    return colour, normal_map(broad * 2.0 + fine * 0.6, 1.5), 0.88 + 0.06 * fine


def concrete(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Polished concrete: grey, cloudy, with small pores."""
    cloud = periodic_noise(rng, SIZE, 10.0)
    fine = periodic_noise(rng, SIZE, 120.0)
    pores = (periodic_noise(rng, SIZE, 200.0) > 0.55).astype(float)
    colour = np.full((SIZE, SIZE, 3), [0.56, 0.55, 0.53]) * (1 + cloud[..., None] * 0.08 + fine[..., None] * 0.04)
    colour *= 1 - pores[..., None] * 0.35
    return colour, normal_map(fine * 0.5 - pores, 2.0), 0.6 + 0.1 * cloud + 0.25 * pores


def terrazzo(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Terrazzo: a light ground with marble chips of three colours (chips wrap around the tile's edges)."""
    colour = np.full((SIZE, SIZE, 3), [0.86, 0.84, 0.80]) * (1 + periodic_noise(rng, SIZE, 30.0)[..., None] * 0.03)
    v, u = np.mgrid[0:SIZE, 0:SIZE]
    chips = np.zeros((SIZE, SIZE))
    palette = np.array([[0.35, 0.33, 0.31], [0.72, 0.52, 0.40], [0.95, 0.94, 0.92]])
    for _ in range(420):
        cx, cy = rng.random(2) * SIZE
        radius = 2 + rng.random() * 7
        dx = (u - cx + SIZE / 2) % SIZE - SIZE / 2
        dy = (v - cy + SIZE / 2) % SIZE - SIZE / 2
        inside = dx * dx + (dy * (0.6 + rng.random() * 0.8)) ** 2 < radius * radius
        colour[inside] = palette[rng.integers(len(palette))] * (0.9 + 0.2 * rng.random())
        chips[inside] = 1
    return colour, normal_map(chips * 0.3, 1.0), 0.35 + 0.1 * (1 - chips)


MATERIALS: dict[str, Callable[[np.random.Generator], tuple[np.ndarray, np.ndarray, np.ndarray]]] = {
    "oak": oak, "plaster": plaster, "concrete": concrete, "terrazzo": terrazzo,
}


def _encode(array: np.ndarray, kind: str, mode: str) -> bytes:
    pixels = np.clip(np.round(array * 255), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    image = Image.fromarray(pixels, mode)
    if kind == "JPEG":
        image.save(buffer, format="JPEG", quality=90, optimize=True)
    else:
        image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _half(array: np.ndarray) -> np.ndarray:
    return (array[0::2, 0::2] + array[1::2, 0::2] + array[0::2, 1::2] + array[1::2, 1::2]) / 4


def linear_to_srgb(values: np.ndarray) -> np.ndarray:
    v = np.clip(values, 0.0, 1.0)
    return np.where(v <= 0.0031308, v * 12.92, 1.055 * np.power(v, 1 / 2.4) - 0.055)


def generate(out: Path) -> list[Path]:
    written = []
    for index, (name, make) in enumerate(sorted(MATERIALS.items())):
        colour, normal, roughness = make(np.random.default_rng(1000 + index))
        folder = out / name
        folder.mkdir(parents=True, exist_ok=True)
        # glTF's metallic-roughness map: roughness in G, metallic (0: none of these are metal) in B.
        packed = np.dstack([np.ones_like(roughness), np.clip(roughness, 0, 1), np.zeros_like(roughness)])
        # Relief and roughness at half the resolution: a quarter of the bytes, and no visible loss at gallery
        # distances (2×2 averaging keeps the maps tileable).
        normal, packed = _half(normal), _half(packed)
        for file, data in (("basecolor.jpg", _encode(linear_to_srgb(colour), "JPEG", "RGB")),
                           ("normal.png", _encode(normal, "PNG", "RGB")),
                           ("roughness.png", _encode(packed, "PNG", "RGB"))):
            (folder / file).write_bytes(data)
            written.append(folder / file)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    for path in generate(args.out):
        print(f"{path.relative_to(args.out.parent) if path.is_relative_to(args.out.parent) else path}: "
              f"{path.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
