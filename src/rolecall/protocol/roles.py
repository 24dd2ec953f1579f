"""Capability, role and task artifacts (docs/protocol.md §Artifacts).

Owns `Capability` / `CapabilityTaxonomy`, `RoleDefinition` with its `ToolPolicy`,
`TaskDefinition`, `RoleBinding` and `TaskExecutionProfile`, mirroring the ``capability-taxonomy``,
``role-definition``, ``task-definition``, ``role-binding`` and ``task-execution-profile`` schemas.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from rolecall.protocol.base import ProtocolModel
from rolecall.protocol.policy import RoutingPolicy

__all__ = [
    "BindingStatus",
    "Capability",
    "CapabilityTaxonomy",
    "RoleBinding",
    "RoleDefinition",
    "TaskDefinition",
    "TaskExecutionProfile",
    "ToolPolicy",
    "ToolPolicyMode",
]

ToolPolicyMode = Literal["disabled", "limited", "allowed"]
BindingStatus = Literal["active", "inactive", "disabled"]
"""Role binding statuses as the schema has them (the docs' ``candidate`` is not accepted)."""


class Capability(ProtocolModel):
    """One capability identifier of a taxonomy (for example ``code.edit``)."""

    id: str
    family: str
    description: str


class CapabilityTaxonomy(ProtocolModel):
    """A versioned list of capability identifiers."""

    version: str
    capabilities: Annotated[list[Capability], Field(min_length=1)]


class ToolPolicy(ProtocolModel):
    """Whether a role may use tools, and which ones when ``limited``."""

    mode: ToolPolicyMode
    allowed_tools: list[str] | None = None


class RoleDefinition(ProtocolModel):
    """An execution persona and its operating contract.

    ``routing_policy_overrides`` is a partial `RoutingPolicy` merged into the policy snapshot.
    """

    role_id: str
    name: str
    description: str
    role_kind: str
    default_system_instructions: str
    task_types_supported: list[str]
    required_capabilities: list[str]
    preferred_capabilities: list[str]
    forbidden_capabilities: list[str]
    tool_policy: ToolPolicy
    routing_policy_overrides: dict[str, Any]
    output_contracts: list[str]
    safety_policy_refs: list[str]


class TaskDefinition(ProtocolModel):
    """A unit of work: its inputs, capability needs, quality metrics and allowed roles."""

    task_type: str
    description: str
    required_inputs: list[str]
    required_capabilities: list[str]
    preferred_capabilities: list[str]
    quality_metrics: list[str]
    allowed_roles: list[str]
    default_benchmark_suites: list[str]


class RoleBinding(ProtocolModel):
    """Binds a role to one endpoint; a non-active binding excludes the endpoint."""

    binding_id: str
    role_id: str
    endpoint_id: str
    status: BindingStatus
    policy_overrides: dict[str, Any]
    effective_capabilities: list[str]
    effective_task_types: list[str]


class TaskExecutionProfile(ProtocolModel):
    """A role-by-task patch layer carrying a full `RoutingPolicy` patch."""

    task_type: str
    role_id: str
    required_capabilities: list[str]
    preferred_capabilities: list[str]
    routing_policy_patch: RoutingPolicy
