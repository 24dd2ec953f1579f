"""`Operator`: posture and binding edits applied to the routing state and kept across restarts.

Edits are published through `RoutingState.update` (so a request in flight keeps the inventory it
took) and saved in an `OverridesStore`: the database's shared document when serving (every worker
and replica routes on the same overrides and re-reads them on a change notice: `reload`), or the
file ``DATA_DIR/console/overrides.json`` (written to a temporary file, then renamed, so a crash
never leaves half a file; what older versions kept, imported into the database once). The
inventory file itself is never rewritten for these; only adding endpoints edits it
(`rolecall.operator.endpoints`).
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any, Protocol

from rolecall.errors import ConfigError
from rolecall.execution.state import RoutingState
from rolecall.files import private_dir, write_private
from rolecall.inventory.inventory import Inventory
from rolecall.operator.posture import (
    Posture,
    configured_policy,
    current_posture,
    modes_for,
    parse_posture,
    with_binding,
    with_posture,
)

log = logging.getLogger("rolecall.operator")


class OverridesStore(Protocol):
    """Where the operator's overrides are kept: ``{"posture": {...}, "bindings": {...}}``."""

    def load(self) -> dict[str, Any]: ...
    def save(self, data: dict[str, Any]) -> None: ...


class OverridesFile:
    """The JSON file of operator overrides: ``{"posture": {...}, "bindings": {"role@ep": status}}``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, Any]:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConfigError(
                str(self.path), "$", f"unreadable console overrides: {exc}; fix or delete the file"
            ) from None
        return data if isinstance(data, dict) else {}

    def save(self, data: dict[str, Any]) -> None:
        private_dir(self.path.parent)
        write_private(self.path, json.dumps(data, indent=2, sort_keys=True))


def overrides_file(data_dir: Path) -> OverridesFile:
    return OverridesFile(data_dir / "console" / "overrides.json")


class Operator:
    """The operator's routing edits over one `RoutingState`."""

    def __init__(
        self,
        routing: RoutingState,
        store: OverridesStore,
        *,
        learned_loaded: bool,
        saved: dict[str, Any] | None = None,
    ) -> None:
        """``saved``: the store's content when the caller already read it."""
        self.routing = routing
        controller = routing.inventory.routing.controller is not None
        self.modes = modes_for(learned_loaded, controller)
        # as configured in rolecall.yaml, less the configured scope (each posture sets its own)
        self.base_policy = configured_policy(routing.inventory.routing)
        self._store = store
        self._data = store.load() if saved is None else saved
        self._lock = threading.Lock()

    def posture(self) -> Posture:
        return current_posture(self.routing.inventory)

    def apply_saved(self) -> None:
        """Re-apply saved overrides at startup. One that no longer fits (a vanished role or
        endpoint, a mode this runtime cannot run) is skipped with a warning, not fatal."""
        self.routing.update(self._with_saved)

    def reload(self) -> None:
        """Another process saved overrides: route on what the store holds now."""
        with self._lock:
            self._data = self._store.load()
            self.routing.update(self._with_saved)
        log.warning("routing overrides reloaded: another process saved posture or bindings")

    def _with_saved(self, inventory: Inventory) -> Inventory:
        posture = self._data.get("posture")
        if isinstance(posture, dict):
            try:
                saved = parse_posture(posture, current_posture(inventory), self.modes)
            except ConfigError as exc:
                log.warning("console: saved posture not applied: %s", exc)
            else:
                inventory = with_posture(inventory, self.base_policy, saved)
        bindings = self._data.get("bindings")
        for key, status in (bindings if isinstance(bindings, dict) else {}).items():
            role_id, _, endpoint_id = str(key).partition("@")
            try:
                inventory = with_binding(inventory, role_id, endpoint_id, str(status))
            except ConfigError as exc:
                log.warning("console: saved binding not applied: %s", exc)
        return inventory

    def proposed(self, body: dict[str, Any]) -> Posture:
        """The posture ``body`` asks for over the current one (`ConfigError` names a bad key)."""
        return parse_posture(body, self.posture(), self.modes)

    def set_posture(self, body: dict[str, Any]) -> Posture:
        """Parse ``body`` over the current posture, route on it now and keep it."""
        with self._lock:
            posture = self.proposed(body)
            self.routing.update(lambda inv: with_posture(inv, self.base_policy, posture))
            self._data["posture"] = posture.to_dict()
            self._store.save(self._data)
        return posture

    def set_binding(self, role_id: str, endpoint_id: str, status: str) -> None:
        """Set one role × endpoint binding (``auto`` removes it), route on it now and keep it."""
        with self._lock:
            self.routing.update(lambda inv: with_binding(inv, role_id, endpoint_id, status))
            self._data.setdefault("bindings", {})[f"{role_id}@{endpoint_id}"] = status
            self._store.save(self._data)
