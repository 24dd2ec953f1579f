"""Drift alarms: each endpoint's live quality watched against its benchmark, and demotion.

Owns `DriftWatch`. After live quality evidence of an endpoint is stored (a shadow judge's grade,
feedback) `check` runs the CUSUM of `rolecall.profiles.drift` over the scores given since the
endpoint's latest benchmark, against that benchmark's judged scores. An alarm is kept in a
shared document (every process reads it, and is told when it changes) and demotes the endpoint:
its quality metric scores 0 (`RoutingState.set_demotions`), so it ranks behind every endpoint
that is not demoted yet still serves as a fallback. An alarm names the metric, the size of the
shift, the evidence and the action to take; it stays open until a full benchmark of the endpoint
finishes after it (the live stream then restarts from that benchmark) or an operator clears it.

Quality and canary alarms are keyed by the endpoint and demote it. Alarms on how the endpoint
serves (`rolecall.judging.service_drift`: failure rate, throughput) are keyed
``endpoint/metric``, demote nothing (routing already weighs live latency and reliability) and
close themselves once the endpoint's requests are back in line.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final, Protocol

from rolecall.profiles import Sample
from rolecall.profiles.drift import DEFAULT_PARAMS, DriftParams, quality_drift
from rolecall.profiles.samples import QUALITY_ONLY_SOURCES

__all__ = ["ALARMS_DOC", "AlarmDoc", "DriftWatch", "alarm_key"]

log = logging.getLogger("rolecall.judging")
ALARMS_DOC: Final = "drift-alarms"
HISTORY: Final = 50  # cleared alarms kept in the document


DEMOTING: Final = frozenset({"quality", "canary"})


def alarm_key(endpoint_id: str, metric: str) -> str:
    """Where an alarm is kept: a demoting alarm under its endpoint (one per endpoint), any
    other under ``endpoint/metric``."""
    return endpoint_id if metric in DEMOTING else f"{endpoint_id}/{metric}"


class AlarmDoc(Protocol):
    def load(self) -> dict[str, Any]: ...

    def change(
        self, edit: Callable[[dict[str, Any]], dict[str, Any] | None]
    ) -> dict[str, Any] | None: ...


class DriftWatch:
    """Checks endpoints for quality drift, keeps the alarms and applies their demotions.

    ``samples`` gives an endpoint's stored samples (blocking), ``version`` its current version
    (None when it is gone), ``demote`` routes with exactly the endpoints given demoted.
    """

    def __init__(
        self,
        samples: Callable[[str], Sequence[Sample]],
        doc: AlarmDoc,
        *,
        version: Callable[[str], str | None],
        demote: Callable[[Mapping[str, str]], None],
        params: DriftParams = DEFAULT_PARAMS,
        clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        self._samples = samples
        self._doc = doc
        self._version = version
        self._demote = demote
        self._params = params
        self._clock_ms = clock_ms
        self.open_alarms: dict[str, Any] = {}  # as last applied: what `/metrics` reports

    def check(self, endpoint_ids: Iterable[str]) -> list[dict[str, Any]]:
        """Raise or clear the alarms of these endpoints; the alarms raised now."""
        raised = []
        for endpoint_id in sorted(set(endpoint_ids)):
            try:
                alarm = self._check_one(endpoint_id)
            except Exception:  # the evidence that called is stored: a failed check costs the check
                log.warning("drift check of %s failed", endpoint_id, exc_info=True)
                continue
            if alarm is not None:
                raised.append(alarm)
        return raised

    def alarms(self) -> dict[str, Any]:
        """``{"open": {key: alarm}, "cleared": [alarm, ...]}`` as stored."""
        return _alarms(self._doc.load())

    def clear(self, key: str, why: str) -> bool:
        """Close the open alarm kept under ``key`` (`alarm_key`; False when there is none)."""

        def edit(stored: dict[str, Any]) -> dict[str, Any] | None:
            doc = _alarms(stored)
            alarm = doc["open"].pop(key, None)
            if alarm is None:
                return None
            alarm |= {"cleared_ms": self._clock_ms(), "cleared_by": why}
            doc["cleared"] = [alarm, *doc["cleared"]][:HISTORY]
            return doc

        # one read-edit-save across processes: a CLI clearing an alarm while the leader opens
        # another must not bring the cleared one back
        if self._doc.change(edit) is None:
            return False
        log.warning("drift alarm %s cleared: %s", key, why)
        self.apply()
        return True

    def apply(self) -> None:
        """Route with the stored demoting alarms' endpoints demoted (at start, and when another
        process changed the alarms)."""
        opened = self.alarms()["open"]
        self.open_alarms = opened
        self._demote(
            {
                alarm["endpoint_id"]: alarm["summary"]
                for alarm in opened.values()
                if alarm.get("demotes", True)
            }
        )

    def _check_one(self, endpoint_id: str) -> dict[str, Any] | None:
        version = self._version(endpoint_id)
        if version is None:
            return None
        samples = [s for s in self._samples(endpoint_id) if s.endpoint_version == version]
        # canaries are judged against the history themselves (`rolecall.judging.canaries`): they
        # are not the baseline, and do not restart the live stream
        bench = [
            s
            for s in samples
            if s.source == "benchmark"
            and s.judge_score is not None
            and s.benchmark_mode != "canary"
        ]
        if not bench:
            return None
        since = max(s.timestamp_ms for s in bench)
        opened = self.alarms()["open"].get(endpoint_id)
        if opened is not None:
            full = any(
                s.benchmark_mode in (None, "full") and s.timestamp_ms > opened["opened_ms"]
                for s in bench
            )
            if full:
                self.clear(endpoint_id, "a full benchmark finished after the alarm")
            return None
        live = [
            s
            for s in samples
            if s.source in QUALITY_ONLY_SOURCES
            and s.judge_score is not None
            and s.timestamp_ms > since
        ]
        scores = [s.judge_score for s in live if s.judge_score is not None]
        drift = quality_drift(
            [s.judge_score for s in bench if s.judge_score is not None], scores, self._params
        )
        if drift is None or not drift.alarmed:
            return None
        sources = sorted({s.source for s in live})
        evidence = drift.to_json()
        run = int(evidence["alarm_at"] or 0) - int(evidence["run_start"] or 0) + 1
        summary = (
            f"quality drift alarm: live quality {drift.run_mean:.2f} over the last {run} "
            f"scores ({', '.join(sources)}) against {drift.baseline_mean:.2f} benchmarked "
            f"(a drop of {drift.shift:.2f})"
        )
        return self.raise_alarm(endpoint_id, "quality", summary, {**evidence, "sources": sources})

    def raise_alarm(
        self,
        endpoint_id: str,
        metric: str,
        summary: str,
        evidence: dict[str, Any],
        action: str | None = None,
    ) -> dict[str, Any]:
        """Open an alarm on the endpoint's ``metric`` (unless one is open) and, for quality and
        canaries, demote the endpoint; the open alarm."""
        key = alarm_key(endpoint_id, metric)
        demotes = metric in DEMOTING
        alarm = {
            "key": key,
            "endpoint_id": endpoint_id,
            "metric": metric,
            "demotes": demotes,
            "opened_ms": self._clock_ms(),
            "summary": summary,
            "evidence": evidence,
            "action": action or _rebenchmark(endpoint_id),
        }
        opened: dict[str, Any] = {}

        def edit(stored: dict[str, Any]) -> dict[str, Any] | None:
            doc = _alarms(stored)
            if key in doc["open"]:
                opened.update(doc["open"][key])
                return None
            doc["open"][key] = alarm
            return doc

        if self._doc.change(edit) is None:
            return opened
        log.warning("drift alarm on %s: %s%s", endpoint_id, summary, "; demoted" * demotes)
        self.apply()
        return alarm


def _alarms(doc: dict[str, Any]) -> dict[str, Any]:
    return {"open": dict(doc.get("open") or {}), "cleared": list(doc.get("cleared") or [])}


def _rebenchmark(endpoint_id: str) -> str:
    return (
        f"re-benchmark {endpoint_id} (rolecall bench run --full --endpoints {endpoint_id}); "
        "until then it ranks last on quality. If its model or deployment changed on purpose, a "
        "full benchmark makes that the new baseline."
    )
