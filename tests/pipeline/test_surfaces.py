"""Built-in surface materials: the maps exist, tile seamlessly, and compose puts them on walls and floors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline import compose, images
from pipeline.spec import load_exhibit
from pipeline.surfaces import LIBRARY, SLOTS
from pipeline.textures import load_textures

YAML = """exhibit:
  id: mat
  title: Materials
  languages: [en]
rooms:
  - id: hall
    size: [6, 4, 3]
    floor: {material: oak}
    walls: {material: plaster, color: "#e8e4dc"}
    ceiling: {material: concrete, texture_size: 3}
"""


@pytest.mark.parametrize("name", sorted(LIBRARY))
def test_every_material_has_its_maps_and_they_tile(name: str) -> None:
    for slot in SLOTS:
        path = LIBRARY[name].file(slot)
        assert path.is_file(), path
        pixels = images.rgb_from_png(path.read_bytes()) if slot.endswith(".png") else None
        if pixels is not None:
            # Opposite edges of a tileable map differ no more than the most different neighbouring rows (or
            # columns) inside it: the wrap-around is no seam.
            for axis in (0, 1):
                seam = np.abs(np.take(pixels, 0, axis) - np.take(pixels, -1, axis)).mean()
                inside = np.abs(np.diff(pixels, axis=axis)).mean(axis=(1 - axis, 2)).max()
                assert seam <= 1.1 * inside, (name, slot, axis)


def test_compose_gives_material_surfaces_colour_relief_and_roughness(tmp_path: Path) -> None:
    (tmp_path / "exhibit.yaml").write_text(YAML, encoding="utf-8")
    exhibit = load_exhibit(tmp_path).exhibit
    composition = compose.compose(exhibit, {}, load_textures(exhibit))
    shell = next(n for n in composition.rooms[0].scene.nodes if n.name == "hall-shell")
    assert shell.mesh is not None
    materials = {p.material.name: p.material for p in shell.mesh.primitives if p.material is not None}
    floor, wall, ceiling = materials["hall-floor"], materials["hall-wall"], materials["hall-ceiling"]
    for material in (floor, wall, ceiling):
        assert material.base_color_texture is not None and material.normal_texture is not None
        assert material.metallic_roughness_texture is not None
    assert floor.base_color_factor == (1.0, 1.0, 1.0, 1.0)  # white: the oak's own colour
    assert wall.base_color_factor[0] < 1.0  # tinted by the spec's colour
    floor_prim = next(p for p in shell.mesh.primitives if p.material is floor)
    uv, positions = floor_prim.attributes["TEXCOORD_0"], floor_prim.attributes["POSITION"]
    # Oak repeats every 1.2 m: the 6 m floor spans 5 repeats; the ceiling was told 3 m: 2 repeats.
    assert np.ptp(uv[:, 0]) == pytest.approx(np.ptp(positions[:, 0]) / LIBRARY["oak"].tile)
    ceiling_prim = next(p for p in shell.mesh.primitives if p.material is ceiling)
    assert np.ptp(ceiling_prim.attributes["TEXCOORD_0"][:, 0]) == pytest.approx(2.0)


def test_an_unknown_material_is_a_spec_error(tmp_path: Path) -> None:
    from pipeline.errors import SpecError

    (tmp_path / "exhibit.yaml").write_text(YAML.replace("material: oak", "material: oka"), encoding="utf-8")
    with pytest.raises(SpecError) as raised:
        load_exhibit(tmp_path)
    assert any("rooms[0].floor.material" in p.path for p in raised.value.problems)


def test_exposure_of_the_exhibit_and_the_room_multiply(tmp_path: Path) -> None:
    text = YAML.replace("  languages: [en]", "  languages: [en]\n  exposure: 1.5").replace(
        "    size: [6, 4, 3]", "    size: [6, 4, 3]\n    lighting: {exposure: 0.8}")
    (tmp_path / "exhibit.yaml").write_text(text, encoding="utf-8")
    exhibit = load_exhibit(tmp_path).exhibit
    scene = compose.compose(exhibit, {}, load_textures(exhibit)).rooms[0].scene
    assert scene.extras["vitrina"]["exposure"] == pytest.approx(1.2)
