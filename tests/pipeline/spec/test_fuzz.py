"""Property test: random and mutated specs give a loaded exhibit or a SpecError, never any other exception."""

from __future__ import annotations

import copy
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.errors import Problem, SpecError
from pipeline.spec import load_exhibit

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = [REPO / "exhibits" / "minimal", REPO / "exhibits" / "bronze-age"]


def _example_documents() -> list[tuple[Path, str, dict[str, Any]]]:
    """(example folder, YAML file relative to it, parsed content) for every YAML file of the examples."""
    documents = []
    for folder in EXAMPLES:
        for path in sorted([folder / "exhibit.yaml", *folder.glob("artifacts/*.yaml")]):
            if path.exists():
                content = yaml.safe_load(path.read_text(encoding="utf-8"))
                documents.append((folder, path.relative_to(folder).as_posix(), content))
    return documents


DOCUMENTS = _example_documents()

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20), st.sampled_from(["hall", "ding", "../x.glb", "models/ding.glb", "#zzzzzz", "zh", "none",
                                           "ding/taotie", "north", "mm", "/etc/passwd", ""]),
)
# Values that have tripped loaders before: YAML's shorthand words, empty containers, extremes.
tricky = st.sampled_from([True, False, None, 0, -1, 1e308, float("nan"), "", "none", "true", [], {}, [[]], {"": None},
                          "0x1F", "1_000", "2026-13-45", ".inf", "~"])
values = st.recursive(scalars, lambda children: st.one_of(
    st.lists(children, max_size=4), st.dictionaries(st.text(max_size=10), children, max_size=4)), max_leaves=12)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


@st.composite
def mutated_specs(draw: st.DrawFn) -> tuple[Path, str, str]:
    """One YAML file of an example (main or included) with a few keys dropped, retyped or replaced."""
    folder, name, original = draw(st.sampled_from(DOCUMENTS))
    document = copy.deepcopy(original)
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in _paths(document) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = document
        for step in path[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(["drop", "replace", "wrap", "duplicate"]))
        if action == "drop":
            del parent[path[-1]]
        elif action == "replace":
            parent[path[-1]] = draw(st.one_of(tricky, values))
        elif action == "wrap":
            parent[path[-1]] = [parent[path[-1]]]
        elif isinstance(parent, list):
            parent.append(copy.deepcopy(parent[path[-1]]))
    return folder, name, yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


@st.composite
def random_yaml(draw: st.DrawFn) -> tuple[Path, str, str]:
    """Random text, random YAML, and YAML-ish fragments with anchors, tags and flow syntax, in any of the files."""
    folder, name, _ = draw(st.sampled_from(DOCUMENTS))
    kind = draw(st.sampled_from(["text", "yaml", "fragments"]))
    if kind == "text":
        return folder, name, draw(st.text(max_size=200))
    if kind == "yaml":
        return folder, name, yaml.safe_dump(draw(values), allow_unicode=True)
    pieces = draw(st.lists(st.sampled_from(
        ["exhibit:", "  id: x", "rooms:", "- id: hall", "  size: [1, 2", "&a", "*a", "!!python/object:x", "{", "}",
         "[", "]", ": ", "\n", "  ", "- ", "include: [../*]", "artifacts: *a", "<<: *a", "? ", "%YAML 1.1", "---"]),
        max_size=30))
    return folder, name, "".join(pieces)


_COPIES: dict[Path, Path] = {}


def _copy_of(folder: Path) -> Path:
    """A scratch copy of an example (assets included), made once per run: each example only rewrites its YAML."""
    if folder not in _COPIES:
        target = Path(tempfile.mkdtemp(prefix="vitrina-fuzz-")) / folder.name
        shutil.copytree(folder, target, symlinks=True)
        _COPIES[folder] = target
    return _COPIES[folder]


@pytest.fixture(scope="module", autouse=True)
def _remove_copies() -> Iterator[None]:
    yield
    for copy_folder in _COPIES.values():
        shutil.rmtree(copy_folder.parent, ignore_errors=True)
    _COPIES.clear()


REPR_MARKERS = ("Traceback", "PosixPath(", "<class ", " object at 0x", "Node(tag=")


def _load_text(folder: Path, name: str, text: str) -> None:
    """Write `text` as the file `name` in a scratch copy of `folder`, load the exhibit, then restore the file."""
    target = _copy_of(folder)
    (target / name).write_text(text, encoding="utf-8")
    try:
        loaded = load_exhibit(target, rooms_fit=True)
    except SpecError as error:
        assert error.problems, "a SpecError always says what is wrong"
        assert all(isinstance(p, Problem) and p.message for p in error.problems)
        text_out = str(error)
        assert text_out.endswith("nothing was built.")
        for marker in REPR_MARKERS:
            assert marker not in text_out
    else:
        assert loaded.exhibit.rooms
    finally:
        shutil.copyfile(folder / name, target / name)


pytestmark = pytest.mark.skipif(not DOCUMENTS, reason="the example exhibits are missing")
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(mutated_specs())
def test_mutated_example_specs_load_or_raise_spec_error(case: tuple[Path, str, str]) -> None:
    _load_text(*case)


@SETTINGS
@given(random_yaml())
def test_random_yaml_loads_or_raises_spec_error(case: tuple[Path, str, str]) -> None:
    _load_text(*case)
