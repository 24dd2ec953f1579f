"""Everything about one request that the rules and scorers read, resolved once per decision.

Effective requirements are the union of the request's, the requested role's and the task's
(docs/routing.md §1); the policy snapshot folds in request flags and role overrides, then takes the
targets no policy set from the pool's derived targets, when the runtime knows its pool.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from rolecall.protocol import RoleBinding, RoleDefinition, TaskDefinition

if TYPE_CHECKING:
    from rolecall.routing.eligibility import CompiledRules
from rolecall.routing.decay import RecencyDecay
from rolecall.routing.policy import PolicySnapshot, resolve_policy
from rolecall.routing.request import RoutingRequest
from rolecall.routing.targets import PoolTargets, fill_targets

_STATUS_RANK: Final = {"active": 0, "inactive": 1, "disabled": 2}


@dataclass(slots=True)
class RoutingContext:
    """Read-only after `build_context` (not frozen only because frozen init costs µs per request)."""

    request: RoutingRequest
    policy: PolicySnapshot
    role: RoleDefinition | None
    task: TaskDefinition | None
    bindings: Mapping[str, RoleBinding]  # endpoint_id → binding of the requested role
    required: frozenset[str]
    preferred_extra: frozenset[str]  # preferred capabilities not already required
    preference_inputs: bool  # whether anything request-level can move the preference metric
    rules: tuple[CompiledRules, CompiledRules] = ((), ())  # see eligibility.active_rules
    metric_key: tuple[float, ...] = ()  # the policy targets the evidence metrics depend on
    modality_set: frozenset[str] = frozenset()  # the policy's required modalities, as a set
    recency: tuple[RecencyDecay, int] | None = None  # decay and the decision's time (ms), if on


@dataclass(frozen=True, slots=True)
class _Posture:
    """The request-independent part of a context, shared by requests with the same posture."""

    base: PolicySnapshot
    role: RoleDefinition | None
    task: TaskDefinition | None
    pool: PoolTargets | None
    policy: PolicySnapshot
    required: frozenset[str]
    preferred_extra: frozenset[str]
    rules: tuple[CompiledRules, CompiledRules]
    metric_key: tuple[float, ...]


PostureCache = dict[tuple[object, ...], _Posture]
_POSTURE_CACHE_SIZE: Final = 256


def build_context(
    request: RoutingRequest,
    base_policy: PolicySnapshot,
    roles: Iterable[RoleDefinition],
    tasks: Iterable[TaskDefinition],
    bindings: Iterable[RoleBinding],
    cache: PostureCache | None = None,
    pool: PoolTargets | None = None,
    recency: tuple[RecencyDecay, int] | None = None,
) -> RoutingContext:
    role_id = request.requested_role_id
    role = None if role_id is None else next((r for r in roles if r.role_id == role_id), None)
    task = next((t for t in tasks if t.task_type == request.task_type), None)
    key = (id(base_policy), id(role), id(task), id(pool), *request.posture())
    posture = None if cache is None else cache.get(key)
    if posture is None or not (
        posture.base is base_policy
        and posture.role is role
        and posture.task is task
        and posture.pool is pool
    ):
        posture = _resolve_posture(request, base_policy, role, task, pool)
        if cache is not None:
            if len(cache) >= _POSTURE_CACHE_SIZE:
                cache.clear()
            cache[key] = posture
    role_bindings = _bindings_for(role_id, bindings)
    policy = posture.policy
    locality = policy.compute_preference in ("local", "remote") or policy.prefer_local
    return RoutingContext(
        request,
        policy,
        role,
        task,
        role_bindings,
        posture.required,
        posture.preferred_extra,
        bool(locality or posture.preferred_extra or role_bindings or request.preferred_endpoints),
        posture.rules,
        posture.metric_key,
        frozenset(policy.required_modalities),
        recency,
    )


def _resolve_posture(
    request: RoutingRequest,
    base_policy: PolicySnapshot,
    role: RoleDefinition | None,
    task: TaskDefinition | None,
    pool: PoolTargets | None,
) -> _Posture:
    required = _ordered_union(
        request.required_capabilities,
        role.required_capabilities if role else (),
        task.required_capabilities if task else (),
    )
    preferred = _ordered_union(
        request.preferred_capabilities,
        role.preferred_capabilities if role else (),
        task.preferred_capabilities if task else (),
    )
    required_set = frozenset(required)
    policy = resolve_policy(
        base_policy, request, required, role.routing_policy_overrides if role else None
    )
    policy = fill_targets(policy, pool)
    from rolecall.routing.eligibility import active_rules  # rules read the context type

    required_all = frozenset(policy.required_capabilities) | required_set
    preferred_extra = frozenset(preferred) - required_set
    probe = RoutingContext(request, policy, role, task, {}, required_all, preferred_extra, False)
    return _Posture(
        base=base_policy,
        role=role,
        task=task,
        pool=pool,
        policy=policy,
        required=required_all,
        preferred_extra=preferred_extra,
        rules=active_rules(probe),
        metric_key=(
            policy.latency_target_ms,
            policy.latency_max_ms,
            policy.throughput_target_tps,
            policy.cost_target,
        ),
    )


def _ordered_union(*groups: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(c for group in groups for c in group))


def _bindings_for(role_id: str | None, bindings: Iterable[RoleBinding]) -> dict[str, RoleBinding]:
    """The requested role's binding per endpoint; when several exist, the most permissive wins."""
    if role_id is None:
        return {}
    chosen: dict[str, RoleBinding] = {}
    for binding in bindings:
        if binding.role_id != role_id:
            continue
        current = chosen.get(binding.endpoint_id)
        if current is None or _STATUS_RANK[binding.status] < _STATUS_RANK[current.status]:
            chosen[binding.endpoint_id] = binding
    return chosen
