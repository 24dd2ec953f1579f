"""Prior item statistics of the built-in cases, fitted offline from public per-prompt records.

On a fresh install the store holds no graded results, so an adaptive run would see every case
alike. ``data/item_priors.json`` (built by ``scripts/build_item_priors.py``) gives the built-in cases
that came from public question sets (GSM8K, MMLU, HumanEval, MBPP, ...) a difficulty and a
discrimination fitted (2PL, `rolecall.benchmark.items.fit_items`) from public multi-model records,
per source and standardised onto the N(0, 1) ability-prior scale (the file's ``scale`` field says
how). Stored statistics, fitted from the operator's own endpoints, take precedence over these.
"""

from __future__ import annotations

import json
import math
from functools import cache
from importlib import resources
from typing import Any

from rolecall.errors import ConfigError

__all__ = ["ItemPriorsError", "item_priors", "parse_item_priors"]

RESOURCE = "item_priors.json"
HEADER_FIELDS = ("source", "license", "fitted", "scale")


class ItemPriorsError(ConfigError):
    """The packaged item-priors file is malformed; the message names the field."""


def item_priors() -> dict[str, tuple[float, float]]:
    """(difficulty, discrimination) of each built-in case with a prior, keyed ``suite/case_id``
    (a fresh dict: the parsed file is cached)."""
    return dict(_packaged())


@cache
def _packaged() -> tuple[tuple[str, tuple[float, float]], ...]:
    resource = resources.files("rolecall.benchmark") / "data" / RESOURCE
    try:
        text = resource.read_text(encoding="utf-8")
    except OSError as exc:
        raise ItemPriorsError(RESOURCE, "", f"cannot read the packaged file: {exc}") from None
    return tuple(parse_item_priors(text).items())


def parse_item_priors(text: str, label: str = RESOURCE) -> dict[str, tuple[float, float]]:
    """Validate an item-priors document; ``label`` names it in errors."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ItemPriorsError(label, "", f"not valid JSON: {exc.msg} (line {exc.lineno})") from None
    if not isinstance(doc, dict):
        raise ItemPriorsError(label, "$", "expected a JSON object")
    for name in HEADER_FIELDS:
        if not isinstance(doc.get(name), str) or not doc[name].strip():
            raise ItemPriorsError(label, name, "required, a non-empty string")
    cases = doc.get("cases")
    if not isinstance(cases, dict):
        raise ItemPriorsError(label, "cases", "required, an object keyed 'suite/case_id'")
    return {key: _case(label, key, value) for key, value in cases.items()}


def _case(label: str, key: str, value: Any) -> tuple[float, float]:
    where = f"cases.{key}"
    suite, _, case_id = key.partition("/")
    if not suite or not case_id or "/" in case_id:
        raise ItemPriorsError(label, where, "a key is 'suite/case_id'")
    if not isinstance(value, dict):
        raise ItemPriorsError(label, where, "expected an object with difficulty and discrimination")
    difficulty = _number(label, f"{where}.difficulty", value.get("difficulty"))
    discrimination = _number(label, f"{where}.discrimination", value.get("discrimination"))
    if discrimination <= 0:
        raise ItemPriorsError(
            label, f"{where}.discrimination", f"must be > 0, got {discrimination}"
        )
    return difficulty, discrimination


def _number(label: str, where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ItemPriorsError(label, where, f"required, a number (got {value!r})")
    if not math.isfinite(value):
        raise ItemPriorsError(label, where, f"must be finite, got {value!r}")
    return float(value)
