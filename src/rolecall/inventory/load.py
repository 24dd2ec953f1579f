"""The inventory as configured: the file's endpoints priced by the bundled catalog with the file's
own catalog overrides. Startup and endpoints added at run time both build it here, so neither can
skip the overrides. `check_provider_keys` is the start's refusal to send a remote provider's
requests without the key its file refers to."""

from __future__ import annotations

from rolecall.errors import ConfigError
from rolecall.inventory.catalog import Catalog
from rolecall.inventory.config import InventoryConfig
from rolecall.inventory.inventory import Inventory, build_inventory


def configured_inventory(config: InventoryConfig) -> Inventory:
    catalog = Catalog.load_default().with_overrides(config.catalog_overrides)
    return build_inventory(config, catalog)


def check_provider_keys(config: InventoryConfig, inventory: Inventory, source: str) -> None:
    """Raise `ConfigError` when an enabled remote endpoint's provider refers to a key variable
    that is not set (a local server needs none: its unset key is only a warning)."""
    unset = {u.path: u.name for u in config.unset_variables}
    for endpoint in inventory.endpoints.values():
        path = f"providers.{endpoint.provider_name}.api_key"
        if endpoint.is_local or not endpoint.enabled or path not in unset:
            continue
        name = unset[path]
        raise ConfigError(
            source,
            path,
            f"${{{name}}} is not set, and the remote provider {endpoint.provider_name!r} (endpoint "
            f"{endpoint.endpoint_id}) needs its key: export {name} or add it to .env, or set "
            "enabled: false on its endpoints",
        )
