"""The script a scripted upstream plays: per-model answers, latency, token rate, failures and rules.

A `Script` is plain data (pydantic v2, unknown keys rejected), loaded from a YAML/JSON file, a
string or a mapping by `load_script`; a malformed script raises `ScriptError` naming the field
(for example ``models.gpt-x.fail.kind``). Resolving a script against a request (which rule applies,
whether a failure fires) is `engine.py`'s job, not this module's.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from rolecall.errors import ConfigError

FailureKind = Literal["status", "timeout", "reset", "cut", "garbage"]


class ScriptError(ConfigError):
    """A script is malformed; ``path`` names the offending field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Failure(_Strict):
    """A failure to inject.

    ``status``: answer with HTTP ``status`` and an error body in the route's format. ``timeout``:
    sleep ``seconds`` then close the connection (a hang, for client timeouts). ``reset``: close the
    TCP connection without a response. ``cut``: stream ``after_chunks`` answer chunks, then drop the
    connection without a finish (non-streaming requests are reset). ``garbage``: 200 with a body
    that is not JSON. ``rate`` is the probability of firing (seeded RNG); ``times`` stops firing
    after that many injected failures.
    """

    kind: FailureKind
    status: int = Field(default=500, ge=400, le=599)
    seconds: float = Field(default=30.0, ge=0)
    after_chunks: int = Field(default=1, ge=0)
    rate: float = Field(default=1.0, ge=0, le=1)
    times: int | None = Field(default=None, ge=0)


class ModelScript(_Strict):
    """How one model answers. ``latency_ms`` is the time before the first byte; ``tokens_per_sec``
    paces streamed chunks (None: no pacing); ``tool_calls`` are OpenAI-shaped; ``dimensions`` and
    ``max_inputs`` shape its embeddings (``POST /v1/embeddings``)."""

    answer: str = "ok"
    latency_ms: float = Field(default=0.0, ge=0)
    tokens_per_sec: float | None = Field(default=None, gt=0)
    chunk_tokens: int = Field(default=1, ge=1)
    fail: Failure | None = None
    tool_calls: list[dict[str, Any]] | None = None
    usage: bool = True
    # embeddings: the vectors' length (a request's ``dimensions`` wins), and the most inputs
    # one request may carry (more: a 400, as a provider's batch limit)
    dimensions: int = Field(default=8, ge=1, le=4096)
    max_inputs: int | None = Field(default=None, ge=1)


class Rule(_Strict):
    """Overrides for matching requests. Matches on ``model`` and on ``prompt_contains`` (a substring
    of the last user message); ``nth`` narrows to the n-th matching request (1-based), ``every`` to
    every k-th. The remaining fields, when given, override the model's `ModelScript`."""

    model: str | None = None
    prompt_contains: str | None = None
    nth: int | None = Field(default=None, ge=1)
    every: int | None = Field(default=None, ge=1)
    answer: str | None = None
    latency_ms: float | None = Field(default=None, ge=0)
    tokens_per_sec: float | None = Field(default=None, gt=0)
    chunk_tokens: int | None = Field(default=None, ge=1)
    fail: Failure | None = None
    tool_calls: list[dict[str, Any]] | None = None
    usage: bool | None = None

    def overrides(self) -> dict[str, Any]:
        """The `ModelScript` fields this rule sets (an explicit ``null`` clears, e.g. ``fail``)."""
        return {
            name: getattr(self, name)
            for name in self.model_fields_set
            if name in ModelScript.model_fields
        }


class Script(_Strict):
    """The whole script: models by name, ordered rules (first match wins), RNG seed, and an optional
    bearer token the OpenAI routes require (``x-api-key`` on the Anthropic route)."""

    models: dict[str, ModelScript]
    rules: list[Rule] = Field(default_factory=list)
    seed: int = 0
    require_auth: str | None = None

    @model_validator(mode="after")
    def _rules_name_known_models(self) -> Script:
        for index, rule in enumerate(self.rules):
            if rule.model is not None and rule.model not in self.models:
                known = ", ".join(sorted(self.models)) or "none"
                raise ValueError(
                    f"rules.{index}.model: {rule.model!r} is not a scripted model (known: {known})"
                )
        return self


def load_script(source: Script | Mapping[str, Any] | Path | str, *, name: str = "script") -> Script:
    """A validated `Script` from a script, a mapping, a YAML/JSON file path or YAML/JSON text.

    A `str` is read as text when it contains a newline or ``{``, otherwise as a path.
    """
    if isinstance(source, Script):
        return source
    if isinstance(source, Path) or (isinstance(source, str) and not _looks_inline(source)):
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ScriptError(str(path), "$", f"cannot read the script file: {exc}") from exc
        return _from_data(_parse_text(text, str(path)), str(path))
    if isinstance(source, str):
        return _from_data(_parse_text(source, name), name)
    return _from_data(source, name)


def _looks_inline(text: str) -> bool:
    return "\n" in text or "{" in text


def _parse_text(text: str, source: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScriptError(source, "$", f"not valid YAML/JSON: {exc}") from exc


def _from_data(data: Any, source: str) -> Script:
    if not isinstance(data, Mapping):
        kind = type(data).__name__
        raise ScriptError(source, "$", f"a script is a mapping with 'models', got {kind}")
    try:
        return Script.model_validate(dict(data))
    except ValidationError as exc:
        path, message = _describe(exc)
        raise ScriptError(source, path, message) from exc


def _describe(exc: ValidationError) -> tuple[str, str]:
    """The first error's dotted field path and message (validators put their path in the message)."""
    first = exc.errors()[0]
    path = ".".join(str(part) for part in first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    if not path and ": " in message:
        path, message = message.split(": ", 1)
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return path or "$", message + more
