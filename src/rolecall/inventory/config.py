"""The inventory file (``rolecall.yaml``): its typed shape and loading with key-path errors.

The file declares providers (how to reach an upstream), endpoints (what each serves and claims),
extra roles, tasks and role bindings, and the routing posture. Any string value may refer to the
environment (``${VAR}``, ``${VAR:-default}``; `rolecall.inventory.variables`), expanded after
parsing. Secrets are never stored: an API key is written as an environment reference such as
``${OPENAI_API_KEY}`` and read only when a request is sent.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
)

from rolecall.errors import ConfigError
from rolecall.inventory.aliases import (
    CONTROLLER_MODES,
    AliasConfig,
    RoleModelAliasConfig,
    check_aliases,
    merged_aliases,
)
from rolecall.inventory.aliases import ExecutionScope as ExecutionScope
from rolecall.inventory.aliases import RoutingMode as RoutingMode
from rolecall.inventory.baseline import baseline_roles, baseline_tasks
from rolecall.inventory.live_quality import (
    CanaryConfig,
    PromptCaptureConfig,
    ShadowJudgingConfig,
)
from rolecall.inventory.modes import (
    ControllerConfig,
    Difficulty,
    DifficultyConfig,
    ObservedDataConfig,
)
from rolecall.inventory.variables import UnsetVariable, expand_variables, key_path
from rolecall.protocol import RoleBinding, RoleDefinition, TaskDefinition
from rolecall.routing.policy import PolicySnapshot, validate_policy

ProviderKind = Literal["openai_compatible", "anthropic", "ollama", "llamacpp"]
ENV_REFERENCE: Final = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProviderConfig(_Strict):
    kind: ProviderKind
    base_url: str
    api_key: str | None = None
    local: bool | None = None  # default: inferred from a loopback base_url
    # upstream timeouts (rolecall.providers.timeouts); None: the process default. ``timeout_s`` is
    # the older name of ``first_token_timeout_s`` and still works when that is not set
    timeout_s: float | None = Field(default=None, gt=0)
    connect_timeout_s: float | None = Field(default=None, gt=0)
    first_token_timeout_s: float | None = Field(default=None, gt=0)
    idle_timeout_s: float | None = Field(default=None, gt=0)
    # ask streams for a final usage chunk (``stream_options.include_usage``); off for a server
    # that refuses the option
    stream_usage: bool = True

    @field_validator("api_key")
    @classmethod
    def _env_reference_only(cls, value: str | None) -> str | None:
        if value is not None and not ENV_REFERENCE.match(value):
            raise ValueError(
                "API keys are never stored in the inventory; write an environment reference "
                "such as ${OPENAI_API_KEY} and export the key in that variable"
            )
        return value

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL")
        return value.rstrip("/")


class PriceConfig(_Strict):
    input_per_1m: float = Field(ge=0)
    output_per_1m: float = Field(ge=0)


class EndpointConfig(_Strict):
    provider: str
    model: str
    id: str | None = None
    catalog: str | None = None  # catalog key (provider/model) when it differs from the model name
    capabilities: list[str] | None = None
    modalities: list[str] | None = None
    context_window: int | None = Field(default=None, ge=1)
    max_output_tokens: int | None = Field(default=None, ge=1)
    tools: bool | None = None
    price: PriceConfig | None = None
    roles: list[str] | None = None  # active bindings; None = every role whose tasks it can serve
    quantization: str | None = None
    runtime_version: str | None = None
    enabled: bool = True
    # embeddings: the most inputs one upstream call carries (a longer input array is split)
    batch_size: int | None = Field(default=None, ge=1)
    # the hardest requests it should get in the difficulty and hybrid modes; None: derived from
    # its benchmark quality per bucket (rolecall.inventory.modes.CeilingConfig)
    max_difficulty: Difficulty | None = None


class LearnedConfig(_Strict):
    """A trained per-prompt router (``rolecall lab train``) and which endpoint each of its models is."""

    artifact: Path
    # endpoint id -> the model name the artifact was trained on
    models: dict[str, str] = Field(min_length=1)
    # quality points per USD (RouterBench's λ): each model's estimate gives up its extra price over
    # the cheapest model divided by this; the strategy weights apply on top (docs/learned.md)
    willingness_to_pay: float | None = Field(default=None, gt=0)


class RoutingConfig(_Strict):
    strategy: Literal["balanced", "quality", "latency", "cost"] = "balanced"
    execution_scope: ExecutionScope = "hybrid"
    compute_preference: Literal["auto", "local", "remote", "hybrid"] = "auto"
    # which planner runs before the router's choice (rolecall.inventory.aliases.RoutingMode)
    mode: RoutingMode = "baseline"
    learned: LearnedConfig | None = None
    difficulty: DifficultyConfig = Field(default_factory=DifficultyConfig)
    controller: ControllerConfig | None = None
    observed_data: ObservedDataConfig = Field(default_factory=ObservedDataConfig)
    shadow_judging: ShadowJudgingConfig = Field(default_factory=ShadowJudgingConfig)
    canaries: CanaryConfig = Field(default_factory=CanaryConfig)
    # stores the prompts of live requests (off by default): docs/configuration.md
    prompt_capture: PromptCaptureConfig = Field(default_factory=PromptCaptureConfig)
    policy: dict[str, Any] = Field(default_factory=dict)  # extra RoutingPolicy fields


class InventoryConfig(_Strict):
    providers: dict[str, ProviderConfig] = Field(default_factory=dict)
    endpoints: list[EndpointConfig] = Field(default_factory=list)
    roles: list[RoleDefinition] = Field(default_factory=list)
    tasks: list[TaskDefinition] = Field(default_factory=list)
    bindings: list[RoleBinding] = Field(default_factory=list)
    routing: RoutingConfig = Field(default_factory=RoutingConfig)
    catalog_overrides: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # budgets and rate limits per team, role and for everyone: checked (with key-path errors)
    # by rolecall.limits.spec, a layer above the inventory
    limits: dict[str, Any] = Field(default_factory=dict)
    # public model names → routing postures (rolecall.inventory.aliases); ``model_aliases`` is
    # role-model's shape of the same
    aliases: dict[str, AliasConfig] = Field(default_factory=dict)
    model_aliases: dict[str, RoleModelAliasConfig] = Field(default_factory=dict)
    # ``${VAR}`` references to variables that were not set when the file was read
    _unset: tuple[UnsetVariable, ...] = PrivateAttr(default=())

    @property
    def unset_variables(self) -> tuple[UnsetVariable, ...]:
        return self._unset

    def all_aliases(self, source: str = "rolecall.yaml") -> dict[str, AliasConfig]:
        """``aliases`` and ``model_aliases`` as one mapping (a name in both is an error)."""
        return merged_aliases(self.aliases, self.model_aliases, source)


def parse_inventory(
    data: Any, source: str = "rolecall.yaml", environ: Mapping[str, str] | None = None
) -> InventoryConfig:
    """Expand the environment references of a parsed YAML document (from ``environ``, default
    the process environment) and validate it; errors name the key path and the fix."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(source, "$", "expected a mapping with providers, endpoints, routing, ...")
    data, unset = expand_variables(data, os.environ if environ is None else environ, source)
    try:
        config = InventoryConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = "unknown key; check its spelling against docs/configuration.md"
        elif first["type"] == "missing":
            message = "required key is missing"
        path = key_path(tuple(first["loc"]))
        names = [f"${{{u.name}}}" for u in unset if u.path == path]
        if names:  # the value came out empty: say why
            message += f" ({', '.join(names)} is not set)"
        raise ConfigError(source, path, message) from None
    config._unset = unset
    _check_references(config, source)
    _check_learned(config, source)
    _check_controller(config, source)
    _check_shadow_judging(config, source)
    _check_canaries(config, source)
    _check_policies(config, source)
    _check_aliases(config, source)
    return config


def _check_controller(config: InventoryConfig, source: str) -> None:
    if config.routing.mode in CONTROLLER_MODES and config.routing.controller is None:
        raise ConfigError(
            source,
            "routing.controller",
            f"mode {config.routing.mode!r} needs a routing-controller endpoint: add "
            "'controller: {endpoint_id: <an endpoint id>}' under routing",
        )


def _check_shadow_judging(config: InventoryConfig, source: str) -> None:
    shadow = config.routing.shadow_judging
    path = "routing.shadow_judging.judge_endpoint_id"
    if shadow.share > 0 and shadow.judge_endpoint_id is None:
        raise ConfigError(
            source,
            path,
            f"share is {shadow.share:g} but no judge is named: add 'judge_endpoint_id: <an "
            "endpoint id>' (an endpoint not in the pool it grades judges it fairest)",
        )
    known = {endpoint_id_of(e) for e in config.endpoints}
    if shadow.judge_endpoint_id is not None and shadow.judge_endpoint_id not in known:
        raise ConfigError(
            source,
            path,
            f"unknown endpoint {shadow.judge_endpoint_id!r} (known: {', '.join(sorted(known))})",
        )


def _check_canaries(config: InventoryConfig, source: str) -> None:
    canaries = config.routing.canaries
    known = {endpoint_id_of(e) for e in config.endpoints}
    named = (
        [("judge_endpoint_id", canaries.judge_endpoint_id)] if canaries.judge_endpoint_id else []
    )
    named += [(f"endpoints[{i}]", e) for i, e in enumerate(canaries.endpoints)]
    for field, endpoint_id in named:
        if endpoint_id not in known:
            raise ConfigError(
                source,
                f"routing.canaries.{field}",
                f"unknown endpoint {endpoint_id!r} (known: {', '.join(sorted(known))})",
            )


def _check_aliases(config: InventoryConfig, source: str) -> None:
    """Each alias names roles, tasks and endpoints the inventory has (the baseline roles and
    tasks count), and only runnable modes."""
    sections = dict.fromkeys(config.aliases, "aliases")
    sections |= dict.fromkeys(config.model_aliases, "model_aliases")
    check_aliases(
        config.all_aliases(source),
        sections,
        roles={r.role_id: r.task_types_supported for r in [*baseline_roles(), *config.roles]},
        tasks={t.task_type for t in baseline_tasks()} | {t.task_type for t in config.tasks},
        endpoints={endpoint_id_of(e): e.model for e in config.endpoints},
        learned=config.routing.learned is not None,
        controller=config.routing.controller is not None,
        source=source,
    )


def _check_policies(config: InventoryConfig, source: str) -> None:
    """``routing.policy`` and each role's ``routing_policy_overrides`` as the router will read them
    (unknown fields, types, targets), so a bad one fails here rather than on a request."""
    try:
        base = validate_policy(PolicySnapshot(), config.routing.policy, "routing.policy")
        for i, role in enumerate(config.roles):
            overrides = role.routing_policy_overrides
            validate_policy(base, overrides, f"roles[{i}].routing_policy_overrides")
    except ConfigError as exc:
        raise ConfigError(source, exc.path, exc.message) from None


def _check_learned(config: InventoryConfig, source: str) -> None:
    routing = config.routing
    if routing.mode == "learned" and routing.learned is None:
        raise ConfigError(
            source,
            "routing.learned",
            "routing.mode is 'learned' but no trained router is configured; add routing.learned "
            "with 'artifact' (from 'rolecall lab train') and 'models' (endpoint id -> model name)",
        )


def _check_references(config: InventoryConfig, source: str) -> None:
    seen: set[str] = set()
    for i, endpoint in enumerate(config.endpoints):
        if endpoint.provider not in config.providers:
            known = ", ".join(sorted(config.providers)) or "none defined"
            raise ConfigError(
                source,
                f"endpoints[{i}].provider",
                f"unknown provider {endpoint.provider!r} (known: {known}); add it under providers",
            )
        endpoint_id = endpoint_id_of(endpoint)
        if endpoint_id in seen:
            raise ConfigError(
                source,
                f"endpoints[{i}].id",
                f"duplicate endpoint id {endpoint_id!r}; set a unique id",
            )
        seen.add(endpoint_id)


def endpoint_id_of(endpoint: EndpointConfig) -> str:
    return endpoint.id or f"{endpoint.provider}.{endpoint.model}"


def require_inventory_file(path: Path, *, how: str = "--config or ROLECALL_CONFIG") -> None:
    """Raise `ConfigError` naming ``path`` and the fix when the inventory file does not exist
    (commands that cannot do without one; ``how`` says where the path came from)."""
    if not path.is_file():
        raise ConfigError(
            str(path),
            "",
            f"no such inventory file; create it (docs/configuration.md) or point {how} at yours",
        )


def read_inventory_data(path: Path) -> dict[str, Any]:
    """The inventory file as plain data (empty when the file does not exist)."""
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "$"
        raise ConfigError(str(path), where, f"not valid YAML: {exc}") from None
    if data is not None and not isinstance(data, dict):
        raise ConfigError(
            str(path), "$", "expected a mapping with providers, endpoints, routing, ..."
        )
    return data or {}


def merge_inventory_data(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Add generated providers and endpoints (the local pool) to the operator's file; the file wins
    for a provider or endpoint id it defines itself."""
    merged = dict(base)
    providers = dict(extra.get("providers", {}))
    providers.update(base.get("providers") or {})
    merged["providers"] = providers
    own = {
        e.get("id") or f"{e.get('provider')}.{e.get('model')}" for e in base.get("endpoints") or []
    }
    generated = [e for e in extra.get("endpoints", []) if e.get("id") not in own]
    merged["endpoints"] = [*(base.get("endpoints") or []), *generated]
    return merged


def load_inventory_file(path: Path, extra: dict[str, Any] | None = None) -> InventoryConfig:
    """Read and validate the inventory file (plus generated entries); missing file = empty."""
    data = read_inventory_data(path)
    if extra:
        data = merge_inventory_data(data, extra)
    return parse_inventory(data, str(path))
