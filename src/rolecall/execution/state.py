"""The routing state: the one mutable thing requests route on, and the one way to change it.

`RoutingState` holds the current `RoutingView` (an immutable inventory and the `Router` built
from its policy), the candidate pool (observed profiles, offline marks) and the cooldown book.
Every change of inventory, posture or bindings goes through `update` (or `swap`), which builds the
next view under a lock and publishes it with one assignment, so a request that took a view keeps
routing and executing on one consistent inventory whatever changes meanwhile. Observed profiles
reach the router through `publish_profile`, derived difficulty ceilings through `set_ceilings`,
drift alarms' demotions through `set_demotions`, cooldowns through the book.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from rolecall.execution.cooldown import CooldownBook
from rolecall.execution.pool import CandidatePool
from rolecall.inventory.inventory import (
    Inventory,
    detail_texts_of,
    endpoint_version,
    membership_revision_for,
    unset_targets,
)
from rolecall.protocol import ObservedPerformanceProfile
from rolecall.routing import Candidate, RecencyDecay, Router

__all__ = ["EndpointFacts", "RoutingState", "RoutingView"]

# (endpoint version, membership revision): what an endpoint's samples are graded and keyed under
EndpointFacts = tuple[str, str | None]


@dataclass(frozen=True, slots=True, eq=False)
class RoutingView:
    """One version of the routing state: an inventory and the router for its policy."""

    inventory: Inventory
    router: Router
    version: int
    _pool: CandidatePool = field(repr=False)

    def candidates(self, now_ms: int) -> list[Candidate]:
        """The router's candidates for this view's endpoints, with current evidence and status."""
        return self._pool.candidates(self.inventory, now_ms)


def recency_decay_of(inventory: Inventory) -> RecencyDecay | None:
    """The router's decay settings from ``routing.observed_data.recency_decay`` (None: off)."""
    config = inventory.routing.observed_data.recency_decay
    if not config.enabled:
        return None
    return RecencyDecay(
        quality_s=config.quality_s,
        latency_s=config.latency_s,
        throughput_s=config.throughput_s,
        cost_s=config.cost_s,
        reliability_s=config.reliability_s,
    )


def _wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class RoutingState:
    """The current `RoutingView` plus the live evidence and cooldowns candidates are built from."""

    def __init__(self, inventory: Inventory, cooldowns: CooldownBook) -> None:
        self.cooldowns = cooldowns
        self._pool = CandidatePool(cooldowns)
        self._lock = threading.Lock()
        self._view = RoutingView(inventory, self._router(inventory), 0, self._pool)
        self._facts: tuple[Inventory, dict[str, EndpointFacts]] | None = None

    @property
    def view(self) -> RoutingView:
        """The current view; take it once per request."""
        return self._view

    @property
    def inventory(self) -> Inventory:
        return self._view.inventory

    @property
    def profiles(self) -> Mapping[str, ObservedPerformanceProfile]:
        return self._pool.profiles

    def update(self, change: Callable[[Inventory], Inventory]) -> RoutingView:
        """Apply ``change`` to the current inventory and publish the result atomically.

        Changes are serialised: two concurrent edits both land, neither overwrites the other.
        ``change`` may raise to refuse; the current view then stays.
        """
        with self._lock:
            current = self._view
            inventory = change(current.inventory)
            if inventory is current.inventory:
                return current
            self._pool.forget_built()
            view = RoutingView(inventory, self._router(inventory), current.version + 1, self._pool)
            self._view = view
        return view

    def _router(self, inventory: Inventory) -> Router:
        """The router of a view: the targets the file leaves unset come from the pool; with
        ``routing.observed_data.recency_decay`` on, metrics decay at the wall clock's time."""
        decay = recency_decay_of(inventory)
        return Router(
            inventory.policy,
            pool_targets=functools.partial(self._pool.derived_targets, inventory),
            unset_targets=unset_targets(inventory.routing),
            detail_texts=detail_texts_of(inventory.routing),
            recency_decay=decay,
            clock=None if decay is None else _wall_clock_ms,
        )

    def swap(self, inventory: Inventory) -> RoutingView:
        """Make ``inventory`` the one every new request sees."""
        return self.update(lambda _: inventory)

    def candidates(self, now_ms: int) -> list[Candidate]:
        return self._view.candidates(now_ms)

    def publish_profile(self, profile: ObservedPerformanceProfile) -> bool:
        """Route on a new observed profile, unless its endpoint has gone or changed meanwhile."""
        endpoint = self._view.inventory.endpoints.get(profile.endpoint_id)
        if endpoint is None or profile.endpoint_version != endpoint_version(endpoint.identity):
            return False
        self._pool.set_profile(profile)
        return True

    def set_offline(self, endpoint_id: str, offline: bool) -> None:
        self._pool.set_offline(endpoint_id, offline)

    def set_ceilings(self, ceilings: Mapping[str, str | None]) -> None:
        """Route on derived difficulty ceilings (endpoint id → easy/medium/hard, None clears);
        an endpoint's declared ``max_difficulty`` still wins (docs/routing.md §Difficulty)."""
        self._pool.set_ceilings(ceilings)

    def set_demotions(self, demoted: Mapping[str, str]) -> None:
        """Route with exactly these endpoints demoted (endpoint → the alarm's summary): their
        quality metric scores 0 until the alarm is cleared (docs/profiles.md §Drift alarms)."""
        self._pool.set_demotions(demoted)

    @property
    def demotions(self) -> Mapping[str, str]:
        return self._pool.demotions

    def is_offline(self, endpoint_id: str) -> bool:
        """Whether a health check marked the endpoint offline (a cooldown is not that)."""
        return self._pool.is_offline(endpoint_id)

    def endpoint_facts(self, endpoint_id: str) -> EndpointFacts | None:
        """(endpoint version, membership revision) of a known endpoint, for aggregating its
        samples: benchmark samples graded under other bindings or identity are stale evidence."""
        return self.all_endpoint_facts().get(endpoint_id)

    def endpoint_version(self, endpoint_id: str) -> str | None:
        """The version of a configured endpoint (None for one the inventory no longer has)."""
        facts = self.endpoint_facts(endpoint_id)
        return None if facts is None else facts[0]

    def all_endpoint_facts(self) -> Mapping[str, EndpointFacts]:
        """`endpoint_facts` of every endpoint: the same mapping until the inventory changes."""
        inventory = self._view.inventory
        cached = self._facts
        if cached is None or cached[0] is not inventory:
            facts: dict[str, EndpointFacts] = {
                eid: (endpoint_version(ep.identity), membership_revision_for(inventory, eid))
                for eid, ep in inventory.endpoints.items()
            }
            cached = self._facts = (inventory, facts)
        return cached[1]
