"""What each change notice means: which shared state a process re-reads when another changed it.

- `COOLDOWN` (key: endpoint), when a cooldown was stored or cleared: the others adopt the stored
  row (or its absence);
- `OVERRIDES`, when the operator saved posture or bindings: the others re-apply the shared
  overrides document;
- `PROFILE` (endpoint), when an observed profile was stored: the others route on it;
- `SAMPLES` (endpoint), when benchmark evidence was stored (the CLI, the console, another
  replica): the others' live profiles re-read the endpoint's samples;
- `KEYS`, when a key was created, revoked or changed: the gateway's key cache reloads
  (`rolecall.gateway.app`);
- `ALARMS`, when a drift alarm was raised or cleared: the others re-apply the shared alarms
  document's demotions (`rolecall.judging.drift_watch`).

The durable state is always stored before its notice is published, so whoever reads the notice
reads the new state.
"""

from __future__ import annotations

from typing import Final

from rolecall.cluster.node import Node
from rolecall.execution.state import RoutingState
from rolecall.observe.recorder import Recorder
from rolecall.operator import Operator
from rolecall.protocol import ObservedPerformanceProfile
from rolecall.storage.sql import SqlStorage

__all__ = [
    "ALARMS",
    "COOLDOWN",
    "KEYS",
    "LIVE_SAMPLES",
    "OVERRIDES",
    "OVERRIDES_DOC",
    "PROFILE",
    "SAMPLES",
    "share_profile",
    "share_state",
]

COOLDOWN: Final = "cooldown"
OVERRIDES: Final = "overrides"
PROFILE: Final = "profile"
SAMPLES: Final = "samples"
LIVE_SAMPLES: Final = "live-samples"  # only record writers read these (`cluster.aggregation`)
KEYS: Final = "keys"
ALARMS: Final = "alarms"
OVERRIDES_DOC: Final = "operator-overrides"


def share_profile(
    routing: RoutingState, node: Node, profile: ObservedPerformanceProfile, *, samples: bool = False
) -> None:
    """Route on a profile stored here, and tell the others (``samples``: benchmark evidence
    behind it was stored too, so their live windows are stale)."""
    routing.publish_profile(profile)
    node.feed.publish(PROFILE, profile.endpoint_id)
    if samples:
        node.feed.publish(SAMPLES, profile.endpoint_id)


def share_state(
    node: Node,
    routing: RoutingState,
    operator: Operator,
    storage: SqlStorage,
    recorder: Recorder,
) -> None:
    """Subscribe this process's routing state to the other processes' notices."""

    def cooldowns(endpoint_ids: list[str]) -> None:
        for endpoint_id in endpoint_ids:
            routing.cooldowns.adopt(endpoint_id, storage.cooldowns.get(endpoint_id))

    def profiles(endpoint_ids: list[str]) -> None:
        for endpoint_id in endpoint_ids:
            profile = storage.profiles.get(endpoint_id)
            if profile is not None:
                routing.publish_profile(profile)

    feed = node.feed
    feed.subscribe(COOLDOWN, cooldowns)
    feed.subscribe(OVERRIDES, lambda _: operator.reload())
    feed.subscribe(PROFILE, profiles)
    feed.subscribe(SAMPLES, recorder.reload_samples)
