"""What the standards exports can carry, so `check` can say before a build what an export skips or leaves out."""

from __future__ import annotations

import re

from pipeline.spec.model import Exhibit

# The language keys Voyager's setup schema accepts. It has none for Chinese (nor most languages), so an SVX export
# carries only these; the IIIF and Linked Art exports carry every language.
VOYAGER_LANGUAGES = ("EN", "ES", "DE", "NL", "JA", "FR", "HAW", "IT", "AR")

# Creative Commons and RightsStatements.org name their URIs with http://; IIIF requires that form for `rights`.
_RIGHTS = re.compile(r"^https?://(creativecommons\.org/(?:licenses|publicdomain)/|rightsstatements\.org/vocab/)(.*)$")


def voyager_language(tag: str) -> str | None:
    """Voyager's key for a BCP-47 tag ("en-GB" → "EN"), or None when Voyager has none."""
    key = tag.split("-")[0].upper()
    return key if key in VOYAGER_LANGUAGES else None


def iiif_rights(uri: str) -> str | None:
    """The http:// form of a Creative Commons or RightsStatements.org URI, or None for any other rights URI."""
    match = _RIGHTS.match(uri or "")
    if match is None:
        return None
    rest = match.group(2)
    return f"http://{match.group(1)}{rest if rest.endswith('/') or not rest else rest + '/'}"


def export_notes(exhibit: Exhibit) -> list[str]:
    """One line per thing the standards exports will skip or leave out for this exhibit (empty when nothing)."""
    info = exhibit.exhibit
    if not info.base_url:
        return ["no exhibit.base_url: the build skips the IIIF, Linked Art and Voyager exports, whose ids must be "
                "absolute URLs (set exhibit.base_url, or pass --base-url to build); schema.org data in the pages "
                "stays relative"]
    notes = []
    dropped = [tag for tag in info.languages if voyager_language(tag) is None]
    models = [a.id for a in exhibit.artifacts if a.model is not None and a.place is not None]
    if dropped and models:
        kept = [tag for tag in info.languages if voyager_language(tag) is not None]
        notes.append(f"SVX (Voyager) has no language key for {', '.join(dropped)}: svx/ carries "
                     f"{', '.join(kept) if kept else 'no text'} only, for {len(models)} model(s); IIIF and Linked "
                     "Art carry every language")
    uris = {info.rights, *(a.record.rights for a in exhibit.artifacts)} - {""}
    other = sorted(uri for uri in uris if iiif_rights(uri) is None)
    if other:
        notes.append(f"IIIF `rights` takes only Creative Commons and RightsStatements.org URIs: {', '.join(other)} "
                     "goes into requiredStatement as text instead")
    unplaced = [a.id for a in exhibit.artifacts if a.place is None]
    if unplaced:
        notes.append(f"{len(unplaced)} artifact(s) not placed yet are exported as records only (Linked Art, an "
                     "object Manifest without a model), not in any Scene")
    return notes
