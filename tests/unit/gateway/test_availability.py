"""Answering "no eligible endpoint": 503 + Retry-After for a temporary outage, 400 when final."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rolecall.execution.cooldown import CooldownBook
from rolecall.gateway.availability import (
    DEFAULT_RETRY_AFTER_S,
    NoEndpointAnswer,
    cooldown_ends,
    no_endpoint_answer,
    retry_after_s,
    runtime_excluded,
)

NOW = 1_000_000
OFFLINE = ("PROVIDER_OFFLINE", "Endpoint provider is offline (status cooldown).")
QUOTA = ("QUOTA_EXHAUSTED", "quota")
NO_TOOLS = ("TOOLS_UNSUPPORTED", "no tools")
REMOTE = ("POLICY_DENY_REMOTE", "remote")


def _ends(**until: int) -> Callable[[str], int | None]:
    return until.get


def test_runtime_excluded_keeps_only_endpoints_excluded_for_runtime_reasons() -> None:
    eligibility = [
        ("cooling", (OFFLINE,)),
        ("broke", (QUOTA, OFFLINE)),
        ("lacks", (NO_TOOLS,)),
        ("lacks-and-cooling", (NO_TOOLS, OFFLINE)),
        ("fine", ()),
    ]
    assert runtime_excluded(eligibility) == ["cooling", "broke"]


@pytest.mark.parametrize(
    ("until", "expected"),
    [
        (NOW + 1, 1),  # a millisecond left still says 1 s, never 0
        (NOW + 1_000, 1),
        (NOW + 1_001, 2),
        (NOW + 600_000, 600),
        (NOW - 5, 1),  # ended meanwhile: retry at once (1 s)
    ],
)
def test_retry_after_rounds_the_cooldown_end_up(until: int, expected: int) -> None:
    assert retry_after_s(["ep"], _ends(ep=until), NOW) == expected


def test_retry_after_is_the_earliest_return_and_defaults_without_a_known_end() -> None:
    assert retry_after_s(["a", "b"], _ends(a=NOW + 30_000, b=NOW + 9_500), NOW) == 10
    assert retry_after_s(["offline"], _ends(), NOW) == DEFAULT_RETRY_AFTER_S
    # an offline endpoint may be back at the next health check, before a long cooldown ends
    assert retry_after_s(["a", "off"], _ends(a=NOW + 600_000), NOW) == DEFAULT_RETRY_AFTER_S
    assert retry_after_s([], _ends(), NOW) == DEFAULT_RETRY_AFTER_S


def test_only_cooling_endpoints_is_503_with_retry_after() -> None:
    answer = no_endpoint_answer([("ep", (OFFLINE,))], _ends(ep=NOW + 42_000), NOW)
    assert answer == NoEndpointAnswer(503, 42)


def test_hard_misses_plus_a_cooling_endpoint_is_still_503() -> None:
    eligibility = [("lacks", (NO_TOOLS,)), ("ep", (OFFLINE,)), ("both", (REMOTE, OFFLINE))]
    ends = _ends(ep=NOW + 7_200, both=NOW + 1_000)
    assert no_endpoint_answer(eligibility, ends, NOW) == NoEndpointAnswer(503, 8)


def test_other_runtime_codes_are_503_with_the_default() -> None:
    answer = no_endpoint_answer([("ep", (QUOTA,))], _ends(), NOW)
    assert answer == NoEndpointAnswer(503, DEFAULT_RETRY_AFTER_S)


def test_a_request_no_endpoint_could_serve_is_400() -> None:
    eligibility = [("a", (NO_TOOLS,)), ("b", (REMOTE, OFFLINE))]
    assert no_endpoint_answer(eligibility, _ends(b=NOW + 1_000), NOW) == NoEndpointAnswer(400)


def test_no_endpoints_configured_stays_503_without_retry_after() -> None:
    assert no_endpoint_answer([], _ends(), NOW) == NoEndpointAnswer(503)


def test_cooldown_ends_reads_the_book() -> None:
    book = CooldownBook()
    entry = book.enter("ep", "timeout", NOW)
    ends = cooldown_ends(book, NOW)
    assert ends("ep") == entry.until_ms
    assert ends("other") is None
    assert cooldown_ends(book, entry.until_ms)("ep") is None  # over at its end
    book.succeeded("ep")
    assert ends("ep") is None
