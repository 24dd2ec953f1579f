"""What a limit is: windows, counters, specs (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rolecall.limits.policy import Limit, LimitSpec, Window, usd_text


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


@pytest.mark.parametrize(
    ("text", "window"),
    [
        ("day", Window("day")),
        ("month", Window("month")),
        ("rolling:3600", Window("rolling", 3600)),
    ],
)
def test_windows_parse_and_print_back(text: str, window: Window) -> None:
    assert Window.parse(text) == window
    assert str(window) == text


@pytest.mark.parametrize("text", ["week", "rolling", "rolling:0", "rolling:-5", "rolling:01", ""])
def test_a_bad_window_says_what_is_accepted(text: str) -> None:
    with pytest.raises(ValueError, match="'day', 'month' or 'rolling:SECONDS'"):
        Window.parse(text)


def test_calendar_windows_are_utc_and_reset_at_the_next_one() -> None:
    day = Window("day").span(ms("2026-12-31T23:59:59"))
    assert (day.suffix, day.reset_ms) == ("d20261231", ms("2027-01-01T00:00:00"))
    month = Window("month").span(ms("2026-12-15T08:00:00"))
    assert (month.suffix, month.reset_ms) == ("m202612", ms("2027-01-01T00:00:00"))
    february = Window("month").span(ms("2028-02-29T12:00:00"))
    assert (february.suffix, february.reset_ms) == ("m202802", ms("2028-03-01T00:00:00"))


def test_a_rolling_window_is_one_counter_that_never_resets_whole() -> None:
    span = Window("rolling", 60).span(ms("2026-12-15T08:00:00"))
    assert (span.suffix, span.reset_ms) == ("r60", 0)
    assert Window("rolling", 60).window_ms == 60_000


def test_counter_names_keep_scopes_apart() -> None:
    odd = Limit("team", "a:usd:b", "usd", 5, Window("day"))
    plain = Limit("team", "a", "usd", 5, Window("day"))
    span = Window("day").span(ms("2026-12-15T08:00:00"))
    assert odd.counter(span) == "team:a%3Ausd%3Ab:usd:d20261215"
    assert plain.counter(span) != odd.counter(span)


def test_a_spec_lists_rates_before_budgets() -> None:
    spec = LimitSpec(budget_micro_usd=5_000_000, budget_tokens=1000, rpm=60, tpm=500)
    limits = spec.limits("key", "key_1")
    assert [limit.metric for limit in limits] == [
        "requests_per_min",
        "tokens_per_min",
        "tokens",
        "usd",
    ]
    assert [limit.rate for limit in limits] == [True, True, False, False]
    assert limits[3].describe() == "key key_1: budget of 5.00 USD per month"
    assert spec.to_dict() == {
        "budget_usd": 5.0,
        "budget_tokens": 1000,
        "per": "month",
        "rpm": 60,
        "tpm": 500,
    }
    assert LimitSpec().empty
    assert not spec.empty


@pytest.mark.parametrize(
    ("fields", "message"),
    [({"rpm": 0}, "rpm: must not be below 1"), ({"budget_tokens": -1}, "budget_tokens")],
)
def test_a_spec_refuses_impossible_amounts(fields: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LimitSpec(**fields)  # type: ignore[arg-type]


def test_usd_text_shows_cents_and_micro_dollars() -> None:
    assert usd_text(5_000_000) == "5.00"
    assert usd_text(125) == "0.000125"
    assert usd_text(1_230_000) == "1.23"
