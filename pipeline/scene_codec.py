"""Scene IR as data only: a JSON object table plus one blob of raw numeric arrays, never pickle.

Cache entries may sit in a folder someone else can write to, so reading one must never run code: the JSON names
only IR classes from a fixed list, arrays only plain numeric dtypes, and anything else makes the entry invalid.
"""

from __future__ import annotations

import dataclasses
import json
import struct
from typing import Any

import numpy as np

from pipeline import scene as ir

# The only classes an entry may name. Shared objects (a material on many primitives, a mesh on many nodes, the
# node a skin or channel points at) are stored once and referenced by index, so sharing survives the round trip.
_CLASSES: dict[str, Any] = {cls.__name__: cls for cls in (
    ir.Texture, ir.TextureRef, ir.Material, ir.Primitive, ir.Mesh, ir.Light, ir.Skin, ir.Node,
    ir.AnimationSampler, ir.AnimationChannel, ir.Animation, ir.Scene)}
_NUMERIC_KINDS = "biuf"
_MAGIC = b"VSC1"


class InvalidEntry(ValueError):
    """An entry that is not a well-formed scene: the cache treats it as a miss."""


def encode_scene(scene: ir.Scene) -> bytes:
    """The scene as MAGIC, JSON length, JSON, then the arrays' and byte strings' raw bytes."""
    objects: list[dict[str, Any]] = []
    index_of: dict[int, int] = {}
    blob = bytearray()

    def data(raw: bytes) -> list[int]:
        offset = len(blob)
        blob.extend(raw)
        blob.extend(b"\0" * (-len(blob) % 8))  # keep every array 8-byte aligned for frombuffer
        return [offset, len(raw)]

    def value(item: Any) -> Any:
        if item is None or isinstance(item, bool | str):
            return item
        if isinstance(item, int | float):
            return item
        if isinstance(item, np.generic):
            return item.item()
        if isinstance(item, np.ndarray):
            array = np.ascontiguousarray(item)
            if array.dtype.kind not in _NUMERIC_KINDS:
                raise TypeError(f"cannot cache an array of {array.dtype}")
            return {"a": [*data(array.tobytes()), array.dtype.str, list(array.shape)]}
        if isinstance(item, bytes | bytearray):
            return {"b": data(bytes(item))}
        if isinstance(item, tuple):
            return {"t": [value(v) for v in item]}
        if isinstance(item, list):
            return {"l": [value(v) for v in item]}
        if isinstance(item, set | frozenset):
            return {"s": sorted(value(v) for v in item)}
        if isinstance(item, dict):
            return {"d": [[value(k), value(v)] for k, v in item.items()]}
        if type(item).__name__ in _CLASSES and _CLASSES[type(item).__name__] is type(item):
            return {"r": reference(item)}
        raise TypeError(f"cannot cache a {type(item).__name__}")

    def reference(obj: Any) -> int:
        known = index_of.get(id(obj))
        if known is not None:
            return known
        index = len(objects)
        index_of[id(obj)] = index
        entry: dict[str, Any] = {"type": type(obj).__name__}
        objects.append(entry)  # reserve the slot first: skins and nodes refer to each other
        entry["fields"] = {f.name: value(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
        return index

    root = reference(scene)
    text = json.dumps({"root": root, "objects": objects}, separators=(",", ":")).encode()
    return _MAGIC + struct.pack("<Q", len(text)) + text + bytes(blob)


def decode_scene(payload: bytes) -> ir.Scene:
    """The scene an entry holds; InvalidEntry for anything that is not exactly what encode_scene writes."""
    try:
        return _decode(payload)
    except InvalidEntry:
        raise
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, struct.error, RecursionError) as error:
        raise InvalidEntry(f"malformed scene entry ({type(error).__name__})") from None


def _decode(payload: bytes) -> ir.Scene:
    if payload[:4] != _MAGIC:
        raise InvalidEntry("not a scene entry")
    (length,) = struct.unpack_from("<Q", payload, 4)
    start = 12 + length
    document = json.loads(payload[12:start])
    blob = memoryview(payload)[start:]
    table = document["objects"]
    if not isinstance(table, list):
        raise InvalidEntry("no object table")
    instances: list[Any] = []
    for entry in table:
        cls = _CLASSES.get(entry["type"]) if isinstance(entry, dict) else None
        if cls is None:
            raise InvalidEntry("unknown object type")
        instances.append(cls.__new__(cls))

    def chunk(offset: Any, size: Any) -> memoryview:
        if not (isinstance(offset, int) and isinstance(size, int) and offset >= 0 and size >= 0
                and offset + size <= len(blob)):
            raise InvalidEntry("data outside the entry")
        return blob[offset:offset + size]

    def value(item: Any) -> Any:
        if item is None or isinstance(item, bool | str | int | float):
            return item
        if not (isinstance(item, dict) and len(item) == 1):
            raise InvalidEntry("unexpected value")
        (tag, body), = item.items()
        if tag == "a":
            offset, size, dtype_text, shape = body
            dtype = np.dtype(str(dtype_text))
            if dtype.kind not in _NUMERIC_KINDS:
                raise InvalidEntry("non-numeric array")
            return np.frombuffer(chunk(offset, size), dtype=dtype).reshape([int(n) for n in shape]).copy()
        if tag == "b":
            return bytes(chunk(*body))
        if tag == "t":
            return tuple(value(v) for v in body)
        if tag == "l":
            return [value(v) for v in body]
        if tag == "s":
            return {value(v) for v in body}
        if tag == "d":
            return {value(k): value(v) for k, v in body}
        if tag == "r":
            if not (isinstance(body, int) and 0 <= body < len(instances)):
                raise InvalidEntry("reference outside the table")
            return instances[body]
        raise InvalidEntry("unknown value tag")

    for instance, entry in zip(instances, table, strict=True):
        names = {f.name for f in dataclasses.fields(instance)}
        stored = entry["fields"]
        if set(stored) != names:
            raise InvalidEntry(f"fields of {entry['type']} do not match")
        for name, item in stored.items():
            object.__setattr__(instance, name, value(item))
    root = document["root"]
    scene = instances[root] if isinstance(root, int) and 0 <= root < len(instances) else None
    if not isinstance(scene, ir.Scene):
        raise InvalidEntry("root is not a scene")
    return scene
