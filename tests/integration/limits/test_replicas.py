"""Budgets and rate limits hold across two gateway processes sharing PostgreSQL, counted in
Redis or, without one, in PostgreSQL: a burst of 200 concurrent requests split between them.

The overspend bound: a reservation is made from the estimate before a request runs, so at most
the in-flight requests' (actual - estimate) can pass a budget. Here every estimate equals its
actual cost (the answer has exactly max_tokens tokens; input is free), so the bound is 0: a
budget that allows 10 requests admits exactly 10.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rolecall.limits.policy import LimitSpec
from tests.integration.limits.conftest import reachable_redis
from tests.integration.limits.replicas import PER_REQUEST_MICRO_USD, Replicas, burst, replicas

pytestmark = pytest.mark.slow


# module scope: two replicas take seconds to start, and each test makes a key of its own (the
# limits counted are that key's alone), so the tests share them
@pytest.fixture(scope="module", params=["redis", "postgresql"])
def group(
    request: pytest.FixtureRequest, module_pg_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Replicas]:
    redis_url = reachable_redis() if request.param == "redis" else None
    with replicas(tmp_path_factory.mktemp("replicas"), module_pg_url, redis_url) as started:
        yield started


def test_a_budget_race_across_two_replicas_admits_exactly_what_it_allows(
    group: Replicas,
) -> None:
    key = group.key(LimitSpec(budget_micro_usd=10 * PER_REQUEST_MICRO_USD))
    replies = burst(group, key, 200)
    answered = [status for status, _, _ in replies if status == 200]
    assert len(answered) == 10  # ≤ 10 + the bound, which is 0 here
    refused = [(body, retry) for status, body, retry in replies if status != 200]
    assert len(refused) == 190
    for body, retry in refused:
        assert body["error"]["code"] == "budget_exceeded"
        assert body["error"]["type"] == "insufficient_quota"
        assert "budget of 0.05 USD per month" in body["error"]["message"]
        assert retry is not None
        assert int(retry) > 0


def test_sixty_requests_a_minute_hold_across_two_replicas(group: Replicas) -> None:
    key = group.key(LimitSpec(rpm=60))
    replies = burst(group, key, 200)
    answered = sum(status == 200 for status, _, _ in replies)
    assert abs(answered - 60) <= 1
    for status, body, retry in replies:
        if status != 200:
            assert status == 429
            assert body["error"]["code"] == "rate_limit_exceeded"
            assert retry is not None
            assert 1 <= int(retry) <= 60
