"""The scripted upstream's run-time state: the current script, its counters and RNG, and the stats.

`UpstreamState.plan` resolves a request (model, last user prompt) into a `Plan`: the model's
script with the first matching rule applied, and the failure to inject, if any. Counters for
``nth``/``every`` and ``times`` and the seeded RNG for ``rate`` live here, so replacing the script
or calling `reset` starts them afresh. Nothing here does I/O; the server calls it on its event
loop, one request at a time between awaits, so no locking is needed.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .script import Failure, ModelScript, Rule, Script

_SECRET_HEADERS = frozenset({"authorization", "x-api-key", "proxy-authorization"})
MAX_TRACEPARENTS = 100  # the latest requests' W3C traceparent headers kept per model


@dataclass(frozen=True)
class Plan:
    """What to do for one request: answer as ``script`` says, or inject ``failure``."""

    model: str
    script: ModelScript
    failure: Failure | None


@dataclass
class ModelStats:
    """Counts for one requested model name."""

    requests: int = 0
    streams: int = 0
    failures: int = 0
    failures_by_kind: dict[str, int] = field(default_factory=dict)
    not_found: int = 0
    last_headers: dict[str, str] = field(default_factory=dict)
    last_body: Any = None
    # every request's ``traceparent``, oldest first (a retry's and a fallback's are each kept)
    traceparents: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "streams": self.streams,
            "failures": self.failures,
            "failures_by_kind": dict(self.failures_by_kind),
            "not_found": self.not_found,
            "last_headers": dict(self.last_headers),
            "last_body": self.last_body,
            "traceparents": list(self.traceparents),
        }


class UpstreamState:
    """The mutable half of a scripted upstream (the script itself is immutable)."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self._stats: dict[str, ModelStats] = {}
        self._reset_counters()

    def replace(self, script: Script) -> None:
        """Play ``script`` from now on; rule, ``times`` and RNG counters start afresh, stats stay."""
        self.script = script
        self._reset_counters()

    def reset(self) -> None:
        """Zero the stats and start the counters and the RNG afresh."""
        self._stats = {}
        self._reset_counters()

    def _reset_counters(self) -> None:
        self._rng = random.Random(self.script.seed)
        self._rule_matches = [0] * len(self.script.rules)
        self._failures_injected: dict[str, int] = {}

    def plan(self, model: str, prompt: str) -> Plan | None:
        """The plan for a request to ``model`` whose last user message is ``prompt``; None if the
        model is not scripted."""
        base = self.script.models.get(model)
        if base is None:
            return None
        resolved, fail_key = base, f"model:{model}"
        index, rule = self._matching_rule(model, prompt)
        if rule is not None:
            overrides = rule.overrides()
            resolved = base.model_copy(update=overrides)
            if "fail" in overrides:
                fail_key = f"rule:{index}"
        return Plan(model, resolved, self._fire(resolved.fail, fail_key))

    def _matching_rule(self, model: str, prompt: str) -> tuple[int, Rule | None]:
        for index, rule in enumerate(self.script.rules):
            if rule.model not in (None, model):
                continue
            if rule.prompt_contains is not None and rule.prompt_contains not in prompt:
                continue
            self._rule_matches[index] += 1
            if _selected(rule, self._rule_matches[index]):
                return index, rule
        return -1, None

    def _fire(self, failure: Failure | None, key: str) -> Failure | None:
        if failure is None:
            return None
        injected = self._failures_injected.get(key, 0)
        if failure.times is not None and injected >= failure.times:
            return None
        if failure.rate < 1.0 and self._rng.random() >= failure.rate:
            return None
        self._failures_injected[key] = injected + 1
        return failure

    def record_request(
        self, model: str, headers: Mapping[str, str], body: Any, *, stream: bool
    ) -> None:
        stats = self._stats.setdefault(model, ModelStats())
        stats.requests += 1
        stats.streams += int(stream)
        stats.last_headers = {
            str(k): v for k, v in headers.items() if k.lower() not in _SECRET_HEADERS
        }
        stats.last_body = body
        traceparent = headers.get("traceparent")  # aiohttp's headers ignore case
        if traceparent is not None:
            stats.traceparents = [*stats.traceparents[-(MAX_TRACEPARENTS - 1) :], traceparent]

    def record_not_found(self, model: str) -> None:
        self._stats.setdefault(model, ModelStats()).not_found += 1

    def record_failure(self, model: str, kind: str) -> None:
        stats = self._stats.setdefault(model, ModelStats())
        stats.failures += 1
        stats.failures_by_kind[kind] = stats.failures_by_kind.get(kind, 0) + 1

    def stats(self) -> dict[str, Any]:
        """A JSON-ready snapshot: per-model counts and totals."""
        models = {name: stats.as_dict() for name, stats in sorted(self._stats.items())}
        return {
            "requests": sum(stats.requests for stats in self._stats.values()),
            "failures": sum(stats.failures for stats in self._stats.values()),
            "models": models,
        }


def _selected(rule: Rule, match_count: int) -> bool:
    if rule.nth is not None and match_count != rule.nth:
        return False
    return rule.every is None or match_count % rule.every == 0
