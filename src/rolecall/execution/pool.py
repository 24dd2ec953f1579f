"""The candidate pool: router `Candidate`s for an inventory's endpoints, kept current.

Candidates are rebuilt only when an endpoint's evidence changes (a new observed profile), its
cooldown starts or ends, or the inventory is swapped, so the router's per-candidate caches survive
between requests. The pool is owned by `rolecall.execution.state.RoutingState`; nothing else
changes it.

It also keeps the metric targets derived from its evidence (`derived_targets`): recomputed on the
first decision after a profile arrives or the inventory changes, not per request; and the difficulty
ceilings derived from benchmark quality (`set_ceilings`), which a declared ``max_difficulty``
overrides.

With ``routing.observed_data.throughput_sla`` on, an endpoint whose profile measured fewer tokens/s
than the SLA gets the penalty factor as its ``throughput_penalty`` until ``penalty_s`` after that
profile was measured (`sla_penalty`); the built candidate is dropped when its penalty expires.
"""

from __future__ import annotations

from collections.abc import Mapping
from math import inf

from rolecall.execution.cooldown import CooldownBook
from rolecall.inventory.inventory import Endpoint, Inventory
from rolecall.inventory.modes import ThroughputSlaConfig
from rolecall.protocol import ObservedPerformanceProfile
from rolecall.routing import Candidate, Evidence
from rolecall.routing.request import DIFFICULTIES
from rolecall.routing.targets import PoolTargets, derive_targets


class CandidatePool:
    def __init__(self, cooldowns: CooldownBook) -> None:
        self.cooldowns = cooldowns
        self._evidence: dict[str, Evidence] = {}
        self._profiles: dict[str, ObservedPerformanceProfile] = {}
        self._ready: dict[str, Candidate] = {}
        self._offline: set[str] = set()
        self._ceilings: dict[str, str] = {}  # derived difficulty ceilings (profiles.ceilings)
        self._demoted: dict[str, str] = {}  # endpoint → why an open drift alarm demoted it
        # bumped whenever evidence or the inventory changes: derived targets are recomputed
        self._generation = 0
        self._targets: tuple[Inventory, int, PoolTargets] | None = None
        # built candidates carrying a throughput-SLA penalty → when it ends (ms), and the soonest
        self._penalised: dict[str, int] = {}
        self._next_expiry_ms: float = inf

    @property
    def profiles(self) -> Mapping[str, ObservedPerformanceProfile]:
        return self._profiles

    def set_profile(self, profile: ObservedPerformanceProfile) -> None:
        self._profiles[profile.endpoint_id] = profile
        self._evidence[profile.endpoint_id] = Evidence.from_profile(profile)
        self._ready.pop(profile.endpoint_id, None)
        self._penalised.pop(profile.endpoint_id, None)  # the next build judges the new profile
        self._generation += 1

    def set_offline(self, endpoint_id: str, offline: bool) -> None:
        """Health checks mark an endpoint offline (excluded as PROVIDER_OFFLINE) or back."""
        if offline:
            self._offline.add(endpoint_id)
        else:
            self._offline.discard(endpoint_id)
        self._ready.pop(endpoint_id, None)

    def is_offline(self, endpoint_id: str) -> bool:
        return endpoint_id in self._offline

    def set_ceilings(self, ceilings: Mapping[str, str | None]) -> None:
        """Set the derived difficulty ceiling of each endpoint named (None clears one); the
        endpoints not named keep theirs. Only the candidates whose ceiling changed are rebuilt."""
        for endpoint_id, ceiling in ceilings.items():
            if ceiling is not None and ceiling not in DIFFICULTIES:
                raise ValueError(
                    f"ceilings.{endpoint_id}: expected one of {list(DIFFICULTIES)} or None, "
                    f"got {ceiling!r}"
                )
        for endpoint_id, ceiling in ceilings.items():
            if self._ceilings.get(endpoint_id) == ceiling:
                continue
            if ceiling is None:
                del self._ceilings[endpoint_id]
            else:
                self._ceilings[endpoint_id] = ceiling
            self._ready.pop(endpoint_id, None)

    def set_demotions(self, demoted: Mapping[str, str]) -> None:
        """Demote exactly these endpoints (endpoint → why); the others are demoted no longer."""
        changed = set(self._demoted.items()) ^ set(demoted.items())
        self._demoted = dict(demoted)
        for endpoint_id in {endpoint_id for endpoint_id, _ in changed}:
            self._ready.pop(endpoint_id, None)
        if changed:
            self._generation += 1

    @property
    def demotions(self) -> Mapping[str, str]:
        return self._demoted

    @property
    def ceilings(self) -> Mapping[str, str]:
        """The derived difficulty ceilings set so far (declared ones live in the inventory)."""
        return self._ceilings

    def forget_built(self) -> None:
        """Drop every built candidate (the inventory changed: identities or prices may have)."""
        self._ready = {}
        self._penalised = {}
        self._generation += 1

    def candidates(self, inventory: Inventory, now_ms: int) -> list[Candidate]:
        if now_ms >= self._next_expiry_ms:
            self._expire_penalties(now_ms)
        ready = self._ready
        out = []
        for endpoint_id, endpoint in inventory.endpoints.items():
            if not endpoint.enabled:
                continue
            status = self._status(endpoint_id, now_ms)
            if status == "active":
                candidate = ready.get(endpoint_id)
                if candidate is None:
                    penalty = self._penalty(endpoint_id, inventory, now_ms)
                    candidate = ready[endpoint_id] = self._build(endpoint, "active", penalty)
            else:
                penalty = self._penalty(endpoint_id, inventory, now_ms)
                candidate = self._build(endpoint, status, penalty)
            out.append(candidate)
        return out

    def _penalty(self, endpoint_id: str, inventory: Inventory, now_ms: int) -> float | None:
        """The throughput-SLA penalty of a candidate built now, noting when it ends."""
        sla = inventory.routing.observed_data.throughput_sla
        found = sla_penalty(self._profiles.get(endpoint_id), sla, now_ms) if sla.enabled else None
        if found is None:
            return None
        factor, until_ms = found
        self._penalised[endpoint_id] = until_ms
        self._next_expiry_ms = min(self._next_expiry_ms, until_ms)
        return factor

    def _expire_penalties(self, now_ms: int) -> None:
        """Drop the built candidates whose penalty has ended: the next build has none."""
        for endpoint_id, until_ms in list(self._penalised.items()):
            if now_ms >= until_ms:
                del self._penalised[endpoint_id]
                self._ready.pop(endpoint_id, None)
        self._next_expiry_ms = min(list(self._penalised.values()), default=inf)

    def derived_targets(self, inventory: Inventory) -> PoolTargets:
        """Targets derived from every enabled endpoint's evidence (cooling or not, so a cooldown
        does not move them), cached until the evidence or the inventory changes."""
        generation = self._generation
        cached = self._targets
        if cached is not None and cached[0] is inventory and cached[1] == generation:
            return cached[2]
        # the targets are chat's: an embeddings-only endpoint (answering in milliseconds) would
        # narrow the latency a chat model is scored against; embedders compete among themselves
        pool = [
            self._ready.get(endpoint_id) or self._build(endpoint, "active")
            for endpoint_id, endpoint in inventory.endpoints.items()
            if endpoint.enabled and not endpoint.embeddings_only
        ]
        targets = derive_targets(pool)
        if cached is not None and cached[2] == targets:
            targets = cached[2]  # the same object keeps the router's per-posture cache warm
        self._targets = (inventory, generation, targets)
        return targets

    def _status(self, endpoint_id: str, now_ms: int) -> str:
        if endpoint_id in self._offline:
            return "offline"
        if self.cooldowns.active(endpoint_id, now_ms) is not None:
            return "cooldown"
        return "active"

    def _build(self, endpoint: Endpoint, status: str, penalty: float | None = None) -> Candidate:
        ceiling, ceiling_source = self._ceiling(endpoint)
        return Candidate(
            identity=endpoint.identity,
            declared=endpoint.declared,
            evidence=self._evidence.get(endpoint.endpoint_id),
            status=status,
            catalog_cost_per_1k_tokens=endpoint.cost_per_1k_tokens,
            throughput_penalty=penalty,
            max_difficulty=ceiling,
            ceiling_source=ceiling_source,
            demoted=self._demoted.get(endpoint.endpoint_id),
        )

    def _ceiling(self, endpoint: Endpoint) -> tuple[str | None, str | None]:
        """The endpoint's difficulty ceiling and its source: declared wins over derived."""
        if endpoint.max_difficulty is not None:
            return endpoint.max_difficulty, "declared"
        derived = self._ceilings.get(endpoint.endpoint_id)
        return derived, None if derived is None else "derived"


def sla_penalty(
    profile: ObservedPerformanceProfile | None, sla: ThroughputSlaConfig, now_ms: int
) -> tuple[float, int] | None:
    """(penalty factor, end in ms) when ``profile`` measured fewer tokens/s than the SLA less than
    ``penalty_s`` ago; None otherwise (no profile, no throughput measured, SLA met, expired)."""
    if profile is None or profile.tokens_per_sec is None:
        return None
    if profile.tokens_per_sec >= sla.min_tokens_per_sec:
        return None
    until_ms = profile.measured_at_ms + round(sla.penalty_s * 1000)
    return None if now_ms >= until_ms else (sla.penalty_factor, until_ms)
