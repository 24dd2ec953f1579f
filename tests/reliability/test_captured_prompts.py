"""Captured prompts never cost a request its records: a prompt with NUL characters (JSON allows
``\\u0000``, PostgreSQL's text refuses it) is stored cleaned, in the records' transaction, on
both backends; a prompt of megabytes over thousands of turns is answered and stored cut to its
limit; the records of requests after them are stored as usual."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rolecall.providers.scripted import ScriptedUpstream
from tests.integration.gateway.harness import Gateway, openai_provider

LIMIT = 1000


@pytest.fixture
def upstream() -> Iterator[Any]:
    handle = ScriptedUpstream.start_in_thread({"models": {"model-a": {"answer": "ok"}}})
    yield handle
    handle.stop()


def _config(upstream: Any) -> dict[str, Any]:
    return {
        "providers": {"a": openai_provider(upstream.base_url, local=False)},
        # a window for the megabytes of prompt: the router would turn them away otherwise
        "endpoints": [
            {"provider": "a", "model": "model-a", "id": "ep-a", "context_window": 10_000_000}
        ],
        "routing": {"prompt_capture": {"enabled": True, "max_chars": LIMIT}},
    }


def _ask(gw: Gateway, messages: list[dict[str, Any]]) -> str:
    with gw.client() as client:
        answered = client.chat.completions.with_raw_response.create(
            model="ep-a", messages=messages, max_tokens=4
        )
    assert answered.http_response.status_code == 200
    return str(answered.headers["x-request-id"])


def test_hostile_prompts_are_bounded_and_never_lose_the_records(
    upstream: Any, db_url: str, tmp_path: Path
) -> None:
    with Gateway(_config(upstream), db_url, tmp_path) as gw:
        nul = _ask(gw, [{"role": "user", "content": "before\x00after \x00"}])
        turns = [{"role": "user", "content": "\x00" + "y" * 2000} for _ in range(2000)]
        huge = _ask(gw, turns)  # about 4 MB of prompt
        after = _ask(gw, [{"role": "user", "content": "plain"}])
        assert gw.services.recorder.flush(30)
        storage = gw.services.storage
        for request_id in (nul, huge, after):
            assert storage.usage.lookup(request_id)[1] != [], request_id

        stored = storage.prompts.get(nul)
        assert stored is not None
        assert (stored.prompt, stored.truncated) == ("before\ufffdafter \ufffd", False)
        big = storage.prompts.get(huge)
        assert big is not None
        assert (len(big.prompt), big.truncated) == (LIMIT, True)
        assert big.prompt.startswith("\ufffdyyy")
        plain = storage.prompts.get(after)
        assert plain is not None
        assert plain.prompt == "plain"
