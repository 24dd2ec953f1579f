"""The inventory as configured: the file's endpoints priced by the bundled catalog with the file's
own catalog overrides. Startup and endpoints added at run time both build it here, so neither can
skip the overrides."""

from __future__ import annotations

from rolecall.inventory.catalog import Catalog
from rolecall.inventory.config import InventoryConfig
from rolecall.inventory.inventory import Inventory, build_inventory


def configured_inventory(config: InventoryConfig) -> Inventory:
    catalog = Catalog.load_default().with_overrides(config.catalog_overrides)
    return build_inventory(config, catalog)
