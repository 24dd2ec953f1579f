"""Canaries: a few benchmark cases re-run on a schedule, compared with each endpoint's history.

Owns `Canaries` and `rotating_cases`. Every ``every_s`` seconds, on the one process that leads
the deployment's background work (`rolecall.cluster.leader`), a ``canary`` benchmark run checks
each endpoint through the process's `BenchHub` (graded as any run; its spend capped by
``max_usd_per_round``; skipped while another run is active). Adaptive (the default), it takes up
to ``3 × per_bucket`` cases, those with history first, and stops an endpoint once its change
against its own quick and full history is clear; fixed, it takes ``per_bucket`` cases of each
difficulty bucket — a different slice each round, by the round's number, so the whole suite is
covered over time and every replica would pick the same. Then each endpoint's newest canary
results since its latest non-canary run (rounds taken newest first until ``min_pairs`` cases
pair) are paired with the same cases' latest scores before it, and
`rolecall.profiles.drift.canary_drop` decides; a drop opens an alarm on the endpoint
(`DriftWatch.raise_alarm`, metric ``canary``), which demotes it until a full benchmark.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from rolecall.benchmark.cases import BenchCase, load_suites, select_cases
from rolecall.benchmark.errors import BenchError
from rolecall.benchmark.results import BenchResultRecord, BenchRunRecord
from rolecall.benchmark.service import BenchHub
from rolecall.inventory.live_quality import CanaryConfig
from rolecall.judging.drift_watch import DriftWatch
from rolecall.profiles.drift import canary_drop

__all__ = ["Canaries", "rotating_cases"]

log = logging.getLogger("rolecall.judging")
TICK_S: Final = 1.0
HISTORY_RUNS: Final = 500  # the newest runs read for an endpoint's history


def rotating_cases(
    items: Sequence[tuple[str, BenchCase]], per_bucket: int, round_no: int
) -> list[str]:
    """``per_bucket`` case keys of each bucket, the ``round_no``-th slice of each (wrapping)."""
    chosen: list[str] = []
    for bucket in ("easy", "medium", "hard"):
        keys = sorted(f"{suite}/{case.id}" for suite, case in items if case.bucket == bucket)
        if not keys:
            continue
        start = (round_no * per_bucket) % len(keys)
        chosen += [keys[(start + i) % len(keys)] for i in range(min(per_bucket, len(keys)))]
    return chosen


class Canaries:
    """The canary schedule of one gateway process (it only runs while the process leads)."""

    def __init__(
        self,
        config: CanaryConfig,
        hub: BenchHub,
        drift: DriftWatch,
        *,
        leading: Callable[[], bool],
        runs: Callable[[int], Sequence[BenchRunRecord]],
        results_of: Callable[[str], Sequence[BenchResultRecord]],
        base_dir: Path,
        tick_s: float = TICK_S,
    ) -> None:
        self._config = config
        self._hub = hub
        self._drift = drift
        self._leading = leading
        self._runs = runs
        self._results_of = results_of
        self._suites = [p if p.is_absolute() else base_dir / p for p in config.suites]
        self._tick_s = tick_s
        self._task: asyncio.Task[None] | None = None
        self._next = 0.0
        self.counts: Counter[str] = Counter()

    async def start(self) -> None:
        if self._config.enabled and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._tick_s)
            if not self._leading() or time.monotonic() < self._next:
                continue
            self._next = time.monotonic() + self._config.every_s
            try:
                await self.round()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("a canary round failed", exc_info=True)
                self.counts["failed"] += 1

    async def round(self) -> dict[str, Any] | None:
        """Run one canary round and judge it; None when it was skipped (another run active)."""
        if self._hub.active_run is not None:
            self.counts["skipped"] += 1
            return None
        config = self._config
        suites = self._suites or None
        round_no = int(time.time() // config.every_s)
        # adaptive: the cases with history that tell most, until the change is clear either way
        # (within ±drop of none, or away from none); fixed: a rotating slice per bucket
        cases = (
            None
            if config.adaptive
            else rotating_cases(
                select_cases(load_suites(suites), "full"), config.per_bucket, round_no
            )
        )
        try:
            plan = await self._hub.plan_off_loop(
                "canary",
                config.endpoints or None,
                config.judge_endpoint_id or self._hub.default_judge(),
                suites,
                cases,
                config.max_usd_per_round,
                adaptive=config.adaptive,
                max_cases=3 * config.per_bucket,
                min_cases=config.min_pairs,
                tie_margin=config.drop,
            )
            run_id = await self._hub.start(plan)
        except BenchError as exc:
            log.warning("canary round not started: %s", exc)
            self.counts["not_started"] += 1
            return None
        status = await self._hub.wait(run_id)
        verdicts = await asyncio.to_thread(self.judge, list(plan.endpoint_ids))
        self.counts["rounds"] += 1
        return {"run_id": run_id, "status": status, "verdicts": verdicts}

    def judge(self, endpoint_ids: Sequence[str]) -> dict[str, dict[str, Any] | None]:
        """Each endpoint's canary verdict; opens an alarm on a drop (blocking: reads runs)."""
        runs = sorted(self._runs(HISTORY_RUNS), key=lambda r: r.started_ms)
        results = {run.run_id: self._results_of(run.run_id) for run in runs}  # read once
        out: dict[str, dict[str, Any] | None] = {}
        for endpoint_id in endpoint_ids:
            pairs = self._pairs(endpoint_id, runs, results, self._config.min_pairs)
            verdict = canary_drop(pairs, min_pairs=self._config.min_pairs, drop=self._config.drop)
            out[endpoint_id] = None if verdict is None else verdict.to_json()
            if verdict is not None and verdict.alarmed:
                summary = (
                    f"canary alarm: {verdict.pairs} canary cases scored {verdict.mean_change:+.2f} "
                    "on average against the same cases in the endpoint's own history"
                )
                self._drift.raise_alarm(endpoint_id, "canary", summary, verdict.to_json())
        return out

    @staticmethod
    def _pairs(
        endpoint_id: str,
        runs: Sequence[BenchRunRecord],
        results: Mapping[str, Sequence[BenchResultRecord]],
        min_pairs: int = 1,
    ) -> list[tuple[float, float]]:
        """(canary score, history score) of the cases the newest canary rounds since the
        endpoint's latest non-canary run ran, against each case's latest score before them.
        Rounds are taken newest first until ``min_pairs`` cases have a history, so a verdict
        rests on the newest evidence that suffices (an adaptive round can be short, and an
        older round's score of a case no newer round ran would speak for a past state)."""
        history: dict[str, float] = {}
        rounds: list[dict[str, float]] = []
        for run in runs:  # oldest first: later scores replace earlier ones
            if endpoint_id not in run.endpoints:
                continue
            graded = {
                r.case_key: float(r.score)
                for r in results.get(run.run_id, ())
                if r.endpoint_id == endpoint_id and r.status == "graded" and r.score is not None
            }
            if run.mode == "canary":
                rounds.append(graded)
            else:
                history.update(graded)
                rounds.clear()  # a new baseline: only canaries after it count
        canary: dict[str, float] = {}
        for graded in reversed(rounds):  # newest first: a newer score of a case wins
            canary.update({k: v for k, v in graded.items() if k not in canary})
            if sum(1 for key in canary if key in history) >= min_pairs:
                break
        return [(score, history[key]) for key, score in canary.items() if key in history]
