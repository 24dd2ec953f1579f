"""The candidate pool: router `Candidate`s for an inventory's endpoints, kept current.

Candidates are rebuilt only when an endpoint's evidence changes (a new observed profile), its
cooldown starts or ends, or the inventory is swapped, so the router's per-candidate caches survive
between requests. The pool is owned by `rolecall.execution.state.RoutingState`; nothing else
changes it.

It also keeps the metric targets derived from its evidence (`derived_targets`): recomputed on the
first decision after a profile arrives or the inventory changes, not per request.
"""

from __future__ import annotations

from collections.abc import Mapping

from rolecall.execution.cooldown import CooldownBook
from rolecall.inventory.inventory import Endpoint, Inventory
from rolecall.protocol import ObservedPerformanceProfile
from rolecall.routing import Candidate, Evidence
from rolecall.routing.targets import PoolTargets, derive_targets


class CandidatePool:
    def __init__(self, cooldowns: CooldownBook) -> None:
        self.cooldowns = cooldowns
        self._evidence: dict[str, Evidence] = {}
        self._profiles: dict[str, ObservedPerformanceProfile] = {}
        self._ready: dict[str, Candidate] = {}
        self._offline: set[str] = set()
        # bumped whenever evidence or the inventory changes: derived targets are recomputed
        self._generation = 0
        self._targets: tuple[Inventory, int, PoolTargets] | None = None

    @property
    def profiles(self) -> Mapping[str, ObservedPerformanceProfile]:
        return self._profiles

    def set_profile(self, profile: ObservedPerformanceProfile) -> None:
        self._profiles[profile.endpoint_id] = profile
        self._evidence[profile.endpoint_id] = Evidence.from_profile(profile)
        self._ready.pop(profile.endpoint_id, None)
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

    def forget_built(self) -> None:
        """Drop every built candidate (the inventory changed: identities or prices may have)."""
        self._ready = {}
        self._generation += 1

    def candidates(self, inventory: Inventory, now_ms: int) -> list[Candidate]:
        ready = self._ready
        out = []
        for endpoint_id, endpoint in inventory.endpoints.items():
            if not endpoint.enabled:
                continue
            status = self._status(endpoint_id, now_ms)
            if status == "active":
                candidate = ready.get(endpoint_id)
                if candidate is None:
                    candidate = ready[endpoint_id] = self._build(endpoint, "active")
            else:
                candidate = self._build(endpoint, status)
            out.append(candidate)
        return out

    def derived_targets(self, inventory: Inventory) -> PoolTargets:
        """Targets derived from every enabled endpoint's evidence (cooling or not, so a cooldown
        does not move them), cached until the evidence or the inventory changes."""
        generation = self._generation
        cached = self._targets
        if cached is not None and cached[0] is inventory and cached[1] == generation:
            return cached[2]
        pool = [
            self._ready.get(endpoint_id) or self._build(endpoint, "active")
            for endpoint_id, endpoint in inventory.endpoints.items()
            if endpoint.enabled
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

    def _build(self, endpoint: Endpoint, status: str) -> Candidate:
        return Candidate(
            identity=endpoint.identity,
            declared=endpoint.declared,
            evidence=self._evidence.get(endpoint.endpoint_id),
            status=status,
            catalog_cost_per_1k_tokens=endpoint.cost_per_1k_tokens,
        )
