"""The order geometry transforms run in, and the default list built from a build's options (DESIGN §4)."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.scene import Scene
from pipeline.transforms import Transform
from pipeline.transforms.animation import CompactAnimations
from pipeline.transforms.dedup import Dedup
from pipeline.transforms.instance import Instance
from pipeline.transforms.merge import Merge
from pipeline.transforms.prune import PruneAttributes
from pipeline.transforms.quantize import Quantize
from pipeline.transforms.reorder import Reorder
from pipeline.transforms.weld import Weld

# Prune first so welding finds more equal vertices; weld before dedup so dedup compares welded meshes; quantize
# after merging and instancing, which need float positions; weld again after quantizing, because vertices that
# differed below the grid step are now equal (lossless at that point, as gltfpack does); reorder last so it sees
# the final primitives and vertices.
ORDER = ("animations", "prune", "weld", "dedup", "merge", "instance", "quantize", "reweld", "reorder")


@dataclass(frozen=True)
class GeometryOptions:
    """Which geometry transforms run and how; the defaults are close to lossless (gltfpack -cc precision)."""

    animations: bool = True
    prune: bool = True
    weld: bool = True
    dedup: bool = True
    merge: bool = True
    instance: bool = True
    reorder: bool = True
    quantize: bool = True
    position_bits: int = 14
    texcoord_bits: int = 12
    normal_bits: int = 8
    color_bits: int = 8
    quantize_grid: str = "region"  # see Quantize: per artifact world grid; "scene" is gltfpack's, "mesh" the finest
    compression_order: bool = True
    # Not a transform: tells the writer to compress buffer views with EXT_meshopt_compression
    # (pass it as pipeline.gltf.GltfOptions(meshopt=...)).
    meshopt: bool = True


def default_transforms(options: GeometryOptions | None = None) -> list[Transform]:
    """The transforms to run, in ORDER, for these options. Apply with `apply_transforms(scene, transforms)`."""
    options = options or GeometryOptions()
    chosen: dict[str, Transform] = {}
    if options.animations:
        chosen["animations"] = CompactAnimations(compressed=options.meshopt)
    if options.prune:
        chosen["prune"] = PruneAttributes()
    if options.weld:
        # Half a step of the stored normal bits: welding moves a normal less than quantizing it may.
        angle = 0.5 / ((1 << (options.normal_bits - 1)) - 1) if options.quantize else 0.0
        chosen["weld"] = Weld(normal_angle=angle)
    if options.dedup:
        chosen["dedup"] = Dedup()
    if options.merge:
        # Joining meshes of different materials shares one position box, which would coarsen the "mesh" grid.
        chosen["merge"] = Merge(join=options.quantize_grid != "mesh")
    if options.instance:
        chosen["instance"] = Instance()
    if options.weld and options.quantize:
        # Only merges vertices: slivers that quantizing collapsed keep their triangles, so the triangle list (and
        # count) stays what the source drew.
        chosen["reweld"] = Weld(drop_degenerate=False)
    if options.reorder:
        chosen["reorder"] = Reorder(compression_order=options.compression_order)
    if options.quantize:
        chosen["quantize"] = Quantize(position_bits=options.position_bits, texcoord_bits=options.texcoord_bits,
                                      normal_bits=options.normal_bits, color_bits=options.color_bits,
                                      grid=options.quantize_grid)
    return [chosen[name] for name in ORDER if name in chosen]


def apply_transforms(scene: Scene, transforms: list[Transform]) -> Scene:
    for transform in transforms:
        scene = transform(scene)
    return scene


def cache_key(transforms: list[Transform]) -> str:
    """A stable text for the cache: the transforms' reprs (frozen dataclasses print their options)."""
    return "|".join(repr(t) for t in transforms)
