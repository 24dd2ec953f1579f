"""The OpenAI-compatible upstream adapter (OpenAI, vLLM, llama.cpp, Ollama's /v1, OpenRouter, ...).

One pooled `aiohttp.ClientSession` per process carries every upstream call: on the gateway's hot
path it gave several times httpx's throughput (docs/performance.md §Upstream HTTP client).
Transport errors and HTTP errors become `UpstreamFailure` with a failure class; secrets never enter
messages: an upstream's error text is scrubbed of the call's own key and of anything credential-like
(`rolecall.execution.secrets`) before it becomes a failure's message or body.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import aiohttp
import orjson

from rolecall.execution.failures import UpstreamFailure, classify_status
from rolecall.execution.secrets import error_reply_body, summarise
from rolecall.inventory.config import ENV_REFERENCE, ProviderConfig


def resolve_api_key(provider: ProviderConfig) -> str | None:
    """Read the key from the environment variable the inventory references (never stored)."""
    if provider.api_key is None:
        return None
    match = ENV_REFERENCE.match(provider.api_key)
    return os.environ.get(match.group(1)) if match else None


@dataclass(slots=True)
class OpenStream:
    """An open streaming response whose first event is already read, so a failure before the first
    token can still fall back. ``first`` and ``rest`` are OpenAI chunk payloads (JSON bytes)."""

    first: bytes
    rest: AsyncIterator[bytes]
    response: aiohttp.ClientResponse

    async def close(self) -> None:
        self.response.release()


def _transport_failure(exc: BaseException) -> UpstreamFailure:
    if isinstance(exc, TimeoutError):
        return UpstreamFailure("timeout", 0, "upstream timed out")
    return UpstreamFailure("network", 0, f"upstream connection failed: {type(exc).__name__}")


def header_secrets(headers: Mapping[str, str]) -> tuple[str, ...]:
    """The credentials a call carries (``authorization`` with and without its scheme,
    ``x-api-key``): known secrets to scrub from whatever the upstream answers."""
    found: list[str] = []
    for name, value in headers.items():
        if name.lower() in ("authorization", "x-api-key", "api-key") and value:
            found.append(value)
            scheme, _, token = value.partition(" ")
            if token and scheme.lower() in ("bearer", "basic"):
                found.append(token.strip())
    return tuple(found)


class upstream_call:  # noqa: N801 - used like aiohttp's own context managers
    """``async with upstream_call(...) as response``: a POST whose transport errors are failures."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str,
        payload: Mapping[str, Any],
        headers: Mapping[str, str],
        timeout_s: float,
    ) -> None:
        self._session = session
        self._url = url
        self._data = orjson.dumps(payload)
        self._headers = dict(headers)
        self.secrets = header_secrets(headers)
        self._timeout = aiohttp.ClientTimeout(total=timeout_s, sock_connect=10)
        self._response: aiohttp.ClientResponse | None = None

    async def __aenter__(self) -> aiohttp.ClientResponse:
        try:
            self._response = await self._session.post(
                self._url, data=self._data, headers=self._headers, timeout=self._timeout
            )
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _transport_failure(exc) from None
        return self._response

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._response is not None:
            self._response.release()


async def read_body(response: aiohttp.ClientResponse) -> bytes:
    try:
        return await response.read()
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise _transport_failure(exc) from None


async def sse_payloads(
    response: aiohttp.ClientResponse, *, require_done: bool = True
) -> AsyncIterator[bytes]:
    """Each SSE ``data:`` payload until ``[DONE]``. OpenAI streams end with ``[DONE]``, so with
    ``require_done`` a stream that ends without it was cut by the upstream and raises a failure."""
    try:
        async for line in response.content:
            line = line.strip()
            if not line.startswith(b"data:"):
                continue
            payload = line[5:].strip()
            if payload == b"[DONE]":
                return
            yield payload
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise _transport_failure(exc) from None
    if require_done:
        raise UpstreamFailure("network", 0, "upstream stream ended without [DONE]")


def status_failure(status: int, raw: bytes, secrets: tuple[str, ...] = ()) -> UpstreamFailure:
    """The failure for an HTTP error reply. Its message summarises the upstream's
    ``error.message`` and its body is an OpenAI-style error, both scrubbed of ``secrets`` and of
    anything credential-like: the raw reply goes no further than this function."""
    failure = classify_status(status, raw)
    message = f"upstream returned HTTP {status}"
    try:
        err = orjson.loads(raw).get("error")
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            message += f": {summarise(err['message'], secrets, limit=300)}"
    except (orjson.JSONDecodeError, AttributeError):
        pass
    return UpstreamFailure(failure, status, message, error_reply_body(raw, secrets))


async def post_json(call: upstream_call) -> Any:
    """Send the call and parse its JSON answer; HTTP errors and non-JSON bodies are failures."""
    async with call as response:
        raw = await read_body(response)
        if response.status >= 400:
            raise status_failure(response.status, raw, call.secrets)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise UpstreamFailure("bad_response", 200, "upstream returned a non-JSON body") from None


async def open_stream(
    call: upstream_call,
    to_chunks: Callable[[aiohttp.ClientResponse], AsyncIterator[bytes]],
) -> OpenStream:
    """Open a stream and read its first chunk, so a failure before the first token can still fall
    back; ``to_chunks`` turns the response into OpenAI chunk payloads."""
    response = await call.__aenter__()
    if response.status >= 400:
        raw = await read_body(response)
        response.release()
        raise status_failure(response.status, raw, call.secrets)
    chunks = to_chunks(response)
    try:
        first = await anext(chunks)
    except StopAsyncIteration:
        response.release()
        raise UpstreamFailure(
            "bad_response", 200, "upstream stream ended before any event"
        ) from None
    except UpstreamFailure:
        response.release()
        raise
    return OpenStream(first=first, rest=chunks, response=response)


class OpenAICompatAdapter:
    """Sends chat-completion bodies to ``{base_url}/chat/completions``."""

    def __init__(self, session: aiohttp.ClientSession, timeout_s: float) -> None:
        self._session = session
        self._timeout_s = timeout_s

    def _call(self, provider: ProviderConfig, body: Mapping[str, Any]) -> upstream_call:
        headers = {"content-type": "application/json"}
        key = resolve_api_key(provider)
        if key:
            headers["authorization"] = f"Bearer {key}"
        url = f"{provider.base_url}/chat/completions"
        return upstream_call(
            self._session, url, body, headers, provider.timeout_s or self._timeout_s
        )

    async def complete(self, provider: ProviderConfig, body: Mapping[str, Any]) -> dict[str, Any]:
        parsed = await post_json(self._call(provider, body))
        if not isinstance(parsed, dict) or not isinstance(parsed.get("choices"), list):
            raise UpstreamFailure("bad_response", 200, "upstream response has no choices")
        return parsed

    async def stream(self, provider: ProviderConfig, body: Mapping[str, Any]) -> OpenStream:
        """Open a stream and read its first event; raise `UpstreamFailure` if that fails."""
        return await open_stream(self._call(provider, body), sse_payloads)
