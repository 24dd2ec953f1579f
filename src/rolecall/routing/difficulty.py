"""The difficulty mode's pure core: the versioned rubric and the ceiling advisories.

`signals_of` (`rolecall.routing.signals`, re-exported here as the mode's one entry point)
measures a chat request; `classify` turns the measurements into points, the points
into a score and the score into easy/medium/hard. The rubric describes what makes a request hard
for a small model — a long context, a deep conversation, many tools, code, arithmetic, many
constraints, several things to do at once — and never looks at particular texts, so it holds on
requests it was not tuned on. Every decision it makes is in the `Classification`: the measured
values, the points each signal earned and how far the score sits from a threshold.

The rubric is versioned: a changed table is a new version, so a stored classification can always
be explained by the table that produced it. docs/routing.md §Difficulty lists the table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Final, Literal

from rolecall.routing.candidate import Candidate
from rolecall.routing.request import DIFFICULTIES, Difficulty
from rolecall.routing.signals import RequestSignals, signals_of

__all__ = [
    "DIFFICULTIES",
    "RUBRICS",
    "Classification",
    "Difficulty",
    "RequestSignals",
    "Rubric",
    "advisories",
    "classify",
    "signals_of",
]

ClassificationSource = Literal["rubric", "endpoint", "learned", "fallback"]


# --- the rubric ---------------------------------------------------------------------------------

Steps = tuple[tuple[float, int], ...]  # ascending (at least this value, points)


@dataclass(frozen=True, slots=True)
class Rubric:
    """One version of the point table: points per signal, then the score's thresholds.

    ``steps`` maps a numeric signal (or ``burdens``, see `_burdens`) to ascending
    ``(at least, points)`` pairs: the last pair the value reaches counts. ``task_points`` gives a
    task type, else its family (the part before the dot), its base points: the kind of work sets
    where a request starts.
    """

    version: str
    task_points: Mapping[str, int]
    steps: Mapping[str, Steps]
    structured_points: int
    reasoning_points: Mapping[str, int]
    medium_at: int  # a score at least this is medium
    hard_at: int  # a score at least this is hard
    # score the kind of work the content shows (`RequestSignals.kind`) rather than the task:
    # most requests reach the gateway as plain chat, whatever they ask
    reads_kind: bool = False

    def work(self, signals: RequestSignals) -> str:
        return (signals.kind or signals.task) if self.reads_kind else signals.task


RUBRIC_V1: Final = Rubric(
    version="rubric-v1",
    task_points={"text.chat": 2, "code": 1, "json": 1},
    steps={
        "prompt_tokens": ((64, 1), (400, 2), (1500, 3), (4000, 4), (12_000, 5)),
        "history_turns": ((4, 1), (12, 2)),
        "tool_count": ((1, 1), (4, 2), (10, 3)),
        "code_markers": ((1, 1), (12, 2)),
        "math_markers": ((4, 1), (8, 2)),
        "instruction_markers": ((6, 1),),
        "decomposition_markers": ((1, 1), (3, 2)),
        "choice_options": ((2, 1), (6, 3)),
        "burdens": ((2, 2), (3, 3)),
    },
    structured_points=1,
    reasoning_points={"medium": 1, "high": 2},
    medium_at=2,
    hard_at=4,
)
# v1's table, scored on what the content shows when the task is only chat
RUBRIC_V2: Final = replace(RUBRIC_V1, version="rubric-v2", reads_kind=True)
RUBRICS: Final[Mapping[str, Rubric]] = {r.version: r for r in (RUBRIC_V1, RUBRIC_V2)}


@dataclass(frozen=True, slots=True)
class Classification:
    """A request's difficulty and everything needed to explain it in the decision record."""

    difficulty: Difficulty
    source: ClassificationSource
    score: float
    signals: Mapping[str, Any] = field(default_factory=dict)
    contributions: Mapping[str, int] = field(default_factory=dict)  # nonzero points per signal
    version: str = RUBRIC_V1.version
    confidence: float = 0.0  # 0..1: how far the score is from the nearest threshold

    def to_json(self) -> dict[str, Any]:
        return {
            "difficulty": self.difficulty,
            "source": self.source,
            "score": self.score,
            "signals": dict(self.signals),
            "contributions": dict(self.contributions),
            "version": self.version,
            "confidence": self.confidence,
        }


def _step_points(value: float, steps: Steps) -> int:
    points = 0
    for at_least, step in steps:
        if value >= at_least:
            points = step
    return points


def _burdens(signals: RequestSignals, family: str) -> int:
    """How many kinds of work one request mixes: code, arithmetic, tools, structured output,
    several parts, a long context. Each is hard on its own; together they compound."""
    return sum(
        (
            signals.code_markers >= 3,  # a snippet, not a mention
            signals.math_markers >= 6,  # a computation, not a number or two
            signals.tool_count > 0,
            signals.structured or family == "json",
            signals.decomposition_markers > 0,
            signals.prompt_tokens >= 800,
        )
    )


def _contributions(signals: RequestSignals, rubric: Rubric, burdens: int) -> dict[str, int]:
    work = rubric.work(signals)
    family = work.split(".", 1)[0]
    points = {"task": rubric.task_points.get(work, rubric.task_points.get(family, 0))}
    for name, steps in rubric.steps.items():
        value = burdens if name == "burdens" else getattr(signals, name)
        points[name] = _step_points(value, steps)
    points["structured"] = rubric.structured_points if signals.structured else 0
    points["reasoning"] = rubric.reasoning_points.get(signals.reasoning or "", 0)
    return {name: p for name, p in points.items() if p}


def _confidence(score: float, rubric: Rubric) -> float:
    """Distance to the nearest boundary (half-way between scores), two points or more is 1."""
    boundaries = (rubric.medium_at - 0.5, rubric.hard_at - 0.5)
    distance = min(abs(score - b) for b in boundaries)
    return round(min(1.0, distance / 2), 3)


def classify(signals: RequestSignals, version: str = RUBRIC_V2.version) -> Classification:
    """Score ``signals`` with rubric ``version`` and name the bucket the score falls in."""
    rubric = RUBRICS.get(version)
    if rubric is None:
        raise ValueError(f"unknown difficulty rubric {version!r}; known: {sorted(RUBRICS)}")
    burdens = _burdens(signals, rubric.work(signals).split(".", 1)[0])
    contributions = _contributions(signals, rubric, burdens)
    score = float(sum(contributions.values()))
    difficulty: Difficulty = (
        "hard" if score >= rubric.hard_at else "medium" if score >= rubric.medium_at else "easy"
    )
    return Classification(
        difficulty=difficulty,
        source="rubric",
        score=score,
        signals={**asdict(signals), "burdens": burdens},
        contributions=contributions,
        version=rubric.version,
        confidence=_confidence(score, rubric),
    )


# --- advisories ---------------------------------------------------------------------------------

_RANK: Final[Mapping[str, int]] = {d: i for i, d in enumerate(DIFFICULTIES)}


def advisories(candidates: Iterable[Candidate], difficulty: str | None) -> list[dict[str, Any]]:
    """Per candidate: its ceiling, where it came from and whether ``difficulty`` is within it."""
    out: list[dict[str, Any]] = []
    for c in candidates:
        ceiling = c.max_difficulty
        if ceiling not in _RANK:
            verdict = "no ceiling"
        else:
            verdict = "above ceiling" if ceiling_exceeded(ceiling, difficulty) else "within"
        out.append(
            {
                "endpoint_id": c.endpoint_id,
                "max_difficulty": ceiling,
                "source": c.ceiling_source,
                "verdict": verdict,
            }
        )
    return out


def ceiling_exceeded(ceiling: str | None, difficulty: str | None) -> bool:
    """Whether a request of ``difficulty`` is above an endpoint's ``ceiling`` (unknown: no)."""
    limit = _RANK.get(ceiling) if ceiling is not None else None
    rank = _RANK.get(difficulty) if difficulty is not None else None
    return limit is not None and rank is not None and rank > limit
