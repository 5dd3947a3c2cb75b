"""The exported JSON Schema is valid draft 2020-12, accepts the examples and the starter, and rejects mistakes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from pipeline.spec.schema import json_schema
from pipeline.spec.starter import create_starter

REPO = Path(__file__).resolve().parents[3]
EXAMPLE_FILES = sorted([*REPO.glob("exhibits/*/exhibit.yaml"), *REPO.glob("exhibits/*/artifacts/*.yaml")])


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _errors(validator: jsonschema.protocols.Validator, document: Any) -> list[str]:
    return sorted(error.message for error in validator.iter_errors(document))


def test_example_files_exist() -> None:
    names = {path.relative_to(REPO).as_posix() for path in EXAMPLE_FILES}
    assert {"exhibits/minimal/exhibit.yaml", "exhibits/bronze-age/exhibit.yaml"} <= names
    assert any("/artifacts/" in name for name in names)


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_examples_are_valid(validator: jsonschema.protocols.Validator, path: Path) -> None:
    assert _errors(validator, yaml.safe_load(path.read_text(encoding="utf-8"))) == []


def test_starter_is_valid(validator: jsonschema.protocols.Validator, tmp_path: Path) -> None:
    folder = create_starter(tmp_path / "starter")
    assert _errors(validator, yaml.safe_load((folder / "exhibit.yaml").read_text(encoding="utf-8"))) == []


BAD_CASES = {
    "unknown key": ({"rooms": [{"id": "hall", "colour": "#ffffff"}]}, "Additional properties are not allowed"),
    "wall not in the list": (
        {"artifacts": [{"id": "a", "text": "x", "place": {"room": "hall", "wall": "nort", "at": 1}}]}, "is not valid"),
    "model and image at once": (
        {"artifacts": [{"id": "a", "model": "m.glb", "image": "p.png", "place": {"room": "hall"}}]}, "is valid under each"),
    "id with capitals": ({"rooms": [{"id": "Main Hall"}]}, "does not match"),
    "size of two numbers": ({"rooms": [{"id": "hall", "size": [1, 2]}]}, "is too short"),
    "model of an unsupported type": (
        {"artifacts": [{"id": "a", "model": "m.fbx", "place": {"room": "hall"}}]}, "'m.fbx' is not valid"),
    "colour by name": ({"rooms": [{"id": "hall", "walls": {"color": "red"}}]}, "'red' is not valid"),
    "negative ambient light": ({"rooms": [{"id": "hall", "lighting": {"ambient": -1}}]}, "less than the minimum"),
}


@pytest.mark.parametrize("name", BAD_CASES)
def test_schema_rejects_mistakes(validator: jsonschema.protocols.Validator, name: str) -> None:
    document, expected = BAD_CASES[name]
    errors = _errors(validator, document)
    assert errors, f"{name} should be rejected"
    assert any(expected in message for message in errors), errors


def test_fields_carry_their_documentation() -> None:
    schema = json_schema()
    place = schema["$defs"]["Place"]["properties"]
    assert place["wall"]["description"].startswith("Hang the artifact on this wall")
    assert schema["$defs"]["Door"]["properties"]["width"]["default"] == 1.2
    assert schema["$defs"]["Artifact"]["properties"]["up"]["enum"] == ["y", "z", "x"]


def test_readme_example_follows_the_schema(validator: jsonschema.protocols.Validator) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Writing an exhibit", 1)[1]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    document = yaml.safe_load(example)
    assert {"exhibit", "rooms", "artifacts", "tours"} <= set(document)
    assert _errors(validator, document) == []
