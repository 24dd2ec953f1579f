"""Failure classification and the cooldown schedule."""

from __future__ import annotations

import pytest

from rolecall.execution.cooldown import SCHEDULE_MS, CooldownBook
from rolecall.execution.failures import UpstreamFailure, classify_status


@pytest.mark.parametrize(
    ("status", "body", "failure", "retry", "fallback"),
    [
        (500, b"", "upstream_5xx", True, True),
        (503, b"", "upstream_5xx", True, True),
        (429, b"slow down", "rate_limited", True, True),
        (429, b'{"error":{"code":"insufficient_quota"}}', "quota", False, True),
        (402, b"", "quota", False, True),
        (401, b"", "auth", False, True),
        (403, b"", "auth", False, True),
        (400, b"", "invalid_request", False, False),
        (404, b"", "invalid_request", False, False),
        (422, b"", "invalid_request", False, False),
        (408, b"", "timeout", True, True),
    ],
)
def test_classification(
    status: int, body: bytes, failure: str, retry: bool, fallback: bool
) -> None:
    kind = classify_status(status, body)
    assert kind == failure
    f = UpstreamFailure(kind, status, "x")
    assert (f.retryable, f.falls_back) == (retry, fallback)


def test_schedule_escalates_and_resets() -> None:
    persisted = []
    book = CooldownBook(persist=persisted.append)
    assert [book.duration_ms(i) for i in range(6)] == list(SCHEDULE_MS)
    assert SCHEDULE_MS == (600_000, 1_800_000, 3_600_000, 18_000_000, 36_000_000, 72_000_000)
    now = 1_000_000
    levels = []
    for i in range(8):
        entry = book.enter("a", "upstream_5xx", now + i * 1000)
        levels.append(entry.level)
    assert levels == [0, 1, 2, 3, 4, 5, 5, 5]
    assert book.active("a", now + 8000) is not None
    assert len(persisted) == 8
    book.succeeded("a")
    assert book.active("a", now + 8000) is None
    assert book.enter("a", "timeout", now + 9000).level == 0


def test_cooldown_ends_after_its_duration() -> None:
    book = CooldownBook(scale=0.001)
    entry = book.enter("a", "timeout", 0)
    assert entry.until_ms == 600
    assert book.active("a", 599) is not None
    assert book.active("a", 600) is None


def test_escalation_window() -> None:
    book = CooldownBook()
    book.enter("a", "timeout", 0)
    assert book.enter("a", "timeout", 25 * 3_600_000).level == 0  # a day later starts over
