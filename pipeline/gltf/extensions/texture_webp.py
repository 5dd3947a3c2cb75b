"""EXT_texture_webp: textures whose image is WebP."""

from __future__ import annotations

from pipeline.gltf.extensions import ImageSource


class TextureWebp(ImageSource):
    name = "EXT_texture_webp"
    mime_type = "image/webp"
