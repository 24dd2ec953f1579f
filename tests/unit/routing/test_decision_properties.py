"""Properties every decision has, on random candidate sets and requests."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from rolecall.protocol.validation import validate_artifact
from rolecall.routing import Candidate, Router, RoutingRequest

from .builders import candidate

CAPS = ("text.chat", "code.edit", "tools.function_calling", "json.schema_adherence")


@st.composite
def candidates(draw: st.DrawFn) -> list[Candidate]:
    n = draw(st.integers(0, 8))
    out = []
    for i in range(n):
        evidence = draw(
            st.none()
            | st.fixed_dictionaries(
                {},
                optional={
                    "judge_score": st.floats(0, 1),
                    "latency_ms_p50": st.floats(1, 5000),
                    "tokens_per_sec": st.floats(0, 500),
                    "failure_rate": st.floats(0, 1),
                    "cost_per_1k_tokens_est": st.floats(0, 0.1),
                },
            )
        )
        out.append(
            candidate(
                f"e{i}",
                capabilities=tuple(draw(st.sets(st.sampled_from(CAPS), min_size=1))),
                context=draw(st.sampled_from([2048, 8192, 131072])),
                tools=draw(st.booleans()),
                local=draw(st.booleans()),
                evidence=evidence,
                status=draw(st.sampled_from(["active", "active", "active", "offline", "revoked"])),
            )
        )
    return out


requests = st.builds(
    RoutingRequest,
    request_id=st.just("req"),
    required_capabilities=st.sets(st.sampled_from(CAPS), max_size=2).map(tuple),
    context_tokens=st.integers(0, 20000),
    needs_tools=st.booleans(),
    strategy=st.sampled_from(["balanced", "quality", "latency", "cost", None]),
    prefer_local=st.booleans(),
    deny_remote=st.booleans(),
    budget_limit=st.none() | st.floats(0, 0.05),
)


@settings(max_examples=150, deadline=None)
@given(cands=candidates(), req=requests)
def test_decisions_are_valid_complete_and_consistent(
    cands: list[Candidate], req: RoutingRequest
) -> None:
    decision = Router().decide(req, cands)
    artifact = decision.to_artifact()
    validate_artifact("router-decision", artifact)
    assert [e["endpoint_id"] for e in artifact["eligibility"]] == [c.endpoint_id for c in cands]
    eligible = [e["endpoint_id"] for e in artifact["eligibility"] if e["eligible"]]
    for entry in artifact["eligibility"]:
        assert entry["eligible"] == (entry["exclusions"] == [])
    ranked = [s["endpoint_id"] for s in artifact["scored_candidates"]]
    assert sorted(ranked) == sorted(eligible)
    if eligible:
        assert artifact["chosen_endpoint_id"] == ranked[0]
        assert artifact["fallback_endpoint_ids"] == ranked[1:]
        assert artifact["selection_reasons"][0] == "BEST_TOTAL_SCORE"
        best = max(s["total_score"] for s in artifact["scored_candidates"])
        assert artifact["scored_candidates"][0]["total_score"] >= best - 0.01 - 1e-9
    else:
        assert artifact["chosen_endpoint_id"] == ""
        assert artifact["selection_reasons"] == []
    # deterministic: the same inputs in another order give the same winner and chain
    again = Router().decide(req, list(reversed(cands)))
    assert again.chosen_endpoint_id == decision.chosen_endpoint_id
    assert again.fallback_endpoint_ids == decision.fallback_endpoint_ids
