"""Posters: a picture of every artifact and a cover of every room, rendered by the viewer in headless Chromium.

They are what a visitor sees before the 3D loads and what a shared link shows (og:image): list thumbnails, the
text pages, the site index. Rendering runs the site's own viewer on a local server, so a poster looks exactly like
the exhibit. Without Chromium (or Playwright to drive it) the build warns and uses a fallback: the picture itself
for a hung image, a card with the title for the rest. Posters are cached by everything that can change them.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import math
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import images
from pipeline.cache import Remembered
from pipeline.gltf import container
from pipeline.scene import local_matrix
from pipeline.source_facts import file_digest

POSTER_SIZE = (960, 504)  # 1.9:1, the shape link previews (og:image) show uncropped
# The viewer's camera (app.js: a PerspectiveCamera of 60° vertical field, filling the poster), and a margin: what
# is outside this frustum widened by the margin on every side is not in the poster (tests/browser/
# test_posters_render.py checks it against the viewer's own frustum at every shot).
VIEW_FIELD_DEGREES = 60.0
VIEW_MARGIN_DEGREES = 6.0
# The viewer's orbit keeps the camera at most 0.3 rad below its target's level (controls.js, maxPolarAngle): a view
# from lower down is moved there, and its frustum is not the one asked for.
LOWEST_VIEW_RADIANS = 0.3
POSTER_FORMAT = "image/jpeg"
CHROMIUM_ENV = "CHROMIUM"
# The flags headless Chromium needs for WebGL 2 on a machine without a GPU (SwiftShader), and no network chatter.
CHROMIUM_FLAGS = ["--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--disable-quic",
                  "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# Models stream in levels (thumb first): wait until the streamer, choosing for this view, finds nothing left to load
# (`settledMs` after the move; at most 15 s). Waiting for 0.8 s without a load instead took 0.8-1.6 s a shot, more
# than half of rendering bronze-age's posters.
SETTLE_STREAMING = """async () => {
  const moved = performance.now();
  const deadline = moved + 15000;
  const settled = () => ((window.__viewer.streaming || {}).settledMs ?? -Infinity) > moved;
  while (!settled() && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
}"""
# The viewer fills the page, with no interface over it and no annotation markers.
POSTER_STYLE = """
#stage { position: fixed !important; inset: 0 !important; z-index: 2147483647 !important; }
#stage > :not(canvas) { display: none !important; }
"""


Box = tuple[tuple[float, float, float], tuple[float, float, float]]  # (min, max) corners in the world


@dataclass(frozen=True)
class PosterInputs:
    """What posters show, as digests: `common` to every poster (the viewer's code, the manifest as the canvas sees
    it, the GLBs without the images rooms hang), and each such image with the box in the world where it is drawn
    (None: it may show anywhere). A poster's inputs are the common ones and the images its camera can see, so a
    caption plate or panel drawn anew renders again only the posters that look its way (with captions on, a title
    edit rendered all of bronze-age's posters again: 13.5 s)."""

    common: str
    pictures: tuple[tuple[str, Box | None], ...] = ()

    def seen_from(self, view: dict[str, list[float]]) -> str:
        digest = hashlib.sha256(self.common.encode())
        seen = boxes_in_view(view, [box for _, box in self.pictures])
        for (picture, _), visible in zip(self.pictures, seen, strict=True):
            if visible:
                digest.update(f"\0{picture}".encode())
        return digest.hexdigest()


def boxes_in_view(view: dict[str, list[float]], boxes: Sequence[Box | None]) -> np.ndarray:
    """For each box, whether any of it can be in the poster taken from `view` (the viewer's frustum widened by the
    margin): False only when all its corners are outside one of the frustum's side planes, or behind the camera.
    None, and every box of a view straight up or down or looking up past the orbit's limit, is in view. All boxes
    at once: one at a time, a 200-artifact exhibit's 210 posters took 46,200 calls and 3 s of every build."""
    seen = np.ones(len(boxes), dtype=bool)
    placed = [index for index, box in enumerate(boxes) if box is not None]
    eye = np.asarray(view["position"], dtype=np.float64)
    forward = np.asarray(view["target"], dtype=np.float64) - eye
    right = np.cross(forward, (0.0, 1.0, 0.0))
    if not placed or np.linalg.norm(forward) < 1e-9 or np.linalg.norm(right) < 1e-9 * np.linalg.norm(forward):
        return seen  # straight up or down: the viewer's roll is not ours to guess
    forward /= np.linalg.norm(forward)
    if forward[1] > math.sin(LOWEST_VIEW_RADIANS) - 1e-6:
        return seen  # looking up from below the orbit's limit: the viewer moves the camera, so anything may show
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    ends = np.asarray([boxes[index] for index in placed], dtype=np.float64)  # (n, 2, 3): low and high
    pick = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)])  # the eight corners' ends
    corners = np.where(pick[None] == 1, ends[:, None, 1, :], ends[:, None, 0, :])  # (n, 8, 3)
    offsets = corners - eye
    x, y, depth = offsets @ right, offsets @ up, offsets @ forward
    half_height = math.radians(VIEW_FIELD_DEGREES / 2)
    half_width = math.atan(math.tan(half_height) * POSTER_SIZE[0] / POSTER_SIZE[1])
    margin = math.radians(VIEW_MARGIN_DEGREES)
    wide, tall = math.tan(min(half_width + margin, math.radians(89))), math.tan(half_height + margin)
    outside = [depth <= 0, x > depth * wide, x < -depth * wide, y > depth * tall, y < -depth * tall]
    seen[placed] = ~np.any([np.all(side, axis=1) for side in outside], axis=0)
    return seen


@dataclass(frozen=True)
class Shot:
    """One picture to take: its file name (without suffix), the camera, and what to draw if rendering fails."""

    name: str
    view: dict[str, list[float]]
    title: str
    fallback_image: bytes | None = None


def find_chromium() -> str | None:
    """$CHROMIUM, else chromium on PATH (Debian's package), else None."""
    chosen = os.environ.get(CHROMIUM_ENV)
    if chosen:
        return chosen if os.access(chosen, os.X_OK) else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def renderer_missing() -> str | None:
    """Why posters cannot be rendered here (a sentence for the build's warnings), or None when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "posters need Playwright to drive Chromium: pip install vitrina[posters]"
    if find_chromium() is None:
        return f"posters need Chromium (apt-get install chromium, or set {CHROMIUM_ENV})"
    return None


def room_cover_view(room: dict[str, Any], start: dict[str, Any] | None) -> dict[str, list[float]]:
    """The start view for the room visitors start in; elsewhere, from near one end down the room's long axis."""
    if start is not None and start.get("room") == room["id"]:
        eye = [start["position"][0], 1.6, start["position"][2]]
        yaw = math.radians(float(start.get("yaw", 0.0)))
        return {"position": eye, "target": [eye[0] - math.sin(yaw) * 3, 1.35, eye[2] - math.cos(yaw) * 3]}
    low, high = room["bounds"]["min"], room["bounds"]["max"]
    centre = [(low[0] + high[0]) / 2, 1.3, (low[2] + high[2]) / 2]
    if high[0] - low[0] >= high[2] - low[2]:
        eye = [low[0] + 0.6, 1.6, centre[2]]
    else:
        eye = [centre[0], 1.6, high[2] - 0.6]
    return {"position": eye, "target": centre}


def shots(manifest: dict[str, Any], titles: dict[str, str], fallbacks: dict[str, bytes]) -> list[Shot]:
    """A poster per artifact (its default view) and a cover per room."""
    out = [Shot(f"artifact-{a['id']}", a["view"], titles.get(a["id"], a["id"]), fallbacks.get(a["id"]))
           for a in manifest["artifacts"]]
    out += [Shot(f"room-{r['id']}", room_cover_view(r, manifest.get("start")), titles.get(r["id"], r["id"]))
            for r in manifest["rooms"]]
    return out


def fallback_poster(shot: Shot) -> bytes:
    """What a poster is without a renderer: the hung picture itself, else a card with the title."""
    if shot.fallback_image is not None:
        return images.fitted_jpeg(shot.fallback_image, POSTER_SIZE)
    card = images.text_panel_png(POSTER_SIZE, (38, 40, 44), (236, 232, 224), shot.title, "", None, False)
    return images.fitted_jpeg(card, POSTER_SIZE)


def render(site_root: Path, exhibit_id: str, todo: list[Shot]) -> dict[str, bytes]:
    """Screenshots of the viewer at each shot's camera (JPEG bytes by shot name); raises RuntimeError on failure.

    Runs in a thread of its own: Playwright's sync API refuses a thread that already runs an asyncio loop (a
    caller inside an async server, or a test session that drives its own browser)."""
    import threading

    results: list[dict[str, bytes]] = []
    failures: list[BaseException] = []

    def work() -> None:
        try:
            results.append(_render(site_root, exhibit_id, todo))
        except BaseException as error:  # handed to the calling thread below
            failures.append(error)

    worker = threading.Thread(target=work, name="vitrina-posters")
    worker.start()
    worker.join()
    if failures:
        raise failures[0]
    return results[0]


def _render(site_root: Path, exhibit_id: str, todo: list[Shot]) -> dict[str, bytes]:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    from pipeline.preview import StaticSite, serving

    chromium = find_chromium()
    assert chromium is not None  # the caller checked renderer_missing()
    out: dict[str, bytes] = {}
    try:
        with serving(StaticSite(site_root)) as base, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_FLAGS)
            try:
                page = browser.new_page(viewport={"width": POSTER_SIZE[0], "height": POSTER_SIZE[1]},
                                        reduced_motion="reduce")
                page.goto(f"{base}/{exhibit_id}/index.html")
                page.add_style_tag(content=POSTER_STYLE)
                page.wait_for_function("window.__viewer && window.__viewer.ready", timeout=180_000)
                page.evaluate("__viewer.setHotspotsVisible(false)")
                for shot in todo:
                    page.evaluate("(view) => __viewer.flyTo(view, {durationMs: 0, afresh: true})", shot.view)
                    page.evaluate(SETTLE_STREAMING)  # a frame or more has run since the move (it chose there)
                    # The canvas's own pixels, the same as a screenshot of it to the level, in half the time.
                    url = page.evaluate("__viewer.snapshot()")
                    out[shot.name] = images.fitted_jpeg(base64.b64decode(url.split(",", 1)[1]), POSTER_SIZE)
            finally:
                browser.close()
    except PlaywrightError as error:
        raise RuntimeError(str(error).splitlines()[0]) from None
    return out


def poster_key(shot: Shot, inputs: str) -> str:
    """A rendered poster's cache key: the shot's camera and `inputs`, a digest of everything it shows
    (PosterInputs.seen_from). Not its title or picture, which only a fallback shows (and fallbacks are not cached):
    a title is on the canvas only where a caption plate draws it, a picture only as its room's GLB hangs it, and
    `inputs` holds both."""
    digest = hashlib.sha256(f"poster\0{inputs}\0{shot.name}\0{shot.view}\0{POSTER_SIZE}".encode())
    digest.update(_code_digest().encode())
    return digest.hexdigest()


@functools.cache
def _code_digest() -> str:
    """This module's code: a poster rendered by other code is rendered again."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


def make_posters(site_root: Path, exhibit_id: str, todo: list[Shot], inputs: PosterInputs,
                 remembered: Remembered,
                 warn: Callable[[str], None]) -> dict[str, bytes]:
    """Poster bytes by shot name: from the cache, rendered (all missing ones in one browser), or the fallback."""
    keys = {shot.name: poster_key(shot, inputs.seen_from(shot.view)) for shot in todo}

    def cached(key: str) -> bytes | None:
        def miss() -> bytes:
            raise _Miss
        try:
            return remembered(key, miss)
        except _Miss:
            return None

    found: dict[str, bytes] = {}
    missing = []
    for shot in todo:
        hit = cached(keys[shot.name])
        if hit is None:
            missing.append(shot)
        else:
            found[shot.name] = hit
    if not missing:
        return found
    problem = renderer_missing()
    rendered: dict[str, bytes] = {}
    if problem is None:
        try:
            rendered = render(site_root, exhibit_id, missing)
        except RuntimeError as error:
            problem = f"posters could not be rendered ({error})"
    if problem is not None:
        warn(f"{problem}; using plain posters")
    for shot in missing:
        data = rendered.get(shot.name)
        if data is None:
            found[shot.name] = fallback_poster(shot)  # not cached: a later build with Chromium renders it
        else:
            found[shot.name] = remembered(keys[shot.name], lambda data=data: data)  # type: ignore[misc]
    return found


# What of the manifest no poster can show: a poster is the viewer's canvas alone, with no interface over it and no
# annotation markers, so the words the interface shows (records, labels, tours, names) never reach it, nor do the
# records and labels the GLBs carry for aggregators (node extras, XMP). Leaving them out of `inputs_digest` lets a
# build after such an edit take every poster from the cache: a tour's description edit re-rendered all of
# bronze-age's posters (27 s, against 0.6 s). Words drawn in the rooms (caption plates, panels) are pixels of the
# rooms' GLBs, seen by the posters that look their way (PosterInputs). The plates the viewer swaps in for other
# languages (artifacts' `caption_plates`) are not: it opens in the default language, and shows the room's own plate
# there.
_UNSEEN = {
    "": ("files", "report", "generator", "tours", "unplaced"),
    "exhibit": ("title", "description", "credits", "base_url", "rights", "museum", "ui_strings", "cover"),
    "rooms": ("name", "cover", "stats"),
    "artifacts": ("record", "alt", "annotations", "audio", "page", "text", "usdz", "poster", "caption_plates"),
    "levels": ("bytes",),
}


def poster_inputs(site_folder: Path, static_dir: Path, manifest: dict[str, Any],
                  remembered: Remembered | None = None,
                  file_digests: dict[str, str] | None = None) -> PosterInputs:
    """Everything a poster shows: the viewer's code, the rooms' and models' GLBs as they render, and what of the
    manifest reaches the canvas (views, start, lighting), not its words (_UNSEEN); a room's images each with where
    it hangs.

    A GLB whose sha256 `file_digests` knows (by its path in the site) has its rendered form `remembered` under it:
    200 artifacts' 570 level files (51 MB) took 0.1 s to read and hash on every build."""
    pictures: list[tuple[str, Box | None]] = []

    def glb_digest(name: str, in_world: bool) -> str:
        known = (file_digests or {}).get(name)
        if remembered is None or known is None:
            rendered = _rendered_glb(site_folder / name, in_world)
        else:
            key = hashlib.sha256(f"rendered glb\0{known}\0{in_world}\0{_code_digest()}".encode()).hexdigest()
            rendered = json.loads(remembered(key, lambda: json.dumps(
                _rendered_glb(site_folder / name, in_world)).encode()))
        pictures.extend((picture, None if box is None else (tuple(box[0]), tuple(box[1])))
                        for picture, box in rendered["pictures"])
        return str(rendered["shape"])

    digest = hashlib.sha256()
    for path in sorted(static_dir.rglob("*")):
        if path.is_file():
            digest.update(f"{path.relative_to(static_dir)}\0{file_digest(path)}\0".encode())
    digest.update(json.dumps(_seen(manifest, glb_digest), sort_keys=True).encode())
    return PosterInputs(digest.hexdigest(), tuple(pictures))


def _seen(manifest: dict[str, Any], glb_digest: Callable[[str, bool], str]) -> dict[str, Any]:
    """The manifest without its words, each GLB it names replaced by `glb_digest` of it (their names are digests
    of bytes that carry the words); rooms' GLBs are in world coordinates, models' levels are not."""
    def without(entry: Any, kind: str) -> Any:
        if not isinstance(entry, dict):
            return entry
        kept = {k: v for k, v in entry.items() if k not in _UNSEEN[kind]}
        if isinstance(kept.get("glb"), str):
            kept["glb"] = glb_digest(kept["glb"], kind == "rooms")
        for nested, nested_kind in (("lod", "rooms"), ("levels", "levels")):
            if isinstance(kept.get(nested), list):
                kept[nested] = [without(item, nested_kind) for item in kept[nested]]
        return kept

    seen = without(manifest, "")
    if "exhibit" in seen:
        seen["exhibit"] = without(seen["exhibit"], "exhibit")
    for kind in ("rooms", "artifacts"):
        if isinstance(seen.get(kind), list):
            seen[kind] = [without(entry, kind) for entry in seen[kind]]
    return seen


def _rendered_glb(path: Path, in_world: bool) -> dict[str, Any]:
    """A GLB as it renders, without the words it carries for aggregators (the XMP packets, a node's record and
    label, the rights in its asset): {"shape": digest, "pictures": [[digest, box or None], ...]}.

    `in_world` (a room's GLB): each image is a picture of its own, with the box where the GLB draws it, and the
    shape is the rest (the JSON without byte offsets, which an image's new size moves, and each other buffer view's
    bytes). Otherwise the shape is the whole."""
    text, binary = container.split(path.read_bytes())
    binary = binary or b""
    document = json.loads(text)
    document["extensionsUsed"] = [name for name in document.get("extensionsUsed", []) if name != "KHR_xmp_json_ld"]
    document.pop("asset", None)  # its copyright is the exhibit's rights
    for holder in [document, *document.get("nodes", [])]:
        extensions = holder.get("extensions")
        if isinstance(extensions, dict):
            extensions.pop("KHR_xmp_json_ld", None)
        extras = holder.get("extras")
        vitrina = extras.get("vitrina") if isinstance(extras, dict) else None
        if isinstance(vitrina, dict):
            vitrina.pop("record", None)
            vitrina.pop("alt", None)
    if not in_world:
        digest = hashlib.sha256(json.dumps(document, sort_keys=True).encode())
        digest.update(binary)
        return {"shape": digest.hexdigest(), "pictures": []}
    views = document.get("bufferViews", [])
    image_views = {image["bufferView"]: index for index, image in enumerate(document.get("images", []))
                   if isinstance(image.get("bufferView"), int)}

    def view_bytes(view: dict[str, Any]) -> bytes:
        start = int(view.get("byteOffset", 0))
        return binary[start:start + int(view["byteLength"])] if view.get("buffer") == 0 else b""

    shape = hashlib.sha256()
    pictures: dict[int, str] = {}
    for index, view in enumerate(views):
        meshopt = (view.get("extensions") or {}).get("EXT_meshopt_compression")
        data = view_bytes(view) + (view_bytes(meshopt) if isinstance(meshopt, dict) else b"")
        if index in image_views:
            image = document["images"][image_views[index]]
            pictures[image_views[index]] = hashlib.sha256(f"{image.get('mimeType')}\0".encode() + data).hexdigest()
            view.pop("byteLength", None)
        else:
            shape.update(hashlib.sha256(data).digest())
        view.pop("byteOffset", None)
        if isinstance(meshopt, dict):
            meshopt.pop("byteOffset", None)
    for buffer in document.get("buffers", []):
        buffer.pop("byteLength", None)
    shape.update(json.dumps(document, sort_keys=True).encode())
    boxes = _image_boxes(document)
    return {"shape": shape.hexdigest(),
            "pictures": [[pictures[index], boxes.get(index)] for index in sorted(pictures) if index in boxes]}


def material_boxes(document: dict[str, Any]) -> dict[int, list[list[float]] | None]:
    """Each material the default scene draws (by index): the world box ([min, max]) of the primitives that use it,
    or None where that box cannot be told or its pixels reach beyond it (instanced, skinned or morphed meshes, a
    position without bounds, and see-through materials, whose pixels shape their shadows)."""
    accessors, meshes, nodes = (document.get(kind, []) for kind in ("accessors", "meshes", "nodes"))
    materials: dict[int, np.ndarray | None] = {}  # the low and high corners of its uses so far

    def place(material: int, corners: np.ndarray | None) -> None:
        known = materials.get(material, np.empty((0, 3)))
        if corners is None or known is None:
            materials[material] = None
        else:
            both = np.vstack([known, corners])
            materials[material] = np.stack([both.min(0), both.max(0)])

    def corners_of(primitive: dict[str, Any], world: np.ndarray) -> np.ndarray | None:
        accessor = accessors[primitive["attributes"]["POSITION"]] if "POSITION" in primitive.get(
            "attributes", {}) else {}
        if "min" not in accessor or "max" not in accessor or primitive.get("targets"):
            return None
        low, high = np.asarray(accessor["min"], dtype=np.float64), np.asarray(accessor["max"], dtype=np.float64)
        if accessor.get("normalized"):  # both readings of a normalized bound, to be safe
            low, high = np.minimum(low, -1.0), np.maximum(high, 1.0)
        corners = np.array([[x, y, z, 1.0] for x in (low[0], high[0]) for y in (low[1], high[1])
                            for z in (low[2], high[2])])
        return (corners @ world.T)[:, :3]

    def visit(index: int, parent: np.ndarray) -> None:
        node = nodes[index]
        if "matrix" in node:
            local = np.asarray(node["matrix"], dtype=np.float64).reshape(4, 4).T
        else:
            local = local_matrix(node.get("translation", (0, 0, 0)), node.get("rotation", (0, 0, 0, 1)),
                                 node.get("scale", (1, 1, 1)))
        world = parent @ local
        unplaceable = "skin" in node or "EXT_mesh_gpu_instancing" in (node.get("extensions") or {})
        if isinstance(node.get("mesh"), int):
            for primitive in meshes[node["mesh"]].get("primitives", []):
                variants = ((primitive.get("extensions") or {}).get("KHR_materials_variants") or {}).get(
                    "mappings", [])
                for material in [primitive.get("material"), *(m.get("material") for m in variants)]:
                    if isinstance(material, int):
                        place(material, None if unplaceable else corners_of(primitive, world))
        for child in node.get("children", []):
            visit(child, world)

    scenes = document.get("scenes", [])
    for root in (scenes[document.get("scene", 0)].get("nodes", []) if scenes else []):
        visit(root, np.eye(4))
    out: dict[int, list[list[float]] | None] = {}
    for material, box in materials.items():
        seen_through = document.get("materials", [])[material].get("alphaMode", "OPAQUE") != "OPAQUE"
        out[material] = None if box is None or seen_through else box.tolist()
    return out


def _image_boxes(document: dict[str, Any]) -> dict[int, list[list[float]] | None]:
    """Each image the default scene draws (by index): the box of the materials that use it (see material_boxes)."""
    textures = document.get("textures", [])
    boxes: dict[int, list[list[float]] | None] = {}
    for material, box in material_boxes(document).items():
        for texture in _texture_indices(document["materials"][material]):
            for image in _image_sources(textures[texture]):
                known = boxes.get(image, box)  # an image already seen as drawn anywhere stays so
                boxes[image] = None if known is None or box is None else [
                    np.minimum(known[0], box[0]).tolist(), np.maximum(known[1], box[1]).tolist()]
    return boxes


def _texture_indices(material: Any) -> list[int]:
    """The textures a material's JSON uses (each `…Texture: {index}`, in extensions too)."""
    found: list[int] = []
    if isinstance(material, dict):
        for key, value in material.items():
            if key.endswith("Texture") and isinstance(value, dict) and isinstance(value.get("index"), int):
                found.append(value["index"])
            found += _texture_indices(value)
    elif isinstance(material, list):
        for value in material:
            found += _texture_indices(value)
    return found


def _image_sources(texture: dict[str, Any]) -> list[int]:
    """The images a texture may sample: its source, and each extension's (WebP, KTX2)."""
    sources = [texture.get("source")]
    sources += [extension.get("source") for extension in (texture.get("extensions") or {}).values()
                if isinstance(extension, dict)]
    return [source for source in sources if isinstance(source, int)]


def list_in_manifest(manifest: dict[str, Any], paths: dict[str, str]) -> None:
    """Name each poster in the manifest (shot name → file): artifact `poster`, room `cover`, and the exhibit's
    `cover`, which is its start room's."""
    for artifact in manifest["artifacts"]:
        artifact["poster"] = paths[f"artifact-{artifact['id']}"]
    for room in manifest["rooms"]:
        room["cover"] = paths[f"room-{room['id']}"]
    start_room = manifest["start"]["room"] if manifest.get("start") else manifest["rooms"][0]["id"]
    manifest["exhibit"]["cover"] = paths[f"room-{start_room}"]


class _Miss(Exception):
    """Raised inside a cache lookup to ask only whether an entry exists."""
