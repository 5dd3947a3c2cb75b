"""Collection records in: read CSV/XLSX exports, Linked Art and LIDO into object records, and write exhibit YAML."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.errors import VitrinaError

TEXT_FIELDS = ("title", "creator", "date", "culture", "material", "dimensions", "credit", "description", "alt")
"""Record fields (and `alt`) that are multilingual: one value per language."""
PLAIN_FIELDS = ("accession", "rights", "source")
"""Record fields with one value for every language."""
ARTIFACT_FIELDS = ("id", "model", "image", "units", "up")
"""Artifact keys a record may set beside its `record:`."""


@dataclass
class SourceRecord:
    """One object as read from a collection export, before it becomes YAML.

    `plain` holds PLAIN_FIELDS and ARTIFACT_FIELDS; `texts` holds TEXT_FIELDS per language. `given` names every
    field (and (field, language) pair) the source has a column or element for, so that re-importing updates those
    and leaves the rest of a record as the designer left it.
    """

    where: str
    """Where it came from, for messages: "records.csv row 5", "objects/ding.json"."""
    plain: dict[str, str] = field(default_factory=dict)
    texts: dict[str, dict[str, str]] = field(default_factory=dict)
    given: set[tuple[str, str | None]] = field(default_factory=set)

    def set_text(self, name: str, language: str, value: str) -> None:
        self.given.add((name, language))
        if value:
            self.texts.setdefault(name, {})[language] = value

    def set_plain(self, name: str, value: str) -> None:
        self.given.add((name, None))
        if value:
            self.plain[name] = value


@dataclass
class RecordsError(VitrinaError):
    """The records could not be imported; every problem found, one per line, each naming its row."""

    problems: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        count = len(self.problems)
        return "\n".join([*self.problems, f"{count} error{'' if count == 1 else 's'}; nothing was written."])
