"""The hybrid mode's arbitration (docs/routing.md §Routing modes): the harder difficulty wins,
the signal that gave it dominates, a ceiling that excludes the controller's first preference
makes the difficulty dominant, and a failed controller leaves the rubric alone."""

from __future__ import annotations

import pytest

from rolecall.routing.arbitration import after_decision, arbitrate, harder


@pytest.mark.parametrize(
    ("rubric", "controller", "used", "dominant"),
    [
        ("easy", "hard", "hard", "controller"),
        ("medium", "hard", "hard", "controller"),
        ("hard", "easy", "hard", "difficulty"),
        ("medium", "easy", "medium", "difficulty"),
        ("medium", "medium", "medium", "aligned"),
        ("easy", None, "easy", "aligned"),
    ],
)
def test_the_harder_difficulty_is_used_and_its_signal_dominates(
    rubric: str, controller: str | None, used: str, dominant: str
) -> None:
    result = arbitrate(rubric, controller, controller_ok=True)  # type: ignore[arg-type]
    assert (result.difficulty, result.dominant) == (used, dominant)
    assert result.to_json()["rule"] == "harder-wins-v1"
    assert rubric in result.why


def test_a_failed_controller_leaves_the_rubric_dominant() -> None:
    result = arbitrate("easy", "hard", controller_ok=False)
    assert (result.difficulty, result.dominant) == ("easy", "difficulty")
    assert "no directives" in result.why


def test_a_ceiling_that_excludes_the_controllers_preference_makes_the_difficulty_dominant() -> None:
    aligned = arbitrate("hard", "hard", controller_ok=True)
    assert after_decision(aligned, "ep-weak", excluded_by_ceiling=False) is aligned
    assert after_decision(aligned, None, excluded_by_ceiling=True) is aligned
    overruled = after_decision(aligned, "ep-weak", excluded_by_ceiling=True)
    assert (overruled.difficulty, overruled.dominant) == ("hard", "difficulty")
    assert "'ep-weak'" in overruled.why


def test_harder_orders_easy_medium_hard() -> None:
    assert harder("easy", "medium") == "medium"
    assert harder("hard", "medium") == "hard"
    assert harder("easy", "easy") == "easy"
