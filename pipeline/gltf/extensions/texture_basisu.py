"""KHR_texture_basisu: textures whose image is KTX2 (Basis Universal, transcoded by the GPU's own format)."""

from __future__ import annotations

from pipeline.gltf.extensions import ImageSource


class TextureBasisu(ImageSource):
    name = "KHR_texture_basisu"
    mime_type = "image/ktx2"
