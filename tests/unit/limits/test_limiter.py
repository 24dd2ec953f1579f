"""`Limiter`: which limits apply, reserving on the candidate that fits, settling, refusing."""

from __future__ import annotations

import asyncio

from rolecall.limits.policy import LimitSpec, Window
from rolecall.limits.service import Admission, Caller, Limiter, Refused
from rolecall.limits.spec import ScopedLimits
from tests.unit.limits.memory import MemoryStore

NOW = 1_767_225_600_000  # 2026-01-01T00:00:00Z
PRICEY = (10.0, 30.0)  # USD per million tokens in, out
CHEAP = (1.0, 2.0)
FREE = (None, None)


def limiter(scoped: ScopedLimits | None = None, now: list[int] | None = None) -> Limiter:
    clock = now or [NOW]
    return Limiter(scoped or ScopedLimits(), MemoryStore(), clock=lambda: clock[0])


def key(spec: LimitSpec, team: str | None = None) -> Caller:
    return Caller("key_1", team, spec)


def test_no_limits_anywhere_costs_no_store_call() -> None:
    lim = limiter()
    assert lim.applicable(Caller("key_1", "eng", LimitSpec()), "coder") == ()
    assert lim.applicable(Caller(), None) == ()


def test_a_request_gets_its_key_team_role_and_global_limits_rates_first() -> None:
    scoped = ScopedLimits(
        everyone=LimitSpec(rpm=6000),
        teams={"eng": LimitSpec(budget_micro_usd=20_000_000, per=Window("day"))},
        roles={"coder": LimitSpec(tpm=1000)},
    )
    lim = limiter(scoped)
    found = lim.applicable(key(LimitSpec(budget_micro_usd=5_000_000), "eng"), "coder")
    assert [(x.scope, x.scope_id, x.metric) for x in found] == [
        ("role", "coder", "tokens_per_min"),
        ("global", "*", "requests_per_min"),
        ("key", "key_1", "usd"),
        ("team", "eng", "usd"),
    ]
    other = lim.applicable(Caller("key_2", "ops", None), None)
    assert [(x.scope, x.metric) for x in other] == [("global", "requests_per_min")]


def test_a_spent_budget_falls_back_to_a_cheaper_candidate_then_refuses() -> None:
    lim = limiter()
    limits = lim.applicable(key(LimitSpec(budget_micro_usd=50_000)), None)  # 0.05 USD

    async def run() -> list[Admission | Refused]:
        # 1000 in + 1000 out: 40,000 micro-USD on PRICEY, 3,000 on CHEAP
        first = await lim.reserve(limits, "r1", 1000, 1000, [PRICEY, CHEAP])
        second = await lim.reserve(limits, "r2", 1000, 1000, [PRICEY, CHEAP])
        third = await lim.reserve(limits, "r3", 1000, 1000, [PRICEY, CHEAP, FREE])
        for _ in range(2):  # 49,000 spent, then refused: 52,000 would be over
            await lim.reserve(limits, "rx", 1000, 1000, [CHEAP])
        last = await lim.reserve(limits, "r4", 1000, 1000, [PRICEY, CHEAP])
        return [first, second, third, last]

    first, second, third, last = asyncio.run(run())
    assert isinstance(first, Admission)
    assert first.allowed == (0, 1)
    assert first.cut == ()
    assert isinstance(second, Admission)
    assert second.allowed == (1,)
    assert second.cut[0][0] == 0
    assert "does not fit" in second.cut[0][1]
    # 46,000 spent: the 3,000 candidate fits; the free one after it runs too if needed
    assert isinstance(third, Admission)
    assert third.allowed == (1, 2)
    assert isinstance(last, Refused)
    assert not last.rate
    assert "budget exceeded" in last.message
    assert "0.049 USD used" in last.message
    assert last.retry_after_s == 86_400 * 31  # the month ends
    assert [i for i, _ in last.cut] == [0, 1]


def test_a_pricier_fallback_than_the_reservation_is_cut() -> None:
    lim = limiter()
    limits = lim.applicable(key(LimitSpec(budget_micro_usd=1_000_000)), None)
    admitted = asyncio.run(lim.reserve(limits, "r1", 1000, 1000, [CHEAP, PRICEY, FREE]))
    assert isinstance(admitted, Admission)
    assert admitted.allowed == (0, 2)
    assert admitted.cut == ((1, admitted.cut[0][1]),)
    assert "more than" in admitted.cut[0][1]


def test_a_rate_limit_refuses_with_when_the_window_frees() -> None:
    clock = [NOW]
    lim = limiter(now=clock)
    limits = lim.applicable(key(LimitSpec(rpm=2)), None)

    async def run() -> list[Admission | Refused]:
        out = [await lim.reserve(limits, "a", 10, 10, [FREE])]
        clock[0] += 20_000
        out.append(await lim.reserve(limits, "b", 10, 10, [FREE]))
        clock[0] += 1_500
        out.append(await lim.reserve(limits, "c", 10, 10, [FREE]))
        clock[0] = NOW + 60_001  # the first has left the window
        out.append(await lim.reserve(limits, "d", 10, 10, [FREE]))
        return out

    a, b, refused, d = asyncio.run(run())
    assert isinstance(a, Admission)
    assert isinstance(b, Admission)
    assert isinstance(d, Admission)
    assert isinstance(refused, Refused)
    assert refused.rate
    assert refused.retry_after_s == 39  # 38.5 s until the first request leaves the minute
    assert refused.message.startswith("rate limit reached (key key_1: 2 requests per minute)")


def test_a_request_larger_than_the_limit_cannot_be_retried_into_fitting() -> None:
    lim = limiter()
    limits = lim.applicable(key(LimitSpec(tpm=100)), None)
    refused = asyncio.run(lim.reserve(limits, "a", 50, 1024, [FREE]))
    assert isinstance(refused, Refused)
    assert refused.retry_after_s is None
    assert "ask for fewer tokens" in refused.message


def test_settling_replaces_the_estimate_by_the_actual_cost() -> None:
    lim = limiter()
    store = lim.store
    assert isinstance(store, MemoryStore)
    limits = lim.applicable(key(LimitSpec(budget_micro_usd=100_000, tpm=10_000)), None)

    async def run() -> None:
        admitted = await lim.reserve(limits, "r1", 1000, 1000, [CHEAP])
        assert isinstance(admitted, Admission)
        lim.settle(admitted, 1500, 1200)
        await asyncio.sleep(0)
        calls = store.calls
        lim.settle(admitted, 2000, 3000)  # the estimate exactly: nothing to change
        await lim.close()
        assert store.calls == calls
        assert store.closed

    asyncio.run(run())
    assert store.counters == {"key:key_1:usd:m202601": 1200}
    assert [amount for _, _, amount in store.logs["key:key_1:tokens_per_min:r60"]] == [1500]


def test_without_a_reachable_store_requests_are_served_unmetered() -> None:
    lim = limiter()
    store = lim.store
    assert isinstance(store, MemoryStore)
    store.down = True
    limits = lim.applicable(key(LimitSpec(rpm=1)), None)
    admitted = asyncio.run(lim.reserve(limits, "a", 1, 1, [FREE, CHEAP]))
    assert isinstance(admitted, Admission)
    assert admitted.reservation is None
    assert admitted.allowed == (0, 1)
    assert lim.status()["enforcing"] is False
    store.down = False
    assert isinstance(asyncio.run(lim.reserve(limits, "b", 1, 1, [FREE])), Admission)
    assert lim.status() == {"store": "memory", "configured": False, "enforcing": True}
