"""role-model's exclusion detail texts as an option: one text per code, every golden case exact."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from rolecall.errors import ConfigError
from rolecall.inventory.config import RoutingConfig, parse_inventory
from rolecall.inventory.inventory import build_inventory, detail_texts_of, policy_for
from rolecall.protocol import EXCLUSION_CODES
from rolecall.protocol.validation import validate_artifact
from rolecall.routing import Router, conformance_problems, load_case
from rolecall.routing.detail_texts import ROLE_MODEL_DETAILS, role_model_detail
from tests.conftest import SHARED_FIXTURES

from .builders import candidate, request, role

CASES = SHARED_FIXTURES / "router-golden" / "cases"
CASE_FILES = sorted(CASES.glob("*.json"))


def _fixture_details() -> dict[str, set[str]]:
    """Every (code → detail texts) pair the golden cases expect."""
    found: dict[str, set[str]] = {}
    for path in CASE_FILES:
        expected = json.loads(path.read_text())["expected"]
        for entry in expected.get("eligibility", []):
            for exclusion in entry.get("exclusions", []):
                found.setdefault(exclusion["code"], set()).add(exclusion["detail"])
    return found


def test_one_text_for_every_code_of_the_schema() -> None:
    assert set(ROLE_MODEL_DETAILS) == set(EXCLUSION_CODES)
    assert all(text.endswith(".") and text[0].isupper() for text in ROLE_MODEL_DETAILS.values())


def test_the_table_agrees_with_every_text_the_fixtures_expect() -> None:
    found = _fixture_details()
    assert len(found) >= 10, "expected the golden cases to exercise at least ten codes"
    for code, texts in found.items():
        assert texts == {ROLE_MODEL_DETAILS[code]}, code  # type: ignore[index]


@pytest.mark.parametrize("path", CASE_FILES, ids=lambda p: p.stem)
def test_case_conforms_with_exact_details(path: Path) -> None:
    case = load_case(orjson.loads(path.read_bytes()), source=path.name)
    router = Router(case.policy, detail_texts="role-model")
    decision = router.decide(case.request, case.candidates, case.roles, case.tasks, case.bindings)
    assert case.expected is not None
    assert conformance_problems(decision, case.expected, exact_details=True) == []
    validate_artifact("router-decision", decision.to_artifact())


def test_rolecall_texts_fail_the_exact_comparison_and_say_why() -> None:
    """Without the option the details name the evidence, which role-model's harness rejects."""
    case = load_case(orjson.loads((CASES / "insufficient-context.json").read_bytes()))
    decision = Router(case.policy).decide(case.request, case.candidates, case.roles, case.tasks)
    assert case.expected is not None
    assert conformance_problems(decision, case.expected) == []
    problems = conformance_problems(decision, case.expected, exact_details=True)
    assert len(problems) == 1
    assert "CONTEXT_TOO_SMALL detail" in problems[0]
    assert "tokens)" in problems[0]  # rolecall's own text, with the numbers
    assert "'Endpoint context window is too small for the request.'" in problems[0]


def test_every_exclusion_of_a_decision_gets_its_code_text() -> None:
    req = request(context_tokens=100_000, needs_tools=True, deny_remote=True)
    c = candidate("a", context=4096, tools=False)
    decision = Router(detail_texts="role-model").decide(req, [c])
    exclusions = decision.eligibility[0][1]
    assert [code for code, _ in exclusions] == [
        "POLICY_DENY_REMOTE",
        "CONTEXT_TOO_SMALL",
        "TOOLS_UNSUPPORTED",
    ]
    assert all(detail == role_model_detail(code) for code, detail in exclusions)


def test_a_policy_or_a_role_can_choose_the_texts() -> None:
    req = request(context_tokens=100_000, requested_role_id="r")
    canonical = role("r", routing_policy_overrides={"detail_texts": "role-model"})
    plain = role("r")
    c = candidate("a", context=4096)
    detail = Router().decide(req, [c], roles=[canonical]).eligibility[0][1][0][1]
    assert detail == ROLE_MODEL_DETAILS["CONTEXT_TOO_SMALL"]
    detail = Router().decide(req, [c], roles=[plain]).eligibility[0][1][0][1]
    assert "100000 > 4096" in detail
    # the router's own option wins over the policy's default
    detail = Router(detail_texts="role-model").decide(req, [c], roles=[plain]).eligibility[0][1]
    assert detail[0][1] == ROLE_MODEL_DETAILS["CONTEXT_TOO_SMALL"]
    # what-if routers keep it
    with_policy = Router(detail_texts="role-model").with_policy(policy_for(RoutingConfig()))
    assert with_policy.decide(req, [c], roles=[plain]).eligibility[0][1][0][1] == detail[0][1]


def test_unknown_choice_names_the_field() -> None:
    r = role("r", routing_policy_overrides={"detail_texts": "exact"})
    with pytest.raises(ConfigError, match=r"routing_policy_overrides\.detail_texts.*role-model"):
        Router().decide(request(requested_role_id="r"), [candidate("a")], roles=[r])


def test_the_inventory_file_sets_it_for_the_gateway_router() -> None:
    config = parse_inventory({"routing": {"policy": {"detail_texts": "role-model"}}}, environ={})
    assert detail_texts_of(config.routing) == "role-model"
    inventory = build_inventory(config)
    assert inventory.policy is not None  # a protocol RoutingPolicy, without the router option
    assert "detail_texts" not in inventory.policy.model_dump()
    assert detail_texts_of(parse_inventory({}, environ={}).routing) is None
    with pytest.raises(ConfigError, match=r"routing\.policy\.detail_texts"):
        parse_inventory({"routing": {"policy": {"detail_texts": "exact"}}}, environ={})


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rolecall", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cli_conformance_and_route_with_exact_details() -> None:
    result = _run("conformance", str(CASES), "--exact-details")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(CASE_FILES)} conform, 0 do not" in result.stdout
    result = _run("route", str(CASES / "role-task-unsupported.json"), "--exact-details")
    assert result.returncode == 0, result.stderr
    exclusions = json.loads(result.stdout)["eligibility"][0]["exclusions"]
    assert {e["code"]: e["detail"] for e in exclusions} == {
        "TASK_NOT_SUPPORTED_BY_ROLE": "Requested task is not supported by the requested role.",
        "ROLE_NOT_ALLOWED": "Requested role is not allowed for this task.",
    }


def test_the_gateway_router_writes_the_texts_the_file_chooses() -> None:
    """``routing.policy.detail_texts`` reaches the router every request of the gateway takes."""
    from rolecall.execution.cooldown import CooldownBook
    from rolecall.execution.state import RoutingState
    from rolecall.inventory.load import configured_inventory
    from rolecall.routing import RoutingRequest

    def exclusion(texts: str | None) -> str:
        config: dict[str, object] = {
            "providers": {"p": {"kind": "openai_compatible", "base_url": "http://127.0.0.1:9/v1"}},
            "endpoints": [{"provider": "p", "model": "m", "id": "e", "context_window": 4096}],
        }
        if texts is not None:
            config["routing"] = {"policy": {"detail_texts": texts}}
        state = RoutingState(
            configured_inventory(parse_inventory(config, environ={})), CooldownBook()
        )
        view = state.view
        request = RoutingRequest(request_id="r", context_tokens=100_000)
        decision = view.router.decide(request, view.candidates(0))
        [(code, detail)] = decision.eligibility[0][1]
        assert code == "CONTEXT_TOO_SMALL"
        return detail

    assert exclusion("role-model") == ROLE_MODEL_DETAILS["CONTEXT_TOO_SMALL"]
    assert "100000 > 4096" in exclusion(None)
    assert "100000 > 4096" in exclusion("rolecall")
