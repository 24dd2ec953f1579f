"""The figures: a row per mode, the "beyond the line" check and the classifier's agreement.

Beyond the line: with (latency, quality) points Q (baseline-quality) and L (baseline-latency),
a random mix of the two strategies lies on the segment between them; difficulty mode's point D
beats every mix when D's quality exceeds the segment's quality at D's latency (clamped to the
segment's latency range: no mix is faster than L or slower than Q). The margin is the difference.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from modes.cases import BUCKETS
from modes.replay import ModeRun

TARGET_AGREEMENT = 0.70


@dataclass(frozen=True)
class Row:
    label: str
    strategy: str
    requests: int
    errors: int
    quality: float
    latency_mean_ms: float
    latency_p95_ms: float
    cost_usd: float
    endpoints: dict[str, int]
    classified: int  # answers whose decision carries a classification

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def row(run: ModeRun) -> Row:
    answers = run.answers
    # latency of the answered requests (a refusal's is not a mode's latency); failures score 0
    latencies = sorted(a.latency_ms for a in answers if a.status == 200) or [0.0]
    p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
    return Row(
        run.label,
        run.spec.strategy,
        len(answers),
        sum(1 for a in answers if a.status != 200),
        statistics.fmean(a.score for a in answers),
        statistics.fmean(latencies),
        p95,
        sum(a.cost for a in answers),
        dict(Counter(a.endpoint or "(error)" for a in answers)),
        sum(1 for a in answers if a.classified is not None),
    )


def print_rows(rows: list[Row]) -> None:
    print(
        f"{'mode':<30} {'strategy':<9} {'n':>4} {'err':>4} {'quality':>8} "
        f"{'mean ms':>9} {'p95 ms':>9} {'cost USD':>11}  endpoints"
    )
    for r in rows:
        shares = ", ".join(f"{e} {n}" for e, n in sorted(r.endpoints.items()))
        print(
            f"{r.label:<30} {r.strategy:<9} {r.requests:>4} {r.errors:>4} {r.quality:>8.3f} "
            f"{r.latency_mean_ms:>9.1f} {r.latency_p95_ms:>9.1f} {r.cost_usd:>11.6f}  {shares}"
        )


def line_quality(quality: Row, latency: Row, at_ms: float) -> float:
    """The quality of the mix of the two strategies whose mean latency is ``at_ms``."""
    low, high = latency.latency_mean_ms, quality.latency_mean_ms
    if high <= low:  # no trade-off between them: the better of the two is every mix's bound
        return max(quality.quality, latency.quality)
    share = min(1.0, max(0.0, (at_ms - low) / (high - low)))
    return latency.quality + share * (quality.quality - latency.quality)


def beyond_line(quality: Row, latency: Row, candidate: Row) -> tuple[float, bool]:
    margin = candidate.quality - line_quality(quality, latency, candidate.latency_mean_ms)
    return margin, margin > 0


def agreement(pairs: Sequence[tuple[str, str]]) -> tuple[float, dict[str, tuple[int, int]]]:
    """(Overall share of (label, verdict) pairs that agree, per label: (agreeing, total))."""
    per: dict[str, tuple[int, int]] = {}
    for bucket in BUCKETS:
        inside = [v for label, v in pairs if label == bucket]
        per[bucket] = (sum(1 for v in inside if v == bucket), len(inside))
    overall = sum(1 for label, v in pairs if label == v) / len(pairs) if pairs else 0.0
    return overall, per


def print_agreement(source: str, pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    overall, per = agreement(pairs)
    verdict = "PASS" if overall >= TARGET_AGREEMENT else "FAIL"
    print(
        f"classifier agreement with the labelled buckets ({source}): {overall:.1%} of "
        f"{len(pairs)} [target >= {TARGET_AGREEMENT:.0%}] {verdict}"
    )
    for bucket, (agree, total) in per.items():
        share = f"{agree / total:.1%}" if total else "-"
        print(f"  {bucket:<7} {agree:>3}/{total:<3} {share}")
    confusion = Counter(pairs)
    print(
        "  labelled -> classified: "
        + ", ".join(f"{a}->{b} {n}" for (a, b), n in sorted(confusion.items()))
    )
    return {
        "source": source,
        "overall": overall,
        "per_bucket": per,
        "pass": overall >= TARGET_AGREEMENT,
    }
