"""Generate the example exhibits' models, images and narration audio, deterministically, from code (CC0-1.0)."""

from __future__ import annotations

import argparse
import io
import json
import shutil
import struct
import subprocess
import sys
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pygltflib
import trimesh
from PIL import Image, ImageDraw, ImageFilter

REPO = Path(__file__).resolve().parent.parent
STEPS = ("models", "images", "audio")

# Narrations, one list item per sentence: each sentence becomes one caption cue.
# The spec helper reuses this wording verbatim in records and tour stops (see assets/README.md).
NARRATIONS: dict[str, dict[str, list[str]]] = {
    "ding": {
        "zh": [
            "这是一件青铜鼎，仿照商代晚期的样式制作，三足两耳，造型庄重。",
            "鼎腹上装饰着饕餮纹，一对圆睁的大眼在云雷纹中凝视着我们。",
            "鼎最初用来烹煮肉食，后来成为祭祀和权力的象征。",
        ],
        "en": [
            "This bronze ding follows the style of the late Shang dynasty, with three legs and two upright handles.",
            "Around its belly runs a taotie mask: two wide eyes staring out from a ground of cloud-and-thunder spirals.",
            "A ding first cooked meat, and later became a symbol of ritual and of power.",
        ],
    },
    "bell": {
        "zh": [
            "这是一件编钟，它原本属于一整套按音高排列的青铜钟。",
            "钟体上凸起的三十六个枚，能让余音更快消失。",
            "敲击钟的正面和侧面，可以发出两个不同的音。",
        ],
        "en": [
            "This bell once belonged to a bianzhong, a set of bronze bells tuned to a scale.",
            "The thirty-six bosses on its body help the sound die away quickly.",
            "Struck at the centre or at the side, each bell sounds two different notes.",
        ],
    },
    "tour-welcome": {
        "zh": [
            "欢迎来到青铜时代展厅。",
            "接下来的几分钟里，我们将一起走近三千多年前的青铜器。",
            "请跟随导览员，先来看这件鼎。",
        ],
        "en": [
            "Welcome to the Bronze Age galleries.",
            "In the next few minutes we will look closely at bronzes made more than three thousand years ago.",
            "Please follow your guide to our first stop, the ding.",
        ],
    },
}
# What espeak-ng actually reads for Chinese: tone-numbered pinyin, sentence for sentence with NARRATIONS.
# Debian's cmn dictionary lacks many characters (鼎, 饕, 这 …) and spells their pinyin out as English words,
# while the cmn-latn-pinyin voice reads pinyin cleanly. Third-tone sandhi is written out (liang2 er3).
SPOKEN: dict[str, dict[str, list[str]]] = {
    "ding": {"zh": [
        "zhe4 shi4 yi2 jian4 qing1 tong2 ding3, fang3 zhao4 shang1 dai4 wan3 qi1 de5 yang4 shi4 zhi4 zuo4, "
        "san1 zu2 liang2 er3, zao4 xing2 zhuang1 zhong4.",
        "ding3 fu4 shang4 zhuang1 shi4 zhe5 tao1 tie4 wen2, yi2 dui4 yuan2 zheng1 de5 da4 yan3 "
        "zai4 yun2 lei2 wen2 zhong1 ning2 shi4 zhe5 wo3 men5.",
        "ding3 zui4 chu1 yong4 lai2 peng1 zhu3 rou4 shi2, hou4 lai2 cheng2 wei2 ji4 si4 he2 quan2 li4 "
        "de5 xiang4 zheng1.",
    ]},
    "bell": {"zh": [
        "zhe4 shi4 yi2 jian4 bian1 zhong1, ta1 yuan2 ben3 shu3 yu2 yi4 zheng3 tao4 an4 yin1 gao1 pai2 lie4 "
        "de5 qing1 tong2 zhong1.",
        "zhong1 ti3 shang4 tu1 qi3 de5 san1 shi2 liu4 ge4 mei2, neng2 rang4 yu2 yin1 geng4 kuai4 xiao1 shi1.",
        "qiao1 ji1 zhong1 de5 zheng4 mian4 he2 ce4 mian4, ke2 yi3 fa1 chu1 liang3 ge4 bu4 tong2 de5 yin1.",
    ]},
    "tour-welcome": {"zh": [
        "huan1 ying2 lai2 dao4 qing1 tong2 shi2 dai4 zhan3 ting1.",
        "jie1 xia4 lai2 de5 ji3 fen1 zhong1 li3, wo3 men5 jiang1 yi4 qi3 zou3 jin4 san1 qian1 duo1 nian2 qian2 "
        "de5 qing1 tong2 qi4.",
        "qing3 gen1 sui2 dao3 lan3 yuan2, xian1 lai2 kan4 zhe4 jian4 ding3.",
    ]},
}
VOICES = {"zh": "cmn-latn-pinyin", "en": "en-gb"}
SPEED_WPM = {"zh": 160, "en": 150}
SENTENCE_GAP_S = 0.4
MP3_KBPS = 40

BRONZE = np.array([0.62, 0.45, 0.26])
PATINA = np.array([0.30, 0.52, 0.42])
DARK_PATINA = np.array([0.16, 0.28, 0.24])


# ---------------------------------------------------------------- shared geometry helpers


def rng_for(name: str) -> np.random.Generator:
    """One fixed seed per asset, so changing one asset never changes the bytes of another."""
    return np.random.default_rng(sum((i + 1) * ord(c) for i, c in enumerate(name)) + 20260101)


def smooth_profile(points: list[tuple[float, float]], iterations: int = 3) -> np.ndarray:
    """Chaikin corner cutting: turns a coarse hand-drawn polyline into a soft, lathe-ready profile."""
    pts = np.asarray(points, dtype=float)
    for _ in range(iterations):
        a, b = pts[:-1], pts[1:]
        cut = np.empty((2 * len(a), 2))
        cut[0::2] = 0.75 * a + 0.25 * b
        cut[1::2] = 0.25 * a + 0.75 * b
        pts = np.vstack([pts[:1], cut, pts[-1:]])
    return pts


def resample(pts: np.ndarray, count: int, closed: bool = False) -> np.ndarray:
    """Even spacing along the curve, so triangle sizes stay uniform whatever the drawing density."""
    if closed:
        pts = np.vstack([pts, pts[:1]])
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    t = np.linspace(0.0, s[-1], count, endpoint=not closed)
    return np.column_stack([np.interp(t, s, pts[:, k]) for k in range(pts.shape[1])])


def arc_param(pts: np.ndarray) -> np.ndarray:
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    return s / s[-1]


def drop_degenerate(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    tri = vertices[faces]
    area = np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    return faces[area > 1e-12 * max(1.0, float(np.ptp(vertices)) ** 2)]


def grid_faces(rows: int, cols: int, offset: int = 0) -> np.ndarray:
    """Two triangles per cell of a rows×cols vertex grid, counter-clockwise when rows go up and cols go round."""
    r, c = np.meshgrid(np.arange(rows - 1), np.arange(cols - 1), indexing="ij")
    a = r * cols + c
    b, d = a + 1, a + cols
    e = d + 1
    quads = np.stack([a, d, e, b], axis=-1).reshape(-1, 4) + offset
    return np.vstack([quads[:, [0, 1, 2]], quads[:, [0, 2, 3]]])


def lathe(profile: np.ndarray, sections: int, v: np.ndarray | None = None) -> trimesh.Trimesh:
    """Revolve (radius, height) around +y, with a duplicated seam column so a wrapped texture has no jump.

    trimesh.creation.revolve welds the seam, which is right for untextured meshes but would make the
    texture's u run from 1 back to 0 across one strip of triangles.
    """
    n = len(profile)
    phi = np.linspace(0.0, 2.0 * np.pi, sections + 1)
    r, h = profile[:, 0][:, None], profile[:, 1][:, None]
    x, z = r * np.cos(phi)[None, :], -r * np.sin(phi)[None, :]
    vertices = np.stack([x, np.broadcast_to(h, x.shape), z], axis=-1).reshape(-1, 3)
    faces = drop_degenerate(vertices, grid_faces(n, sections + 1))
    if trimesh.Trimesh(vertices, faces, process=False).volume < 0:
        faces = faces[:, ::-1]
    if v is None:
        v = arc_param(profile)
    uv = np.stack(np.meshgrid(v, phi / (2 * np.pi), indexing="ij")[::-1], axis=-1).reshape(-1, 2)
    mesh = trimesh.Trimesh(vertices, faces, process=False)
    normals = mesh.vertex_normals.reshape(n, sections + 1, 3).copy()
    seam = normals[:, 0] + normals[:, -1]
    seam /= np.maximum(np.linalg.norm(seam, axis=1, keepdims=True), 1e-12)
    normals[:, 0] = normals[:, -1] = seam
    return trimesh.Trimesh(vertices, faces, vertex_normals=normals.reshape(-1, 3), process=False,
                           visual=trimesh.visual.TextureVisuals(uv=uv))


def outward(mesh: trimesh.Trimesh) -> trimesh.Trimesh:
    """Closed meshes with inward-facing triangles render inside out once back faces are culled."""
    if mesh.volume < 0:
        mesh.invert()
    return mesh


def planar_uv(mesh: trimesh.Trimesh, box: tuple[float, float, float, float]) -> trimesh.Trimesh:
    """Unweld and project each face along its dominant axis into one rectangle of the texture atlas."""
    mesh = trimesh.Trimesh(mesh.vertices, mesh.faces, process=False)
    normals = mesh.face_normals
    mesh.unmerge_vertices()
    axis = np.repeat(np.abs(normals).argmax(axis=1), 3)
    keep = np.array([[1, 2], [0, 2], [0, 1]])[axis]
    p = np.take_along_axis(mesh.vertices, keep, axis=1)
    lo, span = p.min(axis=0), np.maximum(np.ptp(p, axis=0), 1e-9)
    u0, v0, u1, v1 = box
    uv = np.column_stack([u0 + (p[:, 0] - lo[0]) / span.max() * (u1 - u0),
                          v0 + (p[:, 1] - lo[1]) / span.max() * (v1 - v0)])
    return trimesh.Trimesh(mesh.vertices, mesh.faces, process=False, visual=trimesh.visual.TextureVisuals(uv=uv))


def concat_textured(parts: list[trimesh.Trimesh]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Vertices, faces, uvs and normals of several textured parts as one primitive."""
    vs, fs, uvs, ns, offset = [], [], [], [], 0
    for part in parts:
        vs.append(part.vertices)
        fs.append(part.faces + offset)
        uvs.append(part.visual.uv)
        ns.append(part.vertex_normals)
        offset += len(part.vertices)
    return np.vstack(vs), np.vstack(fs), np.vstack(uvs), np.vstack(ns)


def rounded(a: np.ndarray, digits: int = 6) -> np.ndarray:
    """Round coordinates so last-bit differences between libm builds rarely reach the written bytes."""
    return np.round(np.asarray(a, dtype=np.float64), digits) + 0.0


# ---------------------------------------------------------------- shared image helpers


def fft_noise(shape: tuple[int, int], beta: float, rng: np.random.Generator,
              stretch: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """Tileable 1/f^beta noise in [0, 1]; periodic in both axes, so it wraps around a lathe seam."""
    white = rng.standard_normal(shape)
    fy = np.fft.fftfreq(shape[0])[:, None] * stretch[0]
    fx = np.fft.rfftfreq(shape[1])[None, :] * stretch[1]
    f = np.sqrt(fx**2 + fy**2)
    f[0, 0] = 1.0
    spectrum = np.fft.rfft2(white) / f**beta
    spectrum[0, 0] = 0.0
    out = np.fft.irfft2(spectrum, s=shape)
    out -= out.min()
    return out / max(out.max(), 1e-12)


def to_image(rgb: np.ndarray) -> Image.Image:
    return Image.fromarray(np.clip(np.round(rgb * 255.0), 0, 255).astype(np.uint8))


def palette(image: Image.Image, colors: int = 96) -> Image.Image:
    """An indexed PNG: patina noise compresses badly in RGB, and 96 well-chosen colours look the same."""
    return image.quantize(colors=colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)


def png_bytes(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def patina_field(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Bronze under green corrosion: a large-scale blotch mask, fine grain and a few crusty spots."""
    blotch = fft_noise(shape, 1.6, rng)
    grain = fft_noise(shape, 0.6, rng)
    spots = fft_noise(shape, 1.1, rng)
    green = np.clip((blotch - 0.42) * 3.0, 0.0, 1.0)
    crust = np.clip((spots - 0.78) * 8.0, 0.0, 1.0)
    rgb = BRONZE[None, None, :] * (1 - green[..., None]) + PATINA[None, None, :] * green[..., None]
    rgb = rgb * (0.85 + 0.3 * grain[..., None])
    return rgb * (1 - crust[..., None]) + np.array([0.55, 0.68, 0.55]) * crust[..., None]


def leiwen_mask(width: int, height: int, cell: int) -> np.ndarray:
    """Cloud-and-thunder ground: rows of small square spirals, as cast into Shang bronzes."""
    img = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(img)
    line = max(2, cell // 12)
    step = cell / 10
    for y0 in range(0, height - cell + 1, cell):
        for x0 in range(0, width - cell + 1, cell):
            flip = ((x0 // cell) + (y0 // cell)) % 2
            x, y, d = x0 + cell / 2, y0 + cell / 2, 0
            pts = [(x, y)]
            # Segment lengths 1, 1, 2, 2, 3, 3 … steps: a square spiral winding out from the cell centre.
            for k in range(1, 9):
                for _ in range(2):
                    dx, dy = [(1, 0), (0, 1), (-1, 0), (0, -1)][d % 4]
                    x, y = x + (-dx if flip else dx) * step * k, y + dy * step * k
                    pts.append((x, y))
                    d += 1
            pts = [(min(max(px, x0 + 1), x0 + cell - 2), min(max(py, y0 + 1), y0 + cell - 2)) for px, py in pts]
            draw.line(pts, fill=255, width=line)
    return np.asarray(img, dtype=float) / 255.0


def taotie_mask(width: int, height: int, masks: int) -> np.ndarray:
    """Raised taotie faces: paired eyes, brows and horns, mirrored about a nose ridge, `masks` times round."""
    img = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(img)
    pw = width // masks
    for m in range(masks):
        cx = m * pw + pw // 2
        h = height
        draw.rectangle([cx - pw * 0.02, h * 0.15, cx + pw * 0.02, h * 0.9], fill=255)
        for side in (-1, 1):
            ex = cx + side * pw * 0.16
            draw.ellipse([ex - pw * 0.06, h * 0.38, ex + pw * 0.06, h * 0.68], fill=255)
            draw.ellipse([ex - pw * 0.03, h * 0.46, ex + pw * 0.03, h * 0.6], fill=0)
            brow = [(cx + side * pw * 0.05, h * 0.3), (cx + side * pw * 0.2, h * 0.2),
                    (cx + side * pw * 0.34, h * 0.28), (cx + side * pw * 0.38, h * 0.45)]
            draw.line([tuple(q) for q in smooth_profile(brow, 4)], fill=255, width=max(2, h // 14), joint="curve")
            horn = [(cx + side * pw * 0.26, h * 0.72), (cx + side * pw * 0.4, h * 0.85),
                    (cx + side * pw * 0.46, h * 0.62), (cx + side * pw * 0.42, h * 0.4)]
            draw.line([tuple(q) for q in smooth_profile(horn, 4)], fill=255, width=max(2, h // 16), joint="curve")
            draw.line([(cx + side * pw * 0.06, h * 0.8), (cx + side * pw * 0.22, h * 0.88)],
                      fill=255, width=max(2, h // 16))
    return np.asarray(img.filter(ImageFilter.GaussianBlur(1)), dtype=float) / 255.0


def leaf_mask(width: int, height: int, leaves: int) -> np.ndarray:
    """Banana-leaf triangles pointing up, the classic decoration of a gu's flaring mouth."""
    img = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(img)
    lw = width / leaves
    for k in range(leaves):
        x0 = k * lw
        draw.polygon([(x0 + lw * 0.08, height), (x0 + lw * 0.5, height * 0.04), (x0 + lw * 0.92, height)],
                     outline=255, width=max(2, int(lw // 14)))
        draw.line([(x0 + lw * 0.5, height * 0.15), (x0 + lw * 0.5, height)], fill=255, width=max(2, int(lw // 18)))
        for j in range(1, 6):
            y = height * (0.25 + 0.14 * j)
            half = lw * 0.42 * (y / height) * 0.8
            draw.line([(x0 + lw * 0.5 - half, y), (x0 + lw * 0.5, y - height * 0.06),
                       (x0 + lw * 0.5 + half, y)], fill=255, width=max(1, int(lw // 26)))
    return np.asarray(img, dtype=float) / 255.0


def cast_relief(rgb: np.ndarray, raised: np.ndarray, rows: slice) -> None:
    """Relief decoration: worn bronze shows on raised lines, corrosion collects in the recesses."""
    band = rgb[rows]
    r = raised[..., None]
    band[:] = band * (1 - r) + (BRONZE * 1.15 * (0.8 + 0.2 * band.mean(axis=-1, keepdims=True))) * r
    band[:] *= 1 - 0.25 * (1 - r)


def remap_v(v: np.ndarray, spans: list[tuple[float, float]], targets: list[tuple[float, float]]) -> np.ndarray:
    """Stretch the v ranges of decorated bands over large parts of the texture, and squeeze the plain rest.

    Arc length gives a narrow belly band only a few dozen texture rows; patina needs far fewer.
    """
    knots = [0.0, *[x for span in spans for x in span], 1.0]
    values = [0.0, *[x for t in targets for x in t], 1.0]
    return np.interp(v, knots, values)


def band_rows(height: int, v0: float, v1: float) -> slice:
    """Image rows for a v range, with v = 0 at the bottom as trimesh stores UVs."""
    return slice(int(round((1 - v1) * height)), int(round((1 - v0) * height)))


# ---------------------------------------------------------------- models


def make_vase() -> bytes:
    """A plain baluster vase for the minimal exhibit: millimetres, z-up, binary STL."""
    outer = [(0, 0), (38, 0), (44, 4), (52, 40), (70, 110), (66, 160), (40, 200), (30, 215), (34, 232),
             (40, 240)]
    prof = smooth_profile(outer, 3)
    lip = np.array([[40, 240], [37, 241.5], [34, 240]])
    inner = smooth_profile([(34, 240), (28, 230), (25, 214), (34, 198), (60, 160), (64, 110), (46, 40),
                            (30, 10), (0, 8)], 3)
    line = resample(np.vstack([prof, lip[1:], inner[1:]]), 64)
    line[0, 0] = line[-1, 0] = 0.0
    mesh = outward(trimesh.creation.revolve(line, sections=60))
    mesh.vertices = rounded(mesh.vertices, 4)
    return mesh.export(file_type="stl")


def make_mirror() -> bytes:
    """A bronze mirror, back up: knob, inner ring, four nipples, interlaced relief and a raised rim (mm, z-up)."""
    pts = [(0, 14.5)]
    for a in np.linspace(np.pi / 2, 0.0, 10)[1:]:
        pts.append((11 * np.cos(a), 4.0 + 10.5 * np.sin(a)))
    pts += [(13, 3.4)]
    pts += [(r, 3.0) for r in np.arange(15, 79, 1.6)]
    pts += [(80, 3.2), (82, 6.5), (84, 8.0), (87, 8.0), (89, 6.0), (90, 3.0), (90, 0.0)]
    pts += [(r, -1.6 * (1 - (r / 90.0) ** 2)) for r in np.arange(88, -0.5, -11.0)]
    line = np.array(pts, dtype=float)
    line[-1, 0] = 0.0
    mesh = outward(trimesh.creation.revolve(line, sections=80))
    v = mesh.vertices.copy()
    r = np.hypot(v[:, 0], v[:, 1])
    th = np.arctan2(v[:, 1], v[:, 0])
    field = (v[:, 2] > 2.9) & (v[:, 2] < 3.1) & (r > 14.5) & (r < 79.5)
    ring = np.exp(-((r - 30.0) / 1.6) ** 2) * 1.6 + np.exp(-((r - 74.0) / 1.2) ** 2) * 1.2
    weave = 0.5 + 0.5 * np.sin(6 * th + 0.16 * r) * np.sin(0.33 * r)
    weave = np.clip((weave - 0.55) * 4, 0, 1) * ((r > 34) & (r < 70)) * 0.7
    nipples = np.zeros_like(r)
    for k in range(4):
        a = np.pi / 4 + k * np.pi / 2
        d2 = (v[:, 0] - 52 * np.cos(a)) ** 2 + (v[:, 1] - 52 * np.sin(a)) ** 2
        nipples = np.maximum(nipples, 3.2 * np.sqrt(np.clip(1 - d2 / 36.0, 0, 1)))
    v[field, 2] += np.maximum(np.maximum(ring, weave), nipples)[field]
    mesh.vertices = rounded(v, 4)
    return mesh.export(file_type="stl")


def bell_mesh() -> trimesh.Trimesh:
    """Bianzhong bell: lens section, arched mouth, 36 bosses, shank with ring and hanging loop (mm, z-up)."""
    rng = rng_for("bell")
    nt, nz = 128, 64
    th = np.linspace(0, 2 * np.pi, nt, endpoint=False)
    t = np.linspace(0.0, 1.0, nz)  # 0 at the mouth, 1 at the shoulder
    a = 112 - 34 * t**1.2
    b = 74 - 20 * t
    arch = 36 * np.sin(th) ** 2  # the mouth curves up towards the middle of each broad face
    z = (t[:, None] * (300 - arch[None, :])) + arch[None, :]
    cx, sy = np.cos(th), np.sin(th) * np.abs(np.sin(th)) ** 0.6  # pointed edges where the faces meet
    x = a[:, None] * cx[None, :]
    y = b[:, None] * sy[None, :]
    # Bosses sit on both broad faces in two panels of 3×3 either side of the central field.
    disp = np.zeros_like(x)
    ridge = np.zeros_like(x)
    hz = (z - arch[None, :]) / np.maximum(300 - arch[None, :], 1)
    for face in (-1, 1):
        for side in (-1, 1):
            for row in range(3):
                for col in range(3):
                    bu = side * (0.24 + 0.15 * col)
                    bz = 0.56 + 0.13 * row
                    du = (cx[None, :] - bu) / 0.055
                    dz = (hz - bz) / 0.045
                    d = np.sqrt(du**2 + dz**2)
                    on_face = (np.sign(np.sin(th))[None, :] == face)
                    disp = np.maximum(disp, on_face * 15 * np.clip(1 - d, 0, 1) ** 0.7)
            for rz in (0.495, 0.625, 0.755, 0.885):
                in_panel = (np.abs(cx) > 0.17)[None, :] & (np.abs(cx) < 0.64)[None, :]
                ridge = np.maximum(ridge, in_panel * 1.8 * np.exp(-((hz - rz) / 0.008) ** 2))
    lower = 2.0 * np.exp(-((hz - 0.42) / 0.01) ** 2)
    disp = disp + ridge + lower
    nrm = np.stack([x / a[:, None] ** 2, y / b[:, None] ** 2], axis=-1)
    nrm /= np.linalg.norm(nrm, axis=-1, keepdims=True)
    x, y = x + nrm[..., 0] * disp, y + nrm[..., 1] * disp
    outer = np.stack([x, y, z], axis=-1).reshape(-1, 3)
    f_outer = grid_faces(nz, nt + 1)
    outer_g = np.concatenate([outer.reshape(nz, nt, 3), outer.reshape(nz, nt, 3)[:, :1]], axis=1)
    # Walls are 7 mm thick; the inside is plain and coarser because nobody looks in there for long.
    ni, nzi = 64, 14
    thi = np.linspace(0, 2 * np.pi, ni + 1)
    ti = np.linspace(0.0, 1.0, nzi)
    archi = 36 * np.sin(thi) ** 2
    zi = ti[:, None] * (293 - archi[None, :]) + archi[None, :]
    ai, bi = (a[0] - 7 - 34 * ti**1.2)[:, None], (b[0] - 7 - 20 * ti)[:, None]
    inner = np.stack([ai * np.cos(thi)[None, :], bi * (np.sin(thi) * np.abs(np.sin(thi)) ** 0.6)[None, :], zi],
                     axis=-1)
    verts = [outer_g.reshape(-1, 3), inner.reshape(-1, 3)]
    faces = [f_outer, grid_faces(nzi, ni + 1, len(verts[0]))[:, ::-1]]
    base = sum(len(p) for p in verts)
    # Mouth rim: join the outer bottom ring to the inner bottom ring, matched by angle.
    outer_ring = np.arange(nt + 1)
    inner_idx = np.round(np.arange(nt + 1) * ni / nt).astype(int) + len(verts[0])
    rim = []
    for k in range(nt):
        o0, o1, i0, i1 = outer_ring[k], outer_ring[k + 1], inner_idx[k], inner_idx[k + 1]
        rim.append([o0, i0, o1])
        if i1 != i0:
            rim.append([o1, i0, i1])
    faces.append(np.array(rim)[:, ::-1])
    # Shoulder plate on top and the ceiling inside: fans, because the lens section is convex.
    top_c, in_c = base, base + 1
    verts.append(np.array([[0, 0, 300.0], [0, 0, 293.0]]))
    top_ring = (nz - 1) * (nt + 1) + np.arange(nt + 1)
    faces.append(np.column_stack([np.full(nt, top_c), top_ring[:-1], top_ring[1:]]))
    in_ring = len(verts[0]) + (nzi - 1) * (ni + 1) + np.arange(ni + 1)
    faces.append(np.column_stack([np.full(ni, in_c), in_ring[1:], in_ring[:-1]]))
    # Orient each piece on its own: outside faces away from the axis, inside towards it, mouth rim and the
    # ceiling inside face down, the shoulder plate up. Then the closed shell has no inside-out patches.
    all_v = np.vstack(verts)
    wants = [(1, "radial"), (-1, "radial"), (-1, "z"), (1, "z"), (-1, "z")]
    for k, (sign, kind) in enumerate(wants):
        tri = all_v[faces[k]]
        n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        centre = tri.mean(axis=1)
        score = np.einsum("ij,ij->i", n[:, :2], centre[:, :2]).sum() if kind == "radial" else n[:, 2].sum()
        if np.sign(score) != sign:
            faces[k] = faces[k][:, ::-1]
    body = trimesh.Trimesh(all_v, np.vstack(faces), process=False)
    body.update_faces(body.nondegenerate_faces())
    shank = trimesh.creation.cylinder(radius=20, segment=[[0, 0, 299], [0, 0, 410]], sections=40)
    shank.vertices[:, :2] *= (1.0 - 0.22 * (shank.vertices[:, 2:] - 299) / 111)
    cap = trimesh.creation.cylinder(radius=17, segment=[[0, 0, 408], [0, 0, 416]], sections=40)
    ring = trimesh.creation.torus(20.5, 4.0, major_sections=40, minor_sections=12)
    ring.apply_translation([0, 0, 345])
    loop = trimesh.creation.torus(13, 3.5, major_sections=28, minor_sections=10)
    loop.apply_transform(trimesh.transformations.rotation_matrix(np.pi / 2, [1, 0, 0]))
    loop.apply_translation([0, -26, 345])
    mesh = trimesh.util.concatenate([body, shank, cap, ring, loop])
    mesh.vertices = rounded(mesh.vertices, 3)
    # Colour: bronze worn bright on bosses and ridges, green corrosion lower down and in recesses.
    p = mesh.vertices
    freq = rng.normal(size=(12, 3)) * 0.03
    phase = rng.uniform(0, 2 * np.pi, 12)
    noise = np.sin(p @ freq.T + phase).mean(axis=1) * 0.5 + 0.5
    rr = np.hypot(p[:, 0] / 112, p[:, 1] / 74)
    green = np.clip((noise - 0.35) * 2.2 + 0.25 * (p[:, 2] < 120), 0, 1)
    col = BRONZE[None] * (1 - green[:, None]) + PATINA[None] * green[:, None]
    col = col * (0.75 + 0.35 * np.clip(rr, 0, 1.2)[:, None])
    rgba = np.column_stack([np.clip(np.round(col * 255), 0, 255), np.full(len(p), 255)]).astype(np.uint8)
    mesh.visual = trimesh.visual.ColorVisuals(mesh, vertex_colors=rgba)
    return mesh


def make_bell() -> bytes:
    return trimesh.exchange.ply.export_ply(bell_mesh(), encoding="binary", vertex_normal=False)


def ding_texture(band: tuple[float, float]) -> Image.Image:
    rng = rng_for("ding-texture")
    w, h = 768, 384
    rgb = patina_field((h, w), rng)
    rows = band_rows(h, *band)
    bh = rows.stop - rows.start
    raised = np.maximum(leiwen_mask(w, bh, 32) * 0.7, taotie_mask(w, bh, 3))
    # Centre one mask at u = 3/4, which the lathe puts on +z above the front leg; the others land above the
    # other two legs, as on Shang ding.
    raised = np.roll(raised, -w // 12, axis=1)
    cast_relief(rgb, raised, rows)
    for edge in (rows.start, rows.stop - 4):
        rgb[edge:edge + 4] = BRONZE * 0.9
    return palette(to_image(rgb))


def make_ding() -> bytes:
    """Ding: deep round belly, lip, two upright handles, three columnar legs; metres, y-up, one textured material."""
    outer = smooth_profile([(0.0, 0.14), (0.09, 0.142), (0.15, 0.17), (0.172, 0.23), (0.168, 0.31),
                            (0.175, 0.335)], 3)
    lip = np.array([[0.175, 0.335], [0.177, 0.342], [0.169, 0.345], [0.163, 0.338]])
    inner = smooth_profile([(0.163, 0.338), (0.158, 0.30), (0.162, 0.23), (0.14, 0.18), (0.08, 0.157),
                            (0.0, 0.155)], 3)
    prof = resample(np.vstack([outer, lip[1:], inner[1:]]), 72)
    prof[0, 0] = prof[-1, 0] = 0.0
    v = arc_param(prof)
    # The decorated band sits on the upper belly: find its v range from the profile heights.
    on_outer = np.arange(len(prof)) < np.argmax(prof[:, 1])
    band_idx = np.where(on_outer & (prof[:, 1] > 0.245) & (prof[:, 1] < 0.318))[0]
    # Legs and handles use the plain strip below v = 0.3 of the texture.
    band = (0.34, 0.84)
    v = remap_v(v, [(float(v[band_idx[0]]), float(v[band_idx[-1]]))], [band])
    body = lathe(prof, 80, v)
    parts = [body]
    for k in range(3):
        a = np.pi / 2 + k * 2 * np.pi / 3
        leg_prof = resample(smooth_profile([(0.0, 0.0), (0.032, 0.0), (0.034, 0.01), (0.026, 0.05),
                                            (0.024, 0.12), (0.03, 0.17), (0.0, 0.175)], 2), 28)
        leg_prof[0, 0] = leg_prof[-1, 0] = 0.0
        leg = lathe(leg_prof, 28, 0.02 + 0.26 * arc_param(leg_prof))
        leg.visual.uv[:, 0] = 0.05 + 0.2 * leg.visual.uv[:, 0] + 0.3 * k
        leg.apply_translation([0.105 * np.cos(a), 0.0, 0.105 * np.sin(a)])
        parts.append(leg)
    for side in (-1, 1):
        posts = [trimesh.creation.box([0.014, 0.095, 0.05], trimesh.transformations.translation_matrix(
            [side * 0.158, 0.37, dz])) for dz in (-0.045, 0.045)]
        top = trimesh.creation.box([0.016, 0.018, 0.13],
                                   trimesh.transformations.translation_matrix([side * 0.158, 0.418, 0.0]))
        for i, piece in enumerate([*posts, top]):
            sub = piece.subdivide()
            parts.append(planar_uv(sub, (0.1 + 0.1 * i + 0.4 * (side > 0), 0.03, 0.18 + 0.1 * i + 0.4 * (side > 0),
                                         0.2)))
    vertices, faces, uv, normals = concat_textured(parts)
    material = trimesh.visual.material.PBRMaterial(
        name="bronze", baseColorTexture=ding_texture(band), metallicFactor=0.85, roughnessFactor=0.5,
        baseColorFactor=[255, 255, 255, 255])
    mesh = trimesh.Trimesh(rounded(vertices), faces, vertex_normals=rounded(normals), process=False,
                           visual=trimesh.visual.TextureVisuals(uv=rounded(uv), material=material))
    scene = trimesh.Scene()
    scene.add_geometry(mesh, geom_name="ding", node_name="ding")
    return scene.export(file_type="glb")


def gu_texture(bands: dict[str, tuple[float, float]]) -> Image.Image:
    rng = rng_for("gu-texture")
    w, h = 512, 1024
    rgb = patina_field((h, w), rng)
    rows = band_rows(h, *bands["leaf"])
    cast_relief(rgb, leaf_mask(w, rows.stop - rows.start, 8), rows)
    rows = band_rows(h, *bands["belly"])
    bh = rows.stop - rows.start
    cast_relief(rgb, np.maximum(leiwen_mask(w, bh, 32) * 0.7, taotie_mask(w, bh, 2)), rows)
    rows = band_rows(h, *bands["foot"])
    cast_relief(rgb, leiwen_mask(w, rows.stop - rows.start, 32) * 0.8, rows)
    return palette(to_image(rgb))


def make_gu() -> dict[str, bytes]:
    """Gu wine vessel: trumpet mouth, slim waist, decorated belly, flared hollow foot; centimetres, y-up, OBJ."""
    outer_pts = [(0.0, 9.0), (5.2, 8.6), (6.2, 1.0), (6.3, 0.0), (7.4, 0.0), (7.4, 0.8), (6.6, 2.0),
                 (4.4, 6.0), (3.7, 8.8), (4.0, 10.2), (4.5, 12.0), (4.5, 14.5), (3.9, 16.2), (3.2, 17.5),
                 (3.6, 20.5), (5.6, 25.0), (8.2, 28.4)]
    outer = smooth_profile(outer_pts, 3)
    lip = np.array([[8.2, 28.4], [8.25, 28.6], [8.0, 28.6], [7.95, 28.35]])
    inner = smooth_profile([(7.95, 28.35), (5.3, 25.0), (3.3, 20.5), (2.9, 17.5), (3.0, 15.5), (2.2, 14.8),
                            (0.0, 14.7)], 3)
    prof = resample(np.vstack([outer, lip[1:], inner[1:]]), 60)
    prof[0, 0] = prof[-1, 0] = 0.0
    v = arc_param(prof)
    top = int(np.argmax(prof[:, 1]))
    on_outer = (np.arange(len(prof)) < top) & (prof[:, 0] > 3.0)

    def v_range(y0: float, y1: float) -> tuple[float, float]:
        idx = np.where(on_outer & (prof[:, 1] >= y0) & (prof[:, 1] <= y1))[0]
        return float(v[idx[0]]), float(v[idx[-1]])

    bands = {"foot": (0.08, 0.2), "belly": (0.3, 0.5), "leaf": (0.56, 0.88)}
    v = remap_v(v, [v_range(3.2, 5.6), v_range(10.6, 14.2), v_range(20.6, 27.6)], list(bands.values()))
    mesh = lathe(prof, 48, v)
    material = trimesh.visual.material.SimpleMaterial(
        name="gu_bronze", image=gu_texture(bands), diffuse=[255, 255, 255, 255], specular=[90, 80, 60, 255],
        glossiness=30.0)
    mesh = trimesh.Trimesh(rounded(mesh.vertices, 4), mesh.faces, vertex_normals=rounded(mesh.vertex_normals, 3),
                           process=False, visual=trimesh.visual.TextureVisuals(uv=rounded(mesh.visual.uv),
                                                                               material=material))
    text, files = trimesh.exchange.obj.export_obj(
        mesh, include_normals=True, include_texture=True, return_texture=True, mtl_name="gu.mtl",
        header="Vitrina assets/make_assets.py, CC0-1.0", digits=4)
    # The texture's file name has a space on purpose: real museum exports do, and the compiler must cope.
    files["gu pattern.png"] = files.pop("gu_bronze.png")
    files["gu.mtl"] = files["gu.mtl"].replace(b"map_Kd gu_bronze.png", b"map_Kd gu pattern.png")
    files["gu.obj"] = text.encode("utf-8")
    return files


# ---------------------------------------------------------------- pygltflib assembly


@dataclass
class GltfBuilder:
    """Accumulates one binary buffer and its views and accessors, 4-byte aligned as the spec requires."""

    gltf: pygltflib.GLTF2
    blob: bytearray

    @classmethod
    def new(cls) -> GltfBuilder:
        gltf = pygltflib.GLTF2(asset=pygltflib.Asset(version="2.0", generator="Vitrina assets/make_assets.py"))
        gltf.scene = 0
        return cls(gltf, bytearray())

    def view(self, data: bytes, target: int | None = None) -> int:
        while len(self.blob) % 4:
            self.blob.append(0)
        self.gltf.bufferViews.append(pygltflib.BufferView(buffer=0, byteOffset=len(self.blob),
                                                          byteLength=len(data), target=target))
        self.blob.extend(data)
        return len(self.gltf.bufferViews) - 1

    def accessor(self, array: np.ndarray, kind: str, minmax: bool = False, target: int | None = None) -> int:
        if array.dtype == np.uint32:
            ctype = pygltflib.UNSIGNED_INT
        elif array.dtype == np.uint16:
            ctype = pygltflib.UNSIGNED_SHORT
        else:
            array = array.astype(np.float32)
            ctype = pygltflib.FLOAT
        acc = pygltflib.Accessor(bufferView=self.view(np.ascontiguousarray(array).tobytes(), target),
                                 componentType=ctype, count=len(array), type=kind)
        if minmax:
            flat = array.reshape(len(array), -1)
            acc.min = [float(x) for x in flat.min(axis=0)]
            acc.max = [float(x) for x in flat.max(axis=0)]
        self.gltf.accessors.append(acc)
        return len(self.gltf.accessors) - 1

    def primitive(self, vertices: np.ndarray, faces: np.ndarray, normals: np.ndarray, material: int,
                  uv: np.ndarray | None = None) -> pygltflib.Primitive:
        attrs = pygltflib.Attributes(
            POSITION=self.accessor(vertices.astype(np.float32), "VEC3", True, pygltflib.ARRAY_BUFFER),
            NORMAL=self.accessor(normals.astype(np.float32), "VEC3", False, pygltflib.ARRAY_BUFFER))
        if uv is not None:
            attrs.TEXCOORD_0 = self.accessor(uv.astype(np.float32), "VEC2", False, pygltflib.ARRAY_BUFFER)
        idx = faces.reshape(-1).astype(np.uint16 if len(vertices) < 65536 else np.uint32)
        return pygltflib.Primitive(attributes=attrs, indices=self.accessor(idx, "SCALAR", False,
                                                                             pygltflib.ELEMENT_ARRAY_BUFFER),
                                   material=material, mode=pygltflib.TRIANGLES)


def unit_normals(n: np.ndarray) -> np.ndarray:
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)


def jade_texture() -> Image.Image:
    rng = rng_for("jade")
    size = 512
    cloud = fft_noise((size, size), 1.5, rng)
    vein = fft_noise((size, size), 1.2, rng, stretch=(3.0, 0.6))
    fleck = fft_noise((size, size), 0.5, rng)
    base = np.array([0.42, 0.62, 0.45])
    pale = np.array([0.78, 0.84, 0.70])
    deep = np.array([0.18, 0.36, 0.26])
    m = np.clip((cloud - 0.35) * 2.0, 0, 1)[..., None]
    rgb = base * (1 - m) + pale * m
    veins = np.clip(1 - np.abs(vein - 0.5) * 14, 0, 1)[..., None]
    rgb = rgb * (1 - 0.6 * veins) + deep * 0.6 * veins
    spots = np.clip((fleck - 0.8) * 6, 0, 1)[..., None]
    rgb = rgb * (1 - spots) + np.array([0.55, 0.45, 0.30]) * spots
    # Grain pattern (gu wen): staggered rows of small polished domes, lit from one side. The lattice period
    # divides the texture size, so the pattern still tiles under the material's texture transform.
    yy, xx = np.mgrid[0:size, 0:size].astype(float)
    step = 32
    gy = (yy % (2 * step)) - step
    gx = ((xx + step / 2 * (gy >= 0)) % step) - step / 2
    gy = ((yy % step) - step / 2)
    d = np.sqrt(gx**2 + gy**2) / (step * 0.36)
    dome = np.clip(1 - d, 0, 1)
    light = np.clip(1 + (-gx - gy) / (step * 0.3), 0, 2) * 0.5
    rgb = rgb * (1 - 0.25 * (dome > 0)[..., None]) + (0.2 + 0.35 * light * dome)[..., None] * (dome > 0)[..., None]
    return palette(to_image(np.clip(rgb, 0, 1)), 128)


def jade_mesh() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A bi disc lying flat (its faces look along ±y), grain pattern raised on both faces, rounded edges."""
    r_in, r_out, half = 0.032, 0.105, 0.0045
    nt, nr = 128, 24
    th = np.linspace(0, 2 * np.pi, nt + 1)
    verts, faces, uvs = [], [], []
    offset = 0
    # Rounded edge profiles, as (radius, height) loops: outer edge then inner edge, both faces in between.
    outer_edge = [(r_out - 0.003 + 0.003 * np.cos(a), half * np.sin(a))
                  for a in np.linspace(np.pi / 2, -np.pi / 2, 9)]
    inner_edge = [(r_in + 0.003 - 0.003 * np.cos(a), half * np.sin(a))
                  for a in np.linspace(-np.pi / 2, np.pi / 2, 9)]
    faces_r = np.linspace(r_in + 0.003, r_out - 0.003, nr)
    bottom = [(r, -half) for r in faces_r[::-1][1:-1]]
    top = [(r, half) for r in faces_r[1:-1]]
    loop = np.array(outer_edge + bottom + inner_edge + top + outer_edge[:1])
    rows = len(loop)
    r = loop[:, 0][:, None] * np.ones((1, nt + 1))
    h = loop[:, 1][:, None] * np.ones((1, nt + 1))
    x, z = r * np.cos(th)[None, :], -r * np.sin(th)[None, :]
    # A shallow groove a little inside each edge frames the grain pattern, as on carved bi discs.
    face_rows = np.abs(np.abs(h) - half) < 1e-12
    groove = (np.exp(-((r - (r_out - 0.011)) / 0.0022) ** 2) + np.exp(-((r - (r_in + 0.008)) / 0.0022) ** 2))
    h = h - np.sign(h) * 0.0007 * groove * face_rows
    vertices = np.stack([x, h, z], axis=-1).reshape(-1, 3)
    f = grid_faces(rows, nt + 1, offset)
    verts.append(vertices)
    faces.append(f)
    uvs.append(np.column_stack([0.5 + vertices[:, 0] / (2 * r_out), 0.5 + vertices[:, 2] / (2 * r_out)]))
    v = np.vstack(verts)
    fa = np.vstack(faces)
    mesh = trimesh.Trimesh(v, fa, process=False)
    if mesh.volume < 0:
        fa = fa[:, ::-1]
        mesh = trimesh.Trimesh(v, fa, process=False)
    n = mesh.vertex_normals.reshape(rows, nt + 1, 3).copy()
    seam = unit_normals(n[:, 0] + n[:, -1])
    n[:, 0] = n[:, -1] = seam
    return rounded(v), fa, rounded(np.vstack(uvs)), rounded(n.reshape(-1, 3))


def make_jade_bi() -> dict[str, bytes]:
    """Separate-file glTF (json + bin + png) with KHR_texture_transform, KHR_materials_ior and _specular."""
    b = GltfBuilder.new()
    vertices, faces, uv, normals = jade_mesh()
    png = png_bytes(jade_texture())
    b.gltf.extensionsUsed = ["KHR_texture_transform", "KHR_materials_ior", "KHR_materials_specular"]
    b.gltf.images = [pygltflib.Image(uri="jade-bi.png", mimeType="image/png")]
    b.gltf.samplers = [pygltflib.Sampler(magFilter=pygltflib.LINEAR, minFilter=pygltflib.LINEAR_MIPMAP_LINEAR,
                                         wrapS=pygltflib.REPEAT, wrapT=pygltflib.REPEAT)]
    b.gltf.textures = [pygltflib.Texture(sampler=0, source=0)]
    b.gltf.materials = [pygltflib.Material(
        name="nephrite",
        pbrMetallicRoughness=pygltflib.PbrMetallicRoughness(
            baseColorTexture=pygltflib.TextureInfo(index=0, extensions={"KHR_texture_transform": {
                "offset": [0.1, 0.05], "rotation": 0.35, "scale": [1.6, 1.6]}}),
            metallicFactor=0.0, roughnessFactor=0.28),
        extensions={"KHR_materials_ior": {"ior": 1.61},
                    "KHR_materials_specular": {"specularFactor": 0.7, "specularColorFactor": [0.9, 1.0, 0.92]}})]
    prim = b.primitive(vertices, faces, normals, 0, uv)
    b.gltf.meshes = [pygltflib.Mesh(name="jade-bi", primitives=[prim])]
    b.gltf.nodes = [pygltflib.Node(name="jade-bi", mesh=0)]
    b.gltf.scenes = [pygltflib.Scene(nodes=[0])]
    b.gltf.buffers = [pygltflib.Buffer(uri="jade-bi.bin", byteLength=len(b.blob))]
    text = json.dumps(json.loads(b.gltf.to_json()), indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    return {"jade-bi.gltf": text.encode("utf-8"), "jade-bi.bin": bytes(b.blob), "jade-bi.png": png}


def ear_clip(poly: np.ndarray) -> np.ndarray:
    """Triangulate a simple counter-clockwise polygon; the chime outline is concave, and n is small."""
    idx = list(range(len(poly)))
    tris = []

    def cross(o: np.ndarray, a: np.ndarray, c: np.ndarray) -> float:
        return float((a[0] - o[0]) * (c[1] - o[1]) - (a[1] - o[1]) * (c[0] - o[0]))

    guard = 0
    while len(idx) > 3 and guard < 100000:
        guard += 1
        for k in range(len(idx)):
            i0, i1, i2 = idx[k - 1], idx[k], idx[(k + 1) % len(idx)]
            a, bb, c = poly[i0], poly[i1], poly[i2]
            if cross(a, bb, c) <= 1e-14:
                continue
            inside = False
            for j in idx:
                if j in (i0, i1, i2):
                    continue
                p = poly[j]
                if cross(a, bb, p) >= 0 and cross(bb, c, p) >= 0 and cross(c, a, p) >= 0:
                    inside = True
                    break
            if not inside:
                tris.append((i0, i1, i2))
                idx.pop(k)
                break
    tris.append(tuple(idx))
    return np.array(tris)


def chime_mesh() -> tuple[np.ndarray, np.ndarray]:
    """A qing (stone chime): a bent slab with rounded edges, hung from its apex; pivot at the origin."""
    outline = np.array([(0.0, -0.06), (0.25, -0.15), (0.235, -0.225), (0.02, -0.15), (-0.15, -0.215),
                        (-0.17, -0.13)])
    pts = smooth_profile(np.vstack([outline, outline[:1]]).tolist(), 3)[:-1]
    pts = resample(pts, 150, closed=True)
    if np.sum(pts[:, 0] * np.roll(pts[:, 1], -1) - np.roll(pts[:, 0], -1) * pts[:, 1]) < 0:
        pts = pts[::-1]
    tangent = np.roll(pts, -1, axis=0) - np.roll(pts, 1, axis=0)
    outward = unit_normals(np.column_stack([tangent[:, 1], -tangent[:, 0], np.zeros(len(pts))]))[:, :2]
    half, bevel = 0.011, 0.006
    rings = []
    for a in np.linspace(-np.pi / 2, np.pi / 2, 9):
        inset = bevel * (1 - np.cos(a))
        rings.append(np.column_stack([pts - outward * inset, np.full(len(pts), (half - bevel) * np.sign(a)
                                                                      + bevel * np.sin(a))]))
    n = len(pts)
    grid = np.vstack([np.vstack([r, r[:1]]) for r in rings])
    side_faces = grid_faces(len(rings), n + 1)
    # Sides must face along the outline's outward normals, whatever way grid_faces happened to wind them.
    tri = grid[side_faces]
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    col = np.minimum(side_faces[:, 0] % (n + 1), n - 1)
    if np.einsum("ij,ij->i", normal[:, :2], outward[col]).sum() < 0:
        side_faces = side_faces[:, ::-1]
    cap_tris = ear_clip(rings[-1][:, :2])
    base = len(grid)
    top = cap_tris + base
    bottom = cap_tris[:, ::-1] + base + n
    vertices = np.vstack([grid, rings[-1], rings[0]])
    faces = np.vstack([side_faces, top, bottom])
    return vertices, faces


def make_chime() -> bytes:
    """Chime GLB: a static root node, a swinging child with one rotation channel, stone and cord materials."""
    b = GltfBuilder.new()
    v, f = chime_mesh()
    # One subdivision breaks up the long ear-clipped cap triangles, so lighting stays even as it swings.
    slab = trimesh.Trimesh(v, f, process=False).subdivide()
    slab_n = unit_normals(slab.vertex_normals)
    # Outline in the x-y plane, thickness along z: it hangs below the pivot with its broad faces along ±z.
    sv = slab.vertices
    cord = trimesh.creation.cylinder(radius=0.0025, segment=[[0, 0, 0], [0, -0.07, 0]], sections=16)
    knot = trimesh.creation.torus(0.007, 0.0022, major_sections=24, minor_sections=10)
    knot.apply_translation([0, -0.072, 0])
    cords = trimesh.util.concatenate([cord, knot])
    b.gltf.materials = [
        pygltflib.Material(name="stone", pbrMetallicRoughness=pygltflib.PbrMetallicRoughness(
            baseColorFactor=[0.33, 0.38, 0.34, 1.0], metallicFactor=0.0, roughnessFactor=0.55)),
        pygltflib.Material(name="cord", pbrMetallicRoughness=pygltflib.PbrMetallicRoughness(
            baseColorFactor=[0.55, 0.08, 0.06, 1.0], metallicFactor=0.0, roughnessFactor=0.9)),
    ]
    prims = [b.primitive(rounded(sv), slab.faces, rounded(slab_n), 0),
             b.primitive(rounded(cords.vertices), cords.faces, rounded(unit_normals(cords.vertex_normals)), 1)]
    b.gltf.meshes = [pygltflib.Mesh(name="chime", primitives=prims)]
    b.gltf.nodes = [pygltflib.Node(name="chime", children=[1]),
                    pygltflib.Node(name="chime-swing", mesh=0)]
    b.gltf.scenes = [pygltflib.Scene(nodes=[0])]
    # A damped-looking swing would not loop; a 2.4 s pendulum of ±9° about z loops seamlessly.
    times = np.linspace(0.0, 2.4, 25).astype(np.float32)
    angle = np.radians(9.0) * np.sin(2 * np.pi * times / 2.4)
    quats = np.column_stack([np.zeros_like(angle), np.zeros_like(angle), np.sin(angle / 2), np.cos(angle / 2)])
    t_acc = b.accessor(times, "SCALAR", True)
    q_acc = b.accessor(rounded(quats, 7).astype(np.float32), "VEC4")
    b.gltf.animations = [pygltflib.Animation(
        name="swing",
        samplers=[pygltflib.AnimationSampler(input=t_acc, output=q_acc, interpolation="LINEAR")],
        channels=[pygltflib.AnimationChannel(sampler=0, target=pygltflib.AnimationChannelTarget(
            node=1, path="rotation"))])]
    b.gltf.buffers = [pygltflib.Buffer(byteLength=len(b.blob))]
    b.gltf.set_binary_blob(bytes(b.blob))
    return b"".join(b.gltf.save_to_bytes())


# ---------------------------------------------------------------- images


def ridge(width: int, rng: np.random.Generator, peaks: list[tuple[float, float, float]], rough: float) -> np.ndarray:
    """A mountain silhouette: a sum of peaked bumps plus fractal jitter, as heights in [0, 1]."""
    x = np.linspace(0, 1, width)
    y = np.zeros(width)
    for cx, hgt, wid in peaks:
        y = np.maximum(y, hgt * np.exp(-np.abs((x - cx) / wid) ** 1.4))
    jitter = fft_noise((1, width), 1.3, rng)[0] - 0.5
    crag = fft_noise((1, width), 0.7, rng)[0] - 0.5  # small-scale breaks in the ridge line, like rock steps
    return y + rough * jitter + 0.35 * rough * crag * (y / max(float(y.max()), 1e-9))


def ink_glyph(draw: ImageDraw.ImageDraw, box: tuple[float, float, float, float], rng: np.random.Generator,
              fill: int | tuple[int, int, int], width: int) -> None:
    """A glyph-like cluster of strokes (horizontals, verticals, sweeps, dots, enclosures); not real characters."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0

    def stroke(pts: list[tuple[float, float]]) -> None:
        pp = [(x0 + px * w, y0 + py * h) for px, py in pts]
        draw.line(pp, fill=fill, width=width, joint="curve")
        for px, py in (pp[0], pp[-1]):
            draw.ellipse([px - width / 2, py - width / 2, px + width / 2, py + width / 2], fill=fill)

    layout = int(rng.integers(0, 3))
    parts = {0: [(0, 0, 1, 1)], 1: [(0, 0, 0.45, 1), (0.5, 0, 1, 1)], 2: [(0, 0, 1, 0.45), (0, 0.5, 1, 1)]}[layout]
    for px0, py0, px1, py1 in parts:
        def s(pts: list[tuple[float, float]], px0: float = px0, py0: float = py0, px1: float = px1,
              py1: float = py1) -> list[tuple[float, float]]:
            return [(px0 + (px1 - px0) * a, py0 + (py1 - py0) * c) for a, c in pts]
        kind = int(rng.integers(0, 4))
        if kind == 0:  # an enclosure with strokes inside
            stroke(s([(0.15, 0.15), (0.85, 0.15), (0.85, 0.85)]))
            stroke(s([(0.15, 0.15), (0.15, 0.85), (0.85, 0.85)]))
            stroke(s([(0.3, 0.5), (0.7, 0.5)]))
        else:
            for _ in range(int(rng.integers(2, 5))):
                y = float(rng.uniform(0.12, 0.88))
                stroke(s([(0.1, y), (0.9, y + float(rng.uniform(-0.05, 0.05)))]))
            for _ in range(int(rng.integers(1, 3))):
                xx = float(rng.uniform(0.2, 0.8))
                stroke(s([(xx, 0.08), (xx, 0.92)]))
            if kind == 2:
                stroke(s([(0.5, 0.3), (0.3, 0.7), (0.1, 0.92)]))
                stroke(s([(0.5, 0.3), (0.75, 0.7), (0.95, 0.9)]))
            if kind == 3:
                for _ in range(2):
                    px, py = float(rng.uniform(0.2, 0.8)), float(rng.uniform(0.1, 0.9))
                    stroke(s([(px, py), (px + 0.06, py + 0.08)]))


def make_landscape() -> bytes:
    """A shan-shui hanging scroll: far peaks in pale ink, mist, near cliffs with pines, a poem and a seal."""
    rng = rng_for("landscape")
    w, h = 1024, 1536
    yy = np.linspace(0, 1, h)[:, None]
    paper = np.array([0.90, 0.85, 0.72])
    fibre = fft_noise((h, w), 0.9, rng, stretch=(0.3, 1.0))
    age = fft_noise((h, w), 2.0, rng)
    ink = np.zeros((h, w))
    cun = fft_noise((h, w), 1.1, rng, stretch=(0.25, 1.0))  # vertical texture strokes (cun) on rock faces
    layers = [
        (0.30, 0.45, [(0.62, 0.30, 0.10), (0.45, 0.22, 0.08), (0.78, 0.18, 0.07)], 0.05, 0.12),
        (0.46, 0.70, [(0.40, 0.34, 0.09), (0.22, 0.22, 0.07), (0.58, 0.20, 0.06)], 0.05, 0.10),
        (0.68, 0.90, [(0.15, 0.30, 0.08), (0.80, 0.26, 0.10), (0.98, 0.18, 0.06)], 0.04, 0.08),
        (0.88, 1.00, [(0.05, 0.22, 0.12), (0.35, 0.14, 0.10), (0.70, 0.10, 0.14)], 0.02, 0.06),
    ]
    for k, (base, dark, peaks, rough, fade) in enumerate(layers):
        top = base - ridge(w, rng, peaks, rough)[None, :] * (0.8 if k == 0 else 0.65)
        below = yy - top
        body = np.clip(below / 0.004, 0, 1) * np.exp(-np.clip(below, 0, None) / fade)
        outline = np.exp(-(below / 0.0025) ** 2) * (below > -0.004)
        texture = 0.55 + 0.45 * cun
        density = dark * np.maximum(body * texture, 0.85 * outline)
        ink = 1 - (1 - ink) * (1 - density)
        # Mist: the band just above each nearer range is left almost blank, as the painters did.
        ink *= 1 - 0.55 * np.exp(-((yy - (base - 0.03)) / 0.035) ** 2)
    # Pines on the near ridges, drawn as brushwork on a separate layer.
    pine = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(pine)
    for _ in range(7):
        px = float(rng.uniform(0.05, 0.45)) * w
        py = float(rng.uniform(0.80, 0.86)) * h
        height = float(rng.uniform(110, 190))
        lean = float(rng.uniform(-25, 25))
        trunk = [(px + lean * (t**2), py - height * t) for t in np.linspace(0, 1, 8)]
        draw.line(trunk, fill=235, width=5, joint="curve")
        for j in range(6):
            t = 0.35 + 0.12 * j
            cx, cy = px + lean * t**2, py - height * t
            span = 55 * (1.1 - t) + 14
            for side in (-1, 1):
                for q in range(9):
                    nx = cx + side * span * (q / 8)
                    ny = cy + float(rng.uniform(-5, 5))
                    draw.line([(nx, ny), (nx + side * 6, ny - 9)], fill=210, width=2)
                    draw.line([(nx, ny), (nx + side * 7, ny + 5)], fill=210, width=2)
    # A fisherman's boat on the misty water between the middle ranges: a crescent hull and a seated figure.
    bx, by = 0.63 * w, 0.655 * h
    draw.chord([bx - 34, by - 10, bx + 34, by + 10], 0, 180, fill=200)
    draw.line([(bx + 6, by - 2), (bx + 8, by - 20)], fill=220, width=4)
    draw.ellipse([bx + 4, by - 27, bx + 13, by - 18], fill=220)
    draw.line([(bx + 12, by - 14), (bx + 60, by - 40)], fill=170, width=2)
    pine_arr = np.asarray(pine.filter(ImageFilter.GaussianBlur(0.8)), dtype=float) / 255.0
    ink = 1 - (1 - ink) * (1 - pine_arr * 0.95)
    ink = np.clip(ink, 0, 1)
    tone = np.array([0.10, 0.10, 0.12])
    rgb = paper * (0.93 + 0.07 * fibre[..., None]) * (0.94 + 0.06 * age[..., None])
    rgb = rgb * (1 - ink[..., None]) + tone * ink[..., None]
    img = to_image(rgb)
    draw = ImageDraw.Draw(img)
    # A column of calligraphy-like glyphs top right, and a red seal below it.
    for i in range(7):
        ink_glyph(draw, (w - 112, 70 + i * 70, w - 60, 122 + i * 70), rng, (40, 36, 34), 4)
    sx, sy = w - 120, 580
    draw.rectangle([sx, sy, sx + 64, sy + 64], fill=(176, 38, 30))
    for j in range(2):
        for i in range(2):
            ink_glyph(draw, (sx + 6 + 28 * i, sy + 6 + 28 * j, sx + 30 + 28 * i, sy + 30 + 28 * j), rng,
                      (236, 220, 200), 3)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=85, optimize=True, progressive=False)
    return buf.getvalue()


def make_rubbing() -> bytes:
    """An ink rubbing of a cast inscription: white, slightly broken strokes on mottled black, in columns."""
    rng = rng_for("rubbing")
    size = 1024
    strokes = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(strokes)
    cols, rows = 6, 7
    cw, ch = (size - 200) / cols, (size - 180) / rows
    for c in range(cols):
        for r in range(rows):
            x0 = size - 100 - (c + 1) * cw  # columns read right to left
            y0 = 90 + r * ch
            ink_glyph(draw, (x0 + cw * 0.12, y0 + ch * 0.1, x0 + cw * 0.88, y0 + ch * 0.9), rng, 255, 11)
    draw.rectangle([40, 40, size - 40, size - 40], outline=255, width=6)
    glyph = np.asarray(strokes.filter(ImageFilter.GaussianBlur(1.5)), dtype=float) / 255.0
    wear = fft_noise((size, size), 1.0, rng)
    grain = fft_noise((size, size), 0.4, rng)
    mottle = fft_noise((size, size), 1.8, rng)
    white = np.clip((glyph - 0.35) * 3 - np.clip(wear - 0.7, 0, 1) * 3, 0, 1)
    black = 0.06 + 0.10 * mottle + 0.05 * grain
    value = black * (1 - white) + (0.86 + 0.1 * grain) * white
    # Coarse tonal steps: a rubbing has few real greys, and the PNG stays small.
    value = np.round(value * 24) / 24
    return png_bytes(Image.fromarray(np.clip(value * 255, 0, 255).astype(np.uint8), mode="L"))


# ---------------------------------------------------------------- audio


def need_tools() -> None:
    missing = [t for t in ("espeak-ng", "lame") if shutil.which(t) is None]
    if missing:
        sys.exit(f"make_assets: the audio step needs {' and '.join(missing)}: "
                 "on Debian run `apt-get install -y espeak-ng lame`, or pass --skip-audio")


def synth(text: str, lang: str, path: Path) -> tuple[bytes, int]:
    subprocess.run(["espeak-ng", "-v", VOICES[lang], "-s", str(SPEED_WPM[lang]), "-w", str(path), text], check=True,
                   capture_output=True)
    with wave.open(str(path), "rb") as wav:
        if wav.getnchannels() != 1 or wav.getsampwidth() != 2:
            raise RuntimeError(f"espeak-ng gave an unexpected WAV format for {path}")
        return wav.readframes(wav.getnframes()), wav.getframerate()


def vtt_time(seconds: float) -> str:
    ms = int(round(seconds * 1000))
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def make_narration(sentences: list[str], spoken: list[str], lang: str, work: Path) -> tuple[bytes, str]:
    """Speak each sentence separately so cue times are measured, then join with pauses and encode once."""
    if len(spoken) != len(sentences):
        raise ValueError("SPOKEN needs exactly one entry per sentence of NARRATIONS")
    pcm, rate, cues, t = bytearray(), 22050, [], 0.0
    for i, sentence in enumerate(sentences):
        data, rate = synth(spoken[i], lang, work / f"s{i}.wav")
        if i:
            gap = int(SENTENCE_GAP_S * rate)
            pcm.extend(b"\0\0" * gap)
            t += gap / rate
        dur = len(data) / 2 / rate
        cues.append((t, t + dur, sentence))
        pcm.extend(data)
        t += dur
    wav_path = work / "all.wav"
    with wave.open(str(wav_path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(bytes(pcm))
    mp3_path = work / "all.mp3"
    subprocess.run(["lame", "--quiet", "-m", "m", "--cbr", "-b", str(MP3_KBPS), "--noreplaygain", str(wav_path),
                    str(mp3_path)], check=True)
    lines = ["WEBVTT", ""]
    for k, (start, end, text) in enumerate(cues, 1):
        lines += [str(k), f"{vtt_time(start)} --> {vtt_time(end)}", text, ""]
    return mp3_path.read_bytes(), "\n".join(lines)


def mp3_duration(data: bytes) -> float:
    """Seconds of audio in an MPEG-1/2 layer III stream, by walking its frame headers (no decoder needed)."""
    pos = 0
    if data[:3] == b"ID3":
        size = data[6:10]
        pos = 10 + ((size[0] << 21) | (size[1] << 14) | (size[2] << 7) | size[3])
    bitrates = {3: [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
                2: [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160]}
    rates = {3: [44100, 48000, 32000], 2: [22050, 24000, 16000], 0: [11025, 12000, 8000]}
    total = 0.0
    while pos + 4 <= len(data):
        (head,) = struct.unpack(">I", data[pos:pos + 4])
        if head >> 21 != 0x7FF:
            raise ValueError(f"lost MP3 frame sync at byte {pos}")
        version = (head >> 19) & 3
        br = bitrates[3 if version == 3 else 2][(head >> 12) & 15] * 1000
        sr = rates[version][(head >> 10) & 3]
        pad = (head >> 9) & 1
        samples = 1152 if version == 3 else 576
        size = samples // 8 * br // sr + pad
        total += samples / sr
        pos += size
    return total


# ---------------------------------------------------------------- driver


def exhibit_files(steps: tuple[str, ...]) -> dict[str, bytes]:
    """Every generated file, as {path relative to the repo: bytes}."""
    out: dict[str, bytes] = {}
    if "models" in steps:
        out["exhibits/minimal/models/vase.stl"] = make_vase()
        m = "exhibits/bronze-age/models/"
        out[m + "ding.glb"] = make_ding()
        for name, data in make_gu().items():
            out[m + "gu/" + name] = data
        out[m + "bell.ply"] = make_bell()
        out[m + "mirror.stl"] = make_mirror()
        for name, data in make_jade_bi().items():
            out[m + "jade-bi/" + name] = data
        out[m + "chime.glb"] = make_chime()
    if "images" in steps:
        out["exhibits/bronze-age/images/landscape.jpg"] = make_landscape()
        out["exhibits/bronze-age/images/rubbing.png"] = make_rubbing()
    if "audio" in steps:
        need_tools()
        with tempfile.TemporaryDirectory(prefix="vitrina-audio-") as tmp:
            for name, langs in NARRATIONS.items():
                for lang, sentences in langs.items():
                    spoken = SPOKEN.get(name, {}).get(lang, sentences)
                    mp3, vtt = make_narration(sentences, spoken, lang, Path(tmp))
                    out[f"exhibits/bronze-age/audio/{name}.{lang}.mp3"] = mp3
                    out[f"exhibits/bronze-age/audio/{name}.{lang}.vtt"] = vtt.encode("utf-8")
    return out


def write(files: dict[str, bytes], root: Path) -> None:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def verify(root: Path) -> list[str]:
    """Load every model back and run the Khronos validator; returns one summary line per file."""
    lines = []
    models = sorted(p for p in (root / "exhibits").glob("*/models/**/*")
                    if p.suffix in (".glb", ".gltf", ".obj", ".ply", ".stl"))
    for path in models:
        loaded = trimesh.load(path, process=False)
        meshes = list(loaded.geometry.values()) if isinstance(loaded, trimesh.Scene) else [loaded]
        tris = sum(len(m.faces) for m in meshes)
        assert tris > 0, f"{path}: no triangles"
        for mesh in meshes:
            welded = trimesh.Trimesh(mesh.vertices, mesh.faces, process=True)
            assert welded.is_winding_consistent and welded.volume > 0, f"{path}: triangles face inwards"
        if path.suffix == ".ply":
            assert meshes[0].visual.kind == "vertex", f"{path}: vertex colours did not load"
        if path.suffix == ".obj":
            image = getattr(meshes[0].visual.material, "image", None)
            assert image is not None, f"{path}: texture 'gu pattern.png' did not resolve"
        if path.suffix in (".glb", ".gltf"):
            gltf = pygltflib.GLTF2().load(str(path))
            assert gltf.meshes, f"{path}: no meshes"
        ext = np.ptp(np.vstack([m.vertices for m in meshes]), axis=0)
        lines.append(f"{path.relative_to(root)}: {tris} triangles, extents {np.round(ext, 4).tolist()}, "
                     f"{path.stat().st_size} bytes")
    gltfs = [str(p) for p in models if p.suffix in (".glb", ".gltf")]
    script = REPO / "tests" / "validate_gltf.mjs"
    if shutil.which("node") and script.exists() and gltfs:
        done = subprocess.run(["node", str(script), *gltfs], capture_output=True, text=True, cwd=REPO, check=True)
        for path, report in zip(gltfs, json.loads(done.stdout), strict=True):
            issues = report["issues"]
            lines.append(f"validator {Path(path).name}: {issues['numErrors']} errors, "
                         f"{issues['numWarnings']} warnings")
            if issues["numErrors"]:
                raise AssertionError(json.dumps(issues["messages"], indent=1))
    else:
        lines.append("validator skipped: node or tests/validate_gltf.mjs is missing")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=REPO, help="root to write exhibits/ under (default: the repo)")
    parser.add_argument("--only", nargs="+", choices=STEPS, default=list(STEPS), help="steps to run")
    parser.add_argument("--skip-audio", action="store_true", help="leave the committed narration audio alone")
    parser.add_argument("--verify", action="store_true", help="load every model back and run the glTF validator")
    args = parser.parse_args(argv)
    steps = tuple(s for s in args.only if not (args.skip_audio and s == "audio"))
    files = exhibit_files(steps)
    write(files, args.out)
    for rel in sorted(files):
        print(f"{len(files[rel]):>9}  {rel}")
    if args.verify:
        for line in verify(args.out):
            print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
