"""IIIF Content State 1.0: content-state-encoding and the states naming a room, artifact, annotation or tour stop."""

from __future__ import annotations

import base64
import json
import urllib.parse
from typing import Any

from pipeline.standards.common import Urls

# encodeURIComponent leaves these unescaped; quote() must too, or a JS-made and a Python-made link would differ.
_URI_COMPONENT_SAFE = "!~*'()"


def encode(text: str) -> str:
    """content-state-encoding (§6): percent-encode as encodeURIComponent does, base64url, drop the "=" padding."""
    uri_encoded = urllib.parse.quote(text, safe=_URI_COMPONENT_SAFE)
    return base64.urlsafe_b64encode(uri_encoded.encode("utf-8")).decode("ascii").rstrip("=")


def decode(encoded: str) -> str:
    """The inverse of `encode`; ValueError for a value that is not content-state-encoded."""
    if len(encoded) % 4 == 1:
        raise ValueError("not a content-state-encoded value (wrong length)")
    padded = encoded + "=" * (-len(encoded) % 4)
    return urllib.parse.unquote(base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8"))


def target(urls: Urls, *, artifact: str | None = None, annotation: str | None = None, tour: str | None = None,
           stop: int | None = None, room: str | None = None) -> dict[str, Any]:
    """The short form of a content state (the target of an implied contentState Annotation) for one view."""
    if tour is not None:
        fragment, kind = f"tour/{tour}/stop/{stop}", "Annotation"
    elif annotation:
        fragment, kind = f"annotation/{annotation}", "Annotation"
    elif artifact:
        fragment, kind = f"artifact/{artifact}", "Annotation"
    elif room:
        fragment, kind = f"scene/{room}", "Scene"
    else:
        raise ValueError("a content state names an artifact, an annotation, a tour stop or a room")
    return {"id": urls.part(urls.manifest, fragment), "type": kind,
            "partOf": [{"id": urls.manifest, "type": "Manifest"}]}


def link(page_url: str, state: dict[str, Any]) -> str:
    """The exhibit page's URL with ?iiif-content= carrying the encoded state."""
    return f"{page_url.split('?')[0].split('#')[0]}?iiif-content={encode(json.dumps(state, separators=(',', ':')))}"
