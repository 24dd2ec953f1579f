"""Routers: one small protocol (`base.Router`) and a name registry (`base.create`, `base.names`)."""

from rolecall.learned.routers.base import REGISTRY, Dataset, Features, Router, create, names

__all__ = ["REGISTRY", "Dataset", "Features", "Router", "create", "names"]
