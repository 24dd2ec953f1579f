"""The ``routing.shadow_judging:``, ``routing.canaries:`` and ``routing.prompt_capture:``
settings, as written in ``rolecall.yaml``: which share of live answers a judge endpoint grades
after the fact (for which roles and tasks, at what spend), the scheduled re-benchmarks of a few
cases per endpoint, and whether the prompts of live requests are kept (so that feedback and
shadow grades can become learned-routing records). Owns `sampled`, the pick both shares use.

All off by default. What the values mean is in docs/profiles.md §Live quality and §Canaries and
docs/configuration.md §Prompt capture.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["CanaryConfig", "PromptCaptureConfig", "ShadowJudgingConfig", "sampled"]


def sampled(request_id: str, share: float) -> bool:
    """Whether the request is among the ``share`` picked: a hash of its id, so every replica
    picks the same ones and a retry of the same id is picked again or not at all. Shadow
    judging and prompt capture pick with the same hash, so a capture share at least the
    judging share keeps the prompt of every answer the judge grades."""
    if share <= 0:
        return False
    if share >= 1:
        return True
    digest = hashlib.blake2b(request_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < share


class ShadowJudgingConfig(BaseModel):
    """Shadow judging: ``share`` of the answered requests (by a hash of the request id, so every
    replica picks the same ones), of ``roles``/``tasks`` when given, graded by
    ``judge_endpoint_id`` with a reference-free rubric, spending at most ``budget_usd_per_day``
    (a UTC day, counted across every process on the database)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    share: float = Field(default=0.0, ge=0, le=1, allow_inf_nan=False)
    judge_endpoint_id: str | None = None
    roles: list[str] = Field(default_factory=list)  # empty: every role
    tasks: list[str] = Field(default_factory=list)  # empty: every task
    budget_usd_per_day: float = Field(default=1.0, ge=0, allow_inf_nan=False)
    timeout_ms: int = Field(default=30_000, ge=100, le=600_000)
    max_tokens: int = Field(default=200, ge=16, le=4096)
    prompt_chars: int = Field(default=6000, ge=200, le=100_000)  # of the conversation shown
    answer_chars: int = Field(default=6000, ge=200, le=100_000)  # of the answer shown
    queue: int = Field(default=200, ge=1, le=100_000)  # answers waiting; more are not judged


class CanaryConfig(BaseModel):
    """Canaries: every ``every_s`` seconds (on one process of the deployment) up to
    ``per_bucket`` cases per difficulty bucket (adaptive: chosen and stopped as the evidence
    says; fixed: rotating through the suite) are run on each endpoint
    (``endpoints``, or every chat endpoint) and compared with the same cases' scores in its
    history; a large and significant drop demotes it like a drift alarm."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    every_s: float = Field(default=900, ge=1, le=7 * 86_400)
    per_bucket: int = Field(default=2, ge=1, le=50)
    endpoints: list[str] = Field(default_factory=list)
    judge_endpoint_id: str | None = None  # default: the benchmark's default judge
    suites: list[Path] = Field(default_factory=list)  # default: the built-in suites
    max_usd_per_round: float = Field(default=0.05, ge=0, allow_inf_nan=False)
    min_pairs: int = Field(default=4, ge=2, le=1000)  # cases compared before a verdict
    drop: float = Field(default=0.2, gt=0, le=1)  # the mean fall that is worth an alarm
    # adaptive: each round picks the cases with history that tell most and stops once the
    # change is clear; off: a rotating slice of ``per_bucket`` cases per bucket
    adaptive: bool = True


class PromptCaptureConfig(BaseModel):
    """Prompt capture: with ``enabled``, ``share`` of the answered requests (picked like shadow
    judging's) have their prompt — the conversation as routed, flattened to text — stored with
    their records, cut to ``max_chars``, and deleted ``keep_days`` after it was captured. Off by
    default because it stores what users wrote."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    share: float = Field(default=1.0, ge=0, le=1, allow_inf_nan=False)
    max_chars: int = Field(default=8000, ge=100, le=200_000)
    keep_days: float = Field(default=30.0, gt=0, le=3650, allow_inf_nan=False)

    def chars_for(self, request_id: str) -> int:
        """How many characters of this request's prompt to keep (0: none)."""
        return self.max_chars if self.enabled and sampled(request_id, self.share) else 0
