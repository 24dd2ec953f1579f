"""The ports benchmarking depends on: where runs, results and pairs are kept.

Owns `BenchmarkStore`, which `rolecall.storage.benchmarks.SqlBenchmarks` implements. Samples and
profiles go through `rolecall.observe.evidence.EvidenceIntake`.
"""

from __future__ import annotations

from typing import Any, Protocol

from rolecall.benchmark.results import BenchPairRecord, BenchResultRecord, BenchRunRecord

__all__ = ["BenchmarkStore"]


class BenchmarkStore(Protocol):
    """Benchmark runs, their graded case results and pairwise comparisons."""

    def create_run(self, run: BenchRunRecord) -> None:
        """Insert a new run (its id must be new)."""
        ...

    def update_run(
        self,
        run_id: str,
        *,
        status: str,
        finished_ms: int | None = None,
        config: dict[str, Any] | None = None,
    ) -> None:
        """Set a run's status and finish time (and replace its config when given)."""
        ...

    def get_run(self, run_id: str) -> BenchRunRecord | None:
        """The run, if stored."""
        ...

    def list_runs(self, *, limit: int = 100) -> list[BenchRunRecord]:
        """Runs, newest first."""
        ...

    def put_result(self, result: BenchResultRecord) -> bool:
        """Store a graded case unless one is stored for the same key; True when it was new."""
        ...

    def results(self, run_id: str) -> list[BenchResultRecord]:
        """Every stored result of a run, in the order they were graded."""
        ...

    def count_results(self, run_id: str) -> dict[str, int]:
        """Stored results of a run by status."""
        ...

    def put_pair(self, pair: BenchPairRecord) -> bool:
        """Store a pairwise comparison unless already stored; True when it was new."""
        ...

    def pairs(self, run_id: str) -> list[BenchPairRecord]:
        """Every pairwise comparison of a run."""
        ...

    def delete_results(self, endpoint_id: str | None = None) -> int:
        """Delete results and pairs of one endpoint (or all); return how many results went."""
        ...
