"""Pictures as cameras, phones and editors write them: in another colour profile than sRGB, stored on their side
(EXIF orientation), or as a museum's TIFF master."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageOps

from pipeline import images
from pipeline.asset_files import make_texture
from pipeline.build import BuildOptions, build, check
from tests.helpers import adobe_rgb_icc, adobe_rgb_in_srgb
from tests.pipeline.tiny_exhibit import write_tiny_exhibit

# Four blocks of colours far from grey, where Adobe RGB and sRGB differ most, and one grey, where they agree.
BLOCKS = [(200, 30, 30), (40, 160, 220), (180, 120, 60), (30, 180, 70), (128, 128, 128)]
BLOCK = 16


def _blocks(mode: str = "RGB") -> Image.Image:
    strip = np.concatenate([np.full((BLOCK, BLOCK, 3), colour, np.uint8) for colour in BLOCKS], axis=1)
    return Image.fromarray(strip, "RGB").convert(mode)


def _encoded(image: Image.Image, fmt: str, icc: bytes | None = None, orientation: int | None = None) -> bytes:
    options: dict[str, object] = {}
    if icc is not None:
        options["icc_profile"] = icc
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        options["exif"] = exif.tobytes()
    if fmt == "JPEG":
        options.update(quality=100, subsampling=0)
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def _centres(data: bytes) -> list[tuple[int, ...]]:
    with Image.open(io.BytesIO(data)) as image:
        rgb = image.convert("RGB")
        return [rgb.getpixel((BLOCK * index + BLOCK // 2, BLOCK // 2)) for index in range(len(BLOCKS))]


def _bodies_of(document: object, name: str) -> list[dict[str, object]]:
    """The IIIF annotation bodies (anywhere in the document) whose image is the file `name`."""
    if isinstance(document, list):
        return [body for item in document for body in _bodies_of(item, name)]
    if not isinstance(document, dict):
        return []
    own = [document] if document.get("type") == "Image" and str(document.get("id", "")).endswith("/" + name) else []
    return own + [body for value in document.values() for body in _bodies_of(value, name)]


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "TIFF", "WEBP"])
def test_a_picture_in_adobe_rgb_comes_out_in_the_srgb_its_colours_are(fmt: str) -> None:
    data = _encoded(_blocks(), fmt, icc=adobe_rgb_icc())
    assert not images.shown_as_stored(data, ("PNG", "JPEG", "WEBP", "TIFF"))
    converted, mime, width, height = images.as_texture_bytes(data)
    assert (width, height) == (BLOCK * len(BLOCKS), BLOCK)
    # A JPEG stays a JPEG (with its own quantization tables); anything else becomes a lossless PNG.
    assert mime == ("image/jpeg" if fmt == "JPEG" else "image/png")
    with Image.open(io.BytesIO(converted)) as image:
        assert "icc_profile" not in image.info  # untagged, as browsers and glTF take sRGB
    moved = 0.0
    for colour, got in zip(BLOCKS, _centres(converted), strict=True):
        expected = adobe_rgb_in_srgb(colour)
        assert np.abs(np.asarray(got) - expected).max() <= 3, (colour, got, expected.round(1))
        moved = max(moved, float(np.abs(expected - colour).max()))
    assert moved > 20  # the colours really are elsewhere in sRGB: kept as they were, the test would fail


def test_an_srgb_profile_or_one_no_colour_manager_reads_keeps_the_file_byte_for_byte() -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    for icc in (srgb, b"not a profile at all", None):
        for fmt in ("JPEG", "PNG"):
            data = _encoded(_blocks(), fmt, icc=icc)
            assert images.shown_as_stored(data)
            assert images.as_texture_bytes(data)[0] == data


@pytest.mark.parametrize("orientation", range(2, 9))
def test_a_picture_stored_on_its_side_is_turned_as_its_exif_orientation_says(orientation: int,
                                                                              tmp_path: Path) -> None:
    stored = Image.fromarray(np.random.default_rng(orientation).integers(0, 256, (20, 40, 3), np.uint8), "RGB")
    data = _encoded(stored, "PNG", orientation=orientation)
    path = tmp_path / "phone.png"
    path.write_bytes(data)
    with Image.open(io.BytesIO(data)) as opened:
        shown = ImageOps.exif_transpose(opened)  # Pillow's own reading of the tag, as a browser turns it
    assert not images.shown_as_stored(data)
    turned, mime, width, height = images.as_texture_bytes(data)
    assert mime == "image/png" and (width, height) == shown.size
    assert images.file_pixel_size(path) == shown.size  # what check and the layout size the picture by
    with Image.open(io.BytesIO(turned)) as image:
        assert np.array_equal(np.asarray(image), np.asarray(shown))
        assert image.getexif().get(0x0112, 1) == 1  # never turned twice
    # A model's texture is addressed by its texture coordinates as stored: never turned, but the tag goes (three.js
    # decodes textures with createImageBitmap, which would turn them by it).
    texture, _, width, height = images.as_texture_bytes(data, upright=False)
    assert (width, height) == stored.size
    with Image.open(io.BytesIO(texture)) as image:
        assert np.array_equal(np.asarray(image), np.asarray(stored))
        assert image.getexif().get(0x0112, 1) == 1
    # A phone's JPEG stays a JPEG, turned.
    photo, mime, width, height = images.as_texture_bytes(_encoded(stored, "JPEG", orientation=orientation))
    assert mime == "image/jpeg" and (width, height) == shown.size
    with Image.open(io.BytesIO(photo)) as image:
        assert np.abs(np.asarray(image, np.int16) - np.asarray(shown, np.int16)).mean() < 12


def test_a_models_texture_in_adobe_rgb_is_converted_but_not_turned(tmp_path: Path) -> None:
    data = _encoded(_blocks(), "PNG", icc=adobe_rgb_icc(), orientation=6)
    texture = make_texture(tmp_path / "scan.obj", data, "skin", None, "skin.png")
    assert (texture.width, texture.height) == (BLOCK * len(BLOCKS), BLOCK)
    for colour, got in zip(BLOCKS, _centres(texture.data), strict=True):
        assert np.abs(np.asarray(got) - adobe_rgb_in_srgb(colour)).max() <= 2
    with Image.open(io.BytesIO(texture.data)) as image:
        assert image.getexif().get(0x0112, 1) == 1 and "icc_profile" not in image.info
    plain = _encoded(_blocks(), "JPEG")
    assert make_texture(tmp_path / "scan.obj", plain, "skin", None, "skin.jpg").data == plain


def test_a_tiff_master_in_adobe_rgb_on_its_side_hangs_upright_in_srgb_and_rebuilds_without_converting(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline import source_facts

    monkeypatch.setattr(source_facts, "RACY_NS", -(10 ** 12))  # the master's digest is remembered at once
    folder = write_tiny_exhibit(tmp_path / "tiny")
    spec = folder / "exhibit.yaml"
    spec.write_text(spec.read_text(encoding="utf-8").replace("image: images/red.png\n    size: [0.8, 0.4]\n",
                                                             "image: images/red.tif\n"), encoding="utf-8")
    red = (200, 30, 30)
    # Stored 64 wide and 32 high, shown a quarter turned: 32 wide and 64 high, so the picture hangs 1 m by 2 m.
    (folder / "images" / "red.tif").write_bytes(
        _encoded(Image.new("RGB", (64, 32), red), "TIFF", icc=adobe_rgb_icc(), orientation=6))
    said = io.StringIO()
    assert check(spec, strict=False, out=said) == 0, said.getvalue()  # a .tif is a picture like any other
    options = BuildOptions(quiet=True, jobs=1, cache_dir=tmp_path / "cache", base_url="https://museum.example/tiny")
    first = build(spec, tmp_path / "site", options)
    site = tmp_path / "site" / "tiny"
    artifact = next(a for a in json.loads((site / "exhibit.json").read_text())["artifacts"] if a["id"] == "red")
    low, high = artifact["bounds"]["min"], artifact["bounds"]["max"]
    assert high[1] - low[1] > 1.8 * max(high[0] - low[0], high[2] - low[2])  # upright: twice as high as wide
    # The IIIF export's picture is what a browser shows: upright, in sRGB, and not a TIFF; opaque, so a JPEG, as
    # its room hangs it (a master's pixels as PNG are many times the bytes).
    (exported,) = (site / "media").glob("red.*")
    assert exported.suffix == ".jpg"
    with Image.open(exported) as image:
        assert image.format == "JPEG" and image.size == (32, 64) and "icc_profile" not in image.info
        assert np.abs(np.asarray(image.convert("RGB").getpixel((16, 32))) - adobe_rgb_in_srgb(red)).max() <= 2
    (body,) = _bodies_of(json.loads((site / "iiif" / "exhibit.json").read_text()), exported.name)
    assert (body["format"], body["width"], body["height"]) == ("image/jpeg", 32, 64)
    hall = next(r for r in json.loads((site / "exhibit.json").read_text())["rooms"] if r["id"] == "hall")
    assert _picture_mime((site / hall["glb"]).read_bytes(), "red") == "image/jpeg"  # and so does its room
    assert first.textures_encoded >= 1
    # Nor is the master read again (a 6000 × 4000 TIFF is 72 MB): its conversions are found by its remembered
    # digest; only its header is opened (its size, and that it is no PNG or JPEG).
    master = folder / "images" / "red.tif"
    read_bytes, file_digest = Path.read_bytes, source_facts.file_digest

    def refuse_the_master(path: Path) -> bytes:
        assert path.resolve() != master.resolve(), "a warm build read the master"
        return read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", refuse_the_master)
    monkeypatch.setattr(source_facts, "file_digest", lambda path: file_digest(path) if path.resolve() != master.resolve()
                        else pytest.fail("a warm build hashed the master"))
    again = build(spec, tmp_path / "again", dataclasses.replace(options))
    assert again.textures_encoded == 0 and again.textures_from_cache >= 1  # the conversion is kept by content
    assert (tmp_path / "again" / "tiny" / "media" / exported.name).read_bytes() == exported.read_bytes()


def test_a_tiff_master_with_transparency_is_published_lossless(tmp_path: Path) -> None:
    folder = write_tiny_exhibit(tmp_path / "tiny")
    spec = folder / "exhibit.yaml"
    spec.write_text(spec.read_text(encoding="utf-8").replace("image: images/red.png", "image: images/red.tif"),
                    encoding="utf-8")
    pixels = np.dstack([np.full((32, 64, 3), (200, 30, 30), np.uint8), np.tile(np.arange(0, 256, 4, np.uint8), (32, 1))])
    (folder / "images" / "red.tif").write_bytes(_encoded(Image.fromarray(pixels), "TIFF"))
    build(spec, tmp_path / "site", BuildOptions(quiet=True, jobs=1, cache_dir=tmp_path / "cache",
                                                base_url="https://museum.example/tiny"))
    (exported,) = (tmp_path / "site" / "tiny" / "media").glob("red.*")
    with Image.open(exported) as image:
        assert image.format == "PNG" and np.array_equal(np.asarray(image.convert("RGBA")), pixels)


def _picture_mime(room_glb: bytes, artifact_id: str) -> str:
    """The MIME type of the image a room's GLB shows on the picture `artifact_id`."""
    from tests.helpers import glb_json

    document = glb_json(room_glb)
    material = next(m for m in document["materials"] if m.get("name") == f"{artifact_id}-image")
    texture = document["textures"][material["pbrMetallicRoughness"]["baseColorTexture"]["index"]]
    return str(document["images"][texture["source"]]["mimeType"])


@pytest.mark.parametrize("alpha", [None, 128])
def test_a_png_picture_hangs_as_jpeg_unless_it_has_transparency_and_its_iiif_image_is_the_file(
        tmp_path: Path, alpha: int | None) -> None:
    folder = write_tiny_exhibit(tmp_path / "tiny")
    picture = folder / "images" / "red.png"
    photograph = np.clip(np.random.default_rng(3).normal(150, 30, (300, 600, 3)), 0, 255).astype(np.uint8)
    image = Image.fromarray(photograph) if alpha is None else Image.fromarray(
        np.dstack([photograph, np.full((300, 600), alpha, np.uint8)]))
    image.save(picture)
    options = BuildOptions(quiet=True, jobs=1, cache_dir=tmp_path / "cache", base_url="https://museum.example/tiny")
    build(folder / "exhibit.yaml", tmp_path / "site", options)
    site = tmp_path / "site" / "tiny"
    hall = next(r for r in json.loads((site / "exhibit.json").read_text())["rooms"] if r["id"] == "hall")
    assert _picture_mime((site / hall["glb"]).read_bytes(), "red") == ("image/jpeg" if alpha is None else "image/png")
    (exported,) = (site / "media").glob("red.*")
    assert exported.read_bytes() == picture.read_bytes()  # the IIIF export's image is the museum's file
