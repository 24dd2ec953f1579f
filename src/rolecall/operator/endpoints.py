"""Adding endpoints at run time: discover a server, append it to the inventory file, route to it.

The new endpoints are built exactly as at startup (`configured_inventory`: catalog overrides
included) and published through `RoutingState.update`, so a request in flight keeps the inventory
it took and the next one can route to them.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from rolecall.errors import ConfigError
from rolecall.execution.state import RoutingState
from rolecall.inventory.config import load_inventory_file
from rolecall.inventory.discovery import Discovered, add_to_inventory, discover
from rolecall.inventory.inventory import Inventory
from rolecall.inventory.load import configured_inventory

DISCOVERY_TIMEOUT_S: Final = 5.0
PROVIDER_NAME: Final = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True, slots=True)
class Added:
    added: int  # endpoints written to the inventory file
    endpoints: list[str]  # endpoint ids the router can now route to


def check_provider_name(provider: object) -> str:
    if not isinstance(provider, str) or not PROVIDER_NAME.fullmatch(provider):
        raise ConfigError("endpoints", "provider", "must be a name of letters, digits, '-' or '_'")
    return provider


def check_url(url: object) -> str:
    if not isinstance(url, str) or not url:
        raise ConfigError("endpoints", "url", "is required, e.g. http://127.0.0.1:8080")
    return url


def discover_at(url: object) -> Discovered:
    """What the server at ``url`` serves (blocking: run it off the event loop)."""
    return discover(check_url(url), DISCOVERY_TIMEOUT_S)


def add_endpoints(routing: RoutingState, config_path: Path, url: object, provider: object) -> Added:
    """Discover ``url``, append it to ``config_path`` as ``provider`` and route to the new
    endpoints (blocking: run it off the event loop). `ConfigError` names what was wrong."""
    name = check_provider_name(provider)
    found = discover_at(url)
    added = add_to_inventory(config_path, name, found)
    fresh = configured_inventory(load_inventory_file(config_path))
    new_ids: list[str] = []

    def with_new(inventory: Inventory) -> Inventory:
        new = {k: e for k, e in fresh.endpoints.items() if k not in inventory.endpoints}
        new_ids.extend(sorted(new))
        if not new:
            return inventory  # nothing to publish
        return dataclasses.replace(inventory, endpoints={**inventory.endpoints, **new})

    routing.update(with_new)
    return Added(added, new_ids)
