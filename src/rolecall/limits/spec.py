"""Limits as people write them — a ``limits:`` section of ``rolecall.yaml``, a key's options on
the CLI and the admin API — parsed into `LimitSpec`s, every error naming the field and the fix.

The file's section::

    limits:
      default_output_tokens: 1024      # the estimate when a request sets no max_tokens
      global: {budget_usd: 100, per: month, rpm: 6000}
      teams: {eng: {budget_usd: 20, per: day, tpm: 200000}}
      roles: {coder: {rpm: 100}}
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from rolecall.errors import ConfigError
from rolecall.limits.policy import MICRO_USD, NO_LIMITS, LimitSpec, Window

__all__ = [
    "DEFAULT_OUTPUT_TOKENS",
    "SPEC_FIELDS",
    "LimitInputError",
    "ScopedLimits",
    "parse_limits_section",
    "parse_spec",
    "parse_team",
]

DEFAULT_OUTPUT_TOKENS: Final = 1024
SPEC_FIELDS: Final = ("budget_usd", "budget_tokens", "per", "rpm", "tpm")
MAX_BUDGET_USD: Final = 1e9
MAX_COUNT: Final = 2**53  # integers beyond this do not survive a trip through a JSON number
TEAM_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class LimitInputError(ValueError):
    """A limit written wrongly: ``field`` names it, the message says what is accepted."""

    def __init__(self, field_name: str, message: str) -> None:
        self.field = field_name
        self.message = message
        super().__init__(f"{field_name}: {message}")


@dataclass(frozen=True, slots=True)
class ScopedLimits:
    """The limits of the file: for every request, per team of keys, per requested role."""

    everyone: LimitSpec = NO_LIMITS
    teams: Mapping[str, LimitSpec] = field(default_factory=dict)
    roles: Mapping[str, LimitSpec] = field(default_factory=dict)
    default_output_tokens: int = DEFAULT_OUTPUT_TOKENS

    @property
    def empty(self) -> bool:
        return self.everyone.empty and not self.teams and not self.roles


def parse_spec(values: Mapping[str, Any], where: str = "") -> LimitSpec:
    """A `LimitSpec` from ``budget_usd``, ``budget_tokens``, ``per``, ``rpm``, ``tpm`` (None or
    absent: no such limit); `LimitInputError` names the field (prefixed by ``where``)."""
    for name in values:
        if name not in SPEC_FIELDS:
            raise LimitInputError(
                where + str(name), f"unknown limit; use one of {', '.join(SPEC_FIELDS)}"
            )
    usd = _number(values.get("budget_usd"), where + "budget_usd")
    per_text = values.get("per")
    try:
        per = Window("month") if per_text is None else Window.parse(_text(per_text, where + "per"))
    except ValueError as exc:
        raise LimitInputError(where + "per", str(exc)) from None
    spec = LimitSpec(
        budget_micro_usd=None if usd is None else math.floor(usd * MICRO_USD + 0.5),
        budget_tokens=_count(values.get("budget_tokens"), where + "budget_tokens", low=0),
        per=per,
        rpm=_count(values.get("rpm"), where + "rpm", low=1),
        tpm=_count(values.get("tpm"), where + "tpm", low=1),
    )
    if per_text is not None and spec.budget_micro_usd is None and spec.budget_tokens is None:
        raise LimitInputError(
            where + "per", "sets the window of a budget: add budget_usd or budget_tokens"
        )
    return spec


def parse_team(value: Any, where: str = "team") -> str | None:
    """A team name (letters, digits, ``.``, ``_``, ``-``; up to 64), or None."""
    if value is None:
        return None
    if not isinstance(value, str) or not TEAM_NAME.fullmatch(value):
        raise LimitInputError(
            where, "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return value


def parse_limits_section(data: Any, source: str = "rolecall.yaml") -> ScopedLimits:
    """The ``limits:`` section of the inventory file; `ConfigError` names the key path."""
    if data is None or data == {}:
        return ScopedLimits()
    try:
        return _section(data)
    except LimitInputError as exc:
        raise ConfigError(source, exc.field, exc.message) from None


def _section(data: Any) -> ScopedLimits:
    if not isinstance(data, Mapping):
        raise LimitInputError("limits", "expected a mapping with global, teams, roles")
    known = ("global", "teams", "roles", "default_output_tokens")
    for name in data:
        if name not in known:
            raise LimitInputError(f"limits.{name}", f"unknown key; use one of {', '.join(known)}")
    everyone = _scope_spec(data.get("global"), "limits.global")
    teams = _named_specs(data.get("teams"), "limits.teams", team_names=True)
    roles = _named_specs(data.get("roles"), "limits.roles", team_names=False)
    output = _count(data.get("default_output_tokens"), "limits.default_output_tokens", low=1)
    return ScopedLimits(everyone, teams, roles, output or DEFAULT_OUTPUT_TOKENS)


def _scope_spec(data: Any, where: str) -> LimitSpec:
    if data is None:
        return NO_LIMITS
    if not isinstance(data, Mapping):
        raise LimitInputError(where, f"expected a mapping of {', '.join(SPEC_FIELDS)}")
    return parse_spec(data, where + ".")


def _named_specs(data: Any, where: str, *, team_names: bool) -> dict[str, LimitSpec]:
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise LimitInputError(where, "expected a mapping of names to limits")
    specs: dict[str, LimitSpec] = {}
    for name, values in data.items():
        if team_names:
            parse_team(name, f"{where}.{name}")
        elif not isinstance(name, str) or not name:
            raise LimitInputError(f"{where}.{name}", "a role id must be a non-empty string")
        spec = _scope_spec(values, f"{where}.{name}")
        if not spec.empty:
            specs[str(name)] = spec
    return specs


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise LimitInputError(where, f"must be a string, got {value!r}")
    return value


def _number(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise LimitInputError(where, f"must be a number of US dollars, got {value!r}")
    if not 0 <= value <= MAX_BUDGET_USD:
        raise LimitInputError(where, f"must be between 0 and {MAX_BUDGET_USD:.0f}, got {value}")
    return float(value)


def _count(value: Any, where: str, *, low: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise LimitInputError(where, f"must be a whole number, got {value!r}")
    if not low <= value <= MAX_COUNT:
        raise LimitInputError(where, f"must be between {low} and {MAX_COUNT}, got {value}")
    return value
