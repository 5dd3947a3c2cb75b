"""The errors Vitrina knows about; the CLI maps these (and only these) to messages and exit codes."""

from __future__ import annotations

from dataclasses import dataclass, field


class VitrinaError(Exception):
    """Base of every error the CLI reports as a message instead of a traceback."""

    exit_code = 1


@dataclass(frozen=True)
class Problem:
    """One problem in a spec, located at file:line:col and at a path such as artifacts[3].place.room."""

    file: str
    line: int  # 1-based; 0 when unknown
    col: int  # 1-based; 0 when unknown
    path: str
    message: str
    severity: str = "error"  # "error" or "warning"

    def format(self) -> str:
        where = f"{self.file}:{self.line}:{self.col}" if self.line else self.file
        kind = "" if self.severity == "error" else "warning: "
        path = f"{self.path}: " if self.path else ""
        return f"{where}  {path}{kind}{self.message}"


@dataclass
class SpecError(VitrinaError):
    """A spec has errors; holds every problem found in one pass (warnings included, for the report)."""

    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        return format_problems(self.problems, built=False)


class AssetError(VitrinaError):
    """An asset could not be read or is unusable; the message names the file and the cause."""

    def __init__(self, path: str, cause: str) -> None:
        super().__init__(f"{path}: {cause}")
        self.path = path
        self.cause = cause


class BuildError(VitrinaError):
    """The build failed for a reason other than the spec or an asset."""


class BudgetError(VitrinaError):
    """A room exceeds a target's budget and the spec asked to fail rather than simplify."""

    def __init__(self, message: str, report: list[str] | None = None) -> None:
        super().__init__(message)
        self.report = report or []

    def __str__(self) -> str:
        return "\n".join([self.args[0], *self.report])


def format_problems(problems: list[Problem], built: bool) -> str:
    """Every problem on its own line, then the count line: '2 errors, 1 warning; nothing was built.'"""
    errors = [p for p in problems if p.severity == "error"]
    warnings = [p for p in problems if p.severity != "error"]
    lines = [p.format() for p in problems]

    def plural(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"

    tail = "" if built or not errors else "; nothing was built."
    lines.append(f"{plural(len(errors), 'error')}, {plural(len(warnings), 'warning')}{tail}")
    return "\n".join(lines)
