"""Item-statistics priors of the built-in cases: the packaged file loads and names real cases, a
malformed file names the field, and the file is what scripts/build_item_priors.py fits afresh
from ../shared/data."""

from __future__ import annotations

import importlib
import json
import math
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from rolecall.benchmark.cases import builtin_suites
from rolecall.benchmark.item_priors import ItemPriorsError, item_priors, parse_item_priors
from rolecall.errors import ConfigError

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "scripts" / "build_item_priors.py"
SHARED = ROOT.parent / "shared" / "data"
PACKAGED = ROOT / "src" / "rolecall" / "benchmark" / "data" / "item_priors.json"

GOOD: dict[str, Any] = {
    "source": "test",
    "license": "MIT",
    "fitted": "2026-01-01",
    "scale": "standardised per source",
    "cases": {"reasoning/gsm8k-1": {"difficulty": 0.5, "discrimination": 1.2, "models": 9}},
}


def _script() -> ModuleType:
    """The script, imported as it runs: with ``scripts/`` first on the path (it imports its
    sibling modules)."""
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        return importlib.import_module(SCRIPT.stem)
    finally:
        sys.path.remove(str(SCRIPT.parent))


def test_the_packaged_priors_load_and_name_real_cases() -> None:
    priors = item_priors()
    assert len(priors) >= 20
    cases = {f"{s.name}/{c.id}": c for s in builtin_suites() for c in s.cases}
    assert set(priors) <= set(cases)
    assert all(not cases[key].source.startswith("rolecall") for key in priors)  # none authored
    for difficulty, discrimination in priors.values():
        assert math.isfinite(difficulty)
        assert math.isfinite(discrimination)
        assert discrimination > 0


def test_the_priors_are_cached_but_a_caller_gets_its_own_dict() -> None:
    first = item_priors()
    first.clear()
    assert item_priors()


def test_the_packaged_header_says_how_scales_are_aligned() -> None:
    doc = json.loads(PACKAGED.read_text(encoding="utf-8"))
    assert "standardised" in doc["scale"]
    assert {case["source"] for case in doc["cases"].values()} <= set(doc["sources"])
    for source in {case["source"] for case in doc["cases"].values()}:
        assert doc["sources"][source]["raw_difficulty_sd"] > 0


def _bad(doc: Any) -> str:
    text = doc if isinstance(doc, str) else json.dumps(doc)
    with pytest.raises(ItemPriorsError) as caught:
        parse_item_priors(text, "item_priors.json")
    assert isinstance(caught.value, ConfigError)
    return str(caught.value)


def _with_case(**fields: Any) -> dict[str, Any]:
    case = {**GOOD["cases"]["reasoning/gsm8k-1"], **fields}
    return {**GOOD, "cases": {"reasoning/gsm8k-1": case}}


def test_a_good_document_parses() -> None:
    assert parse_item_priors(json.dumps(GOOD)) == {"reasoning/gsm8k-1": (0.5, 1.2)}


@pytest.mark.parametrize(
    ("doc", "field", "problem"),
    [
        (_with_case(discrimination=0), "cases.reasoning/gsm8k-1.discrimination", "> 0"),
        (_with_case(discrimination=-1.5), "cases.reasoning/gsm8k-1.discrimination", "> 0"),
        (_with_case(difficulty="hard"), "cases.reasoning/gsm8k-1.difficulty", "a number"),
        (_with_case(difficulty=True), "cases.reasoning/gsm8k-1.difficulty", "a number"),
        (_with_case(difficulty=None), "cases.reasoning/gsm8k-1.difficulty", "a number"),
        (
            {**GOOD, "cases": {"gsm8k-1": {"difficulty": 0, "discrimination": 1}}},
            "cases.gsm8k-1",
            "suite/case_id",
        ),
        (
            {**GOOD, "cases": {"reasoning/gsm8k-1": [0.5, 1.2]}},
            "cases.reasoning/gsm8k-1",
            "an object",
        ),
        ({**GOOD, "cases": []}, "cases", "an object"),
        ({k: v for k, v in GOOD.items() if k != "cases"}, "cases", "required"),
        ({k: v for k, v in GOOD.items() if k != "license"}, "license", "required"),
        ([GOOD], "$", "a JSON object"),
    ],
)
def test_a_malformed_document_names_the_field(doc: Any, field: str, problem: str) -> None:
    message = _bad(doc)
    assert message.startswith(f"item_priors.json: {field}: ")
    assert problem in message


def test_non_finite_numbers_and_broken_json_are_refused() -> None:
    text = json.dumps(GOOD).replace("0.5", "NaN")
    assert "cases.reasoning/gsm8k-1.difficulty: must be finite" in _bad(text)
    assert "not valid JSON" in _bad("{")


def test_the_packaged_priors_are_a_fresh_fit_of_the_shared_records() -> None:
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} (the public per-prompt records) is absent")
    script = _script()
    fresh = script.build(SHARED)
    packaged = json.loads(PACKAGED.read_text(encoding="utf-8"))
    assert script.same_priors(packaged, fresh, tolerance=1e-6) == []
    for source, entry in fresh["sources"].items():
        for count in ("prompts", "matched", "matched_exact", "used"):
            assert packaged["sources"][source][count] == entry[count], (source, count)
    # the matching is exact: every GSM8K, MMLU (answering), HumanEval and MBPP case is found
    families = ("gsm8k-", "mgsm-", "mmlu-", "humaneval-", "mbpp-")
    expected = {
        f"{s.name}/{c.id}"
        for s in builtin_suites()
        for c in s.cases
        if c.id.startswith(families) and s.name != "classification"
    }
    assert set(fresh["cases"]) == expected
