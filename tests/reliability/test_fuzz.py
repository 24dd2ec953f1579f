"""~800 hostile requests (tests/reliability/fuzz.py, fixed seed) against a real gateway on
SQLite and PostgreSQL: no answer of 500 or more, and every 4xx an OpenAI-style error naming the
field or the problem."""

from __future__ import annotations

from tests.integration.gateway.harness import ADMIN_TOKEN, Gateway
from tests.reliability.fuzz import requests, run


def test_the_fuzzer_is_deterministic_for_a_seed() -> None:
    first = [(c.name, c.method, c.path, c.body) for c in requests(7, 50)]
    again = [(c.name, c.method, c.path, c.body) for c in requests(7, 50)]
    other = [(c.name, c.method, c.path, c.body) for c in requests(8, 50)]
    assert first == again
    assert first != other


def test_hostile_requests_get_no_5xx_and_good_errors(gateway: Gateway) -> None:
    report = run("127.0.0.1", gateway.port, gateway.api_key, ADMIN_TOKEN, seed=14, count=800)
    assert report.tried == 800
    assert report.server_errors == [], report.summary()
    assert report.problems == [], report.summary()
    # the corpus reaches the handlers, not only the HTTP parser: refusals and answers both
    assert report.statuses[400] > 300, report.summary()
    assert report.statuses[200] > 50, report.summary()
    assert report.answered > 780, report.summary()
