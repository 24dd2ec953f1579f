"""Adaptive runs: which case an endpoint answers next, and when it has answered enough.

A run's candidates are every case of its suites; each endpoint walks through them one case at a
time (`AdaptiveSampler.next_case`) until its standing is settled:

* **Coverage first**: every task, then every difficulty bucket, gets a case before anything else,
  so no task or bucket goes unmeasured.
* **Then proportional allocation**: the next case comes from the stratum (task × bucket) furthest
  below its share of the suite, so the sample stays a miniature of the suite and its per-bucket
  means are the suite's (the profiles average them as they are).
* **Within a stratum, information value**: the case with the most Fisher information (2PL IRT,
  `rolecall.benchmark.items`) at the abilities still being compared — the endpoint's own and
  those of the anchors (or stopped endpoints) its ranking is still open against; endpoints
  walking together measure it at the prior's mean, so that they keep answering the same cases
  and their differences stay paired. Cases that never separated anyone go last; equal cases
  follow a per-run shuffle, the same for every endpoint.
* **Stopping**: an endpoint stops once it has ``min_cases`` and coverage, and its difference to
  every partner (the other endpoints of the run, and ``anchors``: endpoints whose scores are
  already stored) is settled — the interval of the paired difference excludes 0 (``separated``)
  or lies within ±``tie_margin`` (``tied``). A partner that stopped with nothing to pair
  (no scores, say its preflight failed) is no partner; an endpoint without partners stops
  when its own estimate's 95% interval is within ±``precision`` (``precise``), and with
  ``require_precision`` every endpoint needs that too, not only a settled ranking. The ranking
  tests use ``z_stop`` (99%), not 95%: they are looked at after every case, and every look is a
  chance to stop on noise. Budgets end a walk otherwise. Canaries (``against="history"``) have
  one partner: the endpoint's own scores from its quick and full runs.

Pure: scores are pushed in with `record`; no I/O, no clock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rolecall.benchmark.adaptive import BUCKET_DIFFICULTY, AdaptiveSettings, Slot, StopReason
from rolecall.benchmark.estimates import DIFFERENCE_PRIOR_VAR, Z_95, Estimate, stratified

__all__ = ["AdaptiveSampler", "history_of"]


Stratum = tuple[str, str]


@dataclass
class _Walk:
    """One endpoint's progress: scores by case, cases taken (graded, failed or skipped), cases in
    flight, why it stopped; and, kept as cases move, the cases still free by stratum and how many
    each stratum has taken or in flight (a pick looks at one stratum, not at the whole suite)."""

    free: dict[Stratum, dict[str, None]]
    scores: dict[str, float] = field(default_factory=dict)
    taken: set[str] = field(default_factory=set)
    pending: set[str] = field(default_factory=set)
    held: dict[Stratum, int] = field(default_factory=dict)
    stopped: StopReason | None = None

    @property
    def free_count(self) -> int:
        return sum(len(keys) for keys in self.free.values())

    def hold(self, slot: Slot) -> None:
        """The case leaves the free ones (picked, or replayed from a stored result)."""
        keys = self.free.get(slot.stratum)
        if keys is not None and slot.key in keys:
            del keys[slot.key]
            self.held[slot.stratum] = self.held.get(slot.stratum, 0) + 1


class AdaptiveSampler:
    """The case choices and stopping rule of one adaptive run (module docstring)."""

    def __init__(
        self,
        slots: Sequence[Slot],
        settings: AdaptiveSettings,
        endpoints: Sequence[str],
        anchors: Mapping[str, Mapping[str, float]] | None = None,
    ) -> None:
        if not slots:
            raise ValueError("an adaptive run needs at least one case")
        self.slots = {s.key: s for s in slots}
        self.settings = settings
        self.anchors = {a: dict(s) for a, s in (anchors or {}).items() if a not in endpoints}
        self._sizes: dict[Stratum, int] = {}
        for slot in slots:
            self._sizes[slot.stratum] = self._sizes.get(slot.stratum, 0) + 1
        self.walks = {e: _Walk(self._free_strata()) for e in endpoints}
        self._pairs: dict[tuple[str, str, int, int], StopReason | None] = {}
        self._estimates: dict[str, tuple[int, Estimate | None]] = {}
        self._pairable_keys: dict[tuple[tuple[str, int], ...], set[str]] = {}
        self._shuffle = {s.key: _hash(settings.seed, s.key) for s in slots}
        self._index = {s.key: i for i, s in enumerate(slots)}
        self._a = np.array([1.0 if s.discrimination is None else s.discrimination for s in slots])
        self._b = np.array(
            [
                BUCKET_DIFFICULTY.get(s.bucket, 0.0) if s.difficulty is None else s.difficulty
                for s in slots
            ]
        )
        self._abilities: dict[str, tuple[int, float]] = {}

    def _free_strata(self) -> dict[Stratum, dict[str, None]]:
        free: dict[Stratum, dict[str, None]] = {s: {} for s in sorted(self._sizes)}
        for key, slot in self.slots.items():
            free[slot.stratum][key] = None
        return free

    @property
    def budget(self) -> int:
        cap = self.settings.max_cases
        return len(self.slots) if cap is None else min(cap, len(self.slots))

    # -- evidence in ---------------------------------------------------------------------------

    def record(self, endpoint: str, key: str, score: float | None) -> None:
        """A case came back: its score in [0, 1] (a failed case scores 0), or None when it
        measured nothing (skipped: it costs none of the budget)."""
        walk = self.walks[endpoint]
        walk.pending.discard(key)
        walk.taken.add(key)
        slot = self.slots.get(key)
        if slot is not None:
            walk.hold(slot)
            if score is not None:
                walk.scores[key] = min(1.0, max(0.0, float(score)))

    def stop(self, endpoint: str, reason: StopReason) -> None:
        """End an endpoint's walk from outside (its preflight failed, the spend cap)."""
        walk = self.walks[endpoint]
        walk.stopped = walk.stopped or reason

    # -- choices -------------------------------------------------------------------------------

    def next_case(self, endpoint: str) -> str | None:
        """The case the endpoint should answer next, marked in flight; None when it has nothing
        to start now (stopped, or waiting for its cases in flight before deciding)."""
        walk = self.walks[endpoint]
        if walk.stopped is not None:
            return None
        reason = None
        if len(walk.scores) + len(walk.pending) >= self.budget:
            reason = "case_budget" if self.budget < len(self.slots) else "exhausted"
        elif walk.free_count == 0:
            reason = "exhausted"
        else:
            reason = self._settled(endpoint)
        if reason is not None:
            if not walk.pending:  # cases in flight may still change the verdict
                walk.stopped = reason
            return None
        key = self._pick(endpoint)
        walk.pending.add(key)
        walk.hold(self.slots[key])
        return key

    def _pick(self, endpoint: str) -> str:
        walk = self.walks[endpoint]
        partners = self.open_partners(endpoint)
        pairable = self._pairable(partners)
        stratum = self._uncovered(walk, "task") or self._uncovered(walk, "bucket")
        if stratum is not None:
            keys = list(walk.free[stratum])
            pool = [k for k in keys if k in pairable] if pairable is not None else keys
            pool = pool or keys
        else:
            pool = self._most_behind(walk, pairable)
        return self._pick_from(pool, self._thetas(endpoint, partners))

    def _thetas(self, endpoint: str, partners: list[str]) -> list[float]:
        """Where information is measured: at the abilities of the open partners that no longer
        walk, and at the endpoint's own — but while other endpoints walk with it, at the prior's
        mean instead of any walker's: their abilities move with each answer, at different
        moments for each, and the endpoints walking together must keep picking the same cases."""
        fixed = [self.ability(f) for f in partners if not self._walking(f)]
        together = any(self._walking(f) for f in partners)
        return [*fixed, 0.0 if together else self.ability(endpoint)]

    def _pairable(self, partners: list[str]) -> set[str] | None:
        """The cases an open partner that no longer walks (an anchor, or an endpoint that
        stopped) has a score on: only those can settle the pair, so they go first. None (any
        case) when all open partners still walk (they will answer what this one does)."""
        fixed = tuple(f for f in partners if not self._walking(f))
        if not fixed:
            return None
        # cached until the open fixed partners or their scores change (an endpoint stopped from
        # outside may still record cases in flight): rebuilding it per pick is a pass over them
        memo = tuple((f, len(self._scores(f))) for f in fixed)
        if memo not in self._pairable_keys:
            self._pairable_keys[memo] = set().union(*(self._scores(f).keys() for f in fixed))
        return self._pairable_keys[memo]

    def _uncovered(self, walk: _Walk, facet: str) -> Stratum | None:
        """A stratum of the largest task (or bucket) the endpoint has no case of yet and can
        still take one of — for a task, a stratum of a bucket it has not seen if there is one —
        the one with the most free cases; None when every task (bucket) is covered. One
        stratum: with no item statistics its cases are alike, so the run's shuffle picks, the
        same for every endpoint, and their differences stay paired."""
        at = 0 if facet == "task" else 1
        held = {s[at] for s, n in walk.held.items() if n}
        open_ = {s: len(k) for s, k in walk.free.items() if k and s[at] not in held}
        if not open_:
            return None
        by_value: dict[str, int] = {}
        for s, n in open_.items():
            by_value[s[at]] = by_value.get(s[at], 0) + n
        largest = max(sorted(by_value), key=lambda v: by_value[v])
        strata = [s for s in open_ if s[at] == largest]
        if facet == "task":
            seen = {s[1] for s, n in walk.held.items() if n}
            strata = [s for s in strata if s[1] not in seen] or strata
        return max(sorted(strata), key=lambda s: open_[s])

    def _most_behind(self, walk: _Walk, pairable: set[str] | None) -> list[str]:
        """Free cases (pairable ones, if any) of the stratum furthest below its share."""
        total, count = len(self.slots), sum(walk.held.values()) + 1
        candidates = {s: list(k) for s, k in walk.free.items() if k}
        if pairable is not None:
            narrowed = {s: [k for k in keys if k in pairable] for s, keys in candidates.items()}
            narrowed = {s: keys for s, keys in narrowed.items() if keys}
            candidates = narrowed or candidates

        def behind(stratum: Stratum) -> tuple[float, int, Stratum]:
            size = self._sizes[stratum]
            return (size / total * count - walk.held.get(stratum, 0), size, stratum)

        return candidates[max(sorted(candidates), key=behind)]

    def _pick_from(self, pool: list[str], thetas: Sequence[float]) -> str:
        """Cases that separate first, then the most information at ``thetas``, then the run's
        shuffle."""
        index = np.array([self._index[k] for k in pool], dtype=np.int64)
        a, b = self._a[index], self._b[index]
        p = _sigmoid(a[:, None] * (np.asarray(thetas)[None, :] - b[:, None]))
        info = np.round((a[:, None] ** 2 * p * (1 - p)).sum(axis=1), 9)
        ranked = [
            (not self.slots[k].flat, float(info[i]), self._shuffle[k]) for i, k in enumerate(pool)
        ]
        return pool[max(range(len(pool)), key=ranked.__getitem__)]

    def ability(self, name: str) -> float:
        """MAP ability (θ ~ N(0, 1)) from an endpoint's (or anchor's) scores, cached until it
        has a new one."""
        scores = self._scores(name)
        cached = self._abilities.get(name)
        if cached is not None and cached[0] == len(scores):
            return cached[1]
        index = np.array([self._index[k] for k in scores if k in self._index], dtype=np.int64)
        y = np.array([v for k, v in scores.items() if k in self._index], dtype=np.float64)
        a, b = self._a[index], self._b[index]
        theta = 0.0
        for _ in range(25):
            p = _sigmoid(a * (theta - b))
            hess = float((a * a * p * (1 - p)).sum()) + 1.0
            step = float(np.clip(((a * (y - p)).sum() - theta) / hess, -2.0, 2.0))
            theta += step
            if abs(step) < 1e-4:
                break
        self._abilities[name] = (len(scores), theta)
        return theta

    # -- verdicts ------------------------------------------------------------------------------

    def _scores(self, name: str) -> Mapping[str, float]:
        walk = self.walks.get(name)
        return walk.scores if walk is not None else self.anchors.get(name, {})

    def partners(self, endpoint: str) -> list[str]:
        """Whom the endpoint is compared with; a walk that stopped with no scores is left out."""
        if self.settings.against == "history":
            own = history_of(endpoint)
            return [own] if own in self.anchors else []
        return [
            e
            for e in (*self.walks, *self.anchors)
            if e != endpoint and (self._scores(e) or self._walking(e))
        ]

    def _walking(self, name: str) -> bool:
        walk = self.walks.get(name)
        return walk is not None and walk.stopped is None

    def open_partners(self, endpoint: str) -> list[str]:
        return [f for f in self.partners(endpoint) if self.pair_state(endpoint, f) is None]

    def estimate(self, name: str) -> Estimate | None:
        """The suite-level quality of an endpoint (or anchor) from its scores (cached until it
        has a new one)."""
        scores = self._scores(name)
        cached = self._estimates.get(name)
        if cached is not None and cached[0] == len(scores):
            return cached[1]
        estimate = self._estimate(scores)
        self._estimates[name] = (len(scores), estimate)
        return estimate

    def _estimate(self, scores: Mapping[str, float]) -> Estimate | None:
        return stratified(
            ((self.slots[k].stratum, y) for k, y in scores.items() if k in self.slots), self._sizes
        )

    def difference(self, a: str, b: str) -> Estimate | None:
        """The paired difference a − b over the cases both have scores on."""
        sa, sb = self._scores(a), self._scores(b)
        small, large = (sa, sb) if len(sa) <= len(sb) else (sb, sa)
        common = [k for k in small if k in large and k in self.slots]
        return stratified(
            ((self.slots[k].stratum, sa[k] - sb[k]) for k in common),
            self._sizes,
            prior_var=DIFFERENCE_PRIOR_VAR,
        )

    def pair_state(self, a: str, b: str) -> StopReason | None:
        """``separated`` or ``tied`` once settled; None while open (cached until either has a
        new score)."""
        memo = (a, b, len(self._scores(a)), len(self._scores(b)))
        if memo not in self._pairs:
            self._pairs[memo] = self._pair_state(a, b)
        return self._pairs[memo]

    def _pair_state(self, a: str, b: str) -> StopReason | None:
        diff = self.difference(a, b)
        if diff is None or diff.used < self.settings.min_cases:
            return None
        half = diff.half_width(self.settings.z_stop)
        if abs(diff.mean) > half:
            return "separated"
        if abs(diff.mean) + half <= self.settings.tie_margin:
            return "tied"
        return None

    def covered(self, endpoint: str) -> bool:
        """Every task and bucket has a case the endpoint took, or none is left to take."""
        walk = self.walks[endpoint]
        return self._uncovered(walk, "task") is None and self._uncovered(walk, "bucket") is None

    def _settled(self, endpoint: str) -> StopReason | None:
        walk = self.walks[endpoint]
        if len(walk.scores) < self.settings.min_cases or not self.covered(endpoint):
            return None
        partners = self.partners(endpoint)
        if not partners:
            return "precise" if self._precise(endpoint) else None
        if self.settings.require_precision and not self._precise(endpoint):
            return None
        states = []
        for partner in partners:
            state = self.pair_state(endpoint, partner)
            if state is None and self._can_pair(endpoint, partner):
                return None
            states.append(state or "unpaired")
        if all(s == "separated" for s in states):
            return "separated"
        return "tied" if all(s == "tied" for s in states) else "settled"

    def _precise(self, endpoint: str) -> bool:
        """The endpoint's own estimate's 95% interval is within ±``precision``."""
        own = self.estimate(endpoint)
        return own is not None and own.half_width(Z_95) <= self.settings.precision

    def _can_pair(self, endpoint: str, partner: str) -> bool:
        """Whether more cases could still pair the two: the partner is walking, or has scores
        on cases the endpoint has not taken."""
        if self._walking(partner):
            return True
        mine = self.walks[endpoint]
        return any(k not in mine.taken and k not in mine.pending for k in self._scores(partner))

    def outcome(self) -> dict[str, Any]:
        """Per endpoint: cases taken, why it stopped, its estimate; stored with the run."""
        return {
            endpoint: {
                "cases": len(walk.taken),
                "graded": len(walk.scores),
                "stopped": walk.stopped,
                "estimate": None if (est := self.estimate(endpoint)) is None else est.to_dict(),
            }
            for endpoint, walk in self.walks.items()
        }


def history_of(endpoint: str) -> str:
    """The anchor name of an endpoint's own stored scores (``against="history"``)."""
    return f"{endpoint}@history"


def _sigmoid(x: NDArray[np.float64]) -> NDArray[np.float64]:
    out: NDArray[np.float64] = 1.0 / (1.0 + np.exp(-np.clip(x, -30.0, 30.0)))
    return out


def _hash(seed: str, key: str) -> float:
    digest = hashlib.blake2b(f"{seed}\0{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64
