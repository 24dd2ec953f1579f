"""What became of one request, as the Request and Decision pages show it.

A request was served, failed, refused (it ran nowhere: a spent budget, no eligible endpoint) or
was a decision-only call (the decision was the answer). `outcome_view` puts its stored facts,
usage event, decision and spans into one summary: where it ran and whether that was a fallback,
status, latency, tokens, the cost estimate beside the actual cost, and in words why it was
refused or failed. Pages render it; they do not work it out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from rolecall.storage.sql_analytics_tables import EXECUTED, request_outcome

__all__ = ["outcome_view"]

LABELS: Final = {
    "served": "served",
    "failed": "failed",
    "refused": "refused",
    "decision_only": "decision only: not executed",
}
REFUSALS: Final = {
    "budget_exceeded": "refused: a budget had no room for it on any eligible endpoint",
    "no_eligible_endpoint": "refused: no endpoint was eligible",
}


def outcome_view(
    facts: Mapping[str, Any] | None,
    usage: Mapping[str, Any] | None,
    decision: Mapping[str, Any] | None,
    spans: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any] | None:
    """The summary of a stored request (None when neither its facts nor its usage are stored)."""
    if facts is None and usage is None:
        return None
    row = dict(usage or {}) | dict(facts or {})
    error = row.get("error_class")
    outcome = row.get("outcome") or request_outcome(error)
    executed = outcome in EXECUTED
    chosen = (decision or {}).get("chosen_endpoint_id") or row.get("chosen_endpoint_id") or None
    ran_on = row.get("endpoint_id") if executed else None
    return {
        "outcome": outcome,
        "label": LABELS.get(outcome, outcome),
        "status_family": row.get("status_family"),
        "error_class": error,
        "reason": _reason(outcome, error, decision, spans),
        "chosen_endpoint_id": chosen,
        "executed_on": ran_on,
        "fallback": bool(executed and chosen and ran_on != chosen),
        "latency_ms": row.get("latency_ms") if executed else None,
        "tokens_in": row.get("tokens_in") if executed else None,
        "tokens_out": row.get("tokens_out") if executed else None,
        "cost_estimate_usd": (usage or {}).get("cost_estimate") if executed else None,
        "cost_actual_usd": (usage or {}).get("cost_actual") if executed else None,
        "timestamp_ms": row.get("timestamp_ms"),
    }


def _reason(
    outcome: str,
    error: str | None,
    decision: Mapping[str, Any] | None,
    spans: Sequence[Mapping[str, Any]],
) -> str | None:
    if outcome == "decision_only":
        return "a decision-only call: the gateway answered with the decision and ran nothing"
    if outcome == "refused":
        detail = _exclusions(
            decision, only="BUDGET_EXCEEDED" if error == "budget_exceeded" else None
        )
        head = REFUSALS.get(str(error), f"refused: {error}")
        return f"{head} ({detail})" if detail else head
    if outcome == "failed":
        return _failure(error, spans)
    return None


def _exclusions(decision: Mapping[str, Any] | None, only: str | None) -> str:
    """Each excluded endpoint with its exclusion codes (``only``: that code, with its detail)."""
    parts = []
    for entry in (decision or {}).get("eligibility") or []:
        codes = [x for x in entry.get("exclusions") or [] if only is None or x.get("code") == only]
        if not codes:
            continue
        if only is not None:
            parts.append(f"{entry['endpoint_id']}: {codes[0].get('detail') or only}")
        else:
            parts.append(f"{entry['endpoint_id']}: {', '.join(str(x.get('code')) for x in codes)}")
    if not parts and decision is not None and not decision.get("eligibility"):
        return "no endpoints configured"
    return "; ".join(parts)


def _failure(error: str | None, spans: Sequence[Mapping[str, Any]]) -> str:
    """The failure class, with the last failed upstream attempt's endpoint and HTTP status."""
    failed = [
        s.get("attributes") or {}
        for s in spans
        if s.get("span_type") == "provider.prefill" and s.get("status") == "error"
    ]
    if not failed or failed[-1].get("error_class") != error:
        return f"failed: {error}"
    last = failed[-1]
    status = f" (HTTP {last['http_status']})" if last.get("http_status") else ""
    tried = len({a.get("endpoint_id") for a in failed})
    where = f" on {last.get('endpoint_id')}" if last.get("endpoint_id") else ""
    return f"failed: {error}{where}{status}; {len(failed)} failed attempt(s) on {tried} endpoint(s)"
