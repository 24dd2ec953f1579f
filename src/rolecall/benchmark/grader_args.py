"""The grader vocabulary and each grader's arguments, validated when a suite is loaded.

Owns `GRADER_NAMES` and one strict pydantic model per grader (`grader_args` in a suite case).
Kept apart from the grading code so that loading a suite never imports a grader's dependencies.
"""

from __future__ import annotations

import re
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "ARGS_MODELS",
    "GRADER_NAMES",
    "ChoiceArgs",
    "CodeArgs",
    "ExactArgs",
    "JsonSchemaArgs",
    "JudgeArgs",
    "NumericArgs",
    "RegexArgs",
    "ToolCallArgs",
]


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExactArgs(_Args):
    """Exact match against ``reference`` or any of ``accept`` (case-folded, trimmed by default)."""

    accept: list[str] = Field(default_factory=list)
    case_sensitive: bool = False


class ChoiceArgs(_Args):
    """A multiple-choice letter; ``letters`` are the valid options (the reference is one)."""

    letters: str = Field(default="ABCD", pattern=r"^[A-J]{2,10}$")


class NumericArgs(_Args):
    """A number compared within ``tolerance`` (absolute, or relative when ``relative``)."""

    tolerance: float = Field(default=1e-6, ge=0)
    relative: bool = False


class RegexArgs(_Args):
    """A regular expression that must match somewhere in the answer (``flags``: any of ``ims``)."""

    pattern: str
    flags: str = Field(default="", pattern=r"^[ims]*$")

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        return value


class JsonSchemaArgs(_Args):
    """The JSON Schema the answer's JSON document must satisfy."""

    json_schema: dict[str, Any] = Field(alias="schema")

    @field_validator("json_schema")
    @classmethod
    def _valid_schema(cls, value: dict[str, Any]) -> dict[str, Any]:
        from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
        from jsonschema.exceptions import SchemaError  # type: ignore[import-untyped]

        try:
            Draft202012Validator.check_schema(value)
        except SchemaError as exc:
            raise ValueError(f"not a valid JSON Schema: {exc.message}") from None
        return value


class CodeArgs(_Args):
    """Python tests run against the answer's code in a sandboxed subprocess.

    ``tests`` is appended to the program; when it defines ``check(candidate)`` (HumanEval style),
    ``check(<entry_point>)`` is called. ``prefix`` (e.g. the HumanEval prompt) is prepended when
    the answer does not define ``entry_point`` itself.
    """

    tests: str = Field(min_length=1)
    entry_point: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    prefix: str = ""
    timeout_s: float = Field(default=5.0, gt=0, le=60)
    memory_mb: int = Field(default=512, ge=64, le=4096)


class ToolCallArgs(_Args):
    """Expected tool calls: names come from the case's ``expected_tools``; ``arguments`` maps a
    tool name to argument values that must appear in its call (compared case-insensitively)."""

    arguments: dict[str, dict[str, Any]] = Field(default_factory=dict)


class JudgeArgs(_Args):
    """The LLM judge: reference-guided when the case has a ``reference`` (the judge is only
    reliable then), rubric-only otherwise; ``pass_score`` marks what counts as a pass."""

    pass_score: float = Field(default=0.5, ge=0, le=1)


ARGS_MODELS: Final[dict[str, type[_Args]]] = {
    "exact": ExactArgs,
    "choice": ChoiceArgs,
    "numeric": NumericArgs,
    "regex": RegexArgs,
    "json_schema": JsonSchemaArgs,
    "code": CodeArgs,
    "tool_calls": ToolCallArgs,
    "judge": JudgeArgs,
}
GRADER_NAMES: Final[tuple[str, ...]] = tuple(ARGS_MODELS)
