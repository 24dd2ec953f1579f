"""The port a counter store implements (`LimitStore`) and the records that cross it.

A reservation is all-or-nothing: the ``common`` charges (requests, tokens) and the first of the
``alternatives`` (the USD charges of each endpoint the request may run on, in the decision's
order) that fits beside them are added to their counters in one atomic step, or nothing is. The
store reports the first limit in the way and, where a window will make room, when.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from rolecall.errors import RolecallError
from rolecall.limits.policy import Limit

__all__ = [
    "Charge",
    "LimitStore",
    "LimitStoreError",
    "Refusal",
    "Reservation",
    "ReserveRequest",
]


class LimitStoreError(RolecallError):
    """The store could not be reached or answer (Redis down, the database unreachable)."""


@dataclass(frozen=True, slots=True)
class Charge:
    """``amount`` more on the counter ``counter`` of ``limit``; ``reset_ms`` ends a calendar
    window (0 for a rolling one)."""

    counter: str
    limit: Limit
    amount: int
    reset_ms: int

    @property
    def cap(self) -> int:
        return self.limit.amount

    @property
    def rolling(self) -> bool:
        return self.limit.window.rolling


@dataclass(frozen=True, slots=True)
class ReserveRequest:
    reservation_id: str
    now_ms: int
    common: tuple[Charge, ...]
    alternatives: tuple[tuple[Charge, ...], ...] = ()


@dataclass(frozen=True, slots=True)
class Reservation:
    """What a store added for one request: ``charges`` (the common ones and those of the
    ``alternative`` chosen, -1 when there were none), to settle or release later."""

    reservation_id: str
    now_ms: int
    charges: tuple[Charge, ...]
    alternative: int
    store: str


@dataclass(frozen=True, slots=True)
class Refusal:
    """The charge that did not fit (with its counter's ``used`` amount) and when enough of its
    window frees (None: never, the charge alone exceeds the limit). ``alternative`` is the
    alternative it belongs to (None: a common charge); when every alternative was refused, it
    is the one that frees soonest."""

    charge: Charge
    used: int
    retry_after_ms: int | None
    alternative: int | None = None


class LimitStore(Protocol):
    """Counters shared by every process that enforces the same limits."""

    @property
    def name(self) -> str:
        """``redis`` or ``sql``: where the counters live (shown by readiness)."""
        ...

    async def reserve(self, request: ReserveRequest) -> Reservation | Refusal:
        """Add the request's charges atomically, or refuse (raises `LimitStoreError`)."""
        ...

    def settle(self, reservation: Reservation, actual: Sequence[int]) -> None:
        """Queue the replacement of each reserved amount by the actual one (``actual[i]`` for
        ``reservation.charges[i]``; 0 releases it). It is applied with the store's next call,
        or soon after on its own, never on the caller's time; one the store cannot apply (it is
        down) leaves the estimate counted until its window ends. Runs on the event loop."""
        ...

    async def absorb(self, amounts: Mapping[str, tuple[int, int]]) -> None:
        """Add what another store counted to calendar counters, unchecked: counter name →
        (amount, the window's reset_ms). Keeps a fallback store's budgets current."""
        ...

    async def close(self) -> None: ...
