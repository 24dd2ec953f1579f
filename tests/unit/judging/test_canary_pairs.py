"""Which canary results are compared with which history: the latest non-canary run resets the
canaries, and a case is compared with its latest score before the canaries."""

from __future__ import annotations

from typing import Any

from rolecall.benchmark.results import BenchResultRecord, BenchRunRecord
from rolecall.inventory.live_quality import CanaryConfig
from rolecall.judging.canaries import Canaries


def _run(run_id: str, mode: str, at: int) -> BenchRunRecord:
    return BenchRunRecord(run_id, mode, "completed", at, at + 1, None, 2, {"endpoints": ["ep"]})


def _result(run_id: str, case: str, score: float, status: str = "graded") -> BenchResultRecord:
    return BenchResultRecord(
        run_id, "ep", case, "s", case, "easy", "t", status, score, 1.0, 1, 0.0, 0
    )


class Alarms:
    def __init__(self) -> None:
        self.raised: list[tuple[str, str, dict[str, Any]]] = []

    def raise_alarm(
        self, endpoint_id: str, metric: str, summary: str, evidence: dict[str, Any]
    ) -> dict[str, Any]:
        self.raised.append((endpoint_id, metric, evidence))
        return {}


def _canaries(
    runs: list[BenchRunRecord], results: dict[str, list[BenchResultRecord]]
) -> tuple[Canaries, Alarms]:
    alarms = Alarms()
    canaries = Canaries(
        CanaryConfig(enabled=True, min_pairs=2),
        hub=None,  # type: ignore[arg-type]
        drift=alarms,  # type: ignore[arg-type]
        leading=lambda: True,
        runs=lambda _limit: runs,
        results_of=lambda run_id: results.get(run_id, []),
        base_dir=__import__("pathlib").Path("."),
    )
    return canaries, alarms


def test_canaries_after_the_latest_full_run_are_paired_with_its_scores() -> None:
    runs = [
        _run("full-1", "full", 100),
        _run("canary-1", "canary", 200),  # before the newer full run: not counted
        _run("full-2", "full", 300),
        _run("canary-2", "canary", 400),
    ]
    results = {
        "full-1": [_result("full-1", "a", 0.2), _result("full-1", "b", 1.0)],
        "canary-1": [_result("canary-1", "a", 0.0)],
        "full-2": [_result("full-2", "a", 1.0)],
        "canary-2": [
            _result("canary-2", "a", 0.0),
            _result("canary-2", "b", 0.0),
            _result("canary-2", "c", 0.0, status="error"),
        ],
    }
    canaries, alarms = _canaries(runs, results)
    pairs = canaries._pairs("ep", runs, results)
    assert sorted(pairs) == [(0.0, 1.0), (0.0, 1.0)]  # a against full-2, b against full-1
    verdicts = canaries.judge(["ep"])
    assert verdicts["ep"] is not None
    assert verdicts["ep"]["alarmed"] is True
    assert [(e, m) for e, m, _ in alarms.raised] == [("ep", "canary")]


def test_no_history_no_verdict() -> None:
    runs = [_run("canary-1", "canary", 100)]
    canaries, alarms = _canaries(runs, {"canary-1": [_result("canary-1", "a", 0.0)]})
    assert canaries.judge(["ep"]) == {"ep": None}
    assert alarms.raised == []


def test_the_newest_rounds_that_suffice_decide() -> None:
    """Short (adaptive) rounds: an older round's score of a case no newer round ran speaks for a
    past state, so it joins only when the newer rounds have too few cases."""
    runs = [
        _run("full-1", "full", 100),
        _run("canary-1", "canary", 200),
        _run("canary-2", "canary", 300),
    ]
    results = {
        "full-1": [_result("full-1", k, 1.0) for k in ("a", "b", "c")],
        "canary-1": [_result("canary-1", "a", 1.0), _result("canary-1", "b", 1.0)],
        "canary-2": [_result("canary-2", "a", 0.0), _result("canary-2", "c", 0.0)],
    }
    canaries, _ = _canaries(runs, results)
    assert sorted(canaries._pairs("ep", runs, results, 2)) == [(0.0, 1.0), (0.0, 1.0)]
    widened = canaries._pairs("ep", runs, results, 3)  # b comes from the older round
    assert sorted(widened) == [(0.0, 1.0), (0.0, 1.0), (1.0, 1.0)]
