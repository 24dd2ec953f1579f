"""A learned difficulty classifier: the difficulty mode's third source, beside the rubric and a
classifier endpoint (``routing.difficulty.classifier: learned``).

It reads the same `RequestSignals` the rubric scores, and learns from labelled requests — the
benchmark suites' cases, each with its ``bucket`` — how they map to easy, medium and hard: a
multinomial logistic regression (scikit-learn) on standardised signals and the request's kind.
Training reports the cross-validated agreement beside the rubric's on the same folds, so an
operator can see whether it beats the rubric on their cases before deploying it.

The artifact is JSON (the scaling, the coefficients, what it was trained on and how well it did);
classifying is a dot product in plain Python, so serving needs neither numpy nor scikit-learn —
only training does (the ``learned`` extra). Errors in an artifact name the field.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

from rolecall.errors import ConfigError
from rolecall.routing.difficulty import Classification, RequestSignals, classify, signals_of
from rolecall.routing.request import DIFFICULTIES, Difficulty

FORMAT: Final = "rolecall-difficulty-v1"
KINDS: Final = ("code", "json", "tools", "reasoning", "text.classification", "text.chat")
_NUMERIC: Final = (
    "prompt_tokens",
    "last_user_tokens",
    "history_turns",
    "tool_count",
    "code_markers",
    "math_markers",
    "instruction_markers",
    "decomposition_markers",
    "choice_options",
)
_REASONING: Final = {"low": 1.0, "medium": 2.0, "high": 3.0}
FEATURES: Final = (
    *(f"log1p_{name}" for name in _NUMERIC),
    "structured",
    "reasoning",
    "rubric_score",
    *(f"kind_{kind}" for kind in KINDS),
)


def features(signals: RequestSignals) -> list[float]:
    """The classifier's inputs: sizes and counts on a log scale (a tenth marker matters less
    than the first), the rubric's own score, and the request's kind as one-hot."""
    values = asdict(signals)
    row = [math.log1p(max(0, int(values[name]))) for name in _NUMERIC]
    row.append(1.0 if signals.structured else 0.0)
    row.append(_REASONING.get(signals.reasoning or "", 0.0))
    row.append(classify(signals).score)
    family = _family(signals.kind or signals.task)
    row.extend(1.0 if family == kind else 0.0 for kind in KINDS)
    return row


def _family(work: str) -> str:
    """A task or kind as one of `KINDS`: short closed answers (classification, language
    detection) together, any other text task as chat."""
    if work in ("text.classification", "text.language_detection"):
        return "text.classification"
    family = work.split(".", 1)[0]
    return family if family in KINDS else "text.chat"


@dataclass(frozen=True, slots=True)
class Labelled:
    """One labelled request: its signals and its difficulty."""

    signals: RequestSignals
    difficulty: Difficulty


def labelled_cases(suites: Iterable[Any]) -> list[Labelled]:
    """The benchmark cases of ``suites`` as labelled requests (every case carries a bucket),
    measured as the gateway sees most requests: plain chat, the kind read from the words."""
    out = []
    for suite in suites:
        for case in suite.cases:
            messages = [m.model_dump() for m in case.messages]
            out.append(Labelled(signals_of(messages, tools=len(case.tools or [])), case.bucket))
    return out


class LearnedDifficulty:
    """A trained classifier (from `train`, or loaded from its artifact)."""

    def __init__(self, artifact: Mapping[str, Any], name: str = "learned") -> None:
        self.artifact = dict(artifact)
        self.name = name
        self._mean = [float(v) for v in artifact["mean"]]
        self._scale = [float(v) for v in artifact["scale"]]
        self._coef = [[float(v) for v in row] for row in artifact["coef"]]
        self._intercept = [float(v) for v in artifact["intercept"]]
        self._classes: list[Difficulty] = list(artifact["classes"])

    @classmethod
    def load(cls, path: Path, source: str = "routing.difficulty.artifact") -> LearnedDifficulty:
        try:
            artifact = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(source, "artifact", f"cannot read {path}: {exc}") from None
        check_artifact(artifact, str(path))
        return cls(artifact, f"learned:{path.stem}")

    def probabilities(self, signals: RequestSignals) -> dict[Difficulty, float]:
        x = [
            (v - m) / s for v, m, s in zip(features(signals), self._mean, self._scale, strict=True)
        ]
        logits = [
            b + sum(w * v for w, v in zip(row, x, strict=True))
            for row, b in zip(self._coef, self._intercept, strict=True)
        ]
        top = max(logits)
        weights = [math.exp(z - top) for z in logits]
        total = sum(weights)
        return {c: w / total for c, w in zip(self._classes, weights, strict=True)}

    def classify(self, signals: RequestSignals) -> Classification:
        """The most probable difficulty; confidence is its lead over the runner-up."""
        probabilities = self.probabilities(signals)
        ranked = sorted(probabilities.items(), key=lambda item: -item[1])
        (best, p_best), (_, p_next) = ranked[0], ranked[1]
        rubric = classify(signals)
        return Classification(
            difficulty=best,
            source="learned",
            score=round(p_best, 4),
            signals=rubric.signals,
            contributions={f"p_{c}": round(p * 100) for c, p in probabilities.items()},
            version=self.name,
            confidence=round(p_best - p_next, 3),
        )


def check_artifact(artifact: Any, where: str) -> None:
    """Raise a `ConfigError` naming the field of an artifact this version cannot use."""
    if not isinstance(artifact, dict):
        raise ConfigError(
            where, "$", "expected a JSON object written by 'rolecall lab train-difficulty'"
        )
    if artifact.get("format") != FORMAT:
        raise ConfigError(where, "format", f"expected {FORMAT!r}, got {artifact.get('format')!r}")
    if artifact.get("features") != list(FEATURES):
        raise ConfigError(where, "features", "trained on other signals: train it again")
    n = len(FEATURES)
    classes = artifact.get("classes")
    if not isinstance(classes, list) or sorted(classes) != sorted(DIFFICULTIES):
        raise ConfigError(where, "classes", f"expected the difficulties {list(DIFFICULTIES)}")
    shapes = {"mean": n, "scale": n, "intercept": len(classes)}
    for key, size in shapes.items():
        if not _numbers(artifact.get(key), size):
            raise ConfigError(where, key, f"expected {size} numbers")
    coef = artifact.get("coef")
    if (
        not isinstance(coef, list)
        or len(coef) != len(classes)
        or not all(_numbers(row, n) for row in coef)
    ):
        raise ConfigError(where, "coef", f"expected {len(classes)} rows of {n} numbers")
    if any(s <= 0 for s in artifact["scale"]):
        raise ConfigError(where, "scale", "every scale must be above 0")


def _numbers(value: Any, size: int) -> bool:
    return (
        isinstance(value, list)
        and len(value) == size
        and all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
            for v in value
        )
    )


def train(
    labelled: Sequence[Labelled], *, folds: int = 5, seed: int = 0, c: float = 1.0
) -> tuple[LearnedDifficulty, dict[str, Any]]:
    """Fit on ``labelled``; the report gives the cross-validated agreement of the classifier and
    of the rubric on the same folds (per difficulty too)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
    from sklearn.model_selection import StratifiedKFold  # type: ignore[import-untyped]

    counts = {d: sum(1 for item in labelled if item.difficulty == d) for d in DIFFICULTIES}
    if min(counts.values()) < folds:
        raise ConfigError(
            "training cases",
            "bucket",
            f"each difficulty needs at least {folds} labelled cases (have {counts})",
        )
    x = np.array([features(item.signals) for item in labelled])
    y = np.array([item.difficulty for item in labelled])
    rubric = np.array([classify(item.signals).difficulty for item in labelled])
    predicted = np.empty_like(y)
    for train_idx, test_idx in StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, y):
        model = _fit(x[train_idx], y[train_idx], c, LogisticRegression)
        predicted[test_idx] = model.predict(_scaled(x[test_idx], x[train_idx]))
    final = _fit(x, y, c, LogisticRegression)
    mean, scale = x.mean(axis=0), _safe_scale(x)
    artifact = {
        "format": FORMAT,
        "features": list(FEATURES),
        "classes": [str(k) for k in final.classes_],
        "mean": mean.tolist(),
        "scale": scale.tolist(),
        "coef": final.coef_.tolist(),
        "intercept": final.intercept_.tolist(),
        "trained_on": len(labelled),
        "folds": folds,
        "cv_agreement": float((predicted == y).mean()),
        "rubric_agreement": float((rubric == y).mean()),
    }
    report = {
        "cases": len(labelled),
        "per_difficulty": counts,
        "cv_agreement": artifact["cv_agreement"],
        "rubric_agreement": artifact["rubric_agreement"],
        "cv_by_difficulty": {
            d: float((predicted[y == d] == d).mean()) for d in DIFFICULTIES if counts[d]
        },
        "rubric_by_difficulty": {
            d: float((rubric[y == d] == d).mean()) for d in DIFFICULTIES if counts[d]
        },
    }
    return LearnedDifficulty(artifact), report


def _safe_scale(x: Any) -> Any:
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0  # a signal constant in training carries no information
    return scale


def _scaled(x: Any, reference: Any) -> Any:
    return (x - reference.mean(axis=0)) / _safe_scale(reference)


def _fit(x: Any, y: Any, c: float, model_type: Any) -> Any:
    # balanced classes: hard cases are the fewest and the ones a ceiling exists for
    model = model_type(C=c, class_weight="balanced", max_iter=2000)
    return model.fit(_scaled(x, x), y)
