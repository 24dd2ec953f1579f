"""The ``routing.shadow_judging:`` settings, as written in ``rolecall.yaml``: which share of live
answers a judge endpoint grades after the fact, for which roles and tasks, and what it may spend.

Off by default (``share: 0``). What the values mean is in docs/profiles.md §Live quality.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ShadowJudgingConfig"]


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
