"""A temporary outage is a 503 with ``Retry-After`` (clients retry it), not a final 400: the only
endpoint offline, or cooling down and failing its panic attempt too; a cooling endpoint that
answers is used (panic mode) rather than refused; a request no endpoint could ever serve stays a
400 (on SQLite and PostgreSQL)."""

from __future__ import annotations

import time

import openai
import pytest

from rolecall.gateway.availability import DEFAULT_RETRY_AFTER_S
from tests.integration.gateway.harness import Gateway

from .conftest import CraftedUpstream


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _answer(gw: Gateway, model: str = "default") -> str | None:
    reply = gw.client().chat.completions.create(
        model=model, messages=[{"role": "user", "content": "hi"}]
    )
    return reply.choices[0].message.content


def _unavailable(gw: Gateway, model: str = "default") -> openai.APIStatusError:
    with pytest.raises(openai.APIStatusError) as raised:
        _answer(gw, model)
    return raised.value


def _cool_down(gw: Gateway) -> int:
    """Put "ep" into a cooldown long enough to outlast the test (the harness scales durations
    down, so climb the schedule a few levels); the seconds left, rounded up."""
    book = gw.services.routing.cooldowns
    now = _now_ms()
    for _ in range(5):
        entry = book.enter("ep", "timeout", now)
    left_ms = entry.until_ms - _now_ms()
    assert left_ms > 5_000, "the scaled cooldown is too short to test against"
    return -(-left_ms // 1000)


def test_a_cooling_endpoint_still_serves_in_panic_mode(gateway: Gateway) -> None:
    _cool_down(gateway)
    reply = gateway.client().chat.completions.with_raw_response.create(
        model="default", messages=[{"role": "user", "content": "hi"}]
    )
    assert reply.parse().choices[0].message.content == "ok"
    assert reply.headers["x-rolecall-panic"] == "true"
    assert gateway.services.routing.cooldowns.active("ep", _now_ms()) is None  # it answered


def test_cooling_endpoint_failing_in_panic_is_503_with_retry_after(
    crafted: CraftedUpstream, crafted_gateway: Gateway
) -> None:
    crafted.status = 500
    crafted.reply = {"error": {"message": "down", "type": "server_error"}}
    gateway = crafted_gateway
    left_s = _cool_down(gateway)
    error = _unavailable(gateway)
    assert error.status_code == 503
    retry_after = int(error.response.headers["retry-after"])
    assert 1 <= retry_after <= left_s
    assert retry_after >= left_s - 2  # the cooldown's own end, not the offline default
    body = error.response.json()["error"]
    assert (body["type"], body["code"]) == ("service_unavailable", "no_eligible_endpoint")
    assert "PROVIDER_OFFLINE" in body["message"]
    assert f"retry after {retry_after} s" in body["message"]
    assert error.response.headers["x-rolecall-panic"] == "true"


def test_offline_endpoint_is_503_with_the_default_retry_after(gateway: Gateway) -> None:
    gateway.services.routing.set_offline("ep", True)
    error = _unavailable(gateway)
    assert error.status_code == 503
    assert error.response.headers["retry-after"] == str(DEFAULT_RETRY_AFTER_S)
    gateway.services.routing.set_offline("ep", False)
    assert _answer(gateway) == "ok"


@pytest.mark.parametrize("cooling", [False, True])
def test_a_request_no_endpoint_could_serve_stays_400(gateway: Gateway, cooling: bool) -> None:
    if cooling:  # the only endpoint is remote: its coming back would not help a local-only request
        _cool_down(gateway)
    error = _unavailable(gateway, model="default.local-only")
    assert error.status_code == 400
    assert isinstance(error, openai.BadRequestError)
    assert "retry-after" not in error.response.headers
    body = error.response.json()["error"]
    assert (body["type"], body["code"]) == ("invalid_request_error", "no_eligible_endpoint")
    assert "POLICY_DENY_REMOTE" in body["message"]
