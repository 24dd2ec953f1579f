"""Bad input gets an OpenAI-style 4xx error object: never a 500, never a stack trace."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from .harness import Gateway


@pytest.fixture
def gateway(shared_gateway: Gateway) -> Gateway:
    """One gateway for the module and backend: these requests are refused (or, for the key
    revoked, answered before), so none changes what another test checks."""
    return shared_gateway


def _auth(gw: Gateway) -> dict[str, str]:
    return {"authorization": f"Bearer {gw.api_key}"}


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        (b"{not json", 400, None),
        (b"[]", 400, None),
        (b'{"messages":[{"role":"user","content":"x"}]}', 400, "model"),
        (b'{"model":"default","messages":"hi"}', 400, "messages"),
        (
            b'{"model":"default","messages":[{"role":"user","content":"x"}],"temperature":"hot"}',
            400,
            "temperature",
        ),
        (
            b'{"model":"default","messages":[{"role":"user","content":"x"}],"stream":1}',
            400,
            "stream",
        ),
        (b'{"model":"no-such-model","messages":[{"role":"user","content":"x"}]}', 404, "model"),
        (
            b'{"model":"default","messages":[{"role":"user","content":"x"}],"rolecall":{"role":"wizard"}}',
            400,
            "rolecall.role",
        ),
    ],
)
def test_malformed_requests(gateway: Gateway, body: bytes, status: int, param: str | None) -> None:
    got, payload = gateway.raw("/v1/chat/completions", body, _auth(gateway))
    assert got == status
    error = payload["error"]
    assert error["message"]
    assert error["param"] == param
    assert "Traceback" not in error["message"]


def test_oversize_body(gateway: Gateway) -> None:
    big = (
        b'{"model":"default","messages":[{"role":"user","content":"'
        + b"x" * (9 * 1024 * 1024)
        + b'"}]}'
    )
    got, payload = gateway.raw("/v1/chat/completions", big, _auth(gateway))
    assert got == 413
    assert payload["error"]["code"] == "request_too_large"


def test_missing_or_wrong_key(gateway: Gateway) -> None:
    got, payload = gateway.raw("/v1/chat/completions", b"{}", {})
    assert got == 401
    assert payload["error"]["type"] == "authentication_error"
    with (
        openai.OpenAI(base_url=gateway.base_url, api_key="rc-wrong", max_retries=0) as client,
        pytest.raises(openai.AuthenticationError),
    ):
        client.chat.completions.create(model="default", messages=[{"role": "user", "content": "x"}])


def test_admin_api_needs_the_admin_token(gateway: Gateway) -> None:
    got, payload = gateway.raw("/api/endpoints", None, _auth(gateway))
    assert got == 401
    assert payload["error"]["code"] == "invalid_admin_token"
    got, _payload = gateway.raw(
        "/api/decisions/does-not-exist", None, {"authorization": "Bearer rca-test-admin-token"}
    )
    assert got == 404


def test_unknown_route_and_method(gateway: Gateway) -> None:
    got, payload = gateway.raw("/v1/nothing", None, _auth(gateway))
    assert got == 404
    assert "error" in payload
    got, payload = gateway.raw("/v1/chat/completions", None, _auth(gateway))
    assert got == 405


def test_secrets_never_in_output(gateway: Gateway) -> None:
    _got, body = gateway.admin("/api/endpoints")
    text = str(body)
    assert gateway.api_key not in text
    assert "rca-test-admin-token" not in text


def test_revoked_key_is_refused(gateway: Gateway) -> None:
    from rolecall.gateway.auth import create_api_key

    record, key = create_api_key(gateway.services.storage.keys, "short-lived")
    gateway.keys.refresh()  # the key checker's thread would see it within a second
    client: Any = gateway.client(api_key=key)
    client.chat.completions.create(model="default", messages=[{"role": "user", "content": "x"}])
    gateway.services.storage.keys.revoke(record.key_id)
    gateway.keys.refresh()
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(model="default", messages=[{"role": "user", "content": "x"}])
