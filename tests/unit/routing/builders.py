"""Small builders for router inputs used across the routing tests."""

from __future__ import annotations

from typing import Any

from rolecall.protocol import (
    DeclaredCapabilityProfile,
    EndpointIdentity,
    RoleBinding,
    RoleDefinition,
    TaskDefinition,
)
from rolecall.routing import Candidate, Evidence, RoutingRequest


def candidate(
    endpoint_id: str,
    *,
    capabilities: tuple[str, ...] = ("text.chat",),
    modalities: tuple[str, ...] = ("text",),
    context: int = 32768,
    tools: bool = True,
    local: bool = False,
    provider_kind: str = "remote_openai_compat",
    evidence: dict[str, Any] | None = None,
    **kwargs: Any,
) -> Candidate:
    identity = EndpointIdentity(
        endpoint_id=endpoint_id,
        endpoint_kind="local_engine" if local else "remote_api",
        provider_kind=provider_kind,
        serving_source="local-process" if local else "remote-service",
        model_id=f"model-{endpoint_id}",
        runtime_version="test-1",
        region="local" if local else "us-east",
    )
    declared = DeclaredCapabilityProfile(
        endpoint_id=endpoint_id,
        capabilities=list(capabilities),
        modalities=list(modalities),
        max_context_tokens=context,
        tool_calling={"supported": tools, "style": "openai" if tools else "none"},
        supports_embeddings=False,
    )
    ev = None if evidence is None else Evidence(**evidence)
    return Candidate(identity=identity, declared=declared, evidence=ev, **kwargs)


def measured(
    quality: float = 0.8,
    p50: float = 100.0,
    p95: float = 150.0,
    tps: float = 60.0,
    cost: float = 0.001,
    failure: float = 0.0,
) -> dict[str, Any]:
    return {
        "judge_score": quality,
        "latency_ms_p50": p50,
        "latency_ms_p95": p95,
        "tokens_per_sec": tps,
        "cost_per_1k_tokens_est": cost,
        "failure_rate": failure,
    }


def request(**kwargs: Any) -> RoutingRequest:
    kwargs.setdefault("request_id", "req-1")
    return RoutingRequest(**kwargs)


def role(role_id: str, **kwargs: Any) -> RoleDefinition:
    base: dict[str, Any] = {
        "role_id": role_id,
        "name": role_id,
        "description": "test role",
        "role_kind": "assistant",
        "default_system_instructions": "",
        "task_types_supported": ["text.chat"],
        "required_capabilities": [],
        "preferred_capabilities": [],
        "forbidden_capabilities": [],
        "tool_policy": {"mode": "allowed"},
        "routing_policy_overrides": {},
        "output_contracts": [],
        "safety_policy_refs": [],
    }
    base.update(kwargs)
    return RoleDefinition.model_validate(base)


def task(task_type: str, **kwargs: Any) -> TaskDefinition:
    base: dict[str, Any] = {
        "task_type": task_type,
        "description": "test task",
        "required_inputs": [],
        "required_capabilities": [],
        "preferred_capabilities": [],
        "quality_metrics": [],
        "allowed_roles": [],
        "default_benchmark_suites": [],
    }
    base.update(kwargs)
    return TaskDefinition.model_validate(base)


def binding(role_id: str, endpoint_id: str, status: str = "active", **kwargs: Any) -> RoleBinding:
    base: dict[str, Any] = {
        "binding_id": f"{role_id}@{endpoint_id}",
        "role_id": role_id,
        "endpoint_id": endpoint_id,
        "status": status,
        "policy_overrides": {},
        "effective_capabilities": [],
        "effective_task_types": [],
    }
    base.update(kwargs)
    return RoleBinding.model_validate(base)
