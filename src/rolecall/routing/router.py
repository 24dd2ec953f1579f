"""`Router.decide`: eligibility → scoring → tie-break → fallbacks, as one pure function call.

The router does no I/O and keeps no state between decisions besides a small cache of flattened base
policies. The same router serves the gateway, the CLI, the console's what-if preview and the
conformance cases. The runtime's router also gets its pool's derived targets (``pool_targets``), for
the targets the operator left unset; without them the reference constants apply, as the protocol's
conformance cases expect (rolecall.routing.targets).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from functools import cache
from typing import Final

from rolecall.protocol import RoleBinding, RoleDefinition, RoutingPolicy, TaskDefinition
from rolecall.routing.candidate import Candidate, QualityEstimate
from rolecall.routing.context import PostureCache, build_context
from rolecall.routing.decay import RecencyDecay
from rolecall.routing.decision import Decision
from rolecall.routing.detail_texts import DetailTexts, role_model_details
from rolecall.routing.eligibility import Exclusions
from rolecall.routing.metrics import Scored, score_candidate, score_recent
from rolecall.routing.policy import PolicySnapshot, TargetField, snapshot_from_policy
from rolecall.routing.ranking import rank
from rolecall.routing.reasons import winner_reasons
from rolecall.routing.request import RoutingRequest, Strategy
from rolecall.routing.targets import PoolTargets
from rolecall.routing.weights import STRATEGY_WEIGHTS, redistribute

SCORING_VERSION: Final = "baseline-v2"
_NO_ESTIMATES: Final[Mapping[str, QualityEstimate]] = {}
_POLICY_CACHE_SIZE: Final = 32


class Router:
    """Deterministic, explainable endpoint selection.

    ``policy`` is the operator's base posture; a policy passed to `decide` replaces it for that call.
    ``pool_targets`` returns the current pool's derived targets (cheaply: it is called once per
    decision); they fill the targets no policy set, including ``unset_targets``, which ``policy``
    carries only because the protocol requires a ``targets`` object. ``detail_texts`` chooses the
    exclusion details of every decision (rolecall.routing.detail_texts); None leaves it to the
    policy (``detail_texts`` of a policy or a role's overrides, default rolecall's own).
    ``recency_decay`` pulls measured metrics toward neutral as their evidence ages, at the time
    `decide` is given (``now_ms``) or else reads from ``clock`` (ms); without a decay or a time,
    nothing decays (rolecall.routing.decay).
    """

    def __init__(
        self,
        policy: RoutingPolicy | None = None,
        *,
        pool_targets: Callable[[], PoolTargets] | None = None,
        unset_targets: Collection[TargetField] = (),
        detail_texts: DetailTexts | None = None,
        recency_decay: RecencyDecay | None = None,
        clock: Callable[[], int] | None = None,
    ) -> None:
        self._unset = frozenset(unset_targets)
        self._decay = recency_decay
        self._clock = clock
        self._detail_texts = detail_texts
        self._base = snapshot_from_policy(policy).reopen_targets(self._unset)
        self._pool_targets = pool_targets
        self._policy_cache: dict[int, tuple[RoutingPolicy, PolicySnapshot]] = {}
        self._postures: PostureCache = {}

    def with_policy(self, policy: RoutingPolicy) -> Router:
        """A router for another base policy with the same pool and unset targets (what-if)."""
        return Router(
            policy,
            pool_targets=self._pool_targets,
            unset_targets=self._unset,
            detail_texts=self._detail_texts,
            recency_decay=self._decay,
            clock=self._clock,
        )

    def targets(self) -> PoolTargets | None:
        """The pool's derived targets now (``None``: this router has no pool)."""
        return None if self._pool_targets is None else self._pool_targets()

    def decide(
        self,
        request: RoutingRequest,
        candidates: Sequence[Candidate],
        roles: Iterable[RoleDefinition] = (),
        tasks: Iterable[TaskDefinition] = (),
        bindings: Iterable[RoleBinding] = (),
        policy: RoutingPolicy | None = None,
        *,
        quality_estimates: Mapping[str, QualityEstimate] | None = None,
        now_ms: int | None = None,
    ) -> Decision:
        """Route one request. "No eligible endpoint" is a valid decision, never an exception."""
        pool = None if self._pool_targets is None else self._pool_targets()
        recency = None if self._decay is None else self._recency(now_ms)
        ctx = build_context(
            request, self._snapshot(policy), roles, tasks, bindings, self._postures, pool, recency
        )
        estimates = quality_estimates or _NO_ESTIMATES
        estimate = estimates.get if estimates else _no_estimate
        plain_rules, stateful_rules = ctx.rules
        canonical = (self._detail_texts or ctx.policy.detail_texts) == "role-model"
        eligibility: list[tuple[str, Exclusions]] = []
        scored: list[Scored] = []
        # local names: this loop runs once per candidate on every request
        add_entry, add_scored = eligibility.append, scored.append
        score = score_candidate if recency is None else score_recent
        for c in candidates:
            exclusions: Exclusions = ()
            for check, code in stateful_rules if c.has_state else plain_rules:
                detail = check(c, ctx)
                if detail is not None:
                    exclusions += ((code, detail),)
            if exclusions and canonical:
                exclusions = role_model_details(exclusions)
            add_entry((c.endpoint_id, exclusions))
            if not exclusions:
                add_scored(score(c, ctx, estimate(c.endpoint_id)))
        weights = STRATEGY_WEIGHTS[ctx.policy.strategy]
        if scored:
            weights = _weights(ctx.policy.strategy, _unknown_metrics(scored))
            wq, wl, wt, wc, wr, wp = weights
            for s in scored:
                q, lat, thr, cst, rel, pref = s.values
                s.total = wq * q + wl * lat + wt * thr + wc * cst + wr * rel + wp * pref
        ranked = tuple(rank(scored))
        return Decision(
            routing_decision_id=f"decision-{request.request_id}",
            context=ctx,
            eligibility=tuple(eligibility),
            ranked=ranked,
            weights=weights,
            selection_reasons=winner_reasons(ranked, ctx),
            scoring_version=SCORING_VERSION,
            estimates=estimates,
        )

    def _recency(self, now_ms: int | None) -> tuple[RecencyDecay, int] | None:
        if now_ms is None and self._clock is not None:
            now_ms = self._clock()
        return None if now_ms is None or self._decay is None else (self._decay, now_ms)

    def _snapshot(self, policy: RoutingPolicy | None) -> PolicySnapshot:
        if policy is None:
            return self._base
        cached = self._policy_cache.get(id(policy))
        if cached is not None and cached[0] is policy:
            return cached[1]
        snapshot = snapshot_from_policy(policy)
        if len(self._policy_cache) >= _POLICY_CACHE_SIZE:
            self._policy_cache.clear()
        self._policy_cache[id(policy)] = (policy, snapshot)
        return snapshot


def _no_estimate(endpoint_id: str) -> None:
    return None


def _unknown_metrics(scored: Sequence[Scored]) -> tuple[bool, ...]:
    """Per metric: is it a default (unknown) for every eligible candidate?"""
    mask = 0b111111
    for s in scored:
        mask &= s.default_mask
        if not mask:
            break
    return tuple(bool(mask & (1 << i)) for i in range(6))


@cache
def _weights(strategy: Strategy, unknown: tuple[bool, ...]) -> tuple[float, ...]:
    return redistribute(STRATEGY_WEIGHTS[strategy], unknown)
