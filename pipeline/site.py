"""Static site writer: renders the viewer's Jinja2 templates and copies the viewer JS and the pinned three.js into a site."""

from __future__ import annotations

import compileall
import functools
import hashlib
import json
import os
import posixpath
import re
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import jinja2

from pipeline.errors import BuildError

VIEWER_DIR = Path(__file__).resolve().parent.parent / "viewer"
TEMPLATES_DIR = VIEWER_DIR / "templates"
STATIC_DIR = VIEWER_DIR / "static"
# The templates compiled to Python modules by `make setup` (compile_templates), as compileall does for the code:
# loading them takes 1 ms where compiling the sources took 50 ms of every build. Ignored by git, like __pycache__.
COMPILED_TEMPLATES_DIR = TEMPLATES_DIR / "__pycache__" / "compiled"
_COMPILED_DIGEST = "digest.txt"
REPO_NODE_MODULES = Path(__file__).resolve().parent.parent / "node_modules"

# The three.js modules the viewer imports, as paths inside the npm package. Their own relative imports are
# followed (see vendor_three), so only the entry points are listed here.
THREE_ENTRY_POINTS = (
    "build/three.module.js",
    "examples/jsm/loaders/GLTFLoader.js",
    "examples/jsm/libs/meshopt_decoder.module.js",
    "examples/jsm/controls/OrbitControls.js",
    "examples/jsm/webxr/VRButton.js",
    "examples/jsm/webxr/ARButton.js",
    "examples/jsm/webxr/XRHandModelFactory.js",
    "examples/jsm/environments/RoomEnvironment.js",
    "examples/jsm/webxr/XRControllerModelFactory.js",
    # Imported by app.js only when a room uses KHR_texture_basisu; its Basis transcoder (.js + .wasm) comes along
    # because vendor_three follows `new URL(..., import.meta.url)` too.
    "examples/jsm/loaders/KTX2Loader.js",
)
THREE_VENDOR_PATH = "static/vendor/three"
# Controller models for the headsets we target (Quest 3, Quest 2). XRControllerModelFactory would fetch them from a
# CDN; vendoring these two keeps the site offline, and other controllers fall back to the viewer's own marker.
INPUT_PROFILES = ("meta-quest-touch-plus", "oculus-touch-v3")
INPUT_PROFILES_VENDOR_PATH = "static/vendor/webxr-input-profiles"
# Both patterns start with their keyword, so that the scan skips to its letters: a leading `\b` made it try every
# position of three.core.js (1.5 MB), 3 and 30 times slower. `_specifiers` checks the word start instead.
_IMPORT_SPECIFIER = re.compile(r"""(?:from|import)\s*\(?\s*['"]([^'"]+)['"]""")
# Files a module fetches at run time relative to itself (KTX2Loader's transcoder). They are copied, not scanned:
# basis_transcoder.js is a classic script that KTX2Loader pastes into a worker, not a module with imports.
# (`URL(...)` with import.meta.url can only be `new URL(...)`: URL throws when called without `new`.)
_MODULE_ASSET = re.compile(r"""URL\(\s*['"]([^'"]+)['"]\s*,\s*import\.meta\.url\s*\)""")

# The interface's words, one file for the pages rendered here and for the viewer's JS (which gets it inside the
# exhibit page, so that switching language needs no request).
UI_STRINGS_FILE = TEMPLATES_DIR / "ui-strings.json"
VIEWER_STRINGS: dict[str, Any] = json.loads(UI_STRINGS_FILE.read_text(encoding="utf-8"))
UI_STRINGS: dict[str, dict[str, Any]] = VIEWER_STRINGS["ui"]  # a value is text, or plural forms by CLDR category
RECORD_FIELDS: tuple[str, ...] = tuple(VIEWER_STRINGS["record_fields"])


def find_three(node_modules: Path | None = None) -> Path:
    """The pinned npm three package folder; $VITRINA_NODE_MODULES overrides where node_modules is."""
    root = node_modules or Path(os.environ.get("VITRINA_NODE_MODULES") or REPO_NODE_MODULES)
    three = root / "three"
    if not (three / "build" / "three.module.js").is_file():
        raise BuildError(f"three.js is missing from {root}: run `make setup` (npm ci) to install the pinned copy")
    return three


def vendor_three(three_dir: Path, destination: Path, entry_points: Iterable[str] = THREE_ENTRY_POINTS) -> list[Path]:
    """Copy the entry modules, every module they import (relative specifiers) and every file they reference with
    `new URL('./x', import.meta.url)`, keeping the package layout so that those relative URLs still resolve."""
    pending = [(relative, True) for relative in entry_points]
    seen: set[str] = set()
    written: list[Path] = []
    while pending:
        relative, is_module = pending.pop()
        if relative in seen:
            continue
        seen.add(relative)
        source = three_dir / relative
        if not source.is_file():
            raise BuildError(f"three.js file {relative} is missing from {three_dir}")
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        written.append(target)
        if not is_module:
            continue
        text = source.read_text(encoding="utf-8")
        here = posixpath.dirname(relative)
        for specifier in _specifiers(text):
            if specifier == "three":
                pending.append(("build/three.module.js", True))
            elif specifier.startswith("."):
                pending.append((posixpath.normpath(posixpath.join(here, specifier)), True))
        for url in _MODULE_ASSET.findall(text):
            if url.startswith("."):
                pending.append((posixpath.normpath(posixpath.join(here, url)), False))
    return written


def _specifiers(text: str) -> list[str]:
    """The module specifiers after `from` and `import` where those start a word (`xfrom '.'` is no import)."""
    return [match.group(1) for match in _IMPORT_SPECIFIER.finditer(text)
            if match.start() == 0 or not (text[match.start() - 1].isalnum() or text[match.start() - 1] in "_$")]


def vendor_input_profiles(node_modules: Path, destination: Path, profiles: Iterable[str] = INPUT_PROFILES) -> list[Path]:
    """Copy the chosen controller profiles and a profilesList.json that names only them (none if not installed)."""
    source = node_modules / "@webxr-input-profiles" / "assets" / "dist" / "profiles"
    if not (source / "profilesList.json").is_file():
        return []
    listing = json.loads((source / "profilesList.json").read_text(encoding="utf-8"))
    written: list[Path] = []
    kept = {}
    for profile in profiles:
        if profile not in listing or not (source / profile).is_dir():
            continue
        kept[profile] = listing[profile]
        shutil.copytree(source / profile, destination / profile, dirs_exist_ok=True)
        written.extend(path for path in (destination / profile).rglob("*") if path.is_file())
    destination.mkdir(parents=True, exist_ok=True)
    (destination / "profilesList.json").write_text(json.dumps(kept, indent=1), encoding="utf-8")
    written.append(destination / "profilesList.json")
    return written


def _environment(templates: Path = TEMPLATES_DIR, compiled: Path | None = COMPILED_TEMPLATES_DIR) -> jinja2.Environment:
    """The environment over `templates`, reading them compiled from `compiled` when that holds exactly these
    templates as this code compiles them (else from their sources)."""
    loader: jinja2.BaseLoader = jinja2.FileSystemLoader(str(templates))
    if compiled is not None and _read_digest(compiled) == templates_digest(templates):
        # A template missing there (none should be) still comes from its source.
        loader = jinja2.ChoiceLoader([jinja2.ModuleLoader(str(compiled)), loader])
    env = jinja2.Environment(
        loader=loader,
        autoescape=jinja2.select_autoescape(["html", "xml"], default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["tojson_attr"] = lambda value: json.dumps(value, ensure_ascii=False, sort_keys=True)
    return env


def templates_digest(templates: Path = TEMPLATES_DIR) -> str:
    """What compiled templates depend on: every template's bytes, this module (the environment's settings and
    filters) and Jinja2's version."""
    digest = hashlib.sha256(jinja2.__version__.encode())
    digest.update(Path(__file__).read_bytes())
    for path in sorted(p for p in templates.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(path.relative_to(templates).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _read_digest(compiled: Path) -> str | None:
    try:
        return (compiled / _COMPILED_DIGEST).read_text(encoding="utf-8").strip()
    except OSError:
        return None


def compile_templates(templates: Path = TEMPLATES_DIR, compiled: Path = COMPILED_TEMPLATES_DIR) -> None:
    """Compile the page templates to Python modules (and their bytecode) in `compiled`, replacing what was there;
    `make setup` runs it. The digest is written last, so a half-written folder is never used."""
    compiled.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".compiling-", dir=compiled.parent))
    try:
        _environment(templates, compiled=None).compile_templates(
            str(staging), zip=None, ignore_errors=False,
            filter_func=lambda name: name.endswith((".html", ".xml")))
        compileall.compile_dir(str(staging), quiet=1)
        (staging / _COMPILED_DIGEST).write_text(templates_digest(templates) + "\n", encoding="utf-8")
        staging.chmod(0o755)  # mkdtemp's folder is the owner's alone; a server running as another user reads it
        shutil.rmtree(compiled, ignore_errors=True)
        staging.rename(compiled)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


_ENV: jinja2.Environment | None = None


def environment() -> jinja2.Environment:
    """The one Jinja2 environment (StrictUndefined, autoescape) over viewer/templates."""
    global _ENV
    if _ENV is None:
        _ENV = _environment()
    return _ENV


def render_page(template_name: str, **context: Any) -> str:
    """Render one template; `root` (relative path to the site root, e.g. '../') defaults to ''."""
    context.setdefault("root", "")
    context.setdefault("ui", UI_STRINGS)
    context.setdefault("viewer_strings", VIEWER_STRINGS)
    context.setdefault("page_lang", "en")
    context.setdefault("pick", pick)
    context.setdefault("ui_language", ui_language)
    context.setdefault("artifact_title", artifact_title)
    context.setdefault("ui_text", ui_text)
    context.setdefault("rights_label", rights_label)
    context.setdefault("museum", None)
    context.setdefault("museum_root", "")
    return environment().get_template(template_name).render(**context)


def pick(text: Any, language: str, fallback: str) -> str:
    """One language out of a language map, falling back to the default language, then any language."""
    if isinstance(text, jinja2.Undefined):
        str(text)  # StrictUndefined raises here: a missing manifest key must not become a blank label
    if text is None:
        return ""
    if isinstance(text, str):
        return text
    if isinstance(text, Mapping):
        for key in (language, fallback):
            if text.get(key):
                return str(text[key])
        for value in text.values():
            if value:
                return str(value)
    return ""


def artifact_title(artifact: Mapping[str, Any], language: str, fallback: str) -> str:
    """An artifact's label, never blank: its record title, else its panel text's first line, else alt, else its id."""
    record = artifact.get("record") or {}
    for text in (record.get("title"), artifact.get("text"), artifact.get("alt")):
        label = pick(text, language, fallback).split("\n")[0].strip()
        if label:
            return label
    return str(artifact["id"])


def plural_category(language: str, n: int) -> str:
    """The CLDR cardinal category of a whole number in a language (Intl.PluralRules' answer, for the UI languages
    and their neighbours; others count like English)."""
    base = language.split("-")[0].lower()
    if base in ("zh", "ja", "ko", "vi", "th", "id", "ms"):
        return "other"
    if base in ("fr", "pt"):
        return "one" if n in (0, 1) else "other"
    if base in ("ru", "uk", "pl"):
        if n % 10 == 1 and n % 100 != 11:
            return "one" if base != "pl" or n == 1 else "many"
        return "few" if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14 else "many"
    return "one" if n == 1 else "other"


def ui_text(key: str, language: str, tables: Mapping[str, Mapping[str, Any]] = UI_STRINGS, **params: Any) -> str:
    """A UI string in a page language, placeholders filled; plural forms are chosen for params['n']."""
    code = ui_language(language, tables)
    text: Any = tables[code].get(key, UI_STRINGS["en"][key])
    if isinstance(text, Mapping):
        text = text.get(plural_category(code, int(params.get("n", 0))), text["other"])
    return re.sub(r"\{(\w+)\}", lambda match: str(params.get(match.group(1), "")), str(text))


_CC_LICENCE = re.compile(r"^https?://creativecommons\.org/licenses/([a-z-]+)/(\d+(?:\.\d+)?)(?:/([a-z]{2}))?/?$", re.I)
_CC_PUBLIC_DOMAIN = re.compile(r"^https?://creativecommons\.org/publicdomain/(zero|mark)/(\d+(?:\.\d+)?)/?$", re.I)
_RIGHTS_STATEMENT = re.compile(r"^https?://rightsstatements\.org/(?:vocab|page)/([A-Za-z-]+)/(\d+(?:\.\d+)?)/?$")


def rights_label(uri: str, language: str) -> str | None:
    """A rights URI as people name it ("CC BY 4.0", "CC0 1.0", "In copyright"), or None for other values.

    The same rules as rightsLabel in viewer/static/js/i18n.js, which labels the viewer's panel.
    """
    value = str(uri or "").strip()
    match = _CC_LICENCE.match(value)
    if match:
        port = f" {match.group(3).upper()}" if match.group(3) else ""
        return f"CC {match.group(1).upper()} {match.group(2)}{port}"
    match = _CC_PUBLIC_DOMAIN.match(value)
    if match:
        return f"CC0 {match.group(2)}" if match.group(1).lower() == "zero" else ui_text("pdm", language,
                                                                                        version=match.group(2))
    match = _RIGHTS_STATEMENT.match(value)
    if match and f"rs_{match.group(1)}" in UI_STRINGS["en"]:
        return ui_text(f"rs_{match.group(1)}", language)
    return None


def ui_language(language: str, tables: Mapping[str, Any] = UI_STRINGS) -> str:
    """The UI-strings language closest to a BCP-47 tag (the tag itself, else 'zh-Hans' → 'zh'), English otherwise."""
    base = language.split("-")[0].lower()
    return language if language in tables else base if base in tables else "en"


def interface_tables(overrides: Mapping[str, Mapping[str, Any]] | None) -> dict[str, dict[str, Any]]:
    """The viewer's words with an exhibit's own (manifest exhibit.ui_strings, from its ui-strings.yaml) laid over
    them: a language the viewer does not ship starts from English, so every key has a text."""
    tables = {language: dict(words) for language, words in UI_STRINGS.items()}
    for language, words in (overrides or {}).items():
        tables[language] = {**tables.get(ui_language(language), UI_STRINGS["en"]), **words}
    return tables


def _languages(manifest: Mapping[str, Any]) -> list[str]:
    exhibit = manifest["exhibit"]
    languages = list(exhibit.get("languages") or [])
    default = exhibit.get("default_language") or (languages[0] if languages else "en")
    return [default, *[code for code in languages if code != default]]


def write_site(out_root: Path, manifests: list[dict],
               structured_data: Mapping[str, Mapping[str, Any]] | None = None, link_report: bool = False) -> list[Path]:
    """Write the index, one viewer page and one text page per object for each exhibit, plus static/ and vendor/.

    The build report is for the museum's staff: visitor pages link to it only with `link_report`.

    Every URL in the pages is relative, so the site can be served from any path. Nothing here knows about
    `vitrina serve`: its live-reload script is added by pipeline.preview while serving, never written to disk.
    `structured_data` maps an exhibit id to its schema.org JSON-LD ({"exhibit": …, "objects": {id: …}}), which the
    exhibit page and the object pages embed for search engines.
    """
    out_root = Path(out_root)
    out_root.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    static_out = out_root / "static"
    if static_out.exists():
        shutil.rmtree(static_out)
    shutil.copytree(STATIC_DIR, static_out, ignore=shutil.ignore_patterns(".*", "__pycache__"))
    written.extend(path for path in static_out.rglob("*") if path.is_file())
    three = find_three()
    written.extend(vendor_three(three, out_root / THREE_VENDOR_PATH))
    written.extend(vendor_input_profiles(three.parent, out_root / INPUT_PROFILES_VENDOR_PATH))

    def write(relative: str, text: str) -> None:
        target = out_root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(target)

    exhibits: list[dict[str, Any]] = []
    for manifest in manifests:
        languages = _languages(manifest)
        exhibits.append({"manifest": manifest, "languages": languages, "default": languages[0]})
    index_lang = exhibits[0]["default"] if exhibits else "en"
    # The site index shows the identity of the first exhibit that has one (a site is normally one museum's).
    owner = next((m for m in manifests if m["exhibit"].get("museum")), None)
    index_tables = interface_tables(manifests[0]["exhibit"].get("ui_strings") if manifests else None)
    write("index.html", render_page("index.html", exhibits=exhibits, root="", ui=index_tables,
                                    ui_text=functools.partial(ui_text, tables=index_tables),
                                    page_lang=index_lang, lang=index_lang, pick=pick,
                                    ui_language=functools.partial(ui_language, tables=index_tables),
                                    museum=owner["exhibit"]["museum"] if owner else None,
                                    museum_root=f"{owner['exhibit']['id']}/" if owner else ""))

    for entry in exhibits:
        manifest = entry["manifest"]
        exhibit_id = manifest["exhibit"]["id"]
        tables = interface_tables(manifest["exhibit"].get("ui_strings"))
        common = {
            "manifest": manifest, "exhibit": manifest["exhibit"], "languages": entry["languages"],
            "lang": entry["default"], "page_lang": entry["default"], "pick": pick,
            "ui": tables, "viewer_strings": {**VIEWER_STRINGS, "ui": tables},
            "ui_language": functools.partial(ui_language, tables=tables),
            "ui_text": functools.partial(ui_text, tables=tables),
            "record_fields": RECORD_FIELDS, "museum": manifest["exhibit"].get("museum"),
        }
        # The build writes report.html beside report.json after the pages, so the link follows the manifest.
        report_json = manifest.get("report")
        report_page = report_json.removesuffix(".json") + ".html" \
            if isinstance(report_json, str) and link_report else None
        linked_data = (structured_data or {}).get(exhibit_id) or {}
        write(f"{exhibit_id}/index.html", render_page("exhibit.html", root="../", report_page=report_page,
                                                      museum_root="", jsonld=linked_data.get("exhibit"), **common))
        for artifact in [*manifest.get("artifacts", []), *manifest.get("unplaced", [])]:
            page = artifact.get("page") or f"objects/{artifact['id']}.html"
            depth = page.count("/")
            transcripts = {
                language: read_transcript(out_root / exhibit_id / track["captions"])
                for language, track in (artifact.get("audio") or {}).items()
                if isinstance(track, Mapping) and track.get("captions")
            }
            write(f"{exhibit_id}/{page}", render_page(
                "object.html", root="../" * (depth + 1), exhibit_root="../" * depth, museum_root="../" * depth,
                artifact=artifact, transcripts=transcripts,
                jsonld=(linked_data.get("objects") or {}).get(artifact["id"]), **common))
    return written


_VTT_TIMING = re.compile(r"^\s*(?:\d+:)?\d+:\d+\.\d+\s+-->")


def parse_vtt(text: str) -> list[str]:
    """The cue texts of a WebVTT file in order, markup tags stripped: the transcript a screen reader reads."""
    cues: list[str] = []
    lines = text.replace("\r\n", "\n").split("\n")
    index = 0
    while index < len(lines):
        if _VTT_TIMING.match(lines[index]):
            index += 1
            body: list[str] = []
            while index < len(lines) and lines[index].strip():
                body.append(re.sub(r"<[^>]+>", "", lines[index]).strip())
                index += 1
            if body:
                cues.append(" ".join(body))
        index += 1
    return cues


def read_transcript(path: Path) -> list[str]:
    """The transcript of a captions file, or an empty list when the build did not write it."""
    try:
        return parse_vtt(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
