"""Seeded synthetic museum scans (GLB, PLY, OBJ+MTL+JPG) of any triangle count, for the scan benchmark.

The surface is a closed-ish grid in latitude and longitude whose radius follows the Igea scan's silhouette (from
../shared/corpus when present, else a lumpy sphere), with surface noise, four UV islands (so the mesh has seams:
vertices duplicated with different UVs, as photogrammetry exports have) and a procedural JPEG texture; or, as
"obj-pages", an OBJ with one material and texture page per island, as RealityCapture and Metashape write big scans
(and "ply-pages", a PLY so), "obj-colours", an OBJ coloured per vertex without a texture, "ply-ascii", the PLY
as text, "obj-quads", the OBJ in quads, "ply-mixed", a PLY of quads and triangles ("ply-mixed-ascii" as text),
"stl", a binary STL (no texture), or "stl-ascii", the STL as text. Every step is numpy over whole arrays, so a
40M-triangle scan is written in minutes, not hours.

    python -m tests.benchmarks.scan_generator --triangles 1000000 --texture 4096 --out /tmp/scans
"""

from __future__ import annotations

import argparse
import io
import json
import struct
from pathlib import Path

import numpy as np

CORPUS_IGEA = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "Igea" / "igea.ply"
ISLANDS = 4  # UV islands around the longitude: each boundary is a seam
NOISE = 0.002  # surface noise, as a share of the radius
SEED = 20261206
PROFILE_SHAPE = (96, 192)  # latitude × longitude bins of the radius profile


def grid_shape(triangles: int) -> tuple[int, int]:
    """(rows, columns) of quads, about twice as many columns as rows, for about the requested triangle count:
    exactly for 250k, 1M and 4M (and any 4·n² with n even), 10,004,568 for 10M, 39,992,976 for 40M."""
    rows = max(2, round((triangles / 4) ** 0.5))
    return rows, max(ISLANDS, round(triangles / (2 * rows) / ISLANDS) * ISLANDS)


def radius_profile(source: Path | None = CORPUS_IGEA) -> np.ndarray:
    """The radius (largest distance from the centre) per latitude × longitude bin: Igea's when its PLY is
    readable, else a seeded lumpy sphere. Empty bins take their row's mean, then the profile is smoothed."""
    rows, columns = PROFILE_SHAPE
    rng = np.random.default_rng(SEED)
    if source is None or not source.is_file():
        lat = np.linspace(-np.pi / 2, np.pi / 2, rows)[:, None]
        lon = np.linspace(0, 2 * np.pi, columns, endpoint=False)[None, :]
        bumps = sum(rng.uniform(0.02, 0.06) * np.sin(k * lon + rng.uniform(0, 6)) * np.cos(j * lat)
                    for k, j in ((2, 1), (3, 2), (5, 3)))
        return np.asarray(1.0 + bumps, dtype=np.float64)
    from pipeline.ingest import load_asset

    points = np.concatenate([np.asarray(p.attributes["POSITION"], dtype=np.float64)
                             for m in load_asset(source).meshes() for p in m.primitives])
    offset = points - (points.min(axis=0) + points.max(axis=0)) / 2
    radius = np.linalg.norm(offset, axis=1)
    lat = np.arcsin(np.clip(offset[:, 1] / np.maximum(radius, 1e-12), -1, 1))
    lon = np.arctan2(offset[:, 2], offset[:, 0]) % (2 * np.pi)
    row = np.clip(((lat + np.pi / 2) / np.pi * rows).astype(int), 0, rows - 1)
    column = np.clip((lon / (2 * np.pi) * columns).astype(int), 0, columns - 1)
    profile = np.zeros((rows, columns))
    np.maximum.at(profile, (row, column), radius)
    for r in range(rows):
        filled = profile[r] > 0
        profile[r, ~filled] = profile[r, filled].mean() if filled.any() else radius.mean()
    for _ in range(3):  # smooth: a star-shaped stand-in, not every overhang
        profile = (profile + np.roll(profile, 1, 1) + np.roll(profile, -1, 1)
                   + np.vstack([profile[:1], profile[:-1]]) + np.vstack([profile[1:], profile[-1:]])) / 5
    return profile / profile.max()


def _sample_profile(profile: np.ndarray, v: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Bilinear lookup of the profile at v (0..1 latitude) and u (0..1 longitude, wrapping)."""
    rows, columns = profile.shape
    y = v * (rows - 1)
    x = u * columns
    y0 = np.clip(np.floor(y).astype(np.int64), 0, rows - 2)
    x0 = np.floor(x).astype(np.int64) % columns
    fy, fx = (y - y0)[:, None], (x - np.floor(x))[None, :]
    x1 = (x0 + 1) % columns
    top = profile[y0][:, x0] * (1 - fx) + profile[y0][:, x1] * fx
    bottom = profile[y0 + 1][:, x0] * (1 - fx) + profile[y0 + 1][:, x1] * fx
    return np.asarray(top * (1 - fy) + bottom * fy)


def scan_arrays(triangles: int, profile: np.ndarray, size: float = 0.5) -> dict[str, np.ndarray]:
    """POSITION, NORMAL, TEXCOORD_0 (float32) and indices (uint32) of a scan of about `triangles` triangles,
    `size` metres tall."""
    rows, columns = grid_shape(triangles)
    rng = np.random.default_rng(SEED + triangles)
    v = np.linspace(0.03, 0.97, rows + 1)  # open at the poles, as a bust is open at its base
    u = np.arange(columns + 1) / columns
    radius = _sample_profile(profile, v, u[:-1])
    radius = radius * (1 + NOISE * rng.standard_normal(radius.shape))
    radius = np.concatenate([radius, radius[:, :1]], axis=1).astype(np.float32)  # the wrap closes the surface
    lat = ((v - 0.5) * np.pi).astype(np.float32)[:, None]
    lon = (u * 2 * np.pi).astype(np.float32)[None, :]
    grid = np.stack([radius * np.cos(lat) * np.cos(lon), radius * np.sin(lat),
                     radius * np.cos(lat) * np.sin(lon)], axis=-1) * np.float32(size / 2)
    grid[:, -1] = grid[:, 0]  # the wrap column is the first one, bit for bit (float32 sin(2π) is not 0)
    del radius
    # Normals from the grid's tangents (central differences), pointing outwards.
    along_u = np.roll(grid[:, :-1], -1, axis=1) - np.roll(grid[:, :-1], 1, axis=1)
    along_u = np.concatenate([along_u, along_u[:, :1]], axis=1)
    along_v = np.gradient(grid, axis=0)
    normals = np.cross(along_v, along_u)
    del along_u, along_v
    normals /= np.maximum(np.linalg.norm(normals, axis=-1, keepdims=True), np.float32(1e-12))
    # Islands: each takes its own columns (the boundary column is repeated, a seam) and its own atlas strip.
    width = columns // ISLANDS
    positions, normal_parts, uvs, index_parts, base = [], [], [], [], 0
    for island in range(ISLANDS):
        span = slice(island * width, (island + 1) * width + 1)
        block = grid[:, span].reshape(-1, 3)
        positions.append(block)
        normal_parts.append(normals[:, span].reshape(-1, 3))
        uu, vv = np.meshgrid((np.arange(width + 1) / width * 0.98 + 0.01 + island) / ISLANDS,
                             v, indexing="xy")
        uvs.append(np.stack([uu, 1 - vv], axis=-1).reshape(-1, 2).astype(np.float32))
        corner = (np.arange(rows)[:, None] * (width + 1) + np.arange(width)[None, :]).reshape(-1).astype(np.uint32)
        corner += np.uint32(base)
        right, up = corner + 1, corner + np.uint32(width + 1)
        quads = np.stack([corner, up, right, right, up, up + 1], axis=1)
        index_parts.append(quads.reshape(-1))
        base += len(block)
    return {"POSITION": np.concatenate(positions), "NORMAL": np.concatenate(normal_parts),
            "TEXCOORD_0": np.concatenate(uvs), "indices": np.concatenate(index_parts)}


def texture_jpeg(size: int, seed: int = SEED) -> bytes:
    """A size × size JPEG: smooth coloured noise with fine grain, like a photographed surface."""
    from PIL import Image

    rng = np.random.default_rng(seed + size)
    coarse = rng.uniform(60, 200, (16, 16, 3)).astype(np.float32)
    image = Image.fromarray(coarse.astype(np.uint8), "RGB").resize((size, size), Image.Resampling.BICUBIC)
    pixels = np.asarray(image, dtype=np.int16)
    grain = rng.integers(-12, 13, (size, size, 1), dtype=np.int16)
    pixels = np.clip(pixels + grain, 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def write_glb(path: Path, arrays: dict[str, np.ndarray], jpeg: bytes) -> None:
    """One mesh, one textured material, the JPEG embedded."""
    chunks: list[bytes] = []
    views, accessors = [], []
    offset = 0

    def add(data: bytes, target: int | None) -> int:
        nonlocal offset
        view = {"buffer": 0, "byteOffset": offset, "byteLength": len(data)}
        if target:
            view["target"] = target
        views.append(view)
        padded = data + b"\0" * (-len(data) % 4)
        chunks.append(padded)
        offset += len(padded)
        return len(views) - 1

    attributes = {}
    for name, kind in (("POSITION", "VEC3"), ("NORMAL", "VEC3"), ("TEXCOORD_0", "VEC2")):
        values = arrays[name]
        accessor = {"bufferView": add(values.tobytes(), 34962), "componentType": 5126, "count": len(values),
                    "type": kind}
        if name == "POSITION":
            accessor["min"] = [float(x) for x in values.min(axis=0)]
            accessor["max"] = [float(x) for x in values.max(axis=0)]
        accessors.append(accessor)
        attributes[name] = len(accessors) - 1
    indices = arrays["indices"]
    accessors.append({"bufferView": add(indices.tobytes(), 34963), "componentType": 5125, "count": len(indices),
                      "type": "SCALAR"})
    image_view = add(jpeg, None)
    document = {
        "asset": {"version": "2.0", "generator": "vitrina scan_generator"},
        "scene": 0, "scenes": [{"nodes": [0]}], "nodes": [{"name": "scan", "mesh": 0}],
        "meshes": [{"name": "scan", "primitives": [{"attributes": attributes, "indices": len(accessors) - 1,
                                                     "material": 0}]}],
        "materials": [{"name": "scan", "pbrMetallicRoughness": {"baseColorTexture": {"index": 0},
                                                                 "metallicFactor": 0.0}}],
        "textures": [{"source": 0}], "images": [{"bufferView": image_view, "mimeType": "image/jpeg"}],
        "accessors": accessors, "bufferViews": views, "buffers": [{"byteLength": offset}],
    }
    text = json.dumps(document, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 4)
    total = 12 + 8 + len(text) + 8 + offset
    with path.open("wb") as handle:
        handle.write(struct.pack("<4sII", b"glTF", 2, total))
        handle.write(struct.pack("<I4s", len(text), b"JSON") + text)
        handle.write(struct.pack("<I4s", offset, b"BIN\0"))
        for chunk in chunks:
            handle.write(chunk)


def write_ply(path: Path, arrays: dict[str, np.ndarray], texture_name: str, text: bool = False,
              chunk: int = 1 << 18) -> None:
    """Binary little-endian PLY with normals and per-vertex texture coordinates (s, t; v up); with `text`, the
    same as an ASCII PLY (six decimals, as MeshLab writes one)."""
    count = len(arrays["POSITION"])
    vertex = np.empty(count, dtype=[("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("nx", "<f4"), ("ny", "<f4"),
                                    ("nz", "<f4"), ("s", "<f4"), ("t", "<f4")])
    for k, name in enumerate("xyz"):
        vertex[name] = arrays["POSITION"][:, k]
        vertex["n" + name] = arrays["NORMAL"][:, k]
    vertex["s"] = arrays["TEXCOORD_0"][:, 0]
    vertex["t"] = 1 - arrays["TEXCOORD_0"][:, 1]
    triangles = arrays["indices"].reshape(-1, 3)
    face = np.empty(len(triangles), dtype=[("n", "u1"), ("i", "<u4", (3,))])
    face["n"] = 3
    face["i"] = triangles
    header = (f"ply\nformat {'ascii' if text else 'binary_little_endian'} 1.0\ncomment TextureFile {texture_name}\n"
              f"element vertex {count}\n" + "".join(f"property float {n}\n" for n in vertex.dtype.names or ())
              + f"element face {len(triangles)}\nproperty list uchar uint vertex_indices\nend_header\n")
    with path.open("wb") as handle:
        handle.write(header.encode("ascii"))
        if not text:
            vertex.tofile(handle)
            del vertex
            face.tofile(handle)
            return
        for begin in range(0, count, chunk):
            rows = vertex[begin:begin + chunk]
            numbers = np.stack([rows[name].astype(np.float64) for name in vertex.dtype.names or ()], axis=1)
            handle.write((("%.6f " * 7 + "%.6f\n") * len(rows) % tuple(numbers.ravel())).encode("ascii"))
        for begin in range(0, len(triangles), chunk):
            rows = triangles[begin:begin + chunk].astype(np.int64)
            handle.write(("3 %d %d %d\n" * len(rows) % tuple(rows.ravel())).encode("ascii"))


def write_obj(path: Path, arrays: dict[str, np.ndarray], texture_name: str) -> None:
    """OBJ + MTL: v, vt, vn per vertex, f a/a/a per triangle, one textured material (map_Kd)."""
    mtl = path.parent / (path.name.split(".")[0] + ".mtl")  # scan.mtl, also while writing scan.obj.partial
    mtl.write_text(f"newmtl scan\nKa 1 1 1\nKd 1 1 1\nmap_Kd {texture_name}\n", encoding="ascii")
    _write_obj_text(path, mtl.name, arrays, [("scan", arrays["indices"].reshape(-1, 3))])


def _pages(path: Path, arrays: dict[str, np.ndarray], texture_side: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(each vertex's UVs spread over its island's whole page, each vertex's page, the pages' JPEG names): one
    texture page per UV island, written beside `path` (shared by the OBJ and the PLY in pages)."""
    uvs = arrays["TEXCOORD_0"].copy()
    page = np.minimum((uvs[:, 0] * ISLANDS).astype(np.int64), ISLANDS - 1)
    uvs[:, 0] = uvs[:, 0] * ISLANDS - page
    stem = path.name.split(".")[0]
    names = [f"{stem}-page{number}.jpg" for number in range(ISLANDS)]
    for number, name in enumerate(names):
        if not (path.parent / name).is_file():
            (path.parent / name).write_bytes(texture_jpeg(texture_side, seed=SEED + number))
    return uvs, page, names


def write_obj_pages(path: Path, arrays: dict[str, np.ndarray], texture_side: int) -> None:
    """OBJ + MTL as RealityCapture and Metashape write a big scan: one material, and one texture page (its own
    JPEG), per UV island, each island's UVs spread over its whole page; the faces grouped by page."""
    uvs, page, _ = _pages(path, arrays, texture_side)
    stem = path.name.split(".")[0]
    mtl = path.parent / f"{stem}.mtl"
    mtl.write_text("".join(f"newmtl page{n}\nKa 1 1 1\nKd 1 1 1\nmap_Kd {stem}-page{n}.jpg\n" for n in range(ISLANDS)),
                   encoding="ascii")
    triangles = arrays["indices"].reshape(-1, 3)
    by_page = page[triangles[:, 0]]  # an island's triangles use its own vertices only
    pages = [(f"page{n}", triangles[by_page == n]) for n in range(ISLANDS)]
    _write_obj_text(path, mtl.name, {**arrays, "TEXCOORD_0": uvs}, pages)


def write_ply_pages(path: Path, arrays: dict[str, np.ndarray], texture_side: int) -> None:
    """Binary PLY as Metashape writes a textured scan in pages: each position once (a vertex on a UV seam too),
    texture coordinates per corner (a `texcoord` list), a texture page per face (`texnumber`) and a TextureFile
    comment per page, the pages as `write_obj_pages` makes them."""
    uvs, page, names = _pages(path, arrays, texture_side)
    triangles = arrays["indices"].reshape(-1, 3)
    # Weld the seams' twin vertices (same position), keeping each position where the file first has it.
    _, first, twin_of = np.unique(arrays["POSITION"], axis=0, return_index=True, return_inverse=True)
    kept = np.sort(first)
    renumber = np.empty(len(first), dtype=np.int64)
    renumber[np.argsort(first)] = np.arange(len(first))
    welded = renumber[twin_of.reshape(-1)][triangles]
    vertex = np.empty(len(kept), dtype=[(k, "<f4") for k in ("x", "y", "z", "nx", "ny", "nz")])
    for axis, name in enumerate("xyz"):
        vertex[name] = arrays["POSITION"][kept, axis]
        vertex["n" + name] = arrays["NORMAL"][kept, axis]
    face = np.empty(len(triangles), dtype=[("n", "u1"), ("i", "<u4", (3,)), ("m", "u1"), ("uv", "<f4", (6,)),
                                           ("page", "<i4")])
    face["n"], face["i"], face["m"] = 3, welded, 6
    corner_uvs = uvs[triangles]
    corner_uvs[:, :, 1] = 1 - corner_uvs[:, :, 1]  # v up
    face["uv"] = corner_uvs.reshape(-1, 6)
    face["page"] = page[triangles[:, 0]]
    header = ("ply\nformat binary_little_endian 1.0\n" + "".join(f"comment TextureFile {name}\n" for name in names)
              + f"element vertex {len(kept)}\n" + "".join(f"property float {n}\n" for n in vertex.dtype.names or ())
              + f"element face {len(triangles)}\nproperty list uchar uint vertex_indices\n"
              "property list uchar float texcoord\nproperty int texnumber\nend_header\n")
    with path.open("wb") as handle:
        handle.write(header.encode("ascii"))
        vertex.tofile(handle)
        del vertex
        face.tofile(handle)


def write_stl(path: Path, arrays: dict[str, np.ndarray], chunk: int = 1 << 18, text: bool = False) -> None:
    """Binary STL, as structured-light scanners export: each triangle's facet normal and three corners, no texture;
    with `text`, the same as an ASCII STL (`facet normal`, `outer loop`, three `vertex` lines; six significant
    digits in exponent form, as CAD tools and older scanners write one)."""
    triangles = arrays["indices"].reshape(-1, 3)
    facet = (" facet normal %.6e %.6e %.6e\n  outer loop\n" + "   vertex %.6e %.6e %.6e\n" * 3
             + "  endloop\n endfacet\n")
    with path.open("wb") as handle:
        header = b"vitrina scan_generator".ljust(80) + struct.pack("<I", len(triangles))
        handle.write(b"solid scan\n" if text else header)
        for begin in range(0, len(triangles), chunk):
            corners = arrays["POSITION"][triangles[begin:begin + chunk]]
            records = np.zeros(len(corners), dtype=[("normal", "<f4", (3,)), ("corners", "<f4", (3, 3)),
                                                    ("attribute", "<u2")])
            facing = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
            records["normal"] = facing / np.maximum(np.linalg.norm(facing, axis=1, keepdims=True), np.float32(1e-12))
            records["corners"] = corners
            if not text:
                records.tofile(handle)
                continue
            numbers = np.concatenate([records["normal"], records["corners"].reshape(-1, 9)], axis=1)
            handle.write((facet * len(records) % tuple(numbers.astype(np.float64).ravel())).encode("ascii"))
        if text:
            handle.write(b"endsolid scan\n")


def write_obj_quads(path: Path, arrays: dict[str, np.ndarray], texture_name: str) -> None:
    """OBJ + MTL as a remeshed scan is written (Blender's voxel remesh, ZBrush): the grid's cells as quads, half as
    many faces as the triangles, otherwise as `write_obj`."""
    mtl = path.parent / (path.name.split(".")[0] + ".mtl")
    mtl.write_text(f"newmtl scan\nKa 1 1 1\nKd 1 1 1\nmap_Kd {texture_name}\n", encoding="ascii")
    cells = arrays["indices"].reshape(-1, 6)  # per cell: (corner, up, right), (right, up, up + 1)
    _write_obj_text(path, mtl.name, arrays, [("scan", cells[:, [0, 1, 5, 2]])])


MIXED_TRIANGLES = 0.1  # the share of the grid's cells a "ply-mixed" scan keeps as two triangles


def write_ply_mixed(path: Path, arrays: dict[str, np.ndarray], texture_name: str, chunk: int = 1 << 18,
                    text: bool = False) -> None:
    """Binary PLY as Blender writes a mesh of quads and triangles, each face as it is: the grid's cells as quads
    (cut as "obj-quads" cuts them), a seeded tenth of them, here and there, as their two triangles; otherwise as
    `write_ply`. Each face's record is as long as its corners, so the reader cannot find them by a stride. With
    `text`, the same as an ASCII PLY, each row as long as its face."""
    plain = path.with_name(path.name + ".triangles")
    write_ply(plain, arrays, texture_name, text=text)
    cells = arrays["indices"].reshape(-1, 6).astype("<u4")  # per cell: (corner, up, right), (right, up, up + 1)
    as_triangles = np.random.default_rng(SEED).random(len(cells)) < MIXED_TRIANGLES
    faces = len(cells) + int(as_triangles.sum())
    if text:
        _write_mixed_rows(path, plain, len(arrays["POSITION"]), len(cells) * 2, faces, cells, as_triangles, chunk)
        return
    with plain.open("rb") as source:
        head = source.read(1 << 16)
        header_end = head.index(b"end_header\n") + len(b"end_header\n")
        vertices_end = header_end + len(arrays["POSITION"]) * 32
        header = head[:header_end].replace(f"element face {len(cells) * 2}".encode(), f"element face {faces}".encode())
        with path.open("wb") as handle:
            handle.write(header)
            source.seek(header_end)
            handle.write(source.read(vertices_end - header_end))
            for begin in range(0, len(cells), chunk):
                some, split = cells[begin:begin + chunk], as_triangles[begin:begin + chunk]
                lengths = np.where(split, 26, 17)
                at = np.cumsum(lengths) - lengths
                body = np.empty(int(lengths.sum()), dtype=np.uint8)
                quads, pairs = at[~split], at[split]
                body[quads] = 4
                body[quads[:, None] + 1 + np.arange(16)] = np.ascontiguousarray(some[~split][:, [0, 1, 5, 2]]).view(
                    np.uint8)
                body[pairs] = 3
                body[pairs[:, None] + 1 + np.arange(12)] = np.ascontiguousarray(some[split][:, :3]).view(np.uint8)
                body[pairs + 13] = 3
                body[pairs[:, None] + 14 + np.arange(12)] = np.ascontiguousarray(some[split][:, 3:]).view(np.uint8)
                handle.write(body.tobytes())
    plain.unlink()


def write_obj_colours(path: Path, arrays: dict[str, np.ndarray], jpeg: bytes) -> None:
    """OBJ as MeshLab and CloudCompare write a scan coloured per vertex: v x y z r g b (the texture's colour under
    each vertex), vn, f a//a, no material."""
    from PIL import Image

    image = Image.open(io.BytesIO(jpeg))
    image.draft("RGB", (512, 512))
    pixels = np.asarray(image.convert("RGB"))
    uvs = arrays["TEXCOORD_0"]
    rows = np.minimum((uvs[:, 1] * len(pixels)).astype(np.int64), len(pixels) - 1)
    columns = np.minimum((uvs[:, 0] * pixels.shape[1]).astype(np.int64), pixels.shape[1] - 1)
    colours = pixels[rows, columns].astype(np.float32) / 255
    _write_obj_text(path, None, arrays, [(None, arrays["indices"].reshape(-1, 3))], colours=colours)


def _write_obj_text(path: Path, mtl_name: str | None, arrays: dict[str, np.ndarray],
                    groups: list[tuple[str | None, np.ndarray]], chunk: int = 1 << 18,
                    colours: np.ndarray | None = None) -> None:
    """v, vt, vn per vertex, then per material its usemtl and f a/a/a per triangle; with `colours`, v x y z r g b,
    no vt and f a//a."""
    positions, normals, uvs = arrays["POSITION"], arrays["NORMAL"], arrays["TEXCOORD_0"]
    columns = [(positions, "v %.6f %.6f %.6f\n") if colours is None else
               (np.concatenate([positions, colours], axis=1), "v %.6f %.6f %.6f %.3f %.3f %.3f\n")]
    if colours is None:
        columns.append((np.stack([uvs[:, 0], 1 - uvs[:, 1]], axis=1), "vt %.6f %.6f\n"))
    columns.append((normals, "vn %.4f %.4f %.4f\n"))
    corner = "%d/%d/%d" if colours is None else "%d//%d"
    with path.open("w", encoding="ascii") as handle:
        handle.write("# vitrina scan_generator\n" + (f"mtllib {mtl_name}\n" if mtl_name else "") + "o scan\n")
        for values, form in columns:
            for begin in range(0, len(values), chunk):
                block = values[begin:begin + chunk]
                handle.write((form * len(block)) % tuple(block.astype(np.float64).ravel()))
        for material, triangles in groups:
            if material is not None:
                handle.write(f"usemtl {material}\n")
            for begin in range(0, len(triangles), chunk):
                block = np.repeat(triangles[begin:begin + chunk].astype(np.int64) + 1, corner.count("%"), axis=1)
                face = "f " + " ".join([corner] * triangles.shape[1]) + "\n"
                handle.write((face * len(block)) % tuple(block.ravel()))


def _write_mixed_rows(path: Path, plain: Path, vertex_count: int, triangle_count: int, faces: int, cells: np.ndarray,
                      as_triangles: np.ndarray, chunk: int) -> None:
    """write_ply_mixed as text: the ASCII PLY `plain` of triangles with its face rows made quads and pairs."""
    with plain.open("rb") as source, path.open("wb") as handle:
        header = b""
        while not header.endswith(b"end_header\n"):
            header += source.readline()
        handle.write(header.replace(f"element face {triangle_count}\n".encode(), f"element face {faces}\n".encode()))
        for _ in range(vertex_count):
            handle.write(source.readline())
        for begin in range(0, len(cells), chunk):
            some, split = cells[begin:begin + chunk].astype(np.int64), as_triangles[begin:begin + chunk]
            values = np.where(split[:, None], some, np.pad(some[:, [0, 1, 5, 2]], ((0, 0), (0, 2))))
            used = np.ones(values.shape, dtype=bool)
            used[~split, 4:] = False
            rows = np.where(split, "3 %d %d %d\n3 %d %d %d\n", "4 %d %d %d %d\n")
            handle.write(("".join(rows.tolist()) % tuple(values[used].tolist())).encode("ascii"))
    plain.unlink()


# The file each input format is written to ("obj-pages" and "ply-pages": the scan with a texture page per UV island,
# as RealityCapture and Metashape write OBJ and PLY; "obj-colours": coloured per vertex, as MeshLab writes OBJ;
# "ply-ascii": the PLY as text; "obj-quads": the grid's cells as quads, as a remeshed scan; "stl": binary STL;
# "stl-ascii": the STL as text; "ply-mixed": quads and triangles, as Blender writes a mesh of both; "ply-mixed-ascii":
# that as text).
FILE_NAMES = {"glb": "scan.glb", "ply": "scan.ply", "obj": "scan.obj", "obj-pages": "pages.obj",
              "ply-pages": "pages.ply", "obj-colours": "coloured.obj", "ply-ascii": "ascii.ply",
              "obj-quads": "quads.obj", "stl": "scan.stl", "ply-mixed": "mixed.ply", "stl-ascii": "ascii.stl",
              "ply-mixed-ascii": "mixed-ascii.ply"}


def generate(out: Path, triangles: int, texture: int, formats: tuple[str, ...] = ("glb", "ply", "obj")) -> dict[str, Path]:
    """Write the scan in each format under out/scan-<triangles>/ (kept when already there) and return the paths."""
    folder = out / f"scan-{triangles}"
    folder.mkdir(parents=True, exist_ok=True)
    paths = {kind: folder / FILE_NAMES[kind] for kind in formats}
    if all(p.is_file() for p in paths.values()):
        return paths
    arrays = scan_arrays(triangles, radius_profile())
    jpeg = texture_jpeg(texture)
    (folder / "texture.jpg").write_bytes(jpeg)
    writers = {"glb": lambda p: write_glb(p, arrays, jpeg), "ply": lambda p: write_ply(p, arrays, "texture.jpg"),
               "obj": lambda p: write_obj(p, arrays, "texture.jpg"),
               "obj-pages": lambda p: write_obj_pages(p, arrays, texture),
               "ply-pages": lambda p: write_ply_pages(p, arrays, texture),
               "obj-colours": lambda p: write_obj_colours(p, arrays, jpeg),
               "ply-ascii": lambda p: write_ply(p, arrays, "texture.jpg", text=True),
               "obj-quads": lambda p: write_obj_quads(p, arrays, "texture.jpg"),
               "stl": lambda p: write_stl(p, arrays), "stl-ascii": lambda p: write_stl(p, arrays, text=True),
               "ply-mixed": lambda p: write_ply_mixed(p, arrays, "texture.jpg"),
               "ply-mixed-ascii": lambda p: write_ply_mixed(p, arrays, "texture.jpg", text=True)}
    for kind, target in paths.items():
        if not target.is_file():
            partial = target.with_name(target.name + ".partial")
            writers[kind](partial)
            partial.rename(target)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scan_generator", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--triangles", type=int, default=250_000)
    parser.add_argument("--texture", type=int, default=2048, help="texture side in pixels")
    parser.add_argument("--formats", default="glb,ply,obj")
    parser.add_argument("--out", type=Path, default=Path("/tmp/vitrina-scans"))
    args = parser.parse_args(argv)
    for kind, path in generate(args.out, args.triangles, args.texture, tuple(args.formats.split(","))).items():
        print(f"{kind}: {path} ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
