"""Adaptive runs' settings and candidates: `AdaptiveSettings` (how far a run goes, stored with
it) and `Slot` (a candidate case and what the evidence says of it). The choices and the stopping
rule are `rolecall.benchmark.sampler.AdaptiveSampler`'s (numpy: imported when a run is adaptive).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Final

__all__ = ["BUCKET_DIFFICULTY", "Z_99", "AdaptiveSettings", "Slot", "StopReason"]

Z_99: Final = 2.576
# difficulty of a case no endpoint was graded on yet, on the abilities' scale, by its bucket
BUCKET_DIFFICULTY: Final = {"easy": -1.0, "medium": 0.0, "hard": 1.0}
# why an endpoint stopped: separated (from every partner) · tied (with every partner) · settled
# (some of each, or partners that can no longer be paired) · precise (alone) · case_budget ·
# exhausted (every case taken) · spend_cap · preflight (its preflight probe failed)
StopReason = str


@dataclass(frozen=True)
class AdaptiveSettings:
    """How far an adaptive run goes (stored with the run, so a resume goes as far)."""

    max_cases: int | None = None  # per endpoint; None: the whole suite
    min_cases: int = 8
    tie_margin: float = 0.05
    # the half-width of an endpoint's 95% interval that counts as precise: a lone endpoint's
    # stop, and every endpoint's too with require_precision (a quality error bound, not only
    # the ranking)
    precision: float = 0.10
    require_precision: bool = False
    z_stop: float = Z_99
    seed: str = ""
    # whom an endpoint is compared with: "pool" (the run's other endpoints and the anchors) or
    # "history" (its own stored scores: a canary's question is whether it changed)
    against: str = "pool"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> AdaptiveSettings:
        known = {k: raw[k] for k in cls.__dataclass_fields__ if k in raw}
        return cls(**known)


@dataclass(frozen=True)
class Slot:
    """A candidate case: its key (``suite/case_id``), task and difficulty bucket, and what the
    stored evidence says of it (IRT difficulty and discrimination, None before any grade;
    ``flat``: it never told endpoints apart)."""

    key: str
    task: str
    bucket: str
    difficulty: float | None = None
    discrimination: float | None = None
    flat: bool = False

    @property
    def stratum(self) -> tuple[str, str]:
        return (self.task, self.bucket)
