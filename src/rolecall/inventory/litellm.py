"""A LiteLLM proxy ``config.yaml`` as a ``rolecall.yaml`` document (``rolecall config import-litellm``).

Pure conversion of parsed YAML (no I/O). Each ``model_list`` deployment becomes an endpoint on a
provider (one provider per distinct API, base URL and key), and each ``model_name`` an alias whose
``endpoints`` are its deployments, so clients keep calling the names they call today. LiteLLM's
``os.environ/NAME`` becomes ``${NAME}``. What rolecall cannot carry over (unknown providers, rate
limits per deployment, fallbacks, the master key, a key written inline, ...) is returned as notes,
one per field path: nothing is dropped silently, and no API key is ever written into the output.
Malformed input raises `ConfigError` naming the key path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from rolecall.errors import ConfigError
from rolecall.inventory.aliases import fixed_ids
from rolecall.inventory.litellm_notes import SETTING_NOTES, STRATEGIES, deployment_key_note
from rolecall.inventory.litellm_providers import (
    LITELLM_PROVIDERS,
    LiteLLMProvider,
    bare_model_provider,
)

__all__ = ["ImportNote", "LiteLLMImport", "import_litellm", "unique_name"]

ENV_PREFIX: Final = "os.environ/"
_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_REFERENCE: Final = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ENDPOINT_MODES: Final = frozenset({"chat", "completion", "embedding", "responses"})


@dataclass(frozen=True, slots=True)
class ImportNote:
    """What could not be carried over from ``path`` of the LiteLLM file, and what to do."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(frozen=True, slots=True)
class LiteLLMImport:
    """The ``rolecall.yaml`` document (providers, endpoints, aliases) and the notes."""

    data: dict[str, Any]
    notes: tuple[ImportNote, ...]


def import_litellm(doc: Any, source: str = "config.yaml") -> LiteLLMImport:
    """Convert a parsed LiteLLM proxy config; `ConfigError` names the first malformed key."""
    if not isinstance(doc, Mapping):
        raise ConfigError(source, "$", "expected a LiteLLM config mapping with a model_list")
    return _Importer(source).run(doc)


def unique_name(base: str, taken: Any) -> str:
    """``base``, or ``base-2``, ``base-3``, ... the first one not in ``taken``."""
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    return name


@dataclass
class _Importer:
    source: str
    providers: dict[str, dict[str, Any]] = field(default_factory=dict)
    endpoints: list[dict[str, Any]] = field(default_factory=list)
    groups: dict[str, list[str]] = field(default_factory=dict)  # model_name → endpoint ids
    notes: list[ImportNote] = field(default_factory=list)

    def note(self, path: str, message: str) -> None:
        self.notes.append(ImportNote(path, message))

    def clear_of_fixed_ids(self, aliases: dict[str, Any]) -> dict[str, Any]:
        """A model_name that is one of rolecall's own posture ids (``default``, ...) cannot be an
        alias: it is imported as ``litellm-<name>``, with a note (a client asking for the old
        name now gets rolecall's posture over the whole pool)."""
        fixed = set(fixed_ids())
        out: dict[str, Any] = {}
        for name, alias in aliases.items():
            if name in fixed:
                renamed = f"litellm-{name}"
                self.note(
                    f"aliases.{name}",
                    f"{name!r} is a rolecall posture id: imported as alias {renamed!r}; "
                    f"requests for {name!r} now route over the whole pool",
                )
                name = renamed
            out[name] = alias
        return out

    def fail(self, path: str, message: str) -> ConfigError:
        return ConfigError(self.source, path, message)

    def run(self, doc: Mapping[str, Any]) -> LiteLLMImport:
        router = self.mapping(doc.get("router_settings"), "router_settings")
        strategy = self.strategy(router)
        deployments = doc.get("model_list")
        if not isinstance(deployments, list) or not deployments:
            raise self.fail("model_list", "expected a non-empty list of deployments")
        for i, entry in enumerate(deployments):
            self.deployment(i, entry)
        aliases = {
            name: _alias(ids, strategy, f"model_name {name}") for name, ids in self.groups.items()
        }
        aliases.update(self.group_aliases(router, strategy, set(aliases)))
        aliases = self.clear_of_fixed_ids(aliases)
        for section in ("litellm_settings", "router_settings", "general_settings"):
            self.settings(section, self.mapping(doc.get(section), section))
        self.other_sections(doc)
        data: dict[str, Any] = {
            "providers": self.providers,
            "endpoints": self.endpoints,
            "aliases": aliases,
        }
        return LiteLLMImport(data, tuple(self.notes))

    # --- deployments -------------------------------------------------------------------------

    def deployment(self, i: int, entry: Any) -> None:
        at = f"model_list[{i}]"
        if not isinstance(entry, Mapping):
            raise self.fail(at, "expected a mapping with model_name and litellm_params")
        name = self.text(entry.get("model_name"), f"{at}.model_name")
        params = self.mapping(entry.get("litellm_params"), f"{at}.litellm_params", required=True)
        info = self.mapping(entry.get("model_info"), f"{at}.model_info")
        ref = self.text(params.get("model"), f"{at}.litellm_params.model")
        if "*" in name or "*" in ref:
            self.note(at, "wildcard routing is not carried: add the models you serve one by one")
            return
        prefix, upstream = ref.split("/", 1) if "/" in ref else (bare_model_provider(ref), ref)
        provider = LITELLM_PROVIDERS.get(prefix or "")
        if provider is None or not upstream:
            self.note(
                f"{at}.litellm_params.model",
                f"provider {prefix or '(none)'!r} of {ref!r} has no rolecall provider kind "
                "(rolecall speaks OpenAI-compatible APIs and Anthropic's); deployment left out — "
                "if the service has an OpenAI-compatible endpoint, add it with kind "
                "openai_compatible",
            )
            return
        mode = info.get("mode", "chat")
        if mode not in _ENDPOINT_MODES:
            self.note(f"{at}.model_info.mode", f"{mode!r} deployments are not routed by rolecall")
            return
        assert prefix is not None
        provider_name = self.provider(prefix, provider, params, at)
        endpoint = self.endpoint(provider_name, provider, upstream, params, info, at)
        endpoint["capabilities"] = ["embeddings.text"] if mode == "embedding" else None
        self.groups.setdefault(name, [])
        endpoint_id = self.add_endpoint(endpoint)
        if endpoint_id not in self.groups[name]:
            self.groups[name].append(endpoint_id)
        self.deployment_notes(entry, params, info, at, prefix)

    def provider(
        self, prefix: str, provider: LiteLLMProvider, params: Mapping[str, Any], at: str
    ) -> str:
        config: dict[str, Any] = {
            "kind": provider.kind,
            "base_url": self.base_url(prefix, provider, params.get("api_base"), at),
        }
        key = self.api_key(prefix, provider, params.get("api_key"), f"{at}.litellm_params.api_key")
        if key is not None:
            config["api_key"] = key
        for name, existing in self.providers.items():
            if existing == config:
                return name
        name = unique_name(prefix.replace("_", "-"), self.providers)
        self.providers[name] = config
        return name

    def base_url(self, prefix: str, provider: LiteLLMProvider, value: Any, at: str) -> str:
        path = f"{at}.litellm_params.api_base"
        if value is None:
            if provider.default_base is not None:
                base = provider.default_base
            else:  # LiteLLM then reads <PROVIDER>_API_BASE
                variable = f"{prefix.upper()}_API_BASE"
                base = f"${{{variable}}}"
                self.note(path, f"no api_base: written as ${{{variable}}}; export it")
        else:
            base = self.env(self.text(value, path), path)
            if not base.startswith(("http://", "https://", "${")):
                raise self.fail(path, f"expected an http:// or https:// URL, got {base!r}")
        base = base.rstrip("/")
        if provider.base_suffix and not base.endswith(provider.base_suffix):
            base += provider.base_suffix
        return base

    def api_key(self, prefix: str, provider: LiteLLMProvider, value: Any, path: str) -> str | None:
        variable = provider.key_variable or f"{prefix.upper()}_API_KEY"
        if value is None:
            if provider.key_variable is None:
                return None
            self.note(
                path,
                f"no api_key: LiteLLM reads {variable} from the environment; written as "
                f"${{{variable}}}",
            )
            return f"${{{variable}}}"
        if not isinstance(value, str):
            raise self.fail(path, "expected os.environ/NAME")
        if value.startswith(ENV_PREFIX) or _REFERENCE.fullmatch(value):
            return self.env(value, path)
        # never echo the value: it is a secret
        self.note(
            path,
            "an API key written inline is refused (rolecall never writes keys into its file); "
            f"export it as {variable} — the provider refers to ${{{variable}}} — and remove it "
            "from the LiteLLM file",
        )
        return f"${{{variable}}}"

    def endpoint(
        self,
        provider_name: str,
        provider: LiteLLMProvider,
        upstream: str,
        params: Mapping[str, Any],
        info: Mapping[str, Any],
        at: str,
    ) -> dict[str, Any]:
        endpoint: dict[str, Any] = {"provider": provider_name, "model": self.env(upstream, at)}
        base_model = info.get("base_model")
        if isinstance(base_model, str):
            bare: str | None = base_model.split("/")[-1]
        else:
            bare = None if provider.deployment_names else upstream
        if provider.catalog is not None and bare:
            endpoint["catalog"] = f"{provider.catalog}/{bare}"
        context = self.first_count(info, ("max_input_tokens", "max_tokens"), f"{at}.model_info")
        if context is not None:
            endpoint["context_window"] = context
        output = self.first_count(info, ("max_output_tokens",), f"{at}.model_info")
        if output is None:
            output = self.first_count(params, ("max_tokens",), f"{at}.litellm_params")
        if output is not None:
            endpoint["max_output_tokens"] = output
        tools = info.get("supports_function_calling")
        if isinstance(tools, bool):
            endpoint["tools"] = tools
        if info.get("supports_vision") is True:
            endpoint["modalities"] = ["text", "image"]
        price = self.price(params, info, at)
        if price is not None:
            endpoint["price"] = price
        return endpoint

    def price(
        self, params: Mapping[str, Any], info: Mapping[str, Any], at: str
    ) -> dict[str, float] | None:
        """Per-token costs (litellm_params first, then model_info) as prices per 1M tokens."""
        costs: dict[str, float] = {}
        for name, per_1m in (("input", "input_per_1m"), ("output", "output_per_1m")):
            key = f"{name}_cost_per_token"
            for section, values in (("litellm_params", params), ("model_info", info)):
                if key in values:
                    cost = _number(values[key], f"{at}.{section}.{key}", self.source)
                    costs[per_1m] = round(cost * 1_000_000, 6)
                    break
        if not costs:
            return None
        for per_1m in ("input_per_1m", "output_per_1m"):
            if per_1m not in costs:
                costs[per_1m] = 0.0
                side = per_1m.split("_")[0]
                self.note(at, f"no {side}_cost_per_token: the {side} price is written as 0")
        return costs

    def add_endpoint(self, endpoint: dict[str, Any]) -> str:
        """Add an endpoint (unset fields dropped) or reuse an identical one; its id."""
        endpoint = {k: v for k, v in endpoint.items() if v is not None}
        for existing in self.endpoints:
            if {k: v for k, v in existing.items() if k != "id"} == endpoint:
                return str(existing["id"])
        taken = {e["id"] for e in self.endpoints}
        endpoint_id = unique_name(f"{endpoint['provider']}.{endpoint['model']}", taken)
        self.endpoints.append({"id": endpoint_id, **endpoint})
        return endpoint_id

    def deployment_notes(
        self,
        entry: Mapping[str, Any],
        params: Mapping[str, Any],
        info: Mapping[str, Any],
        at: str,
        prefix: str,
    ) -> None:
        for section, values in (
            ("", entry),
            (".litellm_params", params),
            (".model_info", info),
        ):
            for key in values:
                message = deployment_key_note(section, str(key), values[key], prefix)
                if message:
                    self.note(f"{at}{section}.{key}", message)

    # --- settings -----------------------------------------------------------------------------

    def strategy(self, router: Mapping[str, Any]) -> str:
        value = router.get("routing_strategy", "simple-shuffle")
        mapped = STRATEGIES.get(value) if isinstance(value, str) else None
        if mapped is None:
            self.note("router_settings.routing_strategy", f"unknown {value!r}: using balanced")
            return "balanced"
        strategy, change = mapped
        if change:
            self.note("router_settings.routing_strategy", change)
        return strategy

    def group_aliases(
        self, router: Mapping[str, Any], strategy: str, known: set[str]
    ) -> dict[str, dict[str, Any]]:
        """``model_group_alias`` (another name for a model_name) as aliases of their own."""
        out: dict[str, dict[str, Any]] = {}
        groups = self.mapping(router.get("model_group_alias"), "router_settings.model_group_alias")
        for name, target in groups.items():
            at = f"router_settings.model_group_alias.{name}"
            group = target.get("model") if isinstance(target, Mapping) else target
            if not isinstance(group, str):
                raise self.fail(at, "expected a model_name or {model: <model_name>}")
            if group not in self.groups or name in known:
                why = "is already a model_name" if name in known else f"{group!r} is not imported"
                self.note(at, f"not carried: {name!r} {why}")
                continue
            out[str(name)] = _alias(
                self.groups[group], strategy, f"model_group_alias {name} → {group}"
            )
        return out

    def settings(self, section: str, values: Mapping[str, Any]) -> None:
        for key, value in values.items():
            if section == "router_settings" and key in ("routing_strategy", "model_group_alias"):
                continue
            if key in ("fallbacks", "context_window_fallbacks", "content_policy_fallbacks"):
                self.fallbacks(f"{section}.{key}", value)
                continue
            message = SETTING_NOTES.get(str(key), "not carried over (no rolecall equivalent)")
            self.note(f"{section}.{key}", message)

    def fallbacks(self, at: str, value: Any) -> None:
        if not isinstance(value, list):
            raise self.fail(at, "expected a list of {model_name: [fallback model_names]}")
        for j, item in enumerate(value):
            if not isinstance(item, Mapping):
                raise self.fail(f"{at}[{j}]", "expected {model_name: [fallback model_names]}")
            for source, targets in item.items():
                ids = self.groups.get(str(source), [])
                self.note(
                    f"{at}[{j}].{source}",
                    f"falling back to {targets} is not carried: an alias falls back among its "
                    f"own endpoints, in rank order; to keep it, add the endpoints of {targets} "
                    f"to aliases.{source}.endpoints (now {ids}), where they also compete for "
                    "first place",
                )

    def other_sections(self, doc: Mapping[str, Any]) -> None:
        handled = {"model_list", "litellm_settings", "router_settings", "general_settings"}
        for key, value in doc.items():
            if key == "environment_variables" and isinstance(value, Mapping):
                for name in value:  # names only: the values may be secrets
                    self.note(
                        f"environment_variables.{name}",
                        "not copied: set it in the environment or in .env",
                    )
            elif key not in handled:
                self.note(str(key), "not carried over (no rolecall equivalent)")

    # --- values -------------------------------------------------------------------------------

    def mapping(self, value: Any, at: str, *, required: bool = False) -> Mapping[str, Any]:
        if value is None and not required:
            return {}
        if not isinstance(value, Mapping):
            raise self.fail(at, "expected a mapping" if value is not None else "required mapping")
        return value

    def text(self, value: Any, at: str) -> str:
        if value is None:
            raise self.fail(at, "required key is missing")
        if not isinstance(value, str | int | float) or isinstance(value, bool) or value == "":
            raise self.fail(at, "expected a non-empty string")
        return str(value)

    def env(self, value: str, at: str) -> str:
        """LiteLLM's ``os.environ/NAME`` as rolecall's ``${NAME}``."""
        if not value.startswith(ENV_PREFIX):
            return value
        name = value.removeprefix(ENV_PREFIX)
        if not _NAME.fullmatch(name):
            raise self.fail(at, f"expected os.environ/NAME with a variable name, got {value!r}")
        return f"${{{name}}}"

    def first_count(self, values: Mapping[str, Any], keys: tuple[str, ...], at: str) -> int | None:
        for key in keys:
            if values.get(key) is not None:
                count = _number(values[key], f"{at}.{key}", self.source)
                if count < 1 or count != int(count):
                    raise self.fail(f"{at}.{key}", f"expected a whole number >= 1, got {count:g}")
                return int(count)
        return None


def _alias(endpoint_ids: list[str], strategy: str, origin: str) -> dict[str, Any]:
    return {
        "endpoints": list(endpoint_ids),
        "strategy": strategy,
        "description": f"imported from LiteLLM {origin}",
    }


def _number(value: Any, at: str, source: str) -> float:
    """A number >= 0; YAML reads ``1e-6`` as a string, so numeric strings count too."""
    if isinstance(value, bool):
        raise ConfigError(source, at, f"expected a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(source, at, f"expected a number, got {value!r}") from None
    if number < 0 or number != number or number == float("inf"):
        raise ConfigError(source, at, f"expected a finite number >= 0, got {value!r}")
    return number
