"""The resolved inventory: endpoints with identity and declared profile, roles, tasks, bindings.

`build_inventory` turns the validated file into what the router and the gateway use, filling what
an endpoint does not declare from the model catalog (context window, output limit, modalities,
prices) and from conservative defaults. An endpoint that lists ``roles`` is bound (active) to those
roles and explicitly not bound (disabled) to every other known role, so the router can say why it
was skipped; an endpoint without ``roles`` serves any role its capabilities allow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, cast
from urllib.parse import urlparse

from rolecall.inventory.aliases import AliasConfig
from rolecall.inventory.baseline import baseline_roles, baseline_tasks
from rolecall.inventory.catalog import Catalog
from rolecall.inventory.config import (
    EndpointConfig,
    InventoryConfig,
    ProviderConfig,
    RoutingConfig,
    endpoint_id_of,
)
from rolecall.inventory.modes import Difficulty
from rolecall.profiles import membership_revision
from rolecall.protocol import (
    DeclaredCapabilityProfile,
    EndpointIdentity,
    RoleBinding,
    RoleDefinition,
    RoutingPolicy,
    TaskDefinition,
    ToolCalling,
)
from rolecall.routing.detail_texts import DETAIL_TEXTS, DetailTexts
from rolecall.routing.policy import (
    LATENCY_MAX_MS,
    LATENCY_TARGET_MS,
    TARGET_FIELDS,
    THROUGHPUT_TARGET_TPS,
    TargetField,
)

LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1", "[::1]", "0.0.0.0"})
DEFAULT_CONTEXT_WINDOW: Final = 8192
# keys of ``routing.policy`` that configure the router rather than the protocol's RoutingPolicy
ROUTER_OPTIONS: Final = frozenset({"detail_texts"})
# A general chat LLM can attempt these; benchmarks then measure how well it does.
TEXT_CAPABILITIES: Final = (
    "text.chat",
    "text.classification",
    "text.language_detection",
    "reasoning.multi_step",
    "code.chat",
    "code.edit",
    "json.schema_adherence",
)
EMBEDDINGS_CAPABILITY: Final = "embeddings.text"
# provider kinds whose API has no embeddings: the capability is not theirs to declare
NO_EMBEDDINGS: Final = frozenset({"anthropic"})
_PROVIDER_KINDS: Final = {
    "openai_compatible": "remote_openai_compat",
    "anthropic": "anthropic",
    "ollama": "gguf",
    "llamacpp": "gguf",
}


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One routable deployment and how to reach it."""

    endpoint_id: str
    provider_name: str
    provider: ProviderConfig
    model: str
    identity: EndpointIdentity
    declared: DeclaredCapabilityProfile
    is_local: bool
    input_per_1m: float | None = None
    output_per_1m: float | None = None
    max_output_tokens: int | None = None
    enabled: bool = True
    batch_size: int | None = None  # embeddings: the most inputs per upstream call
    max_difficulty: Difficulty | None = None  # declared difficulty ceiling (None: derived)

    @property
    def embeddings_only(self) -> bool:
        """Whether the endpoint serves embeddings and nothing else (it cannot chat)."""
        capabilities = self.declared.capabilities
        return bool(capabilities) and all(c.startswith("embeddings.") for c in capabilities)

    @property
    def cost_per_1k_tokens(self) -> float | None:
        """Blended price per 1k tokens (3:1 input to output), the router's declared cost."""
        if self.input_per_1m is None or self.output_per_1m is None:
            return None
        return (0.75 * self.input_per_1m + 0.25 * self.output_per_1m) / 1000

    def request_cost(self, tokens_in: int, tokens_out: int) -> float | None:
        if self.input_per_1m is None or self.output_per_1m is None:
            return None
        return (tokens_in * self.input_per_1m + tokens_out * self.output_per_1m) / 1_000_000


@dataclass(frozen=True, slots=True)
class Inventory:
    endpoints: Mapping[str, Endpoint]
    roles: Mapping[str, RoleDefinition]
    tasks: Mapping[str, TaskDefinition]
    bindings: tuple[RoleBinding, ...]
    routing: RoutingConfig
    policy: RoutingPolicy | None = None
    problems: tuple[str, ...] = field(default=())
    # the operator's public model names (``aliases`` and ``model_aliases``)
    aliases: Mapping[str, AliasConfig] = field(default_factory=dict)
    # upstream model name → the endpoints serving it, built on first use; a changed inventory is
    # a new object (``dataclasses.replace``) and builds its own
    _by_model: dict[str, tuple[str, ...]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def serving(self, model: str) -> tuple[str, ...]:
        """The ids of the endpoints whose upstream model is ``model`` (exactly)."""
        index = self._by_model
        if index is None:
            built: dict[str, list[str]] = {}
            for endpoint in self.endpoints.values():
                built.setdefault(endpoint.model, []).append(endpoint.endpoint_id)
            index = {name: tuple(ids) for name, ids in built.items()}
            object.__setattr__(self, "_by_model", index)  # a cache, not a change of state
        return index.get(model, ())

    def model_names(self) -> list[str]:
        """Every upstream model name an endpoint serves, sorted."""
        self.serving("")
        return sorted(self._by_model or ())


def is_loopback(base_url: str) -> bool:
    return (urlparse(base_url).hostname or "") in LOOPBACK_HOSTS


def build_inventory(config: InventoryConfig, catalog: Catalog | None = None) -> Inventory:
    """Resolve a validated config; ``catalog`` fills gaps (`configured_inventory` passes the
    bundled catalog with the file's overrides)."""
    roles = {r.role_id: r for r in baseline_roles()} | {r.role_id: r for r in config.roles}
    tasks = {t.task_type: t for t in baseline_tasks()} | {t.task_type: t for t in config.tasks}
    endpoints: dict[str, Endpoint] = {}
    for spec in config.endpoints:
        endpoint = _resolve_endpoint(spec, config.providers[spec.provider], catalog)
        endpoints[endpoint.endpoint_id] = endpoint
    bindings = list(config.bindings)
    explicit = {(b.role_id, b.endpoint_id) for b in bindings}
    for spec in config.endpoints:
        if spec.roles is None:
            continue
        endpoint_id = endpoint_id_of(spec)
        for role_id in roles:
            if (role_id, endpoint_id) in explicit:
                continue
            status = "active" if role_id in spec.roles else "disabled"
            bindings.append(new_binding(role_id, endpoint_id, status))
    return Inventory(
        endpoints=endpoints,
        roles=roles,
        tasks=tasks,
        bindings=tuple(bindings),
        routing=config.routing,
        policy=policy_for(config.routing),
        problems=tuple(_problems(config, roles)),
        aliases=config.all_aliases(),
    )


def new_binding(role_id: str, endpoint_id: str, status: str) -> RoleBinding:
    """A role binding with no overrides (what ``endpoints[].roles`` and the console create)."""
    return RoleBinding.model_validate(
        {
            "binding_id": f"{role_id}@{endpoint_id}",
            "role_id": role_id,
            "endpoint_id": endpoint_id,
            "status": status,
            "policy_overrides": {},
            "effective_capabilities": [],
            "effective_task_types": [],
        }
    )


def _resolve_endpoint(
    spec: EndpointConfig, provider: ProviderConfig, catalog: Catalog | None
) -> Endpoint:
    entry = None
    if catalog is not None:
        entry = catalog.find(spec.catalog or spec.model)
    endpoint_id = endpoint_id_of(spec)
    local = provider.local if provider.local is not None else is_loopback(provider.base_url)
    tools = spec.tools if spec.tools is not None else provider.kind != "llamacpp"
    modalities = spec.modalities or (list(entry.modalities) if entry and entry.modalities else None)
    modalities = modalities or ["text"]
    capabilities = spec.capabilities or _default_capabilities(tools, modalities)
    if provider.kind in NO_EMBEDDINGS:  # reported by `_problems`; never routed embeddings
        capabilities = [c for c in capabilities if c != EMBEDDINGS_CAPABILITY]
    context = spec.context_window or (entry.context_window if entry else None)
    identity = EndpointIdentity(
        endpoint_id=endpoint_id,
        endpoint_kind="local_engine" if local else "remote_api",
        provider_kind=_PROVIDER_KINDS[provider.kind],
        serving_source="local-process" if local else "remote-service",
        model_id=spec.model,
        runtime_version=spec.runtime_version or provider.kind,
        quantization=spec.quantization,
        region="local" if local else None,
    )
    declared = DeclaredCapabilityProfile(
        endpoint_id=endpoint_id,
        capabilities=capabilities,
        modalities=modalities,
        max_context_tokens=context or DEFAULT_CONTEXT_WINDOW,
        tool_calling=ToolCalling(supported=tools, style="openai" if tools else "none"),
        supports_embeddings=EMBEDDINGS_CAPABILITY in capabilities,
    )
    price_in = spec.price.input_per_1m if spec.price else (entry.input_per_1m if entry else None)
    price_out = spec.price.output_per_1m if spec.price else (entry.output_per_1m if entry else None)
    return Endpoint(
        endpoint_id=endpoint_id,
        provider_name=spec.provider,
        provider=provider,
        model=spec.model,
        identity=identity,
        declared=declared,
        is_local=local,
        input_per_1m=price_in,
        output_per_1m=price_out,
        max_output_tokens=spec.max_output_tokens or (entry.max_output_tokens if entry else None),
        enabled=spec.enabled,
        batch_size=spec.batch_size,
        max_difficulty=spec.max_difficulty,
    )


def _default_capabilities(tools: bool, modalities: list[str]) -> list[str]:
    caps = list(TEXT_CAPABILITIES)
    if tools:
        caps.append("tools.function_calling")
    if "image" in modalities:
        caps.append("multimodal.vision_text")
    return caps


def policy_for(routing: RoutingConfig) -> RoutingPolicy:
    """The routing policy of a posture: no hard constraints beyond its scope, plus ``policy``."""
    base: dict[str, Any] = {
        "strategy": routing.strategy,
        "compute_preference": routing.compute_preference,
        "required_capabilities": [],
        "required_modalities": [],
        "require_tools": False,
        "deny_endpoints": [],
        "allow_endpoints": [],
        "deny_provider_kinds": [],
        "allow_provider_kinds": [],
        "budget": {"enabled": False, "currency": "USD"},
        "privacy": {"allow_remote": routing.execution_scope != "local_only"},
        # the protocol requires targets: the reference constants stand in for the ones the file
        # leaves unset, which the runtime derives from its pool (`unset_targets`)
        "targets": {
            "latency_target_ms": LATENCY_TARGET_MS,
            "latency_max_ms": LATENCY_MAX_MS,
            "throughput_target_tps": THROUGHPUT_TARGET_TPS,
        },
    }
    for key, value in routing.policy.items():
        if key in ROUTER_OPTIONS:
            continue
        base[key] = {**base[key], **value} if isinstance(base.get(key), dict) else value
    return RoutingPolicy.model_validate(base)


def detail_texts_of(routing: RoutingConfig) -> DetailTexts | None:
    """``routing.policy.detail_texts`` (checked with the file), or None when the file leaves it
    to the router's default."""
    value = routing.policy.get("detail_texts")
    return cast(DetailTexts, value) if value in DETAIL_TEXTS else None


def unset_targets(routing: RoutingConfig) -> frozenset[TargetField]:
    """The metric targets ``routing.policy`` does not set (the runtime derives them from its pool)."""
    policy = routing.policy
    targets = policy.get("targets") or {}
    budget = policy.get("budget") or {}
    given = set(targets) | ({"cost_target"} if budget.get("target_cost_per_request") else set())
    return frozenset(name for name in TARGET_FIELDS if name not in given)


def _problems(config: InventoryConfig, roles: Mapping[str, RoleDefinition]) -> list[str]:
    problems = []
    if not config.endpoints:
        problems.append("no endpoints configured: add providers and endpoints to rolecall.yaml")
    for i, spec in enumerate(config.endpoints):
        for role_id in spec.roles or ():
            if role_id not in roles:
                problems.append(f"endpoints[{i}].roles: unknown role {role_id!r}")
        kind = config.providers[spec.provider].kind
        if kind in NO_EMBEDDINGS and EMBEDDINGS_CAPABILITY in (spec.capabilities or ()):
            problems.append(
                f"endpoints[{i}].capabilities: provider kind {kind!r} has no embeddings API; "
                f"{EMBEDDINGS_CAPABILITY!r} is ignored (declare it on an OpenAI-compatible "
                "endpoint)"
            )
    problems += [str(unset) for unset in config.unset_variables]
    learned = config.routing.learned
    if learned is not None:
        known = {endpoint_id_of(spec) for spec in config.endpoints}
        for endpoint_id in sorted(set(learned.models) - known):
            problems.append(
                f"routing.learned.models: {endpoint_id!r} is not a configured endpoint; "
                "its learned estimates are ignored"
            )
    return problems + _mode_problems(config)


def _mode_problems(config: InventoryConfig) -> list[str]:
    """Endpoints the planners name that this file does not configure (a generated local pool
    may still bring them; otherwise the planner falls back as documented)."""
    known = {endpoint_id_of(spec) for spec in config.endpoints}
    routing = config.routing
    named = {
        "routing.controller.endpoint_id": routing.controller and routing.controller.endpoint_id,
        "routing.difficulty.endpoint_id": routing.difficulty.endpoint_id,
    }
    return [
        f"{where}: {endpoint_id!r} is not an endpoint of this file; unless the local pool serves "
        "it, the planner falls back (docs/routing.md §Routing modes)"
        for where, endpoint_id in named.items()
        if endpoint_id and endpoint_id not in known
    ]


def endpoint_version(identity: EndpointIdentity) -> str:
    """The version observed profiles are keyed by: explicit, else model and runtime."""
    return identity.endpoint_version or f"{identity.model_id}@{identity.runtime_version}"


def membership_revision_for(inventory: Inventory, endpoint_id: str) -> str:
    """The membership revision of an endpoint: identity fields plus its role bindings."""
    endpoint = inventory.endpoints[endpoint_id]
    bindings = [b.to_artifact() for b in inventory.bindings if b.endpoint_id == endpoint_id]
    return membership_revision(endpoint.identity.to_artifact(), bindings)
