"""The OpenAI-compatible upstream adapter (OpenAI, vLLM, llama.cpp, Ollama's /v1, OpenRouter, ...).

One pooled `aiohttp.ClientSession` per process carries every upstream call: on the gateway's hot
path it gave several times httpx's throughput (docs/performance.md §Upstream HTTP client).
Transport errors and HTTP errors become `UpstreamFailure` with a failure class; secrets never enter
messages: an upstream's error text is scrubbed of the call's own key and of anything credential-like
(`rolecall.execution.secrets`) before it becomes a failure's message or body.
"""

from __future__ import annotations

import asyncio
import functools
import io
import os
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final

import aiohttp
import orjson

from rolecall.execution.failures import UpstreamFailure, classify_status, retry_after_ms
from rolecall.execution.secrets import error_reply_body, summarise
from rolecall.inventory.config import ENV_REFERENCE, ProviderConfig
from rolecall.providers.timeouts import IdleWatch, Timeouts

# delta fields that carry the answer: a stream has started once one of them is non-empty
CONTENT_KEYS: Final = (
    "content",
    "reasoning_content",
    "reasoning",
    "tool_calls",
    "function_call",
    "refusal",
)
# events held before the first content token; more means the upstream is not answering
MAX_HELD: Final = 64


LARGE_BODY: Final = 1024 * 1024


def llamacpp_body(body: Mapping[str, Any]) -> Mapping[str, Any]:
    """``body`` as a llama.cpp server takes it: a ``json_schema`` response format becomes
    ``{"type": "json_object", "schema": ...}``, the form both llama.cpp's own server and
    llama-cpp-python's turn into a grammar (the latter refuses ``json_schema`` with a 500)."""
    fmt = body.get("response_format")
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        return body
    spec = fmt.get("json_schema")
    schema = spec.get("schema") if isinstance(spec, dict) else None
    translated: dict[str, Any] = {"type": "json_object"}
    if isinstance(schema, dict):
        translated["schema"] = schema
    return {**body, "response_format": translated}


def resolve_api_key(provider: ProviderConfig) -> str | None:
    """Read the key from the environment variable the inventory references (never stored)."""
    if provider.api_key is None:
        return None
    match = ENV_REFERENCE.match(provider.api_key)
    return os.environ.get(match.group(1)) if match else None


@dataclass(slots=True)
class OpenStream:
    """An open streaming response that has produced its first content token, so a failure before
    it can still fall back. ``held`` are the events before that token (a role chunk, say),
    ``first`` the event carrying it, ``rest`` the events after; all OpenAI chunk payloads (JSON
    bytes). With ``strip_usage`` the upstream was asked for a usage chunk the client did not ask
    for: the relay records it and leaves it out."""

    held: tuple[bytes, ...]
    first: bytes
    rest: AsyncIterator[bytes]
    response: aiohttp.ClientResponse
    watch: IdleWatch
    strip_usage: bool = False

    async def close(self) -> None:
        self.watch.stop()
        self.response.release()


def _transport_failure(exc: BaseException, watch: IdleWatch | None = None) -> UpstreamFailure:
    if watch is not None and watch.fired:
        return UpstreamFailure("timeout", 0, f"upstream stream went idle ({exc})", in_flight=True)
    if isinstance(exc, TimeoutError):
        return UpstreamFailure("timeout", 0, "upstream connect timed out")
    return UpstreamFailure("network", 0, f"upstream connection failed: {type(exc).__name__}")


def _no_first_token(call: upstream_call, stream: bool) -> UpstreamFailure:
    what = "first token" if stream else "answer"
    message = f"upstream sent no {what} within {call.timeouts.first_token_s:g} s"
    return UpstreamFailure("timeout", 0, message, in_flight=True)


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


@functools.lru_cache(maxsize=64)
def _client_timeout(connect_s: float) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(total=None, sock_connect=connect_s)


class upstream_call:  # noqa: N801 - used like aiohttp's own context managers
    """``async with upstream_call(...) as response``: a POST whose transport errors are failures."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str,
        payload: Mapping[str, Any],
        headers: Mapping[str, str],
        timeouts: Timeouts,
    ) -> None:
        self._session = session
        self._url = url
        self._data = orjson.dumps(payload)
        self._headers = dict(headers)
        self.secrets = header_secrets(headers)
        self.timeouts = timeouts
        # no total: the caller bounds the wait for the first token, and a stream's idle gaps
        self._timeout = _client_timeout(timeouts.connect_s)
        self._response: aiohttp.ClientResponse | None = None

    async def __aenter__(self) -> aiohttp.ClientResponse:
        # aiohttp sends bytes in one go and warns past 1 MiB (a 7 MB prompt would hold the loop
        # while it is copied); a file-like body is sent in chunks
        data = self._data if len(self._data) <= LARGE_BODY else io.BytesIO(self._data)
        try:
            self._response = await self._session.post(
                self._url, data=data, headers=self._headers, timeout=self._timeout
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
    response: aiohttp.ClientResponse, watch: IdleWatch | None = None, *, require_done: bool = True
) -> AsyncIterator[bytes]:
    """Each SSE ``data:`` payload until ``[DONE]``. OpenAI streams end with ``[DONE]``, so with
    ``require_done`` a stream that ends without it was cut by the upstream and raises a failure,
    as does a payload that is not a JSON object (garbage). ``watch`` sees every line arrive."""
    try:
        async for line in response.content:
            if watch is not None:
                watch.touch()
            line = line.strip()
            if not line.startswith(b"data:"):
                continue
            payload = line[5:].strip()
            if payload == b"[DONE]":
                return
            if payload[:1] != b"{":
                raise UpstreamFailure("bad_response", 200, "upstream stream sent a non-JSON event")
            yield payload
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise _transport_failure(exc, watch) from None
    if require_done:
        raise UpstreamFailure("network", 0, "upstream stream ended without [DONE]")


def status_failure(
    status: int, raw: bytes, secrets: tuple[str, ...] = (), retry_after: str | None = None
) -> UpstreamFailure:
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
    body = error_reply_body(raw, secrets)
    return UpstreamFailure(failure, status, message, body, retry_after_ms(retry_after))


async def post_json(call: upstream_call) -> Any:
    """Send the call and parse its JSON answer; HTTP errors and non-JSON bodies are failures. The
    answer must come within the first-token timeout (for a non-streamed call, the generation)."""
    try:
        async with asyncio.timeout(call.timeouts.first_token_s), call as response:
            raw = await read_body(response)
            if response.status >= 400:
                retry_after = response.headers.get("retry-after")
                raise status_failure(response.status, raw, call.secrets, retry_after)
    except TimeoutError:
        raise _no_first_token(call, stream=False) from None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise UpstreamFailure("bad_response", 200, "upstream returned a non-JSON body") from None


ChunkReader = Callable[[aiohttp.ClientResponse, IdleWatch], AsyncIterator[bytes]]


async def open_stream(call: upstream_call, to_chunks: ChunkReader, strip_usage: bool) -> OpenStream:
    """Open a stream and read it up to its first content token (within the first-token timeout),
    so a failure or an end before any content can still fall back; ``to_chunks`` turns the
    response into OpenAI chunk payloads. From there on the stream may idle ``idle_s`` at most."""
    watch = IdleWatch()
    response: aiohttp.ClientResponse | None = None
    try:
        async with asyncio.timeout(call.timeouts.first_token_s):
            response = await call.__aenter__()
            if response.status >= 400:
                raw = await read_body(response)
                retry_after = response.headers.get("retry-after")
                raise status_failure(response.status, raw, call.secrets, retry_after)
            chunks = to_chunks(response, watch)
            held, first = await _until_content(chunks)
    except BaseException as exc:
        if response is not None:
            response.release()
        if isinstance(exc, TimeoutError):
            raise _no_first_token(call, stream=True) from None
        raise
    watch.arm(response, call.timeouts.idle_s)
    return OpenStream(held, first, chunks, response, watch, strip_usage)


async def _until_content(chunks: AsyncIterator[bytes]) -> tuple[tuple[bytes, ...], bytes]:
    held: list[bytes] = []
    async for event in chunks:
        if has_content(event):
            return tuple(held), event
        if len(held) >= MAX_HELD:
            raise UpstreamFailure(
                "bad_response", 200, f"upstream sent {MAX_HELD} events, no content"
            )
        held.append(event)
    raise UpstreamFailure("bad_response", 200, "upstream stream ended before any content")


def has_content(event: bytes) -> bool:
    """Whether a chunk starts the answer: content, reasoning, a tool call or a finish reason (an
    empty answer is an answer). An error event raises: before any content it falls back."""
    try:
        chunk = orjson.loads(event)
    except orjson.JSONDecodeError:
        raise UpstreamFailure(
            "bad_response", 200, "upstream stream sent a non-JSON event"
        ) from None
    if not isinstance(chunk, dict):
        raise UpstreamFailure("bad_response", 200, "upstream stream sent a non-object event")
    error = chunk.get("error")
    if error is not None:
        detail = error.get("message") if isinstance(error, dict) else error
        message = summarise(f"upstream stream reported an error: {detail}", limit=300)
        raise UpstreamFailure("upstream_5xx", 200, message)
    choices = chunk.get("choices")
    for choice in choices if isinstance(choices, list) else ():
        if not isinstance(choice, dict):
            continue
        if choice.get("finish_reason"):
            return True
        delta = choice.get("delta")
        if isinstance(delta, dict) and any(delta.get(key) for key in CONTENT_KEYS):
            return True
    return False


class OpenAICompatAdapter:
    """Sends chat-completion bodies to ``{base_url}/chat/completions``, embeddings bodies to
    ``{base_url}/embeddings``."""

    def __init__(self, session: aiohttp.ClientSession, timeouts: Timeouts) -> None:
        self._session = session
        self._timeouts = timeouts

    def _call(
        self,
        provider: ProviderConfig,
        body: Mapping[str, Any],
        extra: Mapping[str, str] | None = None,
        path: str = "/chat/completions",
    ) -> upstream_call:
        headers = {"content-type": "application/json"}
        if extra:
            headers.update(extra)
        key = resolve_api_key(provider)
        if key:
            headers["authorization"] = f"Bearer {key}"
        if provider.kind == "llamacpp" and path == "/chat/completions":
            body = llamacpp_body(body)
        url = f"{provider.base_url}{path}"
        timeouts = self._timeouts.for_provider(provider)
        return upstream_call(self._session, url, body, headers, timeouts)

    async def complete(
        self,
        provider: ProviderConfig,
        body: Mapping[str, Any],
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        parsed = await post_json(self._call(provider, body, headers))
        if not isinstance(parsed, dict) or not isinstance(parsed.get("choices"), list):
            raise UpstreamFailure("bad_response", 200, "upstream response has no choices")
        return parsed

    async def embed(
        self,
        provider: ProviderConfig,
        body: Mapping[str, Any],
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        parsed = await post_json(self._call(provider, body, headers, "/embeddings"))
        if not isinstance(parsed, dict) or not isinstance(parsed.get("data"), list):
            raise UpstreamFailure("bad_response", 200, "upstream embeddings response has no data")
        return parsed

    async def stream(
        self,
        provider: ProviderConfig,
        body: Mapping[str, Any],
        headers: Mapping[str, str] | None = None,
    ) -> OpenStream:
        """Open a stream up to its first content token; raise `UpstreamFailure` if that fails.
        The upstream is asked for a usage chunk (exact token counts) unless the provider is
        configured not to be; the client's own ``stream_options`` are kept."""
        strip = False
        if provider.stream_usage:
            options = body.get("stream_options")
            if not isinstance(options, dict):
                options = {}
            if not options.get("include_usage"):
                body = {**body, "stream_options": {**options, "include_usage": True}}
                strip = True
        return await open_stream(self._call(provider, body, headers), sse_payloads, strip)
