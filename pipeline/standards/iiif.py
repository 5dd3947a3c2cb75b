"""IIIF Presentation 4 (3D) writer: the exhibit as a Manifest of Scenes, one Manifest per artifact, and a Collection."""

from __future__ import annotations

from typing import Any

from pipeline.scene import rotate_yaw
from pipeline.spec.exports import iiif_rights
from pipeline.standards import ExportInput
from pipeline.standards.common import (
    IIIF_CONTEXT,
    Urls,
    language_map,
    media_type,
    point,
    title_of,
)

EYE_HEIGHT = 1.6  # metres: where a visitor's eyes are when the start camera places them
FIELD_OF_VIEW = 50.0  # degrees, as the viewer's camera
SPOT_ANGLE = 25.0  # degrees, half-angle of an artifact's spotlight cone
SPOT_HEIGHT = 0.3  # metres below the ceiling
CANVAS_OFFSET = 0.002  # metres in front of a hung picture


def documents(source: ExportInput) -> dict[str, Any]:
    """Relative path → IIIF document: iiif/exhibit.json, iiif/objects/<id>.json, iiif/collection.json."""
    out: dict[str, Any] = {"iiif/exhibit.json": exhibit_manifest(source)}
    for artifact in source.artifacts():
        out[f"iiif/objects/{artifact['id']}.json"] = object_manifest(source, artifact)
    out["iiif/collection.json"] = collection(source)
    return out


# ---------------------------------------------------------------------------------------------- pieces


def _rights(value: str) -> dict[str, Any]:
    """`rights` in the form IIIF requires, or a requiredStatement carrying any other rights URI as text."""
    if not value:
        return {}
    rights = iiif_rights(value)
    if rights is not None:
        return {"rights": rights}
    return {"requiredStatement": {"label": {"en": ["Rights"]}, "value": {"none": [value]}}}


def _scene_ref(scene_id: str) -> dict[str, Any]:
    return {"id": scene_id, "type": "Scene"}


def _at(target_id: str, scene_id: str, position: Any) -> dict[str, Any]:
    """A point in a Scene, as an annotation target."""
    return {"id": f"{target_id}/target", "type": "SpecificResource", "source": _scene_ref(scene_id),
            "selector": [point(position)]}


def _choice(anno_id: str, text: dict[str, str], languages: list[str]) -> dict[str, Any] | None:
    """A Choice of one TextualBody per language, in the exhibit's language order; None when there is no text."""
    items = [{"id": f"{anno_id}/body/{language}", "type": "TextualBody", "value": text[language],
              "language": [language], "format": "text/plain"}
             for language in [*languages, *sorted(set(text) - set(languages))] if text.get(language)]
    if not items:
        return None
    return {"type": "Choice", "items": items}


def _camera(anno_id: str, scene_id: str, position: Any, look_at: Any, label: dict[str, list[str]],
            hidden: bool) -> dict[str, Any]:
    """A painting annotation placing a PerspectiveCamera at `position` looking at `look_at`."""
    annotation: dict[str, Any] = {
        "id": anno_id, "type": "Annotation", "motivation": ["painting"],
        "body": {"id": f"{anno_id}/camera", "type": "PerspectiveCamera", "label": label,
                 "fieldOfView": FIELD_OF_VIEW, "lookAt": point(look_at)},
        "target": _at(anno_id, scene_id, position),
    }
    if hidden:
        annotation["behavior"] = ["hidden"]
    return annotation


def model_annotation(urls: Urls, anno_id: str, scene_id: str, glb: str, position: Any, yaw: float,
                     label: dict[str, list[str]], own_frame: list[dict[str, Any]]) -> dict[str, Any]:
    """A model painted into a Scene: the GLB (brought into its own frame if it is not written in it) turned by a
    RotateTransform, then placed by a PointSelector.

    Vitrina turns artifacts clockwise seen from above; IIIF rotations (like glTF's) are counter-clockwise about
    the axis, so the yaw given here is already the counter-clockwise angle about +y.
    """
    body: dict[str, Any] = {"id": urls.file(glb), "type": "Model", "format": "model/gltf-binary", "label": label}
    transforms = list(own_frame)
    if abs(yaw) > 1e-9:
        transforms.append({"type": "RotateTransform", "x": 0.0, "y": round(yaw, 6) + 0.0, "z": 0.0})
    if transforms:
        body = {"id": f"{anno_id}/model", "type": "SpecificResource", "source": body, "transform": transforms}
    return {"id": anno_id, "type": "Annotation", "motivation": ["painting"], "label": label, "body": body,
            "target": _at(anno_id, scene_id, position)}


def picture_annotation(urls: Urls, anno_id: str, scene_id: str, artifact: dict[str, Any], picture: dict[str, Any],
                       yaw: float, label: dict[str, list[str]]) -> dict[str, Any]:
    """A hung image as a Canvas painted into the Scene on the quad where it hangs (a WktSelector POLYGONZ: top left,
    bottom left, bottom right, top right as a visitor facing it sees them)."""
    width_px, height_px = (int(v) for v in picture["pixels"])
    width, height = (float(v) for v in picture["size"])
    right = rotate_yaw((1.0, 0.0, 0.0), yaw)  # a visitor facing the picture looks along -front; this is their right
    front = rotate_yaw((0.0, 0.0, 1.0), yaw)
    # The room's GLB shows the picture too: the Canvas hangs just in front of it, so a viewer draws it on top
    # instead of the two fighting for depth.
    centre = [float(v) + front[i] * CANVAS_OFFSET for i, v in enumerate(artifact["position"])]

    def corner(across: float, up: float) -> str:
        x, y, z = (centre[i] + right[i] * across * width / 2 + (up * height / 2 if i == 1 else 0.0) for i in range(3))
        return " ".join(f"{round(v, 6) + 0.0:g}" for v in (x, y, z))

    quad = ", ".join(corner(a, u) for a, u in ((-1, 1), (-1, -1), (1, -1), (1, 1)))
    canvas_id = urls.part(urls.manifest, "canvas", artifact["id"])
    canvas = {
        "id": canvas_id, "type": "Canvas", "label": label, "width": width_px, "height": height_px,
        "items": [{"id": f"{canvas_id}/page", "type": "AnnotationPage", "items": [{
            "id": f"{canvas_id}/image", "type": "Annotation", "motivation": ["painting"],
            "body": {"id": urls.file(picture["src"]), "type": "Image", "format": media_type(picture["src"]),
                     "width": width_px, "height": height_px},
            "target": {"id": canvas_id, "type": "Canvas"},
        }]}],
    }
    return {"id": anno_id, "type": "Annotation", "motivation": ["painting"], "label": label, "body": canvas,
            "target": {"id": f"{anno_id}/target", "type": "SpecificResource", "source": _scene_ref(scene_id),
                       "selector": [{"type": "WktSelector", "value": f"POLYGONZ(({quad}))"}]}}


def audio_annotations(urls: Urls, anno_id: str, scene_id: str, position: Any,
                      audio: dict[str, dict[str, str]]) -> list[dict[str, Any]]:
    """Per language, a PointAudio emitter at the artifact and its captions as a supplementing annotation."""
    out: list[dict[str, Any]] = []
    for language, track in sorted(audio.items()):
        emitter_id = f"{anno_id}/audio/{language}"
        out.append({
            "id": emitter_id, "type": "Annotation", "motivation": ["painting"],
            "body": {"id": f"{emitter_id}/emitter", "type": "PointAudio", "label": {language: [language]},
                     "source": {"id": urls.file(track["src"]), "type": "Audio", "format": media_type(track["src"]),
                                "language": [language]},
                     "volume": {"type": "Quantity", "quantityValue": 1.0, "unit": "relative"}},
            "target": _at(emitter_id, scene_id, position),
        })
        if track.get("captions"):
            out.append({
                "id": f"{emitter_id}/captions", "type": "Annotation", "motivation": ["supplementing"],
                "body": {"id": urls.file(track["captions"]), "type": "Text", "format": "text/vtt",
                         "language": [language], "provides": ["closedCaptions"]},
                "target": {"id": f"{emitter_id}/captions/target", "type": "SpecificResource",
                           "source": {"id": urls.file(track["src"]), "type": "Audio",
                                      "format": media_type(track["src"])}},
            })
    return out


def _comment(anno_id: str, scene_id: str, position: Any, text: dict[str, str], languages: list[str],
             scope: str | None) -> dict[str, Any] | None:
    body = _choice(anno_id, text, languages)
    if body is None:
        return None
    target = _at(anno_id, scene_id, position)
    if scope:
        target["scope"] = scope
    return {"id": anno_id, "type": "Annotation", "motivation": ["commenting"], "body": body, "target": target}


def _join(title: dict[str, str], text: dict[str, str]) -> dict[str, str]:
    """Title and text per language as one comment: the title on its own line."""
    return {language: "\n\n".join(part for part in (title.get(language, ""), text.get(language, "")) if part)
            for language in {*title, *text}}


# ---------------------------------------------------------------------------------------------- the exhibit


def exhibit_manifest(source: ExportInput) -> dict[str, Any]:
    """The whole exhibit: one Scene per room, in world coordinates (metres, y up, as the room GLBs)."""
    data, urls = source.data, source.urls
    manifest_id = urls.manifest
    info = data["exhibit"]
    scene_of = {room["id"]: urls.part(manifest_id, "scene", room["id"]) for room in data["rooms"]}
    scenes = [_room_scene(source, room, scene_of) for room in data["rooms"]]
    tours = [_tour_page(source, tour, scene_of) for tour in data.get("tours", [])]
    manifest: dict[str, Any] = {
        "@context": IIIF_CONTEXT,
        "id": manifest_id,
        "type": "Manifest",
        "label": language_map(info["title"], info["id"]),
        **({"summary": language_map(info["description"])} if info.get("description") else {}),
        **_thumbnail(urls, info.get("cover")),
        **_rights(info.get("rights", "")),
        "homepage": [{"id": urls.exhibit_page(), "type": "Text", "format": "text/html",
                      "label": language_map(info["title"], info["id"])}],
        "seeAlso": [{"id": urls.file("exhibit.json"), "type": "Dataset", "format": "application/json",
                     "label": {"en": ["Vitrina exhibit manifest"]}}],
        "items": scenes,
        "start": {"id": scene_of[data["start"]["room"]], "type": "Scene"},
    }
    if tours:
        manifest["annotations"] = tours
        manifest["structures"] = [_tour_range(source, tour, scene_of) for tour in data["tours"]]
    return manifest


def _room_scene(source: ExportInput, room: dict[str, Any], scene_of: dict[str, str]) -> dict[str, Any]:
    data, urls, languages = source.data, source.urls, source.languages
    scene_id = scene_of[room["id"]]
    painting: list[dict[str, Any]] = [{
        "id": urls.part(urls.manifest, "room", room["id"]), "type": "Annotation", "motivation": ["painting"],
        "label": language_map(room["name"], room["id"]),
        "body": {"id": urls.file(room["glb"]), "type": "Model", "format": "model/gltf-binary",
                 "label": language_map(room["name"], room["id"])},
        "target": _at(urls.part(urls.manifest, "room", room["id"]), scene_id, (0.0, 0.0, 0.0)),
    }]
    comments: list[dict[str, Any]] = []
    artifacts = [a for a in data["artifacts"] if a["room"] == room["id"]]
    for artifact in artifacts:
        anno_id = urls.part(urls.manifest, "artifact", artifact["id"])
        label = language_map(title_of(artifact), artifact["id"])
        glb = source.models.get(artifact["id"])
        if glb is not None:
            painting.append(model_annotation(urls, anno_id, scene_id, glb, artifact["position"],
                                             source.yaw.get(artifact["id"], 0.0), label, source.own_frame(artifact)))
        picture = source.pictures.get(artifact["id"])
        if picture is not None:
            painting.append(picture_annotation(urls, anno_id, scene_id, artifact, picture,
                                               source.yaw.get(artifact["id"], 0.0), label))
        camera_id = urls.part(urls.manifest, "view", artifact["id"])
        view = artifact["view"]
        painting.append(_camera(camera_id, scene_id, view["position"], view["target"], label, hidden=True))
        painting.extend(audio_annotations(urls, anno_id, scene_id, artifact["position"], artifact.get("audio") or {}))
        # The label: every artifact has one, so a reader finds images and panels (which are part of the room's
        # GLB) as well as models. Its id ends in /label, next to the painting annotation of a model.
        label_comment = _comment(f"{anno_id}/label", scene_id, artifact["position"],
                                 title_of(artifact) or {languages[0]: artifact["id"]}, languages, camera_id)
        if label_comment is not None:
            comments.append(label_comment)
        for note in artifact.get("annotations", []):
            comment = _comment(urls.part(urls.manifest, "annotation", artifact["id"], note["id"]), scene_id,
                               note["position"], _join(note["title"], note["text"]), languages, camera_id)
            if comment is not None:
                comments.append(comment)
    start = data["start"]
    if start["room"] == room["id"]:
        eye = (start["position"][0], EYE_HEIGHT, start["position"][2])
        ahead = rotate_yaw((0.0, 0.0, -1.0), start["yaw"])  # the viewer's camera looks north (-z) before turning
        look = (eye[0] + ahead[0], eye[1], eye[2] + ahead[2])
        painting.insert(1, _camera(urls.part(urls.manifest, "start"), scene_id, eye, look,
                                   {"en": ["Start"]}, hidden=False))
    painting.extend(_lights(source, room, scene_id, artifacts))
    doors = [_door(source, room, door, scene_of) for door in room.get("doors", []) if door["to"] in scene_of]
    pages = [{"id": urls.part(urls.manifest, "scene", room["id"], "comments"), "type": "AnnotationPage",
              "items": [*comments, *doors]}] if comments or doors else []
    scene: dict[str, Any] = {
        "id": scene_id, "type": "Scene", "label": language_map(room["name"], room["id"]),
        "spatialScale": {"type": "Quantity", "quantityValue": 1.0, "unit": "m"},
        "items": [{"id": urls.part(urls.manifest, "scene", room["id"], "painting"), "type": "AnnotationPage",
                   "items": painting}],
    }
    if pages:
        scene["annotations"] = pages
    return scene


def _intensity(value: float) -> dict[str, Any]:
    # IIIF intensities are relative, 0 to 1; Vitrina's go above 1 for bright rooms, which IIIF can only cap.
    return {"type": "Quantity", "quantityValue": round(min(max(float(value), 0.0), 1.0), 6), "unit": "relative"}


def _lights(source: ExportInput, room: dict[str, Any], scene_id: str,
            artifacts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The room's ambient fill as an AmbientLight, and a SpotLight from the ceiling onto each artifact."""
    urls = source.urls
    lighting = room.get("lighting") or {}
    colour = lighting.get("color", "#ffffff")
    ambient_id = urls.part(urls.manifest, "light", room["id"], "ambient")
    out = [{"id": ambient_id, "type": "Annotation", "motivation": ["painting"],
            "body": {"id": f"{ambient_id}/light", "type": "AmbientLight", "color": colour,
                     "intensity": _intensity(lighting.get("ambient", 0.6))},
            "target": _scene_ref(scene_id)}]
    if lighting.get("spotlights", True) is False:
        return out
    ceiling = room["bounds"]["max"][1] - SPOT_HEIGHT
    for artifact in artifacts:
        low, high = artifact["bounds"]["min"], artifact["bounds"]["max"]
        centre = [(a + b) / 2 for a, b in zip(low, high, strict=True)]
        spot_id = urls.part(urls.manifest, "light", room["id"], artifact["id"])
        out.append({"id": spot_id, "type": "Annotation", "motivation": ["painting"],
                    "body": {"id": f"{spot_id}/light", "type": "SpotLight", "color": colour, "angle": SPOT_ANGLE,
                             "intensity": _intensity(lighting.get("spot_intensity", 1.0)),
                             "lookAt": point(centre)},
                    "target": _at(spot_id, scene_id, (centre[0], ceiling, centre[2]))})
    return out


def _door(source: ExportInput, room: dict[str, Any], door: dict[str, Any], scene_of: dict[str, str]) -> dict[str, Any]:
    """A door as a linking annotation from its opening to the Scene of the room behind it."""
    urls = source.urls
    door_id = urls.part(urls.manifest, "door", room["id"], door["to"])
    return {"id": door_id, "type": "Annotation", "motivation": ["linking"],
            "body": _scene_ref(scene_of[door["to"]]),
            "target": _at(door_id, scene_of[room["id"]], door["position"])}


def _tour_page(source: ExportInput, tour: dict[str, Any], scene_of: dict[str, str]) -> dict[str, Any]:
    """A tour as an AnnotationPage played in order: one commenting annotation per stop, scoped to its camera."""
    urls = source.urls
    page_id = urls.part(urls.manifest, "tour", tour["id"])
    items = []
    for stop in tour["stops"]:
        stop_id = urls.part(urls.manifest, "tour", tour["id"], "stop", str(stop["index"]))
        scene_id = scene_of[stop["room"]]
        camera = _camera(f"{stop_id}/view", scene_id, stop["view"]["position"], stop["view"]["target"],
                         language_map(tour["title"], tour["id"]), hidden=True)
        text = stop["say"] or {source.languages[0]: stop["annotation"] or stop["artifact"]}
        comment = _comment(stop_id, scene_id, stop["view"]["target"], text, source.languages, camera["id"])
        assert comment is not None  # text is never empty
        comment["label"] = {"none": [stop["annotation"] or stop["artifact"]]}
        items.extend([camera, comment])
    return {"id": page_id, "type": "AnnotationPage", "label": language_map(tour["title"], tour["id"]),
            "behavior": ["sequence"], "items": items}


def _tour_range(source: ExportInput, tour: dict[str, Any], scene_of: dict[str, str]) -> dict[str, Any]:
    """The tour as a Range over the Scenes it visits, in the order it first enters them."""
    urls = source.urls
    visited = list(dict.fromkeys(stop["room"] for stop in tour["stops"]))
    return {"id": urls.part(urls.manifest, "range", tour["id"]), "type": "Range",
            "label": language_map(tour["title"], tour["id"]),
            "items": [_scene_ref(scene_of[room]) for room in visited],
            "annotations": [{"id": urls.part(urls.manifest, "tour", tour["id"]), "type": "AnnotationPage"}]}


# ---------------------------------------------------------------------------------------------- objects


def _metadata(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The record's fields as IIIF metadata pairs (label in English; values in every language they have)."""
    rows = []
    for name, label in (("creator", "Maker"), ("date", "Date"), ("culture", "Culture"), ("material", "Material"),
                        ("dimensions", "Dimensions"), ("credit", "Credit line")):
        if record.get(name):
            rows.append({"label": {"en": [label]}, "value": language_map(record[name])})
    if record.get("accession"):
        rows.append({"label": {"en": ["Accession number"]}, "value": {"none": [record["accession"]]}})
    return rows


def object_manifest(source: ExportInput, artifact: dict[str, Any]) -> dict[str, Any]:
    """One artifact on its own: a Scene with its model at the origin, its annotations in its own frame."""
    urls, languages = source.urls, source.languages
    manifest_id = urls.object_manifest(artifact["id"])
    scene_id = urls.part(manifest_id, "scene")
    record = artifact.get("record") or {}
    label = language_map(title_of(artifact), artifact["id"])
    painting: list[dict[str, Any]] = []
    glb = source.models.get(artifact["id"])
    if glb is not None:
        painting.append(model_annotation(urls, urls.part(manifest_id, "model"), scene_id, glb, (0.0, 0.0, 0.0),
                                         0.0, label, source.own_frame(artifact)))
    comments = []
    yaw = source.yaw.get(artifact["id"], 0.0)
    base = artifact.get("position") or (0.0, 0.0, 0.0)
    for note in artifact.get("annotations", []):
        # Back from room coordinates into the artifact's own frame: undo the placement's turn and offset.
        offset = [p - b for p, b in zip(note["position"], base, strict=True)]
        comment = _comment(urls.part(manifest_id, "annotation", note["id"]), scene_id, rotate_yaw(offset, -yaw),
                           _join(note["title"], note["text"]), languages, None)
        if comment is not None:
            comments.append(comment)
    painting.extend(audio_annotations(urls, urls.part(manifest_id, "model"), scene_id, (0.0, 0.0, 0.0),
                                      artifact.get("audio") or {}))
    scene: dict[str, Any] = {
        "id": scene_id, "type": "Scene", "label": label,
        "spatialScale": {"type": "Quantity", "quantityValue": 1.0, "unit": "m"},
        "items": [{"id": urls.part(manifest_id, "scene", "painting"), "type": "AnnotationPage", "items": painting}],
    }
    if comments:
        scene["annotations"] = [{"id": urls.part(manifest_id, "scene", "comments"), "type": "AnnotationPage",
                                 "items": comments}]
    rights = record.get("rights") or source.data["exhibit"].get("rights", "")
    manifest: dict[str, Any] = {
        "@context": IIIF_CONTEXT,
        "id": manifest_id,
        "type": "Manifest",
        "label": label,
        **({"summary": language_map(record["description"])} if record.get("description") else {}),
        **_thumbnail(urls, artifact.get("poster")),
        "metadata": _metadata(record),
        **_rights(rights),
        "homepage": [{"id": urls.page(artifact["id"]), "type": "Text", "format": "text/html", "label": label}],
        "seeAlso": [{"id": urls.linked_art(artifact["id"]), "type": "Dataset", "format": "application/ld+json",
                     "profile": "https://linked.art/ns/v1/linked-art.json", "label": {"en": ["Linked Art record"]}}],
        "partOf": [{"id": urls.collection, "type": "Collection",
                    "label": language_map(source.data["exhibit"]["title"], source.data["exhibit"]["id"])}],
        "items": [scene],
    }
    if record.get("credit"):
        manifest["requiredStatement"] = {"label": {"en": ["Credit line"]}, "value": language_map(record["credit"])}
    if not manifest["metadata"]:
        del manifest["metadata"]
    return manifest


def _thumbnail(urls: Urls, picture: str | None) -> dict[str, Any]:
    """The `thumbnail` of a resource whose poster (or cover) the build rendered: the picture visitors see too."""
    if not picture:
        return {}
    return {"thumbnail": [{"id": urls.file(picture), "type": "Image", "format": "image/jpeg"}]}


def collection(source: ExportInput) -> dict[str, Any]:
    """Every artifact's Manifest (placed or not), in spec order."""
    urls, info = source.urls, source.data["exhibit"]
    return {
        "@context": IIIF_CONTEXT,
        "id": urls.collection,
        "type": "Collection",
        "label": language_map(info["title"], info["id"]),
        **_rights(info.get("rights", "")),
        "items": [{"id": urls.object_manifest(a["id"]), "type": "Manifest",
                   "label": language_map(title_of(a), a["id"]), **_thumbnail(urls, a.get("poster"))}
                  for a in source.artifacts()],
    }

