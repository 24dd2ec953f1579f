"""The metric families the gateway exports, named once (docs/operate.md lists them).

Names follow Prometheus conventions: the ``rolecall_`` prefix, base units in the name (seconds,
bytes, USD), ``_total`` on counters (prometheus-client adds it). Labels stay bounded: endpoints,
roles, strategies, key ids, failure classes, reason codes — never a user, a tag or a request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Histogram

__all__ = ["LATENCY_BUCKETS_S", "Families", "build_families"]

# From a loopback upstream's milliseconds to a slow local model on CPU writing for a minute.
LATENCY_BUCKETS_S: Final = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.0,
    4.0,
    8.0,
    15.0,
    30.0,
    60.0,
)


@dataclass(frozen=True, slots=True)
class Families:
    """Every metric object of one process (label children are made when the tally flushes)."""

    requests: Counter
    duration: Histogram
    ttft: Histogram
    errors: Counter
    fallbacks: Counter
    retries: Counter
    refusals: Counter
    tokens: Counter
    cost: Counter
    decisions: Counter
    reasons: Counter
    exclusions: Counter
    bench_started: Counter
    bench_finished: Counter


def build_families(registry: CollectorRegistry | None) -> Families:
    """The families, registered in ``registry`` (None: in multiprocess mode, where the values
    live in the shared directory's files and the exposition reads them from there)."""

    def counter(name: str, doc: str, *labels: str) -> Counter:
        return Counter(name, doc, labels, registry=registry)

    def histogram(name: str, doc: str, *labels: str) -> Histogram:
        return Histogram(name, doc, labels, registry=registry, buckets=LATENCY_BUCKETS_S)

    return Families(
        requests=counter(
            "rolecall_requests",
            "Chat completions answered, by the endpoint that answered (none: not routed), the "
            "requested role, the routing strategy, the gateway key and the status class",
            *("endpoint", "role", "strategy", "key_id", "status_class"),
        ),
        duration=histogram(
            "rolecall_request_duration_seconds",
            "Time from a request's arrival to its last byte, as the gateway measured it",
            *("endpoint", "status_class"),
        ),
        ttft=histogram(
            "rolecall_time_to_first_token_seconds",
            "Time from a streamed request's arrival to its first content token",
            "endpoint",
        ),
        errors=counter(
            "rolecall_upstream_errors",
            "Failed upstream attempts by failure class (docs/protocol.md §Failure classes; "
            "stream_truncated: a stream cut after its first token)",
            *("endpoint", "error_class"),
        ),
        fallbacks=counter(
            "rolecall_fallbacks",
            "Requests that moved on from a failed endpoint to the next of the fallback chain",
            *("from_endpoint", "to_endpoint"),
        ),
        retries=counter(
            "rolecall_retries", "Quick retries on the same endpoint after a failure", "endpoint"
        ),
        refusals=counter(
            "rolecall_refusals",
            "Requests refused without an upstream call: budget_exceeded, rate_limit_exceeded, "
            "no_eligible_endpoint (a refusal is not a fallback)",
            *("reason", "key_id"),
        ),
        tokens=counter(
            "rolecall_tokens",
            "Tokens of answered requests (type: input or output)",
            *("endpoint", "key_id", "type"),
        ),
        cost=counter(
            "rolecall_cost_usd",
            "Cost of answered requests at the endpoint's prices, in US dollars",
            *("endpoint", "key_id"),
        ),
        decisions=counter(
            "rolecall_routing_decisions",
            "Routing decisions by strategy and outcome (chosen, or none eligible)",
            *("strategy", "outcome"),
        ),
        reasons=counter(
            "rolecall_routing_selection_reasons",
            "Selection reasons of the chosen endpoints (a decision counts once per reason)",
            "reason",
        ),
        exclusions=counter(
            "rolecall_routing_exclusions",
            "Candidates excluded from decisions, by exclusion reason code",
            "code",
        ),
        bench_started=counter(
            "rolecall_benchmark_runs_started", "Benchmark runs started (or resumed)", "mode"
        ),
        bench_finished=counter(
            "rolecall_benchmark_runs_finished",
            "Benchmark runs ended, by status",
            *("mode", "status"),
        ),
    )
