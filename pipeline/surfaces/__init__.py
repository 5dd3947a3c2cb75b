"""Built-in tileable surface materials (`floor: {material: oak}`): their texture files and natural repeat size.

The maps are made by assets/make_materials.py (CC0-1.0) and ship with the package, so they are Vitrina's own
files, not the exhibit's: reading them never reaches outside an exhibit folder the user gave us.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

FOLDER = Path(__file__).resolve().parent
SLOTS = ("basecolor.jpg", "normal.png", "roughness.png")


@dataclass(frozen=True)
class SurfaceMaterial:
    """A built-in material: how many metres one repeat of its maps covers, and how strong its relief is."""

    name: str
    tile: float
    normal_scale: float = 1.0

    def file(self, slot: str) -> Path:
        return FOLDER / self.name / slot


LIBRARY: dict[str, SurfaceMaterial] = {
    "oak": SurfaceMaterial("oak", tile=1.2, normal_scale=0.8),  # six 20 cm planks per repeat
    "plaster": SurfaceMaterial("plaster", tile=2.0, normal_scale=0.5),
    "concrete": SurfaceMaterial("concrete", tile=2.0, normal_scale=0.6),
    "terrazzo": SurfaceMaterial("terrazzo", tile=1.0, normal_scale=0.4),
}
