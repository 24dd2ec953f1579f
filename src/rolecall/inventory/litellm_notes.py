"""What the LiteLLM importer says about the keys it does not carry over (rolecall.inventory.litellm).

A key the conversion uses has no note; every other key gets one: what rolecall does instead and
what to write, or that it has no equivalent. Notes never repeat a value that may be a secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

__all__ = ["SETTING_NOTES", "STRATEGIES", "deployment_key_note"]

# LiteLLM routing strategies → the alias's strategy, and what changes
STRATEGIES: Final[Mapping[str, tuple[str, str]]] = {
    "simple-shuffle": (
        "balanced",
        "LiteLLM shuffles between deployments; rolecall ranks them on quality, latency, cost and "
        "reliability (strategy balanced) and falls back in rank order",
    ),
    "latency-based-routing": ("latency", ""),
    "cost-based-routing": ("cost", ""),
    "least-busy": ("balanced", "rolecall does not route on in-flight requests; using balanced"),
    "usage-based-routing": (
        "balanced",
        "rolecall does not route on rpm/tpm usage; using balanced (limits: see the rpm/tpm notes)",
    ),
    "usage-based-routing-v2": (
        "balanced",
        "rolecall does not route on rpm/tpm usage; using balanced (limits: see the rpm/tpm notes)",
    ),
}
_GENERIC: Final = "not carried over (no rolecall equivalent)"
_USED: Final[dict[str, frozenset[str]]] = {
    "": frozenset({"model_name", "litellm_params", "model_info"}),
    ".litellm_params": frozenset(
        {
            "model",
            "api_base",
            "api_key",
            "max_tokens",
            "input_cost_per_token",
            "output_cost_per_token",
        }
    ),
    ".model_info": frozenset(
        {
            "mode",
            "base_model",
            "max_tokens",
            "max_input_tokens",
            "max_output_tokens",
            "input_cost_per_token",
            "output_cost_per_token",
            "supports_function_calling",
            "supports_vision",
        }
    ),
}
_REQUEST_DEFAULTS: Final = frozenset(
    {
        "temperature",
        "top_p",
        "max_completion_tokens",
        "stop",
        "seed",
        "presence_penalty",
        "frequency_penalty",
        "response_format",
        "extra_body",
        "extra_headers",
    }
)
_RETRIES: Final = (
    "rolecall makes one quick retry where the failure allows it, then falls back to the next "
    "ranked endpoint; the count is not configurable"
)
_COOLDOWN: Final = (
    "rolecall cools a failing endpoint down and ejects outliers on its own schedule "
    "(docs/routing.md); not configurable per deployment"
)
_TIMEOUT: Final = (
    "rolecall's upstream timeouts are per provider: set first_token_timeout_s (and "
    "connect_timeout_s, idle_timeout_s) on the endpoint's provider in rolecall.yaml"
)
_OBSERVE: Final = (
    "rolecall records every request itself and exports Prometheus metrics and OpenTelemetry "
    "traces (docs/operate.md); LiteLLM callbacks are not carried"
)
SETTING_NOTES: Final[dict[str, str]] = {
    "master_key": (
        "not carried: rolecall has no master key — create gateway keys with `rolecall keys "
        "create NAME` (clients send them as Bearer tokens) and set ROLECALL_ADMIN_TOKEN for the "
        "admin API"
    ),
    "database_url": (
        "not carried: rolecall keeps its own database — set ROLECALL_DATABASE_URL (LiteLLM's "
        "tables, keys and spend are not read)"
    ),
    "num_retries": _RETRIES,
    "max_retries": _RETRIES,
    "retry_policy": _RETRIES,
    "allowed_fails": _COOLDOWN,
    "cooldown_time": _COOLDOWN,
    "timeout": _TIMEOUT,
    "request_timeout": _TIMEOUT,
    "stream_timeout": _TIMEOUT,
    "success_callback": _OBSERVE,
    "failure_callback": _OBSERVE,
    "callbacks": _OBSERVE,
    "redis_host": "rolecall shares state through ROLECALL_REDIS_URL (docs/deploy.md)",
    "redis_port": "rolecall shares state through ROLECALL_REDIS_URL (docs/deploy.md)",
    "redis_password": "rolecall shares state through ROLECALL_REDIS_URL (docs/deploy.md)",
    "drop_params": "rolecall forwards the client's parameters as sent; nothing to drop",
    "max_budget": (
        "write a budget under limits (e.g. `limits: {global: {budget_usd: N, per: month}}`, "
        "docs/limits.md)"
    ),
}


def deployment_key_note(section: str, key: str, value: Any, prefix: str) -> str | None:
    """The note for ``key`` of a deployment (``section`` is "", ".litellm_params" or
    ".model_info"); None when the conversion used it."""
    if key in _USED[section]:
        return None
    if key in ("rpm", "tpm") and section != ".model_info":
        return _rate_note(key, value)
    if section == ".model_info":
        return _GENERIC
    if key == "api_version":
        if prefix == "azure":
            return (
                "dropped: the endpoint uses Azure OpenAI's v1 API (<api_base>/openai/v1), "
                "which takes no api-version"
            )
        return _GENERIC
    if key in ("timeout", "stream_timeout"):
        return _TIMEOUT
    if key in ("max_retries", "num_retries"):
        return _RETRIES
    if key == "weight":
        return "rolecall ranks the endpoints of an alias on evidence instead of by weight"
    if key in _REQUEST_DEFAULTS:
        return "default request parameters are not carried: rolecall forwards what the client sends"
    return _GENERIC


def _rate_note(key: str, value: Any) -> str:
    what = "requests" if key == "rpm" else "tokens"
    return (
        f"{value} {what} per minute for this one deployment is not carried: rolecall's limits "
        "apply to everyone, a team of keys or a role, not to an endpoint — to cap the same "
        f"traffic write `limits: {{global: {{{key}: {value}}}}}` (or limits.teams.<team>, "
        f"or `rolecall keys create NAME --{key} {value}`) (docs/limits.md)"
    )
