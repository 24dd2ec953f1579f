"""The difficulty ceiling rule, the request's and the candidate's new fields, and advisories."""

from __future__ import annotations

from typing import Any

import pytest

from rolecall.errors import ConfigError
from rolecall.protocol.validation import validate_artifact
from rolecall.routing import Candidate, Router, parse_candidate, parse_routing_request
from rolecall.routing.detail_texts import role_model_detail
from rolecall.routing.difficulty import advisories, ceiling_exceeded

from .builders import candidate, measured, request


def _pool() -> list[Candidate]:
    return [
        candidate(
            "small", evidence=measured(cost=0.0001), max_difficulty="easy", ceiling_source="derived"
        ),
        candidate(
            "mid",
            evidence=measured(cost=0.0005),
            max_difficulty="medium",
            ceiling_source="declared",
        ),
        candidate("big", evidence=measured(cost=0.01)),
    ]


def _exclusions(difficulty: str | None, **router: Any) -> dict[str, list[tuple[str, str]]]:
    decision = Router(**router).decide(request(difficulty=difficulty), _pool())
    return {eid: list(ex) for eid, ex in decision.eligibility}


def test_hard_request_excludes_lower_ceilings() -> None:
    exclusions = _exclusions("hard")
    assert exclusions["big"] == []
    assert exclusions["mid"] == [
        (
            "POLICY_DENY_ENDPOINT",
            "Difficulty ceiling 'medium' (declared) is below the request's difficulty 'hard'.",
        )
    ]
    assert exclusions["small"] == [
        (
            "POLICY_DENY_ENDPOINT",
            "Difficulty ceiling 'easy' (derived) is below the request's difficulty 'hard'.",
        )
    ]


def test_a_request_within_every_ceiling_excludes_nothing() -> None:
    assert all(not ex for ex in _exclusions("easy").values())


def test_no_difficulty_no_rule() -> None:
    assert all(not ex for ex in _exclusions(None).values())


def test_medium_request_keeps_medium_ceiling() -> None:
    exclusions = _exclusions("medium")
    assert [eid for eid, ex in exclusions.items() if ex] == ["small"]


def test_the_decision_artifact_stays_schema_valid() -> None:
    decision = Router().decide(request(difficulty="hard"), _pool())
    validate_artifact("router-decision", decision.to_artifact())
    model = decision.to_model()
    assert model.chosen_endpoint_id == "big"
    codes = {
        e.endpoint_id: [x.code for x in e.exclusions] for e in model.eligibility if e.exclusions
    }
    assert codes == {"small": ["POLICY_DENY_ENDPOINT"], "mid": ["POLICY_DENY_ENDPOINT"]}


def test_role_model_detail_texts_keep_the_code_and_stay_recognisable() -> None:
    exclusions = _exclusions("hard", detail_texts="role-model")
    fixed = "Endpoint is denied by routing policy: its difficulty ceiling is below the request's "
    assert exclusions["mid"] == [("POLICY_DENY_ENDPOINT", fixed + "difficulty.")]
    assert exclusions["small"] == exclusions["mid"]  # one fixed sentence, no evidence
    # every other POLICY_DENY_ENDPOINT detail keeps role-model's sentence for the code
    denied = Router(detail_texts="role-model").decide(
        request(deny_endpoints=("big",), difficulty="easy"), _pool()
    )
    assert dict(denied.eligibility)["big"] == (
        ("POLICY_DENY_ENDPOINT", role_model_detail("POLICY_DENY_ENDPOINT")),
    )


def test_every_candidate_excluded_is_a_decision_not_an_error() -> None:
    pool = [candidate("only", max_difficulty="easy")]
    decision = Router().decide(request(difficulty="hard"), pool)
    validate_artifact("router-decision", decision.to_artifact())
    assert decision.to_model().chosen_endpoint_id == ""


def test_difficulty_is_part_of_the_posture() -> None:
    # the posture keys cached rule sets: a request with a difficulty must not reuse one without
    router = Router()
    pool = _pool()
    router.decide(request(), pool)
    hard = router.decide(request(difficulty="hard"), pool)
    assert [eid for eid, ex in hard.eligibility if ex] == ["small", "mid"]
    assert request(difficulty="hard").posture() != request().posture()


def test_parse_request_and_candidate_fields() -> None:
    assert parse_routing_request({"requestId": "r", "difficulty": "hard"}).difficulty == "hard"
    with pytest.raises(ConfigError, match=r"\$\.difficulty.*one of \['easy', 'medium', 'hard'\]"):
        parse_routing_request({"requestId": "r", "difficulty": "extreme"})
    raw = _candidate_json()
    parsed = parse_candidate({**raw, "maxDifficulty": "medium", "ceilingSource": "derived"}, "$")
    assert (parsed.max_difficulty, parsed.ceiling_source) == ("medium", "derived")
    assert parse_candidate(raw, "$").max_difficulty is None
    with pytest.raises(ConfigError, match=r"\$\.maxDifficulty"):
        parse_candidate({**raw, "maxDifficulty": "trivial"}, "$")
    with pytest.raises(ConfigError, match=r"\$\.ceilingSource"):
        parse_candidate({**raw, "ceilingSource": "guessed"}, "$")


def _candidate_json() -> dict[str, Any]:
    c = candidate("json")
    return {
        "identity": c.identity.model_dump(mode="json", exclude_none=True),
        "declared": c.declared.model_dump(mode="json", exclude_none=True),
    }


def test_advisories() -> None:
    rows = advisories(_pool(), "medium")
    assert rows == [
        {
            "endpoint_id": "small",
            "max_difficulty": "easy",
            "source": "derived",
            "verdict": "above ceiling",
        },
        {
            "endpoint_id": "mid",
            "max_difficulty": "medium",
            "source": "declared",
            "verdict": "within",
        },
        {"endpoint_id": "big", "max_difficulty": None, "source": None, "verdict": "no ceiling"},
    ]
    assert [r["verdict"] for r in advisories(_pool(), None)] == ["within", "within", "no ceiling"]


@pytest.mark.parametrize(
    ("ceiling", "difficulty", "exceeded"),
    [
        ("easy", "medium", True),
        ("medium", "hard", True),
        ("hard", "hard", False),
        ("medium", "easy", False),
        (None, "hard", False),
        ("easy", None, False),
        ("bogus", "hard", False),
    ],
)
def test_ceiling_exceeded(ceiling: str | None, difficulty: str | None, exceeded: bool) -> None:
    assert ceiling_exceeded(ceiling, difficulty) is exceeded
