"""Model names of the operator's own: ``aliases:`` (and role-model's ``model_aliases:``) in
``rolecall.yaml``, and the fixed posture ids every gateway answers to.

An alias maps a public model name (``gpt-4o``, ``fast``, ``coder``) to a routing posture: a role,
a task, a strategy, a routing mode, an execution scope, a subset of endpoints (by endpoint id or
upstream model name) and a per-request budget, each optional. role-model's own shape
(``model_aliases: {name: {mode: basic|difficulty|intelligent|hybrid, model_ids: [...]}}``) is read
into the same thing. The routing modes and scopes are declared once here; ``config.py`` takes them
from this module, so a mode added to `RoutingMode` is accepted everywhere at once.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Final, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rolecall.errors import ConfigError

ExecutionScope = Literal["hybrid", "local_only", "remote_only", "decision_only"]
# the routing modes this runtime can run: baseline (quality from profiles), learned (a
# per-prompt estimate from a trained router, `routing.learned`), difficulty (a classified
# difficulty against each endpoint's ceiling), controller (a routing-controller model's
# directives, `routing.controller`) and hybrid (both, arbitrated); docs/routing.md §Routing modes
RoutingMode = Literal["baseline", "learned", "difficulty", "controller", "hybrid"]
# the modes that need a configured routing-controller endpoint
CONTROLLER_MODES: Final = ("controller", "hybrid")
Strategy = Literal["balanced", "quality", "latency", "cost"]
ROUTING_MODES: Final[tuple[str, ...]] = get_args(RoutingMode)
# role-model's per-alias mode names → the routing mode they mean (``intelligent`` is its
# controller mode)
ROLE_MODEL_MODES: Final = {
    "basic": "baseline",
    "baseline": "baseline",
    "learned": "learned",
    "intelligent": "controller",
    "controller": "controller",
    "difficulty": "difficulty",
    "hybrid": "hybrid",
}
# the fixed ids: ``<mode>`` and ``<mode>.<scope>``; ``default`` is the inventory's own posture
FIXED_MODES: Final = ("default", *ROUTING_MODES)
SCOPE_NAMES: Final[dict[str, ExecutionScope]] = {
    "hybrid": "hybrid",
    "local-only": "local_only",
    "remote-only": "remote_only",
    "decision-only": "decision_only",
}
ALIAS_PREFIX: Final = "rolecall/"


def fixed_ids(modes: Iterable[str] = FIXED_MODES) -> list[str]:
    """The fixed posture ids of ``modes``: each mode alone, then each with every scope."""
    modes = list(modes)
    return [*modes, *(f"{mode}.{scope}" for mode in modes for scope in SCOPE_NAMES)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AliasConfig(_Strict):
    """One public model name and the posture a request naming it routes with."""

    role: str | None = None
    task: str | None = None
    strategy: Strategy | None = None
    mode: RoutingMode | None = None
    execution_scope: ExecutionScope | None = None
    # endpoint ids or upstream model names; None: every endpoint
    endpoints: list[str] | None = Field(default=None, min_length=1)
    budget: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    description: str | None = None


class RoleModelAliasConfig(_Strict):
    """role-model's ``model_aliases`` entry: a routing mode and the model ids it routes over."""

    mode: str | None = None
    model_ids: list[str] | None = Field(default=None, min_length=1)
    description: str | None = None

    @field_validator("mode")
    @classmethod
    def _runnable(cls, value: str | None) -> str | None:
        if value is None:
            return None
        meaning = ROLE_MODEL_MODES.get(value)
        if meaning is None:
            raise ValueError(f"unknown mode {value!r}; use one of {', '.join(ROLE_MODEL_MODES)}")
        return meaning

    def as_alias(self) -> AliasConfig:
        mode = self.mode if self.mode in ROUTING_MODES else None
        return AliasConfig.model_validate(
            {"mode": mode, "endpoints": self.model_ids, "description": self.description}
        )


def merged_aliases(
    aliases: Mapping[str, AliasConfig],
    model_aliases: Mapping[str, RoleModelAliasConfig],
    source: str,
) -> dict[str, AliasConfig]:
    """Both sections as one mapping; a name in both is an error."""
    out = dict(aliases)
    for name, entry in model_aliases.items():
        if name in out:
            raise ConfigError(
                source,
                f"model_aliases.{name}",
                f"{name!r} is also defined under aliases; keep one of the two",
            )
        out[name] = entry.as_alias()
    return out


def check_aliases(
    aliases: Mapping[str, AliasConfig],
    sections: Mapping[str, str],
    *,
    roles: Mapping[str, Collection[str]],
    tasks: Collection[str],
    endpoints: Mapping[str, str],
    learned: bool,
    source: str,
    controller: bool = False,
) -> None:
    """Every alias's references exist: its role (``roles`` maps each to the tasks it performs),
    its task (one the role performs), its endpoints (an endpoint id or an upstream model name,
    ``endpoints`` maps id → model), its mode; no alias takes a fixed id.
    ``sections`` says which section each name came from (errors name it)."""
    fixed = set(fixed_ids())
    models = set(endpoints.values())
    for name, alias in aliases.items():
        where = f"{sections.get(name, 'aliases')}.{name}"
        if not name or name.removeprefix(ALIAS_PREFIX) in fixed:
            raise ConfigError(
                source,
                where,
                f"{name!r} is a fixed posture id ({', '.join(fixed_ids()[:3])}, ...); "
                "give the alias another name",
            )
        if alias.role is not None and alias.role not in roles:
            raise ConfigError(
                source, f"{where}.role", f"unknown role {alias.role!r} (known: {_few(roles)})"
            )
        if alias.task is not None and alias.task not in tasks:
            raise ConfigError(
                source, f"{where}.task", f"unknown task {alias.task!r} (known: {_few(tasks)})"
            )
        if (
            alias.role is not None
            and alias.task is not None
            and alias.task not in roles[alias.role]
        ):
            raise ConfigError(
                source,
                f"{where}.task",
                f"role {alias.role!r} does not perform task {alias.task!r} (it performs: "
                f"{_few(roles[alias.role])}); change the task or leave it out",
            )
        if alias.mode == "learned" and not learned:
            raise ConfigError(
                source,
                f"{where}.mode",
                "routing mode 'learned' needs a trained router: configure routing.learned",
            )
        if alias.mode in CONTROLLER_MODES and not controller:
            raise ConfigError(
                source,
                f"{where}.mode",
                f"routing mode {alias.mode!r} needs a routing-controller endpoint: "
                "configure routing.controller.endpoint_id",
            )
        field = "model_ids" if sections.get(name) == "model_aliases" else "endpoints"
        for i, ref in enumerate(alias.endpoints or ()):
            if ref not in endpoints and ref not in models:
                raise ConfigError(
                    source,
                    f"{where}.{field}[{i}]",
                    f"{ref!r} is neither an endpoint id nor the model of an endpoint "
                    f"(endpoints: {_few(endpoints)})",
                )


def _few(names: Iterable[str], limit: int = 8) -> str:
    ordered = sorted(names)
    more = f", ... ({len(ordered)} in all)" if len(ordered) > limit else ""
    return (", ".join(ordered[:limit]) or "none") + more
