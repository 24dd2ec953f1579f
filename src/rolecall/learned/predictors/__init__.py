"""Predictors (learned routers): one small base class (`base.Predictor`) and a name registry
(`base.create`, `base.names`)."""

from rolecall.learned.predictors.base import REGISTRY, Dataset, Features, Predictor, create, names

__all__ = ["REGISTRY", "Dataset", "Features", "Predictor", "create", "names"]
