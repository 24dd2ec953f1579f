"""The difficulty mode's learned classifier (`rolecall.learned.difficulty`): trained on the
built-in benchmark cases with its cross-validated agreement reported beside the rubric's, saved
as JSON, loaded and used without numpy; a broken artifact names the field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from rolecall.benchmark.cases import builtin_suites
from rolecall.cli import app
from rolecall.errors import ConfigError
from rolecall.learned.difficulty import (
    FEATURES,
    LearnedDifficulty,
    check_artifact,
    labelled_cases,
    train,
)
from rolecall.routing.difficulty import signals_of
from rolecall.routing.request import DIFFICULTIES

pytest.importorskip("sklearn", reason="training needs the 'learned' extra")


@pytest.fixture(scope="module")
def trained() -> tuple[LearnedDifficulty, dict[str, Any]]:
    return train(labelled_cases(builtin_suites()), folds=5, seed=0)


def test_training_reports_cross_validated_agreement_beside_the_rubrics(
    trained: tuple[LearnedDifficulty, dict[str, Any]],
) -> None:
    model, report = trained
    assert report["cases"] >= 60
    assert set(report["per_difficulty"]) == set(DIFFICULTIES)
    assert 0.0 < report["cv_agreement"] <= 1.0
    assert report["rubric_agreement"] >= 0.7  # the rubric's, on the same cases
    assert set(report["cv_by_difficulty"]) == set(DIFFICULTIES)
    # three classes, better than always answering the commonest bucket (medium: 47 of 90)
    assert report["cv_agreement"] > 1 / 3
    assert model.artifact["trained_on"] == report["cases"]


def test_a_saved_artifact_classifies_the_same_after_loading(
    trained: tuple[LearnedDifficulty, dict[str, Any]], tmp_path: Path
) -> None:
    model, _ = trained
    path = tmp_path / "difficulty.json"
    path.write_text(json.dumps(model.artifact))
    loaded = LearnedDifficulty.load(path)
    for text in (
        "Classify the sentiment: 'lovely'.",
        "Prove step by step that 17 * 23 = 391, then compute 391 / 17 and 391 % 5.",
    ):
        signals = signals_of([{"role": "user", "content": text}])
        result = loaded.classify(signals)
        assert result.source == "learned"
        assert result.version == "learned:difficulty"
        assert result.difficulty in DIFFICULTIES
        assert result.difficulty == model.classify(signals).difficulty
        probabilities = loaded.probabilities(signals)
        assert sum(probabilities.values()) == pytest.approx(1.0)
        assert result.score == pytest.approx(max(probabilities.values()), abs=1e-4)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"format": "other"}, "format"),
        ({"features": ["x"]}, "features"),
        ({"classes": ["easy", "hard"]}, "classes"),
        ({"mean": [0.0]}, "mean"),
        ({"coef": [[0.0]]}, "coef"),
        ({"intercept": [0.0, "x", 1.0]}, "intercept"),
        ({"scale": [0.0] * len(FEATURES)}, "scale"),
    ],
)
def test_a_broken_artifact_names_the_field(
    trained: tuple[LearnedDifficulty, dict[str, Any]], change: dict[str, Any], field: str
) -> None:
    artifact = {**trained[0].artifact, **change}
    with pytest.raises(ConfigError) as err:
        check_artifact(artifact, "difficulty.json")
    assert err.value.path == field


def test_an_unreadable_artifact_says_so(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="cannot read"):
        LearnedDifficulty.load(path)
    with pytest.raises(ConfigError) as err:
        check_artifact([], "x.json")
    assert err.value.path == "$"


def test_too_few_cases_of_a_difficulty_is_refused() -> None:
    few = labelled_cases(builtin_suites())[:8]
    with pytest.raises(ConfigError, match="at least 5 labelled cases"):
        train(few, folds=5)


def test_the_cli_trains_and_writes_the_artifact(tmp_path: Path) -> None:
    out = tmp_path / "d.json"
    result = CliRunner().invoke(app, ["lab", "train-difficulty", "--out", str(out), "--folds", "3"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["artifact"] == str(out)
    assert {"cv_agreement", "rubric_agreement", "cv_by_difficulty"} <= set(summary)
    check_artifact(json.loads(out.read_text()), str(out))
