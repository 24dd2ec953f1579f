"""schemathesis (~200 cases) over the OpenAPI document the gateway serves, against a real
gateway on SQLite and PostgreSQL with valid credentials: no 5xx, and every answer conforms to the
document (status code, content type, headers, body schema)."""

from __future__ import annotations

import pytest

from rolecall.console import tail
from tests.integration.gateway.harness import ADMIN_TOKEN, Gateway
from tests.reliability.schemathesis_run import run


def test_generated_requests_get_documented_answers_and_no_5xx(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the live tail's case holds its stream open for the stream's whole life: two polls of it
    # show what it sends (events, then the end) as well as 15 s do
    monkeypatch.setattr(tail, "LIFETIME_S", 2.0)
    report = run(f"http://127.0.0.1:{gateway.port}", gateway.api_key, ADMIN_TOKEN, scale=1)
    assert report.server_errors == 0, report.summary()
    assert report.failures == [], "\n".join(report.failures[:10])
    assert report.cases >= 150, report.summary()
    # every operation of the document was exercised, and the chat route answered for real
    assert len(report.per_operation) >= 35, report.summary()
    assert report.statuses[200] > 20, report.summary()
