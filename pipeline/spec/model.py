"""The exhibit language as frozen dataclasses: one documented field per YAML key, the reference for designers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pipeline.errors import Problem

# How to read this module: every dataclass is one YAML mapping and every field is one key, spelled the same.
# The string under a field is its documentation; docs/spec.md and `vitrina schema` are generated from it.
# Field metadata carries the rules the loader enforces (see pipeline/spec/fields.py): "min"/"max" bounds,
# "kind" for strings with a format (id, color, uri, lang), "asset" for files and which types they may be.
#
# Coordinates, once and for all: metres; y is up; inside a room the origin is the centre of its floor,
# +x points east and +z points south (so the north wall is at z = -depth/2). Angles are in degrees.

Text = Mapping[str, str]
"""Multilingual text: language tag → string. In YAML a plain string means the exhibit's default language."""

Vec2 = tuple[float, float]
Vec3 = tuple[float, float, float]

Wall = Literal["north", "south", "east", "west"]
Units = Literal["m", "cm", "mm", "in", "ft"]
Axis = Literal["y", "z", "x"]
Target = Literal["quest2", "quest3", "phone", "desktop"]
OverBudget = Literal["fail", "simplify"]
Mount = Literal["shelf", "bracket"]
SurfaceMaterialName = Literal["oak", "plaster", "concrete", "terrazzo"]

UNIT_METRES: Mapping[str, float] = {"m": 1.0, "cm": 0.01, "mm": 0.001, "in": 0.0254, "ft": 0.3048}
"""How many metres one unit is, for each value of `units`."""


def _rules(default: Any = None, **rules: Any) -> Any:
    """A field with a default and loader rules in its metadata (see the note at the top of this module)."""
    return field(default=default, metadata=rules)


def _rules_factory(factory: Any, **rules: Any) -> Any:
    return field(default_factory=factory, metadata=rules)


@dataclass(frozen=True)
class AssetPath:
    """A file of the exhibit: the path as written in the spec and where it is, checked to be inside the folder."""

    written: str
    """The path as the spec wrote it, relative to the exhibit file; use it in messages."""
    path: Path
    """The absolute, resolved path, already checked to exist, to be readable and to stay inside the exhibit folder."""

    def __str__(self) -> str:
        return self.written


@dataclass(frozen=True)
class Surface:
    """How a wall, floor or ceiling looks: a colour, optionally a tiling texture."""

    color: str | None = _rules(None, kind="color")
    """Colour as "#rrggbb". When omitted, walls are "#e8e4dc", the floor "#8a8178" and the ceiling "#f4f2ee"."""
    texture: AssetPath | None = _rules(None, asset="image")
    """An image tiled over the surface (.png, .jpg, .webp or .tif); multiplied by `color`."""
    material: SurfaceMaterialName | None = None
    """A built-in tileable material with colour, relief and roughness maps: oak, plaster, concrete or terrazzo. `color` tints it (white when omitted); its own repeat size is used unless `texture_size` is set."""
    texture_size: float = _rules(1.0, min=0.01, max=100)
    """How many metres one repeat of the texture covers, in both directions."""
    roughness: float = _rules(0.9, min=0, max=1)
    """PBR roughness: 0 is a mirror, 1 is matt."""


@dataclass(frozen=True)
class Door:
    """An opening in one wall of a room that leads to another room; declare each door once, on either room."""

    wall: Wall = _rules("north")
    """The wall the door is in: north, south, east or west."""
    to: str = _rules("", kind="id", ref="room", required=True)
    """The id of the room the door leads to. The compiler cuts the opening in both rooms' walls."""
    at: float = 0.0
    """Offset of the door's centre along the wall from the wall's middle, in metres; positive is to the right for a visitor facing the wall from inside."""
    width: float = _rules(1.2, min=0.5, max=20)
    """Width of the opening in metres."""
    height: float = _rules(2.2, min=1.5, max=20)
    """Height of the opening in metres; at most the room's height."""


@dataclass(frozen=True)
class Lighting:
    """The light in a room: an even ambient fill plus, by default, one spotlight per artifact."""

    ambient: float = _rules(0.6, min=0, max=10)
    """Strength of the even fill light (0 is dark; 1 is a bright gallery)."""
    color: str = _rules("#fff8f0", kind="color")
    """Colour of the light, "#rrggbb"; a warm white suits bronze and wood."""
    spotlights: bool = True
    """Light each artifact with its own spotlight from the ceiling."""
    spot_intensity: float = _rules(1.0, min=0, max=100)
    """Strength of each artifact's spotlight."""
    exposure: float = _rules(1.0, min=0.05, max=20)
    """Brightness of this room on screen (tone-mapping exposure, times the exhibit's); 1 leaves it as lit."""


@dataclass(frozen=True)
class Start:
    """Where visitors appear in a room, and which way they face."""

    at: Vec2 = (0.0, 0.0)
    """Floor position [x, z] in metres from the room's centre (+x east, +z south)."""
    facing: float | None = None
    """Which way visitors look, in degrees clockwise from north seen from above: 0 north, 90 east, 180 south. When omitted, they face the room's featured artifact (the first a tour visits in this room, else the first listed), or along the room's long axis when it has none."""


@dataclass(frozen=True)
class Case:
    """A glass case on a pedestal that holds several artifacts; each one names it with `place.case`."""

    id: str = _rules("", kind="id", required=True)
    """Id of the case, unique in its room; artifacts refer to it with `place: {room, case, at}`."""
    at: Vec2 = (0.0, 0.0)
    """Floor position [x, z] of the case's centre, in metres from the room's centre (+x east, +z south)."""
    size: Vec3 = _rules((1.2, 0.6, 0.5), min=0.1, max=10)
    """Width, depth and height of the glass, in metres (the pedestal has the same width and depth)."""
    plinth_height: float = _rules(0.9, min=0.05, max=3)
    """Height of the pedestal's top, where the artifacts stand, in metres."""
    rotate: float = 0.0
    """Turn the case about the vertical axis, in degrees clockwise seen from above."""
    color: str = _rules("#f2f0ea", kind="color")
    """Colour of the pedestal, "#rrggbb"."""


@dataclass(frozen=True)
class Room:
    """A rectangular room: size, surfaces, doors, light and (for the entrance) where visitors start."""

    id: str = _rules("", kind="id", required=True)
    """Unique id of the room (lowercase letters, digits, "-" and "_"); doors, placements and tours refer to it."""
    name: Text = _rules_factory(dict)
    """Name of the room shown to visitors."""
    size: Vec3 = _rules((10.0, 8.0, 4.0), min=0.5, max=200)
    """Width (along x, west to east), depth (along z, north to south) and height of the room, in metres."""
    position: Vec2 | None = None
    """Where the room's centre is in the world, [x, z] in metres. When omitted, the room is placed beside the room whose door leads to it, so that the door lines up; the first room is at [0, 0]."""
    walls: Surface = field(default_factory=Surface)
    """How the walls look."""
    floor: Surface = field(default_factory=Surface)
    """How the floor looks."""
    ceiling: Surface = field(default_factory=Surface)
    """How the ceiling looks."""
    doors: tuple[Door, ...] = ()
    """Doors from this room to others."""
    lighting: Lighting = field(default_factory=Lighting)
    """The room's light."""
    start: Start | None = None
    """Where visitors start. The exhibit opens in the first room that has a `start`, else in the middle of the first room."""
    cases: tuple[Case, ...] = ()
    """Glass cases that hold several artifacts each (one vitrine for a set of objects)."""


@dataclass(frozen=True)
class Plinth:
    """A solid pedestal the artifact stands on; `plinth: true` gives one with the defaults."""

    height: float = _rules(0.9, min=0.05, max=3)
    """Height of the plinth's top above the floor, in metres."""
    width: float | None = _rules(None, min=0.05, max=20)
    """Width in metres; when omitted, the artifact's footprint plus `margin` on each side."""
    depth: float | None = _rules(None, min=0.05, max=20)
    """Depth in metres; when omitted, the artifact's footprint plus `margin` on each side."""
    margin: float = _rules(0.1, min=0, max=2)
    """Space left around the artifact when the plinth is sized automatically, in metres."""
    color: str = _rules("#f2f0ea", kind="color")
    """Colour of the plinth, "#rrggbb"."""


@dataclass(frozen=True)
class Vitrine:
    """A glass case on a pedestal around the artifact; `vitrine: true` gives one with the defaults."""

    plinth_height: float = _rules(0.9, min=0.05, max=3)
    """Height of the pedestal the case stands on, in metres."""
    height: float | None = _rules(None, min=0.05, max=5)
    """Height of the glass case itself; when omitted, the artifact's height plus `margin`."""
    margin: float = _rules(0.1, min=0, max=2)
    """Space between the artifact and the glass on every side, in metres."""
    color: str = _rules("#f2f0ea", kind="color")
    """Colour of the pedestal, "#rrggbb"."""


@dataclass(frozen=True)
class Place:
    """Where an artifact stands: on the floor (`at: [x, z]`) or on a wall (`wall:` with `at:` an offset along it)."""

    room: str = _rules("", kind="id", ref="room", required=True)
    """The id of the room the artifact is in."""
    at: Vec2 | float = (0.0, 0.0)
    """On the floor: [x, z] in metres from the room's centre (+x east, +z south). On a wall: the offset in metres of the artifact's centre along the wall from its middle, positive to the right for a visitor facing the wall."""
    wall: Wall | None = None
    """Hang the artifact on this wall (north, south, east or west) instead of standing it on the floor."""
    height: float | None = _rules(None, min=0, max=50)
    """On a wall: the height of the artifact's centre above the floor, in metres (default 1.5). On the floor: not used."""
    rotate: float = 0.0
    """On the floor: turn the artifact about the vertical axis, in degrees clockwise seen from above. An artifact's front faces south (+z) before turning."""
    plinth: Plinth | None = None
    """Stand the artifact on a plinth (floor only)."""
    vitrine: Vitrine | None = None
    """Put the artifact in a glass case on a pedestal (floor only)."""
    case: str | None = _rules(None, kind="id")
    """On the floor: stand the artifact in this room's case (`rooms[].cases`) instead of on the floor; `at` is still in room coordinates and must lie inside the case."""
    mount: Mount | None = None
    """On a wall, a model only: stand it on a `shelf` (a board the width of the wall behind it) or a `bracket` (a small board on an angled support) instead of hanging it; `height` is then the height of the board's top, where the model's base rests."""

    @property
    def on_wall(self) -> bool:
        return self.wall is not None

    @property
    def floor_at(self) -> Vec2:
        """[x, z] of a floor placement (room-centred metres)."""
        return self.at if isinstance(self.at, tuple) else (0.0, 0.0)

    @property
    def wall_offset(self) -> float:
        """Offset along the wall of a wall placement, in metres."""
        return float(self.at) if not isinstance(self.at, tuple) else 0.0

    @property
    def wall_height(self) -> float:
        """Height of a wall-hung artifact's centre above the floor, in metres."""
        return 1.5 if self.height is None else self.height

    @property
    def base_height(self) -> float:
        """Height of the surface a floor artifact rests on: the floor, its plinth or its vitrine's pedestal."""
        if self.vitrine is not None:
            return self.vitrine.plinth_height
        if self.plinth is not None:
            return self.plinth.height
        return 0.0


@dataclass(frozen=True)
class Frame:
    """The frame around a hung image; `frame: none` hangs it bare."""

    width: float = _rules(0.05, min=0, max=1)
    """Width of the frame's moulding in metres."""
    depth: float = _rules(0.03, min=0, max=1)
    """How far the frame stands out from the wall, in metres."""
    color: str = _rules("#3b2f25", kind="color")
    """Colour of the frame, "#rrggbb"."""
    mat: float = _rules(0.0, min=0, max=1)
    """Width of a pale passe-partout between frame and image, in metres (0 for none)."""


@dataclass(frozen=True)
class Record:
    """The object record, shaped after Dublin Core; it goes into the GLB (KHR_xmp_json_ld) and the object's text page."""

    title: Text = _rules_factory(dict)
    """The object's title (dc:title)."""
    creator: Text = _rules_factory(dict)
    """Who made it, or its workshop or culture if the maker is unknown (dc:creator)."""
    date: Text = _rules_factory(dict)
    """When it was made, as a curator would write it: "Shang dynasty, c. 1300 BC" (dc:date)."""
    culture: Text = _rules_factory(dict)
    """Culture or period (dc:coverage)."""
    material: Text = _rules_factory(dict)
    """Materials and technique: "Bronze, cast in piece moulds" (dc:format / medium)."""
    dimensions: Text = _rules_factory(dict)
    """Physical dimensions as text: "H. 38 cm, diam. 30 cm" (dc:extent)."""
    accession: str = ""
    """The museum's accession number (dc:identifier)."""
    credit: Text = _rules_factory(dict)
    """The credit line: "Gift of …, 1987"."""
    rights: str = _rules("", kind="uri")
    """Rights statement for this object as a URI, e.g. http://rightsstatements.org/vocab/NoC-US/1.0/ (dc:rights)."""
    description: Text = _rules_factory(dict)
    """A short description of the object for its label and text page (dc:description)."""
    source: str = _rules("", kind="uri")
    """Where the record or the 3D data comes from, as a URI (dc:source)."""


@dataclass(frozen=True)
class Annotation:
    """A point of interest pinned to an artifact, shown as a hotspot with a title and text."""

    id: str = _rules("", kind="id", required=True)
    """Id unique within its artifact; tours refer to it as "artifact/annotation"."""
    at: Vec3 = (0.0, 0.0, 0.0)
    """The point in the artifact's own frame, in metres after `units`/`scale`/`height` and `up` are applied: y up, origin at the centre of the artifact's base."""
    title: Text = _rules_factory(dict, required=True)
    """Short title of the hotspot."""
    text: Text = _rules_factory(dict)
    """What the visitor reads when opening the hotspot."""


@dataclass(frozen=True)
class AudioTrack:
    """One language's audio file and its WebVTT captions."""

    src: AssetPath = _rules(None, asset="audio")
    """The audio file (.mp3, .ogg, .wav or .m4a)."""
    captions: AssetPath | None = _rules(None, asset="captions")
    """The WebVTT captions file (.vtt) for the same language."""


Audio = Mapping[str, AudioTrack]
"""Audio per language. In YAML: `{zh: file, en: file, captions: {zh: file.vtt, en: file.vtt}}`."""


@dataclass(frozen=True)
class Artifact:
    """One thing on show: a 3D model (`model:`), a framed image (`image:`) or a text panel (`text:`); exactly one of the three."""

    id: str = _rules("", kind="id", required=True)
    """Unique id (lowercase letters, digits, "-" and "_"); it names the glTF node, the object page and the tour references."""
    model: AssetPath | None = _rules(None, asset="model")
    """A 3D model file: .glb, .gltf, .obj (with its .mtl), .ply or .stl. Draco-compressed glTF is fine."""
    units: Units | None = None
    """Model only: the unit the model file is written in (m, cm, mm, in, ft). Default m, unless `scale` or `height` is given."""
    scale: float | None = _rules(None, min=1e-6, max=1e6)
    """Model only: multiply the model's coordinates by this after `units` (instead of or as well as `units`)."""
    height: float | None = _rules(None, min=0.001, max=100)
    """Model only: scale the model uniformly so that it is this tall, in metres (overrides `units` and `scale`)."""
    up: Axis = "y"
    """Model only: which axis of the model file points up (y, z or x). STL and PLY scans are often z-up."""
    image: AssetPath | None = _rules(None, asset="image")
    """An image hung on a wall in a frame: .png, .jpg, .webp or .tif (a museum's master file: shown in sRGB, upright as its EXIF orientation says)."""
    text: Text = _rules_factory(dict)
    """Panel only: the text printed on the panel. Paragraphs are separated by blank lines."""
    size: Vec2 | None = _rules(None, min=0.01, max=50)
    """Image or panel: the physical [width, height] in metres. Images default to 1 m wide at the file's aspect ratio; panels to [1.0, 0.7]."""
    frame: Frame | None = field(default_factory=Frame)
    """Image only: the frame; `none` for a bare image."""
    color: str = _rules("#222222", kind="color")
    """Panel only: the colour of the text, "#rrggbb"."""
    background: str = _rules("#f4f1ea", kind="color")
    """Panel only: the colour of the panel, "#rrggbb"."""
    alt: Text = _rules_factory(dict)
    """A text alternative for visitors who cannot see the object: required in spirit for images, useful for models."""
    place: Place | None = None
    """Where the artifact is: `{room, at: [x, z], rotate, plinth | vitrine}` on the floor, or `{room, wall, at, height}` on a wall. When omitted (an object imported from a collection record and not placed yet), `check` warns, and the build lists it in the exhibit's catalogue without putting it in a room."""
    record: Record = field(default_factory=Record)
    """The object record (title, creator, date, accession number, credit line, rights…)."""
    annotations: tuple[Annotation, ...] = ()
    """Points of interest on the object."""
    audio: Audio = _rules_factory(dict, audio=True)
    """The audio guide per language, with captions: `{zh: audio/x.zh.mp3, en: audio/x.en.mp3, captions: {zh: audio/x.zh.vtt, en: audio/x.en.vtt}}`."""
    caption: bool | None = None
    """Put a small caption plate (title; maker, date and material) beside this model or image, as in a gallery; when omitted, `exhibit.captions` decides."""

    @property
    def kind(self) -> Literal["model", "image", "panel"]:
        if self.model is not None:
            return "model"
        if self.image is not None:
            return "image"
        return "panel"

    @property
    def metres_per_unit(self) -> float:
        """Factor from model-file units to metres from `units` and `scale` (`height` is applied after loading)."""
        return UNIT_METRES[self.units or "m"] * (self.scale if self.scale is not None else 1.0)

    def annotation(self, annotation_id: str) -> Annotation | None:
        return next((a for a in self.annotations if a.id == annotation_id), None)

    @property
    def placed(self) -> Place:
        """The placement, for code that has already set aside the artifacts not placed yet."""
        if self.place is None:
            raise ValueError(f"artifact {self.id!r} is not placed yet")
        return self.place


@dataclass(frozen=True)
class View:
    """A viewpoint around an artifact: the camera orbits the artifact's centre."""

    distance: float = _rules(2.0, min=0.1, max=100)
    """Distance from the artifact's centre to the eye, in metres."""
    azimuth: float = 0.0
    """Angle around the artifact in degrees, from its front (0), positive clockwise seen from above."""
    elevation: float = _rules(10.0, min=-89, max=89)
    """Angle above (positive) or below the artifact's centre, in degrees."""


@dataclass(frozen=True)
class Stop:
    """One stop of a tour: an artifact or one of its annotations, with what the guide says there."""

    artifact: str | None = _rules(None, kind="id", ref="artifact")
    """The id of the artifact to visit (give this or `annotation`)."""
    annotation: str | None = _rules(None, ref="annotation")
    """An annotation to visit, as "artifact/annotation" (give this or `artifact`)."""
    say: Text = _rules_factory(dict)
    """The narration text for this stop, shown as subtitles and read by the guide."""
    audio: Audio = _rules_factory(dict, audio=True)
    """Recorded narration per language, with captions, as for an artifact's `audio`."""
    view: View | None = None
    """Where the visitors' camera glides to; by default a viewpoint in front of the artifact."""

    @property
    def artifact_id(self) -> str:
        """The artifact this stop shows: the named one, or the owner of the annotation."""
        if self.artifact:
            return self.artifact
        return (self.annotation or "").split("/", 1)[0]


@dataclass(frozen=True)
class Tour:
    """A guided tour: an ordered list of stops that a guide (or a visitor alone) walks through."""

    id: str = _rules("", kind="id", required=True)
    """Unique id of the tour; guide links name it."""
    title: Text = _rules_factory(dict, required=True)
    """Title of the tour."""
    description: Text = _rules_factory(dict)
    """What the tour is about, shown before it starts."""
    stops: tuple[Stop, ...] = _rules((), min_items=1)
    """The stops, in order."""


@dataclass(frozen=True)
class Museum:
    """The museum's own identity, shown on every page of the site: its name, logo and footer text."""

    name: Text = _rules_factory(dict, required=True)
    """The museum's name, e.g. {en: City Museum, zh: 城市博物馆}."""
    logo: AssetPath | None = _rules(None, asset="image")
    """The museum's logo (.png, .jpg, .webp or .tif), shown small beside its name; the name is its text alternative."""
    footer: Text = _rules_factory(dict)
    """Footer text on every page: address, opening hours, copyright."""
    url: str = _rules("", kind="uri")
    """The museum's own website; the name links to it."""


@dataclass(frozen=True)
class ExhibitInfo:
    """The `exhibit:` block: what the exhibit is called, its languages, rights and the devices it must run on."""

    id: str = _rules("", kind="id", required=True)
    """Id of the exhibit; it names the output folder (site/<id>/)."""
    title: Text = _rules_factory(dict, required=True)
    """Title of the exhibit."""
    description: Text = _rules_factory(dict)
    """A short introduction shown on the exhibit's start page."""
    languages: tuple[str, ...] = _rules(("en",), kind="lang", min_items=1)
    """Languages as BCP-47 tags (en, zh, zh-Hant, fr-CA…); the first is the default. Every text should exist in each."""
    rights: str = _rules("", kind="uri")
    """Rights for the exhibit as a whole, as a URI (e.g. https://creativecommons.org/licenses/by/4.0/)."""
    credits: tuple[Text, ...] = ()
    """Credit lines for the exhibit (curators, designers, lenders, photographers)."""
    targets: tuple[Target, ...] = _rules(("quest2", "phone", "desktop"), min_items=1)
    """Device profiles whose budgets the build enforces: quest2, quest3, phone, desktop."""
    over_budget: OverBudget = "fail"
    """What the build does when a room exceeds a target's budget: `fail` with a report per asset, or `simplify` (make a lighter level of detail for that target within `max_error`)."""
    max_error: float = _rules(0.01, min=0, max=0.5)
    """With `over_budget: simplify`: the largest geometric error allowed, as a fraction of each model's bounding-box diagonal."""
    captions: bool = False
    """A small caption plate (title; maker, date and material) beside every model and image: on its plinth's front, on a lectern in front of it, or on the wall to its right. An artifact's own `caption` overrides this."""
    museum: Museum | None = None
    """The museum's identity (name, logo, footer text) shown on every page instead of "Vitrina"."""
    base_url: str = _rules("", kind="uri")
    """The public URL the built exhibit folder (site/<id>/) is served from, e.g. https://museum.example/vitrina/bronze-age/. With it, every build also writes IIIF, Linked Art and Voyager exports (see docs/standards.md), whose ids must be absolute URLs; `vitrina build --base-url` overrides it."""
    exposure: float = _rules(1.0, min=0.05, max=20)
    """Brightness of the whole exhibit on screen (tone-mapping exposure); each room's `lighting.exposure` multiplies it."""


@dataclass(frozen=True)
class Exhibit:
    """A whole exhibit: the `exhibit:` block, the rooms, the artifacts and the tours (after `include:` is merged)."""

    exhibit: ExhibitInfo = _rules(None, required=True)
    """What the exhibit is: id, title, languages, rights, targets."""
    include: tuple[str, ...] = ()
    """Other YAML files whose `rooms`, `artifacts` and `tours` are added to this file's, as glob patterns relative to this file (e.g. artifacts/*.yaml). They may not leave the exhibit's folder."""
    rooms: tuple[Room, ...] = _rules((), min_items=1)
    """The rooms; the first one is the entrance unless another has a `start`."""
    artifacts: tuple[Artifact, ...] = ()
    """Everything on show."""
    tours: tuple[Tour, ...] = ()
    """Guided tours."""

    @property
    def id(self) -> str:
        return self.exhibit.id

    @property
    def languages(self) -> tuple[str, ...]:
        return self.exhibit.languages

    @property
    def default_language(self) -> str:
        return self.exhibit.languages[0]

    def room(self, room_id: str) -> Room | None:
        return next((r for r in self.rooms if r.id == room_id), None)

    def artifact(self, artifact_id: str) -> Artifact | None:
        return next((a for a in self.artifacts if a.id == artifact_id), None)

    def featured_artifact(self, room_id: str) -> Artifact | None:
        """The artifact a room puts forward: the first one a tour stops at in this room, else the first listed."""
        in_room = [a for a in self.artifacts if a.place is not None and a.place.room == room_id]
        for tour in self.tours:
            for stop in tour.stops:
                found = next((a for a in in_room if a.id == stop.artifact_id), None)
                if found is not None:
                    return found
        return in_room[0] if in_room else None

    @property
    def start_room(self) -> Room:
        """The room visitors start in: the first with a `start`, else the first room."""
        return next((r for r in self.rooms if r.start is not None), self.rooms[0])


@dataclass(frozen=True)
class LoadedSpec:
    """A loaded, validated exhibit: the model, the exhibit folder, the files read, and the warnings found."""

    exhibit: Exhibit
    root: Path
    """The exhibit folder (absolute); every asset is inside it."""
    spec_file: Path
    """The main exhibit.yaml (absolute)."""
    files: tuple[Path, ...]
    """Every YAML file read (the main one and its includes), for watching and cache keys."""
    warnings: tuple[Problem, ...] = ()
    """Warnings found while checking (severity "warning"), for the build report."""
