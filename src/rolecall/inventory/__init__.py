"""Inventory: the declared side of routing — the model catalog, baseline roles and tasks, config."""

from rolecall.inventory.catalog import Catalog, CatalogEntry

__all__ = ["Catalog", "CatalogEntry"]
