"""The arithmetic every counter store shares (pure)."""

from __future__ import annotations

from rolecall.limits.charges import (
    actual_amounts,
    applied_charges,
    calendar_retry_ms,
    decide,
    first_refused,
    rolling_retry_ms,
    soonest,
    usd_micros,
)
from rolecall.limits.policy import Limit, Metric, Window
from rolecall.limits.ports import Charge, Refusal, Reservation, ReserveRequest

DAY = Window("day")
MINUTE = Window("rolling", 60)


def charge(
    counter: str, cap: int, amount: int, metric: Metric = "usd", window: Window = DAY
) -> Charge:
    return Charge(counter, Limit("key", "k", metric, cap, window), amount, 86_400_000)


def test_usd_is_tokens_times_price_per_million_rounded_up() -> None:
    assert usd_micros(3.0, 15.0, 1000, 100) == 4500
    assert usd_micros(0.15, 0.6, 3, 0) == 1  # 0.45 micro-USD: never rounded down to free
    assert usd_micros(None, 15.0, 1000, 100) == 0  # no price: free


def test_charges_fit_in_turn_and_zero_always_fits() -> None:
    used = {"a": 90, "b": 0}
    assert first_refused([charge("a", 100, 10), charge("b", 5, 5)], used) is None
    blocked = charge("a", 100, 6)
    assert first_refused([charge("a", 100, 5), blocked], used) is blocked
    assert first_refused([charge("a", 50, 0)], used) is None  # overspent, yet free is free


def test_the_first_alternative_that_fits_is_chosen() -> None:
    common = (charge("r", 60, 1, "requests_per_min", MINUTE),)
    pricey, cheap = (charge("u", 100, 80),), (charge("u", 100, 20),)
    request = ReserveRequest("req-1", 0, common, (pricey, cheap))
    assert decide(request, {"u": 30}) == 1
    assert decide(request, {"u": 10}) == 0
    assert applied_charges(request, 1) == (common[0], cheap[0])
    refused = decide(request, {"u": 90})
    assert refused == [(pricey[0], 0), (cheap[0], 1)]
    assert decide(request, {"r": 60}) == [(common[0], None)]
    assert decide(ReserveRequest("req-2", 0, common), {}) == -1


def test_retry_after_is_the_reset_or_when_enough_leaves_the_window() -> None:
    assert calendar_retry_ms(charge("u", 100, 10), 86_000_000) == 400_000
    assert calendar_retry_ms(charge("u", 100, 101), 0) is None  # never, by waiting
    rate = charge("r", 3, 1, "requests_per_min", MINUTE)
    entries = [(1_000, 1), (5_000, 1), (9_000, 1)]
    assert rolling_retry_ms(rate, 3, entries, 30_000) == 31_000  # the oldest leaves at 61 s
    tokens = charge("t", 100, 50, "tokens_per_min", MINUTE)
    assert rolling_retry_ms(tokens, 90, [(0, 30), (10_000, 30), (20_000, 30)], 30_000) == 40_000


def test_the_soonest_refusal_is_reported() -> None:
    never = Refusal(charge("a", 1, 2), 0, None)
    later = Refusal(charge("b", 1, 1), 1, 5_000)
    sooner = Refusal(charge("c", 1, 1), 1, 1_000)
    assert soonest([never, later, sooner]) is sooner
    assert soonest([never]) is never


def test_a_settled_request_stays_a_request_and_costs_what_it_used() -> None:
    charges = (
        charge("r", 60, 1, "requests_per_min", MINUTE),
        charge("t", 1000, 300, "tokens_per_min", MINUTE),
        charge("u", 1000, 900),
    )
    reservation = Reservation("req-1", 0, charges, 0, "sql")
    assert actual_amounts(reservation, 120, 400) == (1, 120, 400)
