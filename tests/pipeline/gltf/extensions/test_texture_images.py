"""EXT_texture_webp and KHR_texture_basisu: scene → GLB → scene keeps WebP and KTX2 images byte for byte, and
marks the extension required (no fallback image is written)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import scene as ir
from pipeline.gltf import write_glb
from tests.helpers import glb_json, image_bytes
from tests.pipeline.gltf.scenes import round_trip, triangle_scene


def webp_bytes() -> bytes:
    return image_bytes(color=(10, 20, 30), fmt="WEBP")


KTX2 = b"\xabKTX 20\xbb\r\n\x1a\n" + bytes(64)


@pytest.mark.parametrize(("extension", "mime_type", "data"), [
    ("EXT_texture_webp", "image/webp", webp_bytes()),
    ("KHR_texture_basisu", "image/ktx2", KTX2),
])
def test_image_extension_round_trips(tmp_path: Path, extension: str, mime_type: str, data: bytes) -> None:
    texture = ir.Texture(name="t", data=data, mime_type=mime_type)
    scene = triangle_scene(ir.Material(base_color_texture=ir.TextureRef(texture)))
    document = glb_json(write_glb(scene))
    assert document["textures"] == [{"extensions": {extension: {"source": 0}}}]
    assert extension in document["extensionsUsed"] and extension in document["extensionsRequired"]
    back = round_trip(tmp_path, scene).nodes[0].mesh.primitives[0].material  # type: ignore[union-attr]
    assert back is not None and back.base_color_texture is not None
    assert back.base_color_texture.texture.data == data
    assert back.base_color_texture.texture.mime_type == mime_type


@pytest.mark.parametrize(("mime_type", "data"), [("image/webp", webp_bytes()), ("image/ktx2", KTX2)])
def test_an_image_extension_texture_keeps_its_sampler(tmp_path: Path, mime_type: str, data: bytes) -> None:
    texture = ir.Texture(name="t", data=data, mime_type=mime_type, mag_filter=9728, wrap_s=33071)  # NEAREST, CLAMP
    scene = triangle_scene(ir.Material(base_color_texture=ir.TextureRef(texture)))
    document = glb_json(write_glb(scene))
    assert document["textures"][0]["sampler"] == 0
    assert document["samplers"][0] == {"magFilter": 9728, "wrapS": 33071}
    back = round_trip(tmp_path, scene).nodes[0].mesh.primitives[0].material  # type: ignore[union-attr]
    assert back is not None and back.base_color_texture is not None
    assert (back.base_color_texture.texture.mag_filter, back.base_color_texture.texture.wrap_s) == (9728, 33071)
