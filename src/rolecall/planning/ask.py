"""One constrained-JSON question to one inventory endpoint, bounded by a timeout: the call the
routing controller and the difficulty classifier endpoint both make.

The endpoint is called through execution's `Upstreams` port (the adapters the executor uses), at
temperature 0 with a ``response_format`` JSON schema (llama.cpp's server turns it into a
grammar; OpenAI-compatible servers constrain or ignore it). Whatever goes wrong becomes a status,
never an exception: a planner's question must not fail the request it plans.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from rolecall.benchmark.reply import parse_completion
from rolecall.execution.failures import UpstreamFailure
from rolecall.execution.ports import Upstreams
from rolecall.inventory.inventory import Endpoint
from rolecall.observe.prompt_capture import message_text

AskStatus = Literal["ok", "timeout", "upstream_error"]
CHARS_PER_TOKEN: Final = 4  # a rough count for estimates, before any tokenizer is at hand
_CUT: Final = " […]"


@dataclass(frozen=True, slots=True)
class Asked:
    """What the endpoint answered (``text``) or why there is no answer (``detail``)."""

    status: AskStatus
    latency_ms: float
    text: str = ""
    tokens_in: int = 0
    tokens_out: int = 0
    detail: str = ""


def response_format(name: str, schema: Mapping[str, Any]) -> dict[str, Any]:
    """The OpenAI ``response_format`` asking for JSON that follows ``schema``."""
    return {
        "type": "json_schema",
        "json_schema": {"name": name, "strict": True, "schema": dict(schema)},
    }


def estimate_tokens(messages: Sequence[Mapping[str, Any]]) -> int:
    """A rough token count of chat messages (text over 4 characters, plus a few per message)."""
    chars = sum(len(message_text(m)) for m in messages)
    return chars // CHARS_PER_TOKEN + 4 * len(messages)


def cut(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters (its head, marked when cut)."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - len(_CUT))] + _CUT


def request_text(messages: Sequence[Mapping[str, Any]], limit: int) -> str:
    """What a planner is shown of a conversation, in at most ``limit`` characters: a one-line
    summary of the turns before it, then the last user turn (cut)."""
    last_user = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=None)
    earlier = messages if last_user is None else messages[:last_user]
    roles: dict[str, int] = {}
    for m in earlier:
        name = str(m.get("role") or "unknown")
        roles[name] = roles.get(name, 0) + 1
    counts = ", ".join(f"{n} {name}" for name, n in sorted(roles.items()))
    summary = f"Earlier turns: {counts or 'none'}."
    if any(m.get("role") == "tool" or m.get("tool_calls") for m in messages):
        summary += " Tools were used in this conversation."
    last = "" if last_user is None else message_text(messages[last_user])
    head = f"{summary}\nLast user turn:\n"
    return cut(head + last, limit)


async def ask_endpoint(
    upstreams: Upstreams,
    endpoint: Endpoint,
    messages: Sequence[Mapping[str, Any]],
    *,
    schema_name: str,
    schema: Mapping[str, Any],
    max_tokens: int,
    timeout_ms: int,
) -> Asked:
    """Ask ``endpoint`` once for JSON following ``schema``; never raises for the endpoint's sake."""
    body = {
        "model": endpoint.model,
        "messages": [dict(m) for m in messages],
        "temperature": 0,
        "max_tokens": max_tokens,
        "response_format": response_format(schema_name, schema),
    }
    started = time.perf_counter()

    def elapsed() -> float:
        return (time.perf_counter() - started) * 1000

    try:
        adapter = upstreams.adapter(endpoint.provider.kind)
        raw = await asyncio.wait_for(adapter.complete(endpoint.provider, body), timeout_ms / 1000)
    except TimeoutError:
        return Asked("timeout", elapsed(), detail=f"no answer within {timeout_ms} ms")
    except UpstreamFailure as failure:
        status: AskStatus = "timeout" if failure.failure == "timeout" else "upstream_error"
        return Asked(status, elapsed(), detail=f"{failure.failure}: {failure.message}")
    except RuntimeError as exc:  # no adapter for the provider kind, clients not open
        return Asked("upstream_error", elapsed(), detail=str(exc))
    reply = parse_completion(raw, elapsed())
    return Asked("ok", reply.latency_ms, reply.text, reply.tokens_in, reply.tokens_out)
