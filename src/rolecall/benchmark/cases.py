"""Benchmark suites and cases: the file format operators author, strictly validated.

A suite is a JSONL file (one case per line) or a YAML file (a list of cases, or ``{cases: [...]}``);
its name is the file's stem. Every case says what to send (``messages``, optional ``tools``), how to
grade it (``grader`` + ``grader_args``, ``reference``, ``rubric``, ``expected_tools``), where it
sits (``task``, ``role``, ``bucket``, ``quick``) and where it came from (``source``, ``license``).
Errors name the suite, the case and the field, for example::

    suite coder.jsonl case 'he-12': field 'grader': unknown grader 'exactt' (expected one of ...)

``quick`` cases are the hard-regression subset (a quick run); a full run takes every case.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Final, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from rolecall.benchmark.grader_args import ARGS_MODELS, GRADER_NAMES
from rolecall.errors import ConfigError

__all__ = [
    "DEFAULT_ROLES",
    "TASKS",
    "BenchCase",
    "Suite",
    "SuiteError",
    "builtin_suites",
    "load_suite",
    "load_suites",
    "parse_suite",
    "select_cases",
]

Task = Literal[
    "text.chat",
    "reasoning.multi_step",
    "code.edit",
    "tools.function_calling",
    "json.schema_adherence",
    "text.classification",
    "text.language_detection",
]
TASKS: Final[tuple[str, ...]] = Task.__args__  # type: ignore[attr-defined]
DEFAULT_ROLES: Final[dict[str, str]] = {
    "text.chat": "general.chat",
    "reasoning.multi_step": "general.chat",
    "code.edit": "coder.patch",
    "tools.function_calling": "tool.agent",
    "json.schema_adherence": "coder.review",
    "text.classification": "classifier",
    "text.language_detection": "language.detector",
}
_TOOL_TASK: Final = "tools.function_calling"


class SuiteError(ConfigError):
    """A suite file is malformed; the message names the suite, the case and the field."""


class CaseMessage(BaseModel):
    """One chat turn of a benchmark case's ``messages``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Literal["system", "user", "assistant"]
    content: str = Field(min_length=1)


class BenchCase(BaseModel):
    """One benchmark case (see the module docstring for the format)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:+-]*$")
    task: Task
    role: str | None = None
    bucket: Literal["easy", "medium", "hard"]
    quick: bool = False
    messages: list[CaseMessage] = Field(min_length=1)
    tools: list[dict[str, Any]] | None = None
    expected_tools: list[str] | None = None
    reference: str | None = None
    grader: str
    grader_args: dict[str, Any] = Field(default_factory=dict)
    rubric: str | None = None
    constrain: bool = True
    max_tokens: int = Field(default=256, ge=1, le=8192)
    source: str = Field(min_length=1)
    license: str = Field(min_length=1)

    @property
    def effective_role(self) -> str:
        return self.role or DEFAULT_ROLES[self.task]

    @property
    def needs_tools(self) -> bool:
        return bool(self.tools)

    def parsed_args(self) -> Any:
        """The validated `grader_args` model of this case's grader."""
        return ARGS_MODELS[self.grader].model_validate(self.grader_args)

    @model_validator(mode="after")
    def _consistent(self) -> BenchCase:
        if self.grader not in ARGS_MODELS:
            raise _FieldProblemError(
                "grader",
                f"unknown grader {self.grader!r} (expected one of {', '.join(GRADER_NAMES)})",
            )
        try:
            args = self.parsed_args()
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            message = _message(first)
            raise _FieldProblemError(
                f"grader_args.{where}" if where else "grader_args", message
            ) from None
        _check_grader_needs(self, args)
        return self


class _FieldProblemError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _check_grader_needs(case: BenchCase, args: Any) -> None:
    """Cross-field rules: what each grader needs from the rest of the case."""
    needs_reference = {"exact", "choice", "numeric"}
    if case.grader in needs_reference and not case.reference:
        raise _FieldProblemError("reference", f"grader {case.grader!r} needs a reference answer")
    if case.grader == "choice" and (case.reference or "") not in args.letters:
        raise _FieldProblemError("reference", f"must be one of the letters {args.letters!r}")
    if case.grader == "numeric":
        try:
            float(str(case.reference).replace(",", ""))
        except ValueError:
            raise _FieldProblemError("reference", "grader 'numeric' needs a number") from None
    if case.grader == "judge" and not (case.reference or case.rubric):
        raise _FieldProblemError("rubric", "grader 'judge' needs a reference answer or a rubric")
    if case.grader == "tool_calls":
        if not case.tools:
            raise _FieldProblemError("tools", "grader 'tool_calls' needs the tools to offer")
        if not case.expected_tools:
            raise _FieldProblemError(
                "expected_tools", "grader 'tool_calls' needs the expected names"
            )
        offered = {str((t.get("function") or {}).get("name")) for t in case.tools}
        unknown = sorted(set(case.expected_tools) - offered)
        if unknown:
            raise _FieldProblemError("expected_tools", f"not among the offered tools: {unknown}")
    if case.task == _TOOL_TASK and case.grader != "tool_calls":
        raise _FieldProblemError("grader", f"task {_TOOL_TASK!r} is graded by 'tool_calls'")


@dataclass(frozen=True)
class Suite:
    """A named, ordered set of cases (ids unique within the suite)."""

    name: str
    cases: tuple[BenchCase, ...]
    source: str = ""

    @property
    def quick_cases(self) -> tuple[BenchCase, ...]:
        return tuple(c for c in self.cases if c.quick)

    @property
    def tasks(self) -> list[str]:
        return sorted({c.task for c in self.cases})


def _records(text: str, label: str, is_yaml: bool) -> list[tuple[str, Any]]:
    """(where, raw case) pairs; ``where`` is ``line N`` or ``item N`` for errors before an id."""
    if not is_yaml:
        out = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip() or line.lstrip().startswith("//"):
                continue
            try:
                out.append((f"line {number}", json.loads(line)))
            except json.JSONDecodeError as exc:
                raise SuiteError(label, f"line {number}", f"not valid JSON: {exc.msg}") from None
        return out
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SuiteError(label, "$", f"not valid YAML: {exc}") from None
    if isinstance(data, dict) and set(data) == {"cases"}:
        data = data["cases"]
    if not isinstance(data, list):
        raise SuiteError(label, "$", "a YAML suite is a list of cases (or a mapping with 'cases')")
    return [(f"item {i + 1}", item) for i, item in enumerate(data)]


def _case(label: str, where: str, raw: Any) -> BenchCase:
    if not isinstance(raw, dict):
        raise SuiteError(label, where, f"a case is a JSON object, got {type(raw).__name__}")
    case_name = f"case {raw['id']!r}" if isinstance(raw.get("id"), str) else where
    try:
        return BenchCase.model_validate(raw)
    except ValidationError as exc:
        field, message = _describe(exc)
        raise SuiteError(label, case_name, f"field {field!r}: {message}") from None


def _describe(exc: ValidationError) -> tuple[str, str]:
    first = exc.errors()[0]
    context = first.get("ctx") or {}
    problem = context.get("error")
    if isinstance(problem, _FieldProblemError):
        return problem.field, problem.message
    field = ".".join(str(part) for part in first["loc"]) or "$"
    return field, _message(first)


def _message(error: Any) -> str:
    """A pydantic error in the words of the suite format."""
    if error["type"] == "extra_forbidden":
        return "unknown field (check the spelling; see docs/benchmark.md)"
    if error["type"] == "missing":
        return "required field is missing"
    return str(error["msg"]).removeprefix("Value error, ")


def parse_suite(text: str, name: str, *, is_yaml: bool = False, source: str = "") -> Suite:
    """Validate suite text; ``name`` labels errors (the file name) and names the suite."""
    label = f"suite {name}"
    cases: list[BenchCase] = []
    seen: set[str] = set()
    for where, raw in _records(text, label, is_yaml):
        case = _case(label, where, raw)
        if case.id in seen:
            raise SuiteError(label, f"case {case.id!r}", "field 'id': duplicate case id")
        seen.add(case.id)
        cases.append(case)
    if not cases:
        raise SuiteError(label, "$", "the suite has no cases")
    return Suite(Path(name).stem, tuple(cases), source or name)


def load_suite(path: Path | str) -> Suite:
    """Load and validate one suite file (``.jsonl``, ``.yaml`` or ``.yml``)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SuiteError(f"suite {path.name}", "$", f"cannot read {path}: {exc.strerror}") from None
    return parse_suite(text, path.name, is_yaml=path.suffix in (".yaml", ".yml"), source=str(path))


def builtin_suites() -> list[Suite]:
    """The suites shipped in ``rolecall/benchmark/data`` (built by ``scripts/build_suites.py``)."""
    folder = resources.files("rolecall.benchmark") / "data"
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".jsonl")), key=lambda f: f.name)
    return [
        parse_suite(f.read_text(encoding="utf-8"), f.name, source=f"builtin:{f.name}")
        for f in files
    ]


def load_suites(paths: Iterable[Path | str] | None) -> list[Suite]:
    """The given suite files, or the built-in suites when none are given; names must be unique."""
    suites = [load_suite(p) for p in paths] if paths else builtin_suites()
    names = [s.name for s in suites]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SuiteError("suites", "$", f"two suites share the name(s) {duplicates}; rename a file")
    return suites


def select_cases(
    suites: Sequence[Suite], mode: str, case_ids: Iterable[str] | None = None
) -> list[tuple[str, BenchCase]]:
    """(suite name, case) pairs of a run: quick cases or every case, optionally only ``case_ids``."""
    wanted = set(case_ids) if case_ids else None
    chosen = []
    for suite in suites:
        for case in suite.quick_cases if mode == "quick" else suite.cases:
            if wanted is None or case.id in wanted or f"{suite.name}/{case.id}" in wanted:
                chosen.append((suite.name, case))
    return chosen
