"""Latency distributions of the c=1 runs, as (µs, requests) pairs in ascending order, and the share
of requests slower than a threshold.

Both generators give one: `wrk` its histogram (which `uncorrect` turns back into the requests that
were actually sent), pygen.py its latencies counted per microsecond.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

Hist = tuple[tuple[int, int], ...]  # (latency µs, requests), ascending latency


def uncorrect(pairs: Iterable[Sequence[int]], interval_us: int) -> Hist:
    """The requests wrk sent, from the histogram its Lua ``done()`` sees.

    After a run wrk corrects for coordinated omission (stats_correct in wrk 4.1): every request
    of n µs with n ≥ 2·interval adds one made-up sample at each of n - interval, n - 2·interval,
    ... while above the interval, the interval being the run's duration over the requests per
    connection. At c=1 nothing was held back, and a share "of requests" must count requests, so
    those samples are taken out again. A made-up sample only ever lands below the request that
    made it, so walking from the slowest value down, each count minus what the values above it
    added is that value's real count.
    """
    counts = {int(us): int(n) for us, n in pairs}
    added: Counter[int] = Counter()
    real: dict[int, int] = {}
    for us in sorted(counts, reverse=True):
        count = counts[us] - added[us]
        if count > 0:
            real[us] = count
        if interval_us > 0 and us >= 2 * interval_us:
            for below in range(us - interval_us, interval_us, -interval_us):
                added[below] += count
    return tuple(sorted(real.items()))


def total(hist: Hist) -> int:
    return sum(n for _, n in hist)


def median_us(hist: Hist) -> float:
    """The lower median: the value of the request at rank ceil(n/2)."""
    rank = (total(hist) + 1) // 2
    seen = 0
    for us, n in hist:
        seen += n
        if seen >= rank:
            return float(us)
    return float("nan")


def share_over(hist: Hist, threshold_us: float) -> float:
    """The share of requests that took longer than ``threshold_us``."""
    count = total(hist)
    if not count:
        return float("nan")
    return sum(n for us, n in hist if us > threshold_us) / count
