"""No secret leaves: an upstream that echoes the request's credentials in its error reply does not
leak the provider key to the client, the logs or the database; and `scrub` on tricky text."""

from __future__ import annotations

import json
import logging
import secrets
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text

from rolecall.execution.secrets import MAX_MESSAGE_CHARS, error_reply_body, scrub, summarise
from tests.integration.gateway.harness import Gateway

from .conftest import CraftedUpstream

KNOWN = "Zq7" + "x" * 20  # a known key that looks like nothing in particular

ORDINARY = [
    "The model `gpt-4o` does not exist or you do not have access to it.",
    "This model's maximum context length is 8192 tokens; you requested 9000 tokens.",
    "authorization failed for this key; see https://platform.example.com/docs?a=b",
    "Invalid value for 'max_tokens': must be a positive integer (token limit 4096).",
    "bearer of bad news: the secret ingredient is love",
    "context_length_exceeded",
    "",
]

LEAKY = [
    ("Bearer sk-abcdefghijklmnopqrstuvwxyz012345 was rejected", "sk-abcdefghij"),
    ('{"authorization": "Bearer x", "other": 1}', "Bearer x"),
    ("x-api-key: abcdef1234567890\nnext line", "abcdef1234567890"),
    ("X-Api-Key=abcdef1234567890", "abcdef1234567890"),
    (f'{{"error": {{"message": "bad", "echo": "{KNOWN}"}}}}', KNOWN),
    (f"key {KNOWN}trailing", KNOWN),
    ("Incorrect API key provided: sk-ant-api03-AbCdEfGhIjKlMnOpQr_stu.", "AbCdEfGhIjKl"),
    ("gateway key rc-AbCdEfGhIjKlMnOpQrStUvWxYz0123 is unknown", "AbCdEfGhIjKl"),
    ("session token: 0123456789abcdef0123456789abcdef", "0123456789abcdef"),
    ("secret=QUJDREVGR0hJSktMTU5PUFFSU1RVVldY+/9= end", "QUJDREVGR0hJ"),
    ("Bearer abcdefgh12345678", "abcdefgh12345678"),
]


@pytest.mark.parametrize("sentence", ORDINARY)
def test_ordinary_text_is_left_as_it_is(sentence: str) -> None:
    assert scrub(sentence, [KNOWN]) == sentence


@pytest.mark.parametrize(("leaky", "secret"), LEAKY, ids=[str(i) for i in range(len(LEAKY))])
def test_credentials_are_redacted(leaky: str, secret: str) -> None:
    clean = scrub(leaky, [KNOWN])
    assert secret not in clean
    assert "[redacted]" in clean
    assert scrub(clean, [KNOWN]) == clean  # idempotent: a second pass changes nothing


def test_short_or_empty_known_secrets_are_ignored() -> None:
    assert scrub("a b c short", ["", "b", "short"]) == "a b c short"


def test_summarise_scrubs_before_it_caps() -> None:
    long = "x " * 5000 + f"then {KNOWN}"
    assert len(summarise(long, [KNOWN])) == MAX_MESSAGE_CHARS
    cut = summarise(f"{'y' * 290} {KNOWN}", [KNOWN], limit=300)
    assert "Zq7" not in cut  # the cut falls inside the key: the key was gone before


def test_error_reply_body_keeps_only_the_openai_fields() -> None:
    raw = json.dumps(
        {
            "error": {
                "message": f"bad request (authorization: Bearer {KNOWN})",
                "type": "invalid_request_error",
                "param": "messages",
                "code": None,
                "request_headers": {"authorization": f"Bearer {KNOWN}"},
            },
            "debug": KNOWN,
        }
    ).encode()
    body = json.loads(error_reply_body(raw, [KNOWN]))
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["type"] == "invalid_request_error"
    assert body["error"]["param"] == "messages"
    assert KNOWN not in json.dumps(body)


@pytest.mark.parametrize("raw", [b"<html>Bearer " + KNOWN.encode() + b"</html>", b"", b"[1]"])
def test_error_reply_body_of_a_non_error_body_is_a_valid_error(raw: bytes) -> None:
    body = json.loads(error_reply_body(raw, [KNOWN]))
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    assert KNOWN not in json.dumps(body)


# --- end to end: an upstream that echoes the credentials it received -------------------------


def _provider(kind: str, base_url: str, env: str) -> dict[str, Any]:
    return {"kind": kind, "base_url": base_url, "local": False, "api_key": "${" + env + "}"}


def _inventory(kind: str, base_url: str, envs: list[str]) -> dict[str, Any]:
    return {
        "providers": {f"p{i}": _provider(kind, base_url, env) for i, env in enumerate(envs)},
        "endpoints": [
            {"provider": f"p{i}", "model": "m", "id": f"ep{i}"} for i in range(len(envs))
        ],
    }


def _ask(gw: Gateway) -> tuple[int, Any]:
    body = json.dumps({"model": "default", "messages": [{"role": "user", "content": "hi"}]})
    return gw.raw("/v1/chat/completions", body.encode(), {"authorization": f"Bearer {gw.api_key}"})


def _database_text(gw: Gateway) -> str:
    assert gw.services.recorder.flush(10.0)
    engine = gw.services.storage.engine
    dumped = []
    with engine.connect() as connection:
        for table in inspect(engine).get_table_names():
            rows = connection.execute(text(f'SELECT * FROM "{table}"')).fetchall()
            dumped.append(f"{table}: {[tuple(row) for row in rows]!r}")
    return "\n".join(dumped)


def _assert_nothing_leaks(
    gw: Gateway, keys: list[str], reply: Any, caplog: pytest.LogCaptureFixture
) -> None:
    assert isinstance(reply, dict), reply  # valid JSON
    assert isinstance(reply["error"]["message"], str)
    relayed = json.dumps(reply)
    stored = _database_text(gw)
    assert "usage" in stored  # the dump did read the records
    for key in keys:
        assert key not in relayed
        assert key not in stored
        assert key not in caplog.text
    assert "Bearer" not in relayed


def _keys(monkeypatch: pytest.MonkeyPatch, n: int) -> tuple[list[str], list[str]]:
    envs = [f"ROLECALL_TEST_SECRET_{i}" for i in range(n)]
    keys = ["prov" + secrets.token_hex(16) for _ in envs]
    for env, key in zip(envs, keys, strict=True):
        monkeypatch.setenv(env, key)
    return envs, keys


ECHOING_ERROR = {"error": {"message": "Invalid request", "type": "invalid_request_error"}}


@pytest.mark.parametrize("kind", ["openai_compatible", "anthropic"])
def test_a_relayed_4xx_carries_no_key(
    kind: str,
    crafted: CraftedUpstream,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    envs, keys = _keys(monkeypatch, 1)
    crafted.status, crafted.echo_headers, crafted.reply = 400, True, ECHOING_ERROR
    with Gateway(_inventory(kind, crafted.base_url, envs), db_url, tmp_path) as gw:
        status, reply = _ask(gw)
        assert status == 400
        assert reply["error"]["message"].startswith("Invalid request")
        assert "[redacted]" in reply["error"]["message"]
        assert "request_headers" not in reply["error"]
        _assert_nothing_leaks(gw, keys, reply, caplog)


def test_a_non_json_4xx_is_relayed_as_a_scrubbed_json_error(
    crafted: CraftedUpstream,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    envs, keys = _keys(monkeypatch, 1)
    crafted.status, crafted.reply = 400, "<html>bad request; you sent {credentials}</html>"
    with Gateway(_inventory("openai_compatible", crafted.base_url, envs), db_url, tmp_path) as gw:
        status, reply = _ask(gw)
        assert status == 400
        assert "bad request" in reply["error"]["message"]
        _assert_nothing_leaks(gw, keys, reply, caplog)


@pytest.mark.parametrize("status", [401, 500])
def test_a_502_after_fallback_carries_no_key(
    status: int,
    crafted: CraftedUpstream,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    envs, keys = _keys(monkeypatch, 2)
    crafted.status, crafted.echo_headers = status, True
    crafted.reply = {"error": {"message": "Upstream unhappy", "type": "server_error"}}
    with Gateway(_inventory("openai_compatible", crafted.base_url, envs), db_url, tmp_path) as gw:
        code, reply = _ask(gw)
        assert code == 502
        message = reply["error"]["message"]
        assert "ep0" in message
        assert "ep1" in message
        assert "Upstream unhappy" in message
        _assert_nothing_leaks(gw, keys, reply, caplog)
