"""Test helper: write small exhibits (YAML, an OBJ+MTL cube with a textured material, a PNG) into a folder."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

CUBE_OBJ = """mtllib cube parts.mtl
v -0.5 0 -0.5
v 0.5 0 -0.5
v 0.5 1 -0.5
v -0.5 1 -0.5
v -0.5 0 0.5
v 0.5 0 0.5
v 0.5 1 0.5
v -0.5 1 0.5
vt 0 0
vt 1 0
vt 1 1
vt 0 1
usemtl painted
f 1/1 3/3 2/2
f 1/1 4/4 3/3
f 5/1 6/2 7/3
f 5/1 7/3 8/4
f 1/1 2/2 6/3
f 1/1 6/3 5/4
f 4/1 8/2 7/3
f 4/1 7/3 3/4
f 1/1 5/2 8/3
f 1/1 8/3 4/4
f 2/1 3/2 7/3
f 2/1 7/3 6/4
"""

CUBE_MTL = """newmtl painted
Kd 0.8 0.7 0.5
map_Kd cube skin.png
"""

TINY_YAML = """exhibit:
  id: {id}
  title: {{en: Tiny, zh: 小展}}
  languages: [en, zh]
  rights: https://creativecommons.org/licenses/by/4.0/
  targets: [{targets}]
  over_budget: {over_budget}
  max_error: 0.05
rooms:
  - id: hall
    name: {{en: Hall, zh: 大厅}}
    size: [8, 6, 3]
    doors: [{{wall: east, to: side, width: 1.4, at: 1}}]
    start: {{at: [0, 2], facing: 90}}
  - id: side
    name: {{en: Side room, zh: 侧室}}
    size: [4, 4, 3]
artifacts:
  - id: cube
    model: models/cube.obj
    units: cm
    height: 0.5
    place: {{room: hall, at: [1, -1], rotate: 30, plinth: {{height: 0.8}}}}
    record: {{title: {{en: A cube, zh: 立方体}}, accession: "2026.1", credit: {{en: Gift of the tests, zh: 测试捐赠}},
             rights: "http://rightsstatements.org/vocab/NoC-US/1.0/", date: {{en: 2026, zh: 2026年}}}}
    alt: {{en: A small cube, zh: 小立方体}}
    annotations:
      - {{id: top, at: [0, 0.5, 0], title: {{en: Top, zh: 顶}}, text: {{en: The top face., zh: 顶面。}}}}
  - id: cube2
    model: models/cube.obj
    units: cm
    height: 0.5
    place: {{room: side, at: [0, 0], vitrine: {{plinth_height: 0.9}}}}
    record: {{title: {{en: Another cube, zh: 另一个立方体}}}}
    alt: {{en: A second cube, zh: 第二个立方体}}
  - id: red
    image: images/red.png
    size: [0.8, 0.4]
    alt: {{en: A red rectangle, zh: 红色长方形}}
    place: {{room: hall, wall: north, at: -1, height: 1.6}}
    record: {{title: {{en: Red, zh: 红}}}}
  - id: intro
    text: {{en: "{intro}", zh: 欢迎。}}
    place: {{room: side, wall: west, at: 0.5, height: 1.4}}
    record: {{title: {{en: Introduction, zh: 前言}}}}
    alt: {{en: Introduction panel, zh: 前言展板}}
tours:
  - id: walk
    title: {{en: A walk, zh: 漫步}}
    stops:
      - {{artifact: cube, say: {{en: Look at the cube., zh: 看立方体。}}}}
      - {{annotation: cube/top, say: {{en: Its top., zh: 顶面。}}}}
      - {{artifact: red, view: {{distance: 2, azimuth: 20}}, say: {{en: Red., zh: 红。}}}}
"""


def write_tiny_exhibit(folder: Path, exhibit_id: str = "tiny", targets: str = "quest2, desktop",
                       over_budget: str = "fail", intro: str = "Welcome to the tiny exhibit.") -> Path:
    """Write the tiny exhibit into folder (created) and return the folder. Two rooms, four artifacts, one tour."""
    (folder / "models").mkdir(parents=True, exist_ok=True)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "models" / "cube.obj").write_text(CUBE_OBJ, encoding="utf-8")
    (folder / "models" / "cube parts.mtl").write_text(CUBE_MTL, encoding="utf-8")
    Image.new("RGB", (16, 16), (180, 140, 90)).save(folder / "models" / "cube skin.png")
    Image.new("RGB", (64, 32), (200, 30, 30)).save(folder / "images" / "red.png")
    write_spec(folder, exhibit_id=exhibit_id, targets=targets, over_budget=over_budget, intro=intro)
    return folder


def write_spec(folder: Path, exhibit_id: str = "tiny", targets: str = "quest2, desktop", over_budget: str = "fail",
               intro: str = "Welcome to the tiny exhibit.") -> None:
    text = TINY_YAML.format(id=exhibit_id, targets=targets, over_budget=over_budget, intro=intro)
    (folder / "exhibit.yaml").write_text(text, encoding="utf-8")


def sphere_obj(rings: int = 40, segments: int = 60) -> str:
    """A UV sphere of radius 0.5 resting on y=0 (2·rings·segments triangles), using the cube's material."""
    import math

    lines = ["mtllib cube parts.mtl"]
    for ring in range(rings + 1):
        theta = math.pi * ring / rings
        for segment in range(segments):
            phi = 2 * math.pi * segment / segments
            x, y, z = math.sin(theta) * math.cos(phi), math.cos(theta), math.sin(theta) * math.sin(phi)
            lines.append(f"v {0.5 * x:.6f} {0.5 + 0.5 * y:.6f} {0.5 * z:.6f}")
            lines.append(f"vt {segment / segments:.6f} {ring / rings:.6f}")
    lines.append("usemtl painted")
    for ring in range(rings):
        for segment in range(segments):
            a = ring * segments + segment + 1
            b = ring * segments + (segment + 1) % segments + 1
            c, d = a + segments, b + segments
            lines.append(f"f {a}/{a} {b}/{b} {d}/{d}")
            lines.append(f"f {a}/{a} {d}/{d} {c}/{c}")
    return "\n".join(lines) + "\n"
