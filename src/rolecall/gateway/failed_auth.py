"""`FailedAuthLimiter`: failed key and admin-token checks counted per client address.

Only failures are counted and only failures are refused: a valid key is accepted whatever its
address has done, because an attacker may share an address (a NAT, a proxy) with legitimate
clients. Past the limit an address's further failures get 429 instead of 401, which tells a
guesser nothing more and costs the gateway a dictionary lookup. The table is bounded: at
`MAX_ADDRESSES`, the address whose window started first is dropped.
"""

from __future__ import annotations

import math
import time
from typing import Final

__all__ = ["MAX_ADDRESSES", "FailedAuthLimiter"]

MAX_ADDRESSES: Final = 10_000


class FailedAuthLimiter:
    """Fixed windows of ``window_s`` per address; more than ``limit`` failures in one are refused."""

    def __init__(self, limit: int, window_s: float, max_addresses: int = MAX_ADDRESSES) -> None:
        self.limit = limit
        self.window_s = window_s
        self.max_addresses = max_addresses
        # address -> [window start (monotonic s), failures in it]; insertion order = window start
        self._table: dict[str, list[float]] = {}
        self.refused = 0  # failures answered 429, since start

    def __len__(self) -> int:
        return len(self._table)

    def failure(self, address: str, now: float | None = None) -> int | None:
        """Count a failure from ``address``; the seconds until it may try again if over the limit."""
        now = time.monotonic() if now is None else now
        entry = self._table.get(address)
        if entry is None or now - entry[0] >= self.window_s:
            if entry is not None:
                del self._table[address]  # re-inserted last: the table stays in window order
            elif len(self._table) >= self.max_addresses:
                del self._table[next(iter(self._table))]
            entry = [now, 0.0]
            self._table[address] = entry
        entry[1] += 1
        if entry[1] <= self.limit:
            return None
        self.refused += 1
        return max(1, math.ceil(entry[0] + self.window_s - now))
