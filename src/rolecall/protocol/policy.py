"""The routing policy artifact: hard constraints plus optimisation intent.

What each artifact is for: docs/protocol.md §Artifacts.

Owns `RoutingPolicy` and its nested `Budget`, `Privacy` and `Targets` objects, mirroring
``routing-policy.schema.json`` (also referenced as ``policy_snapshot`` of a router decision and
``routing_policy_patch`` of a task execution profile), plus the Literal aliases of its enums.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from rolecall.protocol.base import ProtocolModel

__all__ = [
    "Budget",
    "BudgetMode",
    "ComputePreference",
    "Privacy",
    "RoutingPolicy",
    "RoutingStrategy",
    "Targets",
]

RoutingStrategy = Literal["balanced", "cost", "latency", "quality"]
ComputePreference = Literal["auto", "local", "remote", "hybrid"]
BudgetMode = Literal["strict", "advisory", "disabled"]

NonNegative = Annotated[float, Field(ge=0)]


class Budget(ProtocolModel):
    """Cost limits of a request: ``max`` excludes (under a strict budget), ``target`` normalises."""

    enabled: bool
    currency: str
    max_cost_per_request: NonNegative | None = None
    target_cost_per_request: NonNegative | None = None


class Privacy(ProtocolModel):
    """Privacy constraint: ``allow_remote`` false forces local-only routing."""

    allow_remote: bool


class Targets(ProtocolModel):
    """Normalisation targets for the latency and throughput metrics."""

    latency_target_ms: NonNegative
    latency_max_ms: NonNegative
    throughput_target_tps: NonNegative


class RoutingPolicy(ProtocolModel):
    """The effective policy of a decision: constraints that exclude and intent that scores."""

    policy_id: str | None = None
    strategy: RoutingStrategy
    compute_preference: ComputePreference
    prefer_local: bool | None = None
    budget_mode: BudgetMode | None = None
    tie_break_order: Annotated[list[str], Field(min_length=1)] | None = None
    required_capabilities: list[str]
    required_modalities: list[str]
    require_tools: bool
    deny_endpoints: list[str]
    allow_endpoints: list[str]
    deny_provider_kinds: list[str]
    allow_provider_kinds: list[str]
    budget: Budget
    privacy: Privacy
    targets: Targets
