"""Read exhibit YAML safely (with line:col marks and includes) and turn it into the typed model, collecting every problem."""

from __future__ import annotations

import dataclasses
import functools
import io
import types
import typing
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from pipeline.errors import Problem, SpecError
from pipeline.spec import model
from pipeline.spec.fields import VALIDATORS, check_number, did_you_mean, quote
from pipeline.spec.files import resolve_asset
from pipeline.spec.model import AssetPath, AudioTrack, Exhibit, LoadedSpec

SPEC_NAME = "exhibit.yaml"
# The exhibit's own words for the viewer's interface (`vitrina i18n import` writes it; spec.translate reads it).
UI_OVERRIDE_FILE = "ui-strings.yaml"
# Limits against hostile or runaway YAML. Real exhibits are far below them: the rich example's largest file is
# ~10 KB with ~1,100 values, 8 levels deep. Pure-Python YAML reads ~100 KB/s on a busy machine, so the caps also
# bound how long a check can take.
MAX_FILE_BYTES = 512 << 10
MAX_TOTAL_BYTES = 2 << 20
MAX_DEPTH = 40
MAX_FILE_NODES = 50_000  # values written in one file
MAX_NODES = 100_000  # after expanding aliases: what an alias bomb inflates
MAX_INCLUDED_FILES = 500
MERGED_KEYS = ("rooms", "artifacts", "tours")

_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_STR = "tag:yaml.org,2002:str"
_TEXT_LIKE = {_STR, _INT, _FLOAT, _BOOL, "tag:yaml.org,2002:timestamp"}
_STANDARD_TAGS = {*_TEXT_LIKE, _NULL, "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"}


class _Invalid:
    """Marks a value that failed to convert; a problem has been recorded, and the model is never returned."""


INVALID: Any = _Invalid()


class _TooMuch(Exception):
    """The document is nested too deep or has too many values; raised while composing, to stop early."""

    def __init__(self, mark: Any, message: str) -> None:
        self.mark = mark  # a yaml.Mark, or libyaml's equivalent (same line and column)
        self.message = message


class _GuardedLoader(yaml.SafeLoader):
    """The safe loader with a nesting cap, so deep input fails fast instead of exhausting the stack."""

    def __init__(self, text: str, name: str) -> None:
        super().__init__(text)
        self.name = name
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        self._depth += 1
        self._nodes += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _TooMuch(self.peek_event().start_mark, f"the YAML is nested more than {MAX_DEPTH} levels deep")
            if self._nodes > MAX_FILE_NODES:
                raise _TooMuch(self.peek_event().start_mark, f"the file holds more than {MAX_FILE_NODES:,} values; "
                                                             "split it with include:")
            return super().compose_node(parent, index)  # type: ignore[no-untyped-call]
        finally:
            self._depth -= 1


class _Unavailable(Exception):
    """The fast path cannot give an answer (no libyaml, an empty file, or an error to word): use the slow one."""


_NODE_EVENTS = (yaml.ScalarEvent, yaml.AliasEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent)
_COLLECTION_START = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_COLLECTION_END = (yaml.SequenceEndEvent, yaml.MappingEndEvent)


def _fast_compose(text: str, shown: str) -> Node:
    """Compose with libyaml (hundreds of times faster than pure Python), after checking depth and size on its events.

    The limits are those of _GuardedLoader, counted the same way, so both paths refuse the same files. Anything
    libyaml rejects is handed to the slow path, so that syntax errors read the same on every machine.
    """
    if not getattr(yaml, "__with_libyaml__", False):
        raise _Unavailable
    from yaml._yaml import CParser

    class FastComposer(CParser, yaml.composer.Composer, yaml.resolver.Resolver):  # type: ignore[misc]
        def __init__(self, stream: io.StringIO) -> None:
            CParser.__init__(self, stream)
            yaml.composer.Composer.__init__(self)
            yaml.resolver.Resolver.__init__(self)

    def stream() -> io.StringIO:
        named = io.StringIO(text)
        named.name = shown  # libyaml takes the marks' file name from the stream
        return named

    depth = nodes = 0
    try:
        for event in yaml.parse(stream(), Loader=yaml.CSafeLoader):
            if isinstance(event, _NODE_EVENTS):
                nodes += 1
                if depth + 1 > MAX_DEPTH:
                    raise _TooMuch(event.start_mark, f"the YAML is nested more than {MAX_DEPTH} levels deep")
                if nodes > MAX_FILE_NODES:
                    raise _TooMuch(event.start_mark, f"the file holds more than {MAX_FILE_NODES:,} values; "
                                                     "split it with include:")
                if isinstance(event, _COLLECTION_START):
                    depth += 1
            elif isinstance(event, _COLLECTION_END):
                depth -= 1
        composer = FastComposer(stream())
        try:
            node = composer.get_single_node()
        finally:
            composer.dispose()
    except yaml.YAMLError:
        raise _Unavailable from None
    if node is None:
        raise _Unavailable
    return node


def display_path(path: Path) -> str:
    """How a file is named in messages: relative to the working folder when it is inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _expanded_size_problem(root: Node) -> tuple[Node, str] | None:
    """Count the nodes the document would have with every alias expanded; stop at MAX_NODES or at a cycle.

    Done with memoised sizes on an explicit stack, so even a crafted graph is measured in linear time.
    """
    sizes: dict[int, int] = {}
    in_progress: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            in_progress.discard(key)
            size = 1 + sum(sizes[id(child)] for child in _children(node))
            if size > MAX_NODES:
                return node, (f"the YAML expands to more than {MAX_NODES:,} values through aliases "
                              "(an alias bomb?); write the values out or use fewer aliases")
            sizes[key] = size
            continue
        if key in sizes:
            continue
        if key in in_progress:
            return node, "an alias refers to a value that contains itself"
        in_progress.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in in_progress:
                return child, "an alias refers to a value that contains itself"
            if id(child) not in sizes:
                stack.append((child, False))
    return None


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _key_column(line: str) -> int:
    """Where the keys of a line's mapping start: after its indentation and any list dashes ("  - id: x" → 4)."""
    column = _indent(line)
    while line[column:column + 2] == "- ":
        column += 2
        column += _indent(line[column:])
    return column


def _content_line_before(lines: list[str], index: int) -> str | None:
    """The nearest earlier line that holds YAML (comments and blank lines skipped)."""
    for earlier in reversed(lines[:index]):
        stripped = earlier.strip()
        if stripped and not stripped.startswith("#"):
            return earlier
    return None


def _indentation_problem(lines: list[str], index: int) -> str | None:
    """Why line `index` does not line up with the line above it, or None when its indentation is plausible."""
    line = lines[index]
    above = _content_line_before(lines, index)
    if above is None or not line.strip():
        return None
    indent, above_indent = _indent(line), _indent(above)
    if above.split(" #")[0].rstrip().endswith(":") and indent > above_indent:
        return None  # the first line inside the block the line above opens: any deeper indentation is fine
    if above.lstrip().startswith("- ") and indent == above_indent and not line.lstrip().startswith("-"):
        return (f"this line is a key at the indentation of the list item above it (line {index}); "
                "a list and a mapping cannot share one level")
    siblings = _key_column(above)
    if _key_column(line) != siblings:
        return f"this line is indented {indent} spaces, its siblings {siblings}; keys of one mapping must line up"
    return None


_UNCLOSED = {"']'": "[", "'}'": "{"}


def plain_syntax_error(text: str, error: yaml.MarkedYAMLError) -> str:
    """What a YAML syntax error means, in a designer's words where the cause is a common one (indentation, tabs,
    a colon inside a value, a character that needs quotes, an unclosed bracket or quote); otherwise the parser's."""
    mark = error.problem_mark or error.context_mark
    problem = error.problem or "syntax error"
    lines = text.splitlines()
    row = mark.line if mark else -1
    here = lines[row] if 0 <= row < len(lines) else ""
    if "'\\t'" in problem:  # PyYAML words a tab as a character that "cannot start any token"
        return "YAML does not allow tabs; indent with spaces"
    if 0 <= row < len(lines) and ("block end" in problem or "mapping values are not allowed" in problem
                                  or "expected key" in problem or "block mapping start" in problem):
        # The parser reports the first line that no longer fits. "mapping values" points at the colon, which may be
        # a plain value continued from a mis-indented line above.
        rows = (row, row - 1) if "mapping values" in problem and row > 0 else (row,)
        for index in rows:
            found = _indentation_problem(lines, index)
            if found is not None:
                return found if index == row else found.replace("this line", f"line {index + 1}", 1)
        if "mapping values" in problem and ": " in here.split(": ", 1)[-1]:
            return "the value holds ': ' (a colon and a space), which YAML reads as a new key; put the value in quotes"
    if "cannot start any token" in problem:
        character = problem.split("'")[1] if problem.count("'") >= 2 else "this character"
        return f"a value cannot start with '{character}' in YAML; put the value in quotes"
    if "quoted scalar" in (error.context or "") and error.context_mark is not None:
        opened = error.context_mark
        return f"the quote opened at line {opened.line + 1} column {opened.column + 1} is never closed"
    for closing, opening in _UNCLOSED.items():
        if f"or {closing}" in problem and error.context_mark is not None:
            opened = error.context_mark
            return (f"the {opening} opened at line {opened.line + 1} column {opened.column + 1} is not closed "
                    f"with {closing.strip(chr(39))} (found {here.strip()[:20]!r} instead)".replace('"', "'"))
    context = f" ({error.context})" if error.context and error.problem else ""
    return f"{problem}{context}"


class _AnyId(set[str]):
    """The ids of a kind when a file failed to parse: any id may be defined there, so none is reported unknown."""

    def __contains__(self, item: object) -> bool:
        return True

    def __bool__(self) -> bool:
        return True


class _Reader:
    """Reads YAML files into composed nodes, recording problems instead of raising."""

    def __init__(self, problems: list[Problem], unsaved: Mapping[Path, str] | None = None) -> None:
        self.problems = problems
        self.unsaved = {path.resolve(): text for path, text in (unsaved or {}).items()}
        self.total_bytes = 0
        self.unparsed: list[str] = []  # files that could not be read: ids they define are unknown, not missing

    def problem(self, file: str, line: int, col: int, message: str) -> None:
        self.problems.append(Problem(file, line, col, "", message))

    def read(self, path: Path) -> Node | None:
        shown = display_path(path)
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                self.problem(shown, 0, 0, f"the file is too large ({size:,} bytes; a spec file may have at most "
                                          f"{MAX_FILE_BYTES:,}); split it with include:")
                return None
            self.total_bytes += size
            if self.total_bytes > MAX_TOTAL_BYTES:
                self.problem(shown, 0, 0, f"the exhibit's YAML files together exceed {MAX_TOTAL_BYTES:,} bytes")
                return None
            data = self.unsaved[path.resolve()].encode() if path.resolve() in self.unsaved else path.read_bytes()
        except PermissionError:
            self.problem(shown, 0, 0, "cannot read the file: permission denied")
            return None
        except OSError as error:
            self.problem(shown, 0, 0, f"cannot read the file: {error.strerror or 'read error'}")
            return None
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            line = data[: error.start].count(b"\n") + 1
            self.problem(shown, line, 0, "the file is not UTF-8 text")
            return None
        node: Node | None
        try:
            node = _fast_compose(text, shown)
        except _TooMuch as too_much:
            self.problem(shown, too_much.mark.line + 1, too_much.mark.column + 1, too_much.message)
            return None
        except _Unavailable:
            node = self.compose_slowly(text, shown)
        if node is None:
            return None
        bomb = _expanded_size_problem(node)
        if bomb is not None:
            bad, message = bomb
            self.problem(shown, bad.start_mark.line + 1, bad.start_mark.column + 1, message)
            return None
        return node

    def compose_slowly(self, text: str, shown: str) -> Node | None:
        """Compose with PyYAML's pure-Python parser, which guards depth and size and words errors the same everywhere."""
        try:
            loader = _GuardedLoader(text, shown)
        except yaml.reader.ReaderError as error:
            line = text[: error.position].count("\n") + 1
            self.problem(shown, line, 0, f"the file holds a control character (#x{error.character:04x}) that YAML "
                                         "does not allow")
            return None
        try:
            node = loader.get_single_node()
        except _TooMuch as too_much:
            self.problem(shown, too_much.mark.line + 1, too_much.mark.column + 1, too_much.message)
            return None
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark or error.context_mark
            line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
            self.problem(shown, line, col, f"YAML syntax error: {plain_syntax_error(text, error)}")
            self.unparsed.append(shown)
            return None
        except yaml.YAMLError as error:
            self.problem(shown, 0, 0, f"YAML error: {str(error).splitlines()[0]}")
            return None
        finally:
            loader.dispose()
        if node is None:
            self.problem(shown, 0, 0, "the file is empty")
        return node


def _describe(node: Node) -> str:
    """What a YAML value is, in a designer's words."""
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    if isinstance(node, ScalarNode):
        if node.tag == _NULL:
            return "nothing"
        if node.tag in (_INT, _FLOAT):
            return f"the number {node.value}"
        if node.tag == _BOOL:
            return node.value
        return f"the text {quote(node.value)}"
    return "a value"


def _type_name(hint: Any) -> str:
    """What a type hint expects, in a designer's words."""
    origin = typing.get_origin(hint)
    if hint is str:
        return "text"
    if hint is float or hint is int:
        return "a number"
    if hint is bool:
        return "true or false"
    if hint is AssetPath:
        return "a file name"
    if origin is Literal:
        return "one of " + ", ".join(str(a) for a in typing.get_args(hint))
    if origin is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return "a list"
        return f"a list of {len(args)} numbers"
    if origin is Mapping:
        return "a mapping"
    if dataclasses.is_dataclass(hint):
        return "a mapping"
    return "a value"


class _Converter:
    """Walks composed YAML nodes along the model's type hints, building dataclasses and recording problems."""

    def __init__(self, root: Path, problems: list[Problem]) -> None:
        self.root = root
        self.problems = problems
        self.languages: tuple[str, ...] | None = None  # known once the exhibit block is read
        self.locations: dict[str, tuple[str, int, int]] = {}
        self.scalars = SafeConstructor()
        # Ids written in the YAML, even of items that failed to convert, so that references to them are not
        # reported a second time as unknown.
        self.declared: dict[str, set[str]] = {"room": set(), "artifact": set(), "annotation": set(), "tour": set()}

    def note_ids(self, cls: Any, given: Mapping[str, tuple[ScalarNode, Node]]) -> None:
        kind = {model.Room: "room", model.Artifact: "artifact", model.Tour: "tour"}.get(cls)
        if kind is None or "id" not in given or not isinstance(given["id"][1], ScalarNode):
            return
        owner = str(given["id"][1].value)
        self.declared[kind].add(owner)
        annotations = given.get("annotations", (None, None))[1]
        if kind == "artifact" and isinstance(annotations, SequenceNode):
            for item in annotations.value:
                if isinstance(item, MappingNode):
                    for key, value in item.value:
                        if isinstance(key, ScalarNode) and key.value == "id" and isinstance(value, ScalarNode):
                            self.declared["annotation"].add(f"{owner}/{value.value}")

    # -- reporting ---------------------------------------------------------------------------------------------

    def error(self, node: Node, path: str, message: str, severity: str = "error") -> None:
        mark = node.start_mark
        self.problems.append(Problem(mark.name, mark.line + 1, mark.column + 1, path, message, severity))

    def remember(self, node: Node, path: str) -> None:
        self.locations[path] = (node.start_mark.name, node.start_mark.line + 1, node.start_mark.column + 1)

    # -- scalars -----------------------------------------------------------------------------------------------

    def scalar(self, node: Node) -> Any:
        """The Python value of a scalar node: None, bool, int, float or str (timestamps stay text)."""
        assert isinstance(node, ScalarNode)
        try:
            if node.tag == _NULL:
                return None
            if node.tag == _BOOL:
                return self.scalars.construct_yaml_bool(node)
            if node.tag == _INT:
                return self.scalars.construct_yaml_int(node)
            if node.tag == _FLOAT:
                return self.scalars.construct_yaml_float(node)
        except (ValueError, TypeError, OverflowError, yaml.YAMLError):
            return INVALID
        return str(node.value)

    def text_scalar(self, node: Node, path: str) -> str | _Invalid:
        """A scalar used as text: numbers, dates and words are taken exactly as written."""
        if isinstance(node, ScalarNode) and node.tag in _TEXT_LIKE:
            return str(node.value)
        if node.tag not in _STANDARD_TAGS:
            shown = node.tag.replace("tag:yaml.org,2002:", "!!")
            self.error(node, path, f"unsupported YAML tag {quote(shown)}; write plain values")
            return INVALID
        self.error(node, path, f"expected text, got {_describe(node)}")
        return INVALID

    def number(self, node: Node, path: str, rules: Mapping[str, Any]) -> float | _Invalid:
        value = self.scalar(node) if isinstance(node, ScalarNode) else INVALID
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.error(node, path, f"expected a number, got {_describe(node)}")
            return INVALID
        reason = check_number(float(value), rules.get("min"), rules.get("max"))
        if reason:
            self.error(node, path, reason)
            return INVALID
        return float(value)

    # -- the walk ----------------------------------------------------------------------------------------------

    def convert(self, node: Node, hint: Any, path: str, rules: Mapping[str, Any]) -> Any:
        self.remember(node, path)
        if node.tag not in _STANDARD_TAGS:
            shown = node.tag.replace("tag:yaml.org,2002:", "!!")
            self.error(node, path, f"unsupported YAML tag {quote(shown)}; write plain values")
            return INVALID
        origin = typing.get_origin(hint)
        args = typing.get_args(hint)
        if origin in (types.UnionType, typing.Union):
            return self.convert_union(node, [a for a in args if a is not type(None)], type(None) in args, path, rules)
        if hint is str:
            return self.convert_str(node, path, rules)
        if hint is float:
            return self.number(node, path, rules)
        if hint is bool:
            value = self.scalar(node) if isinstance(node, ScalarNode) else INVALID
            if not isinstance(value, bool):
                self.error(node, path, f"expected true or false, got {_describe(node)}")
                return INVALID
            return value
        if origin is Literal:
            return self.convert_choice(node, args, path)
        if hint is AssetPath:
            return self.convert_asset(node, path, rules)
        if origin is tuple:
            return self.convert_tuple(node, args, path, rules)
        if origin is Mapping and args == (str, str):
            return self.convert_text(node, path, rules)
        if origin is Mapping and args == (str, AudioTrack):
            return self.convert_audio(node, path)
        if dataclasses.is_dataclass(hint):
            return self.convert_dataclass(node, hint, path)
        raise TypeError(f"the model uses a type the loader does not know: {hint}")  # a bug in model.py, not input

    def convert_union(self, node: Node, options: list[Any], optional: bool, path: str,
                      rules: Mapping[str, Any]) -> Any:
        if isinstance(node, ScalarNode) and node.tag == _NULL and optional and AssetPath not in options:
            return None  # (an empty file key is reported by convert_asset rather than read as "no file")
        # `plinth: true` means a default plinth and `none` means no frame; a file name has no such shorthand.
        dataclass_options: list[Any] = [o for o in options if dataclasses.is_dataclass(o) and o is not AssetPath]
        if optional and dataclass_options and isinstance(node, ScalarNode):
            value = self.scalar(node)
            if value is False or (isinstance(value, str) and value.lower() == "none"):
                return None
            if value is True:
                return dataclass_options[0]()
        if len(options) == 1:
            return self.convert(node, options[0], path, rules)
        # Vec2 | float: a list means the pair, a scalar the number.
        for option in options:
            wants_list = typing.get_origin(option) is tuple
            if wants_list == isinstance(node, SequenceNode):
                return self.convert(node, option, path, rules)
        self.error(node, path, f"expected {' or '.join(_type_name(o) for o in options)}, got {_describe(node)}")
        return INVALID

    def convert_str(self, node: Node, path: str, rules: Mapping[str, Any]) -> str | _Invalid:
        value = self.text_scalar(node, path)
        if isinstance(value, _Invalid):
            return value
        kind = rules.get("kind")
        if kind in VALIDATORS:
            reason = VALIDATORS[kind](value)
            if reason:
                self.error(node, path, reason)
                return INVALID
        return value

    def convert_choice(self, node: Node, choices: tuple[Any, ...], path: str) -> Any:
        value = node.value if isinstance(node, ScalarNode) and node.tag != _NULL else None
        if value in choices:
            return value
        listed = ", ".join(str(c) for c in choices)
        if value is None:
            self.error(node, path, f"expected one of {listed}, got {_describe(node)}")
        else:
            self.error(node, path, f"{quote(value)} is not one of {listed}{did_you_mean(str(value), choices)}")
        return INVALID

    def convert_asset(self, node: Node, path: str, rules: Mapping[str, Any]) -> AssetPath | _Invalid:
        if isinstance(node, ScalarNode) and node.tag in (_BOOL, _NULL, _INT, _FLOAT):
            self.error(node, path, f"expected a file name, got {_describe(node)}")
            return INVALID
        written = self.text_scalar(node, path)
        if isinstance(written, _Invalid):
            return written
        resolved, reason = resolve_asset(written, self.root, rules["asset"])
        if reason or resolved is None:
            self.error(node, path, reason or "unusable file")
            return INVALID
        return AssetPath(written, resolved)

    def convert_tuple(self, node: Node, args: tuple[Any, ...], path: str, rules: Mapping[str, Any]) -> Any:
        if not isinstance(node, SequenceNode):
            self.error(node, path, f"expected {_type_name(tuple[args])}, got {_describe(node)}")  # type: ignore[valid-type]
            return INVALID
        variadic = len(args) == 2 and args[1] is Ellipsis
        if not variadic and len(node.value) != len(args):
            self.error(node, path, f"expected a list of {len(args)} numbers, got {len(node.value)}")
            return INVALID
        if variadic and len(node.value) < rules.get("min_items", 0):
            self.error(node, path, f"needs at least {rules['min_items']} item{'s' if rules['min_items'] > 1 else ''}")
            return INVALID
        items = []
        for index, item in enumerate(node.value):
            item_hint = args[0] if variadic else args[index]
            items.append(self.convert(item, item_hint, f"{path}[{index}]", rules))
        if variadic:
            # Keep the good items: the bad ones are reported, and their siblings can still be checked.
            return tuple(i for i in items if not isinstance(i, _Invalid))
        if any(isinstance(i, _Invalid) for i in items):
            return INVALID
        return tuple(items)

    def convert_text(self, node: Node, path: str, rules: Mapping[str, Any]) -> Mapping[str, str] | _Invalid:
        default = (self.languages or ("en",))[0]
        if isinstance(node, ScalarNode) and node.tag != _NULL:
            value = self.text_scalar(node, path)
            return INVALID if isinstance(value, _Invalid) else {default: value}
        if not isinstance(node, MappingNode):
            self.error(node, path, f"expected text, or a mapping of language to text, got {_describe(node)}")
            return INVALID
        result: dict[str, str] = {}
        ok = True
        for key_node, value_node in self.pairs(node, path):
            language = key_node.value
            where = f"{path}.{language}"
            if self.languages is not None and language not in self.languages:
                self.error(key_node, where, f"language {quote(language)} is not one of the exhibit's languages "
                                            f"({', '.join(self.languages)}){did_you_mean(language, self.languages)}")
                ok = False
                continue
            self.remember(value_node, where)
            value = self.text_scalar(value_node, where)
            if isinstance(value, _Invalid):
                ok = False
            else:
                result[language] = value
        return result if ok or result else INVALID

    def convert_audio(self, node: Node, path: str) -> Mapping[str, AudioTrack] | _Invalid:
        if not isinstance(node, MappingNode):
            self.error(node, path, f"expected a mapping of language to audio file (with captions:), got {_describe(node)}")
            return INVALID
        sources: dict[str, AssetPath] = {}
        captions: dict[str, tuple[Node, AssetPath]] = {}
        ok = True
        for key_node, value_node in self.pairs(node, path):
            key = key_node.value
            where = f"{path}.{key}"
            self.remember(value_node, where)
            if key == "captions":
                if not isinstance(value_node, MappingNode):
                    self.error(value_node, where, f"expected a mapping of language to .vtt file, got {_describe(value_node)}")
                    ok = False
                    continue
                for lang_node, file_node in self.pairs(value_node, where):
                    lang_where = f"{where}.{lang_node.value}"
                    self.remember(file_node, lang_where)
                    if not self.known_language(lang_node, lang_where):
                        ok = False
                        continue
                    asset = self.convert_asset(file_node, lang_where, {"asset": "captions"})
                    if isinstance(asset, _Invalid):
                        ok = False
                    else:
                        captions[lang_node.value] = (file_node, asset)
                continue
            if not self.known_language(key_node, where, extra=("captions",)):
                ok = False
                continue
            asset = self.convert_asset(value_node, where, {"asset": "audio"})
            if isinstance(asset, _Invalid):
                ok = False
            else:
                sources[key] = asset
        for language, (file_node, _) in captions.items():
            if language not in sources:
                self.error(file_node, f"{path}.captions.{language}", f"captions for {quote(language)} but no audio "
                                                                     f"file for {quote(language)}")
                ok = False
        if not ok and not sources:
            return INVALID
        return {lang: AudioTrack(src, captions[lang][1] if lang in captions else None) for lang, src in sources.items()}

    def known_language(self, key_node: Node, path: str, extra: tuple[str, ...] = ()) -> bool:
        if self.languages is None or key_node.value in self.languages:
            return True
        choices = (*self.languages, *extra)
        self.error(key_node, path, f"language {quote(key_node.value)} is not one of the exhibit's languages "
                                   f"({', '.join(self.languages)}){did_you_mean(key_node.value, choices)}")
        return False

    def pairs(self, node: MappingNode, path: str) -> list[tuple[ScalarNode, Node]]:
        """The key/value pairs of a mapping whose keys are text; other keys and duplicates are problems."""
        seen: dict[str, Node] = {}
        result: list[tuple[ScalarNode, Node]] = []
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag == _NULL or key_node.tag == "tag:yaml.org,2002:merge":
                what = "'<<' merge keys are not supported" if key_node.tag == "tag:yaml.org,2002:merge" else \
                    f"a key must be a word, not {_describe(key_node)}"
                self.error(key_node, path, what)
                continue
            key = str(key_node.value)
            if key in seen:
                first = seen[key].start_mark
                self.error(key_node, f"{path}.{key}" if path else key,
                           f"duplicate key {quote(key)} (first given at line {first.line + 1})")
                continue
            seen[key] = key_node
            result.append((key_node, value_node))
        return result

    def convert_dataclass(self, node: Node, cls: Any, path: str) -> Any:
        if not isinstance(node, MappingNode):
            self.error(node, path, f"expected a mapping, got {_describe(node)}")
            return INVALID
        fields = {f.name: f for f in dataclasses.fields(cls)}
        hints = _type_hints(cls)
        given: dict[str, tuple[ScalarNode, Node]] = {}
        for key_node, value_node in self.pairs(node, path):
            key = key_node.value
            if key not in fields:
                where = f"{path}.{key}" if path else key
                self.error(key_node, where, f"unknown key {quote(key)}{did_you_mean(key, fields)}")
                continue
            given[key] = (key_node, value_node)
        self.note_ids(cls, given)
        values: dict[str, Any] = {}
        complete = True
        # The exhibit block comes first so that every text after it knows the exhibit's languages.
        order = sorted(fields, key=lambda name: name not in ("exhibit", "languages"))
        for name in order:
            spec_field = fields[name]
            where = f"{path}.{name}" if path else name
            if name in given:
                value = self.convert(given[name][1], hints[name], where, spec_field.metadata)
                if name == "languages" and cls is model.ExhibitInfo and not isinstance(value, _Invalid):
                    self.languages = value
                if (spec_field.metadata.get("required") and isinstance(value, Mapping)
                        and not any(str(text).strip() for text in value.values())):
                    self.error(given[name][1], where, f"{quote(name)} is empty")
                    value = INVALID
                if not isinstance(value, _Invalid):
                    values[name] = value
                elif spec_field.metadata.get("required"):
                    complete = False
            elif spec_field.metadata.get("required"):
                self.error(node, path, f"missing required key {quote(name)}")
                complete = False
        if cls is Exhibit and "exhibit" not in values:
            # The rest of the exhibit is still worth checking: stand in for the broken block (its problems
            # are recorded, so this stand-in never leaves the loader).
            values["exhibit"] = model.ExhibitInfo(id="exhibit", languages=self.languages or ("en",))
            complete = True
        # A bad optional value falls back to its default so the rest can still be checked; the problem is
        # recorded, so this partial object never leaves the loader. Without a required value there is no object.
        if not complete:
            return INVALID
        return cls(**values)  # every field has a default, so missing optional keys are fine


def find_spec_file(path: Path) -> Path:
    """The exhibit.yaml for a folder or a file path; a SpecError when there is none."""
    if path.is_dir():
        candidate = path / SPEC_NAME
        if not candidate.is_file():
            raise SpecError([Problem(display_path(path), 0, 0, "", f"no {SPEC_NAME} in this folder")])
        return candidate
    if not path.exists():
        raise SpecError([Problem(display_path(path), 0, 0, "", "no such file or folder")])
    return path


def _include_files(node: MappingNode, root: Path, spec_file: Path, reader: _Reader,
                   converter: _Converter) -> list[Path]:
    """The files named by the `include:` globs of the main file, in a stable order; problems are recorded."""
    include_node = next((v for k, v in node.value if isinstance(k, ScalarNode) and k.value == "include"), None)
    if include_node is None:
        return []
    patterns = converter.convert(include_node, tuple[str, ...], "include", {})
    if isinstance(patterns, _Invalid):
        return []
    files: list[Path] = []
    for index, pattern in enumerate(patterns):
        where = f"include[{index}]"
        item = include_node.value[index]
        parts = PurePosixPath(pattern).parts
        if pattern.startswith(("/", "\\")) or ".." in parts or "\\" in pattern or not parts:
            converter.error(item, where, f"{quote(pattern)} leaves the exhibit folder; includes must stay inside it")
            continue
        matches = sorted(p for p in root.glob(pattern) if p.is_file())
        escaped = [p for p in matches if not p.resolve().is_relative_to(root.resolve())]
        if escaped:
            shown = escaped[0].relative_to(root).as_posix()
            converter.error(item, where, f"{quote(shown)} is a symlink that leads outside the exhibit folder; "
                                         "includes must stay inside it")
            continue
        matches = [p for p in matches if p.resolve() != spec_file.resolve()]
        if not matches:
            converter.error(item, where, f"{quote(pattern)} matches no file")
            continue
        for match in matches:
            if match not in files:
                files.append(match)
    if len(files) > MAX_INCLUDED_FILES:
        converter.error(include_node, "include", f"includes {len(files)} files; at most {MAX_INCLUDED_FILES}")
        return []
    return files


def _merge_includes(main: MappingNode, included: list[tuple[Path, Node]], converter: _Converter) -> MappingNode:
    """One top-level mapping whose rooms, artifacts and tours lists hold the main file's items, then each include's."""
    extra: dict[str, list[Node]] = {key: [] for key in MERGED_KEYS}
    for _, node in included:
        if not isinstance(node, MappingNode):
            converter.error(node, "", f"an included file must be a mapping with rooms, artifacts or tours, "
                                      f"got {_describe(node)}")
            continue
        for key_node, value_node in converter.pairs(node, ""):
            key = key_node.value
            if key not in MERGED_KEYS:
                hint = " (only the main exhibit file has one)" if key in ("exhibit", "include") else \
                    did_you_mean(key, MERGED_KEYS)
                converter.error(key_node, key, f"an included file may only hold rooms, artifacts and tours, "
                                               f"not {quote(key)}{hint}")
                continue
            if not isinstance(value_node, SequenceNode):
                converter.error(value_node, key, f"expected a list, got {_describe(value_node)}")
                continue
            extra[key].extend(value_node.value)
    pairs = list(main.value)
    for key in MERGED_KEYS:
        if not extra[key]:
            continue
        position = next((i for i, (k, _) in enumerate(pairs) if isinstance(k, ScalarNode) and k.value == key), None)
        if position is None:
            key_node = ScalarNode(_STR, key, main.start_mark, main.start_mark)
            pairs.append((key_node, SequenceNode("tag:yaml.org,2002:seq", extra[key], main.start_mark, main.end_mark)))
        else:
            key_node, value_node = pairs[position]
            if isinstance(value_node, SequenceNode):
                merged = SequenceNode(value_node.tag, [*value_node.value, *extra[key]],
                                      value_node.start_mark, value_node.end_mark)
                pairs[position] = (key_node, merged)
    return MappingNode(main.tag, pairs, main.start_mark, main.end_mark)


def load(path: Path, strict: bool = False, rooms_fit: bool = False,
         triangle_budgets: Mapping[str, int] | None = None, unsaved: Mapping[Path, str] | None = None) -> LoadedSpec:
    """Read, merge and validate an exhibit; raise SpecError with every problem when it is not clean.

    `unsaved` gives some YAML files' text as it would be (serve --edit's dry run while dragging), read instead of
    the files on disk.
    """
    from pipeline.spec.rules import check_exhibit

    spec_file = find_spec_file(path).absolute()
    root = spec_file.parent
    problems: list[Problem] = []
    reader = _Reader(problems, unsaved)
    converter = _Converter(root, problems)
    main = reader.read(spec_file)
    files = [spec_file]
    exhibit: Any = INVALID
    if main is not None and not isinstance(main, MappingNode):
        converter.error(main, "", f"an exhibit file must be a mapping with exhibit, rooms, artifacts and tours, "
                                  f"got {_describe(main)}")
    elif main is not None:
        included: list[tuple[Path, Node]] = []
        for include in _include_files(main, root, spec_file, reader, converter):
            files.append(include)
            node = reader.read(include)
            if node is not None:
                included.append((include, node))
        if reader.unparsed:
            # Errors that only follow from a file that could not be read would bury the real one.
            converter.declared = {kind: _AnyId() for kind in converter.declared}
        merged = _merge_includes(main, included, converter)
        exhibit = converter.convert(merged, Exhibit, "", {})
        if not isinstance(exhibit, _Invalid):
            check_exhibit(exhibit, converter.locations, converter.declared, display_path(spec_file), problems,
                          rooms_fit=rooms_fit, root=root, triangle_budgets=triangle_budgets)
    errors = [p for p in problems if p.severity == "error"]
    if strict:
        problems[:] = [dataclasses.replace(p, severity="error") for p in problems]
    if isinstance(exhibit, _Invalid) and not errors:
        # A conversion that fails always records why; this guards the promise that no half-read model leaves.
        problems.append(Problem(display_path(spec_file), 0, 0, "", "the exhibit could not be read"))
    if any(p.severity == "error" for p in problems):
        raise SpecError(_sorted(problems, files))
    return LoadedSpec(exhibit=exhibit, root=root.resolve(), spec_file=spec_file, files=tuple(files),
                      warnings=tuple(_sorted(problems, files)))


def _sorted(problems: list[Problem], files: list[Path]) -> list[Problem]:
    """Problems in reading order: by file (main first, then includes), then line and column."""
    order = {display_path(f): i for i, f in enumerate(files)}
    return sorted(problems, key=lambda p: (not p.message.startswith("YAML"), order.get(p.file, len(order)),
                                           p.line, p.col))


@functools.cache
def _type_hints(cls: type) -> dict[str, Any]:
    """A spec class's field types, resolved once per process: resolving them for each of 200 artifacts took half
    of a big exhibit's load."""
    return typing.get_type_hints(cls, vars(model))
