"""`vitrina new NAME`: write a starter exhibit (a room, a panel, a picture and a small model) that checks clean."""

from __future__ import annotations

import math
import re
import struct
from pathlib import Path

import numpy as np

from pipeline.errors import VitrinaError

STARTER_YAML = """\
# yaml-language-server: $schema={schema}
# A starter exhibit made by `vitrina new`. Check it with `vitrina check {folder}`, build it with
# `vitrina build {folder} -o site`, and see docs/spec.md (or `vitrina schema`) for every key.
exhibit:
  id: {exhibit_id}
  title: {title}
  description: A starter exhibit. Replace this text with yours.
  languages: [en]             # BCP-47 tags; the first is the default, e.g. [en, fr]
  rights: https://creativecommons.org/publicdomain/zero/1.0/
  targets: [quest2, phone, desktop]

rooms:
  - id: main
    name: Main room
    size: [8, 6, 3.5]          # width (x, west to east), depth (z, north to south), height, in metres
    walls: {{color: "#e8e4dc"}}
    start: {{at: [0, 2], facing: 0}}   # from the room's centre; facing 0 is north

artifacts:
  - id: welcome
    text: |-
      Welcome

      This panel, the picture beside it and the vessel on its plinth come from exhibit.yaml.
    size: [1.0, 0.7]
    place: {{room: main, wall: north, at: -1.5, height: 1.5}}

  - id: picture
    image: images/picture.png
    size: [0.8, 0.6]
    alt: Soft bands of colour, like hills at dusk
    place: {{room: main, wall: north, at: 1.2, height: 1.6}}
    record:
      title: Hills at dusk
      creator: vitrina new
      rights: https://creativecommons.org/publicdomain/zero/1.0/

  - id: vessel
    model: models/vessel.stl
    units: mm
    up: z
    alt: A small turned vessel
    place: {{room: main, at: [0, -1], plinth: {{height: 0.9}}}}
    record:
      title: Vessel
      creator: vitrina new
      dimensions: H. 20 cm
      accession: STARTER.1
      rights: https://creativecommons.org/publicdomain/zero/1.0/
    annotations:
      - id: rim
        at: [0, 0.2, 0.06]
        title: The rim
        text: Annotations pin a title and a text to a point on the object.

tours:
  - id: first-look
    title: A first look
    stops:
      - artifact: welcome
        say: Every exhibit starts somewhere. This one starts here.
      - annotation: vessel/rim
        say: Tours visit artifacts and annotations, in order.
"""


def slug(name: str) -> str:
    """An exhibit id from a folder name: 'My Show' → 'my-show'."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:64].strip("-")


def vessel_stl(height_mm: float = 200.0, segments: int = 48) -> bytes:
    """A closed turned vessel as binary STL (millimetres, z up), built from a profile of (radius, height)."""
    profile = [(0.0, 0.0), (40.0, 0.0), (55.0, 40.0), (60.0, 90.0), (40.0, 150.0), (35.0, 180.0),
               (50.0, height_mm), (0.0, height_mm)]
    angles = np.linspace(0.0, 2 * math.pi, segments, endpoint=False)
    rings = [np.stack([r * np.cos(angles), r * np.sin(angles), np.full(segments, z)], axis=1) for r, z in profile]
    triangles: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for lower, upper in zip(rings, rings[1:], strict=False):
        for i in range(segments):
            j = (i + 1) % segments
            # Outward-facing winding (counter-clockwise seen from outside); degenerate ones at the poles are skipped.
            for a, b, c in ((lower[i], lower[j], upper[j]), (lower[i], upper[j], upper[i])):
                if np.linalg.norm(np.cross(b - a, c - a)) > 1e-9:
                    triangles.append((a, b, c))
    out = bytearray(b"vitrina new: turned vessel".ljust(80, b" "))
    out += struct.pack("<I", len(triangles))  # pragma: no mutate ("<i" differs only past 2**31 triangles)
    for a, b, c in triangles:
        normal = np.cross(b - a, c - a)
        normal = normal / np.linalg.norm(normal)
        out += struct.pack("<12fH", *normal, *a, *b, *c, 0)
    return bytes(out)


def picture_png(width: int = 400, height: int = 300) -> bytes:
    """Soft horizontal bands, like hills at dusk, as PNG bytes."""
    from pipeline import images

    y = np.linspace(0.0, 1.0, height)[:, None]
    x = np.linspace(0.0, 1.0, width)[None, :]
    sky = np.stack([0.95 - 0.3 * y, 0.75 - 0.35 * y, 0.6 + 0.2 * y], axis=-1) * np.ones((1, width, 1))
    for depth, (base, amplitude, colour) in enumerate(((0.55, 0.06, (0.45, 0.42, 0.55)),
                                                      (0.7, 0.05, (0.3, 0.3, 0.4)),
                                                      (0.85, 0.04, (0.18, 0.2, 0.25)))):
        ridge = base + amplitude * np.sin(2 * math.pi * (x * (1.5 + depth) + depth * 0.3))
        sky = np.where((y > ridge)[..., None], np.array(colour), sky)
    return images.png_from_rgb(sky)


def create_starter(folder: Path) -> Path:
    """Write a starter exhibit into `folder` (which must not exist or be empty) and return the folder."""
    exhibit_id = slug(folder.resolve().name)
    if not exhibit_id:
        raise VitrinaError(f"{folder}: cannot make an exhibit id from this name; use letters or digits")
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise VitrinaError(f"{folder} already exists and is not empty; choose a new name")
    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "models").mkdir(exist_ok=True)
    (folder / "images" / "picture.png").write_bytes(picture_png())
    (folder / "models" / "vessel.stl").write_bytes(vessel_stl())
    title = folder.resolve().name.replace("-", " ").replace("_", " ").strip().capitalize() or "Starter"
    # The schema travels with the exhibit so the editor line works wherever Vitrina is installed;
    # `vitrina schema -o exhibit.schema.json` refreshes it after an upgrade.
    from pipeline.spec.reference import schema_text

    (folder / "exhibit.schema.json").write_text(schema_text(), encoding="utf-8")
    text = STARTER_YAML.format(exhibit_id=exhibit_id, title=_yaml_string(title), folder=folder,
                               schema="exhibit.schema.json")
    (folder / "exhibit.yaml").write_text(text, encoding="utf-8")
    return folder


def _yaml_string(text: str) -> str:
    """A YAML double-quoted string (JSON's escaping is valid YAML)."""
    import json

    return json.dumps(text, ensure_ascii=False)
