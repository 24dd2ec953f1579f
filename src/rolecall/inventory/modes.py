"""The ``routing:`` settings of the planning modes and of observed data, as written in
``rolecall.yaml``: ``difficulty`` (the classifier and the ceilings derived from benchmark
quality), ``controller`` (the routing-controller endpoint) and ``observed_data`` (per-metric
recency decay and the throughput SLA).

Which planner runs is ``routing.mode`` (`rolecall.inventory.aliases.RoutingMode`); these are
only its settings, each with defaults, so ``mode: difficulty`` works with nothing else written.
What the values mean is in docs/routing.md §Routing modes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rolecall.routing.request import DIFFICULTIES as DIFFICULTIES
from rolecall.routing.request import Difficulty as Difficulty

ClassifierSource = Literal["rubric", "endpoint", "learned"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CeilingConfig(_Strict):
    """When benchmark quality sets an endpoint's ``max_difficulty`` (one it did not declare).

    A bucket counts only with ``min_samples`` judged benchmark samples; the ceiling is the bucket
    below the easiest one whose quality's 95% interval lies wholly under ``min_quality``.
    """

    min_samples: int = Field(default=4, ge=1)
    min_quality: float = Field(default=0.5, ge=0, le=1)


class DifficultyConfig(_Strict):
    """How a request's difficulty is classified: the versioned rubric (always available, and
    the fallback of the others), a small classifier endpoint, or a learned classifier."""

    classifier: ClassifierSource = "rubric"
    rubric_version: str = "rubric-v2"
    endpoint_id: str | None = None  # classifier: endpoint
    artifact: Path | None = None  # classifier: learned (``rolecall lab train-difficulty``)
    timeout_ms: int = Field(default=800, ge=1, le=60_000)
    fallback_difficulty: Difficulty = "medium"  # when the classifier endpoint fails
    ceilings: CeilingConfig = Field(default_factory=CeilingConfig)

    @model_validator(mode="after")
    def _source_named(self) -> DifficultyConfig:
        if self.classifier == "endpoint" and not self.endpoint_id:
            raise ValueError(
                "classifier 'endpoint' needs endpoint_id: the endpoint that classifies"
            )
        if self.classifier == "learned" and self.artifact is None:
            raise ValueError(
                "classifier 'learned' needs artifact: a file written by "
                "'rolecall lab train-difficulty'"
            )
        return self


class ControllerConfig(_Strict):
    """The routing-controller model of the ``controller`` and ``hybrid`` modes."""

    endpoint_id: str
    timeout_ms: int = Field(default=1500, ge=1, le=60_000)
    max_tokens: int = Field(default=200, ge=16, le=4096)
    # the most one controller call may cost (its endpoint's price × the prompt's tokens); a
    # dearer call is skipped and the request routes in the baseline mode
    budget_usd: float = Field(default=0.002, ge=0, allow_inf_nan=False)
    prompt_chars: int = Field(default=4000, ge=200, le=100_000)  # the request text it is shown


class RecencyDecayConfig(_Strict):
    """Measured metrics pulled toward neutral as their evidence ages (half-lives in seconds)."""

    enabled: bool = False
    quality_s: float = Field(default=900, gt=0)
    latency_s: float = Field(default=300, gt=0)
    throughput_s: float = Field(default=120, gt=0)
    reliability_s: float = Field(default=600, gt=0)
    cost_s: float = Field(default=1800, gt=0)


class ThroughputSlaConfig(_Strict):
    """An endpoint measured below ``min_tokens_per_sec`` has its throughput metric multiplied by
    ``penalty_factor`` for ``penalty_s`` (0 excludes it, as POLICY_DENY_ENDPOINT)."""

    enabled: bool = False
    min_tokens_per_sec: float = Field(default=24.0, gt=0)
    penalty_s: float = Field(default=600, gt=0)
    penalty_factor: float = Field(default=0.5, ge=0, le=1)


class ObservedDataConfig(_Strict):
    recency_decay: RecencyDecayConfig = Field(default_factory=RecencyDecayConfig)
    throughput_sla: ThroughputSlaConfig = Field(default_factory=ThroughputSlaConfig)


def unavailable_modes(*, learned: bool, controller: bool) -> dict[str, str]:
    """The routing modes that cannot run, each with what it needs."""
    missing: dict[str, str] = {}
    if not learned:
        missing["learned"] = "a trained router (routing.learned)"
    if not controller:
        for mode in ("controller", "hybrid"):
            missing[mode] = "a routing-controller endpoint (routing.controller.endpoint_id)"
    return missing
