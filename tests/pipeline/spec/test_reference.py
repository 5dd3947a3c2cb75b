"""docs/spec.md and docs/exhibit.schema.json are generated from the model and kept in sync with it."""

from __future__ import annotations

from pipeline.spec import model
from pipeline.spec.docs import CLASSES, field_docs, undocumented
from pipeline.spec.reference import generated_files, main, render_reference


def test_every_field_is_documented() -> None:
    assert undocumented() == []


def test_every_model_class_is_in_the_reference() -> None:
    documented = set(CLASSES)
    dataclasses_in_model = {value for value in vars(model).values()
                            if isinstance(value, type) and hasattr(value, "__dataclass_fields__")
                            and value.__module__ == model.__name__
                            and value not in (model.AssetPath, model.LoadedSpec)}
    assert dataclasses_in_model == documented


def test_generated_docs_are_in_sync() -> None:
    for path, text in generated_files().items():
        assert path.read_text(encoding="utf-8") == text, f"run python -m pipeline.spec.reference to update {path.name}"
    assert main(["--check"]) == 0


def test_reference_shows_each_field_with_its_docstring() -> None:
    text = render_reference()
    for cls in CLASSES:
        assert f"## {cls.__name__}\n" in text
        for doc in field_docs(cls):
            assert doc.doc.replace("|", "\\|").replace("\n", " ") in text
