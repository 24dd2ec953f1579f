"""Deterministic ranking with near-tie breaking (docs/protocol.md §Tie-break).

Scores within ``SCORE_TIE_EPSILON`` of the best remaining score are tied. Among tied candidates the
winner is the one with higher quality, then lower effective latency, then higher reliability, then the
lexically smaller endpoint id. Ranking repeats this selection for each position, so the fallback
chain follows the same rule as the winner. A heap keeps it O(n log n).
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from operator import attrgetter
from typing import Final, Protocol, TypeVar

SCORE_TIE_EPSILON: Final = 0.01


class Rankable(Protocol):
    @property
    def total(self) -> float: ...
    @property
    def tie_key(self) -> tuple[float, float, float, str]: ...


T = TypeVar("T", bound=Rankable)
_FLOAT_SLACK: Final = 1e-12  # so that 0.61 - 0.60 still counts as "within 0.01"


def rank(items: Sequence[T]) -> list[T]:
    """Items in rank order: best first."""
    by_score = sorted(items, key=attrgetter("total"), reverse=True)
    totals = [item.total for item in by_score]
    n = len(by_score)
    epsilon = SCORE_TIE_EPSILON + _FLOAT_SLACK
    ranked: list[T] = []
    window: list[tuple[tuple[float, float, float, str], int]] = []
    taken = bytearray(n)
    top = 0  # index of the best remaining item
    nxt = 0  # next index not yet in the window
    while len(ranked) < n:
        while taken[top]:
            top += 1
        if not window and top == nxt and (nxt + 1 == n or totals[nxt + 1] < totals[nxt] - epsilon):
            # isolated: nothing within ε of it, so it takes this position uncontested
            taken[nxt] = 1
            ranked.append(by_score[nxt])
            nxt += 1
            continue
        threshold = totals[top] - epsilon
        while nxt < n and totals[nxt] >= threshold:
            heapq.heappush(window, (by_score[nxt].tie_key, nxt))
            nxt += 1
        index = heapq.heappop(window)[1]
        taken[index] = 1
        ranked.append(by_score[index])
    return ranked
