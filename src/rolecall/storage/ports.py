"""The storage ports: one small protocol per kind of record the runtime keeps.

Owns `SampleStore`, `ProfileStore`, `DecisionStore`, `TraceStore`, `UsageStore`, `ApiKeyStore`,
`CooldownStore` and `Storage` (all of them plus ``close``). Use cases depend on the narrowest port
they need; `rolecall.storage.sql.SqlStorage` implements every one on SQLite and PostgreSQL.
Artifacts (decisions, spans, events, usage) cross the ports as JSON-ready mappings that conform to
their role-model schema, and come back as plain dicts equal to what was written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from rolecall.profiles.samples import Sample
from rolecall.protocol import ObservedPerformanceProfile
from rolecall.storage.records import ApiKeyRecord, Cooldown

__all__ = [
    "ApiKeyStore",
    "CooldownStore",
    "DecisionStore",
    "ProfileStore",
    "SampleStore",
    "Storage",
    "TraceStore",
    "UsageStore",
]


class SampleStore(Protocol):
    """Benchmark and live samples, the input of profile aggregation."""

    def add_samples(self, samples: Sequence[Sample]) -> None:
        """Append ``samples`` (all or none)."""

    def samples_for(
        self, endpoint_id: str, *, since_ms: int | None = None, source: str | None = None
    ) -> list[Sample]:
        """Samples of one endpoint, oldest first, at or after ``since_ms``, of ``source``."""

    def delete_samples(self, endpoint_id: str | None = None, *, source: str | None = None) -> int:
        """Delete the matching samples (every sample when no filter is given); return how many."""


class ProfileStore(Protocol):
    """The current observed performance profile of each endpoint."""

    def put_profile(self, profile: ObservedPerformanceProfile) -> None:
        """Insert or replace the profile of ``profile.endpoint_id``."""

    def get_profile(self, endpoint_id: str) -> ObservedPerformanceProfile | None:
        """The stored profile of ``endpoint_id``, if any."""

    def list_profiles(self) -> list[ObservedPerformanceProfile]:
        """Every stored profile, by endpoint id."""


class DecisionStore(Protocol):
    """RouterDecision artifacts, for decision review and explanation."""

    def put_decision(self, decision: Mapping[str, Any], *, created_ms: int) -> None:
        """Insert or replace the decision keyed by its ``routing_decision_id``."""

    def put_decisions(self, decisions: Sequence[tuple[Mapping[str, Any], int]]) -> None:
        """Store many decisions, each with its creation time, in one transaction."""
        ...

    def get_decision(self, routing_decision_id: str) -> dict[str, Any] | None:
        """The decision artifact, if stored."""

    def list_decisions(
        self, *, limit: int = 50, offset: int = 0, endpoint_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Decisions newest first, optionally only those that chose ``endpoint_id``."""

    def count_decisions(self) -> int:
        """How many decisions are stored."""


class TraceStore(Protocol):
    """TraceSpan and TraceEvent artifacts, joined by request id."""

    def add_spans(self, spans: Sequence[Mapping[str, Any]]) -> None:
        """Store spans; a span already stored (same trace and span id) is kept as it was."""

    def add_events(self, events: Sequence[Mapping[str, Any]]) -> None:
        """Store events; an event already stored (same event id) is kept as it was."""

    def add_trace(
        self, spans: Sequence[Mapping[str, Any]], events: Sequence[Mapping[str, Any]]
    ) -> None:
        """`add_spans` and `add_events` in one write (a request's whole trace)."""

    def spans_for(self, request_id: str) -> list[dict[str, Any]]:
        """Spans of one request, by start time."""

    def events_for(self, request_id: str) -> list[dict[str, Any]]:
        """Events of one request, by timestamp."""


class UsageStore(Protocol):
    """UsageEvent artifacts: tokens, latency, cost and outcome per executed request."""

    def add_usage(self, events: Sequence[Mapping[str, Any]]) -> None:
        """Store usage events; one already stored (same event id) is kept as it was."""

    def usage_for(self, request_id: str) -> list[dict[str, Any]]:
        """Usage events of one request, oldest first."""

    def list_usage(
        self, *, limit: int = 100, offset: int = 0, endpoint_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Usage events newest first, optionally of one endpoint only."""


class ApiKeyStore(Protocol):
    """Hashed gateway API keys."""

    def put_api_key(self, record: ApiKeyRecord) -> None:
        """Insert or replace the key record with ``record.key_id``."""

    def find_api_key(self, key_hash: str) -> ApiKeyRecord | None:
        """The non-revoked key with this hash, if any."""

    def list_api_keys(self) -> list[ApiKeyRecord]:
        """Every key record, revoked ones included, oldest first."""

    def revoke_api_key(self, key_id: str) -> bool:
        """Revoke a key; False if no such non-revoked key exists."""


class CooldownStore(Protocol):
    """Per-endpoint execution cooldowns (role-model §2.20)."""

    def put_cooldown(self, cooldown: Cooldown) -> None:
        """Insert or replace the cooldown of ``cooldown.endpoint_id``."""

    def get_cooldown(self, endpoint_id: str) -> Cooldown | None:
        """The endpoint's cooldown, if any (expired ones included)."""

    def list_cooldowns(self) -> list[Cooldown]:
        """Every stored cooldown, by endpoint id."""

    def clear_cooldown(self, endpoint_id: str) -> None:
        """Forget the endpoint's cooldown (no error if there is none)."""


class Storage(
    SampleStore,
    ProfileStore,
    DecisionStore,
    TraceStore,
    UsageStore,
    ApiKeyStore,
    CooldownStore,
    Protocol,
):
    """Every port, plus releasing the underlying resources."""

    def close(self) -> None:
        """Release connections; the storage must not be used afterwards."""


# appended with the benchmark port; kept here so the earlier part of the file stays untouched
from rolecall.benchmark.records import BenchPairRecord, BenchResultRecord, BenchRunRecord  # noqa: E402


class BenchmarkStore(Protocol):
    """Benchmark runs, their graded case results and pairwise comparisons (rolecall.benchmark)."""

    def create_bench_run(self, run: BenchRunRecord) -> None:
        """Insert a new run (its id must be new)."""

    def update_bench_run(
        self,
        run_id: str,
        *,
        status: str,
        finished_ms: int | None = None,
        config: dict[str, Any] | None = None,
    ) -> None:
        """Set a run's status and finish time (and replace its config when given)."""

    def get_bench_run(self, run_id: str) -> BenchRunRecord | None:
        """The run, if stored."""

    def list_bench_runs(self, *, limit: int = 100) -> list[BenchRunRecord]:
        """Runs, newest first."""

    def put_bench_result(self, result: BenchResultRecord) -> bool:
        """Store a graded case unless one is stored for the same key; True when it was new."""

    def bench_results(self, run_id: str) -> list[BenchResultRecord]:
        """Every stored result of a run, in the order they were graded."""

    def count_bench_results(self, run_id: str) -> dict[str, int]:
        """Stored results of a run by status."""

    def put_bench_pair(self, pair: BenchPairRecord) -> bool:
        """Store a pairwise comparison unless already stored; True when it was new."""

    def bench_pairs(self, run_id: str) -> list[BenchPairRecord]:
        """Every pairwise comparison of a run."""

    def delete_bench_results(self, endpoint_id: str | None = None) -> int:
        """Delete results and pairs of one endpoint (or all); return how many results went."""
