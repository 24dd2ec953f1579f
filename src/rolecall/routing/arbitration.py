"""The hybrid mode's arbitration between the difficulty classification and the controller.

Both planners run on every hybrid request. They can disagree in two ways, and the rule for each
is chosen so that a wrong call costs the cheaper mistake:

* **on the difficulty**: the harder of the two is used. Sending hard work to an endpoint whose
  ceiling is below it costs a wrong answer; sending easy work to a stronger endpoint costs only
  latency or money. The signal whose difficulty was used dominates.
* **on the endpoint**: the controller's preferences apply only among the endpoints the
  difficulty leaves eligible (the ceiling is a hard rule, a preference is a score bonus). When
  the ceiling excludes the controller's first preference, the difficulty dominated.

The decision records ``aligned`` when neither rule had to choose: the same difficulty (or the
controller gave none) and the controller's first preference, if any, survived the ceiling. A
controller that failed, timed out or was skipped leaves the difficulty dominant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

from rolecall.routing.request import DIFFICULTIES, Difficulty

Dominant = Literal["difficulty", "controller", "aligned"]
ARBITRATION_VERSION: Final = "harder-wins-v1"


@dataclass(frozen=True, slots=True)
class Arbitration:
    difficulty: Difficulty  # what the router's ceiling rule uses
    dominant: Dominant
    why: str

    def to_json(self) -> dict[str, Any]:
        return {
            "difficulty": self.difficulty,
            "dominant": self.dominant,
            "why": self.why,
            "rule": ARBITRATION_VERSION,
        }


def harder(a: Difficulty, b: Difficulty) -> Difficulty:
    return a if DIFFICULTIES.index(a) >= DIFFICULTIES.index(b) else b


def arbitrate(
    classified: Difficulty,
    controller: Difficulty | None,
    *,
    controller_ok: bool,
) -> Arbitration:
    """Which difficulty a hybrid request routes with, before the router runs."""
    if not controller_ok:
        return Arbitration(
            classified, "difficulty", "the controller gave no directives; the rubric decided"
        )
    if controller is None or controller == classified:
        why = (
            f"both classified the request {classified!r}"
            if controller is not None
            else f"the controller left the difficulty to the rubric ({classified!r})"
        )
        return Arbitration(classified, "aligned", why)
    used = harder(classified, controller)
    dominant: Dominant = "controller" if used == controller else "difficulty"
    return Arbitration(
        used,
        dominant,
        f"the rubric said {classified!r}, the controller {controller!r}: the harder one is used",
    )


def after_decision(
    arbitration: Arbitration, preferred: str | None, excluded_by_ceiling: bool
) -> Arbitration:
    """The arbitration once the router ran: a first preference of the controller that the
    difficulty ceiling excluded makes the difficulty dominant."""
    if preferred is None or not excluded_by_ceiling:
        return arbitration
    return Arbitration(
        arbitration.difficulty,
        "difficulty",
        f"{arbitration.why}; the controller preferred {preferred!r}, whose difficulty ceiling "
        f"is below {arbitration.difficulty!r}",
    )
