"""The role-model router golden cases conform, and every decision is a schema-valid artifact."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from rolecall.protocol.validation import validate_artifact
from rolecall.routing import Router, conformance_problems, load_case
from rolecall.routing.targets import derive_targets
from tests.conftest import SHARED_FIXTURES

CASES_DIR = SHARED_FIXTURES / "router-golden" / "cases"
CASE_FILES = sorted(CASES_DIR.glob("*.json"))


def test_the_shared_cases_are_present() -> None:
    assert len(CASE_FILES) >= 18, f"expected the router golden cases in {CASES_DIR}"


@pytest.mark.parametrize("path", CASE_FILES, ids=lambda p: p.stem)
def test_case_conforms(path: Path) -> None:
    case = load_case(orjson.loads(path.read_bytes()), source=path.name)
    decision = Router(case.policy).decide(
        case.request, case.candidates, case.roles, case.tasks, case.bindings
    )
    assert case.expected is not None
    assert conformance_problems(decision, case.expected) == []
    artifact = decision.to_artifact()
    validate_artifact("router-decision", artifact)
    assert len(artifact["eligibility"]) == len(case.candidates)
    assert {e["endpoint_id"] for e in artifact["eligibility"]} == {
        c.endpoint_id for c in case.candidates
    }


def test_conformance_check_reports_a_wrong_winner() -> None:
    case = load_case(
        orjson.loads((CASES_DIR / "latency-strategy-prefers-faster.json").read_bytes())
    )
    decision = Router().decide(case.request, case.candidates)
    wrong = {**case.expected, "chosen_endpoint_id": "slow-endpoint"}  # type: ignore[dict-item]
    problems = conformance_problems(decision, wrong)
    assert any("chosen 'fast-endpoint'" in p for p in problems)


@pytest.mark.parametrize("path", CASE_FILES, ids=lambda p: p.stem)
def test_case_conforms_with_targets_derived_from_its_candidates(path: Path) -> None:
    """Conformance runs without a pool (the reference targets, as the cases expect); a runtime
    whose pool were a case's candidates would still decide every case the same way."""
    case = load_case(orjson.loads(path.read_bytes()), source=path.name)
    targets = derive_targets(case.candidates)
    decision = Router(case.policy, pool_targets=lambda: targets).decide(
        case.request, case.candidates, case.roles, case.tasks, case.bindings
    )
    assert case.expected is not None
    assert conformance_problems(decision, case.expected) == []
    validate_artifact("router-decision", decision.to_artifact())
    plain = Router(case.policy).decide(case.request, case.candidates, case.roles, case.tasks)
    assert plain.context.policy.target_sources.count("pool") == 0
