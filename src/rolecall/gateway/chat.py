"""``POST /v1/chat/completions``: route, execute with fallback, relay, record.

The use case's path: parse and infer requirements → `Router.decide` → execute the decision (retry,
fallback, cooldown) → a `ChatReply` (JSON or SSE) with ``x-rolecall-decision-id`` and the real
chosen model → queue the records. Nothing on this path waits for the database. It knows no HTTP
framework: `rolecall.gateway.chat_asgi` serves it (and the console's test prompt calls it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import orjson

from rolecall.execution.executor import Outcome
from rolecall.execution.failures import UpstreamFailure
from rolecall.execution.secrets import error_reply_body, summarise
from rolecall.execution.tracecontext import TraceContext
from rolecall.gateway.availability import cooldown_ends, no_endpoint_answer, panic_order
from rolecall.gateway.decide import decide
from rolecall.gateway.limits_gate import Estimate, Gate, admit, cost_micros, refused_body
from rolecall.gateway.request_ids import new_request_id
from rolecall.gateway.targets import resolve_target, routing_request
from rolecall.gateway.wire import (
    ChatRequest,
    WireError,
    error_body,
    parse_chat_request,
    usage_counts,
)
from rolecall.gateway.wire_identity import NO_IDENTITY
from rolecall.gateway.wire_intent import RESPONSE_HEADER as INTENT_HEADER
from rolecall.inventory.config import ExecutionScope
from rolecall.observe.identity import RequestIdentity
from rolecall.observe.observation import RequestRecord, new_id
from rolecall.routing import Decision
from rolecall.services import Services
from rolecall.storage.keys import ApiKeyRecord

log = logging.getLogger("rolecall.gateway")


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


# What a door stores with an answered request's records (the Responses door's stored response):
# called with the completion (None for a stream that finished) right before the request is
# recorded, so that it reaches the spool with the records, before the answer's last bytes.
Keep = Callable[[Mapping[str, Any] | None], dict[str, Any] | None]


@dataclass(slots=True)
class ChatReply:
    """The answer: a JSON body, or an SSE ``stream`` of ready-to-send event bytes."""

    status: int
    headers: dict[str, str]
    body: bytes = b""
    stream: AsyncIterator[bytes] | None = None


def body_too_large(limit: int) -> WireError:
    return WireError(413, f"request body exceeds {limit} bytes", code="request_too_large")


def cost_text(usd: float) -> str:
    """A USD amount as a plain decimal (no exponent), to a hundredth of a micro-dollar."""
    return f"{usd:.8f}".rstrip("0").rstrip(".") or "0"


def request_identity(
    identity: RequestIdentity, key: ApiKeyRecord | None, client_request_id: str | None
) -> RequestIdentity | None:
    """Who a request is for (what its body said, its key's team, the client's request id); None
    when neither the client nor its key said (the usual case costs no object)."""
    team = key.team if key is not None else None
    if team is None and client_request_id is None and identity is NO_IDENTITY:
        return None
    return replace(identity, team=team, client_request_id=client_request_id)


async def chat_completions(
    services: Services,
    raw: bytes,
    request_headers: Mapping[str, str],
    app_id: str,
    key: ApiKeyRecord | None = None,
    request_id: str | None = None,
    client_request_id: str | None = None,
) -> ChatReply:
    """Serve one request (raises `WireError` for a request the gateway refuses) for ``app_id``
    (the gateway key's id); ``key``'s limits, and the file's, apply. ``request_id`` is the
    record's id (new when None); ``client_request_id`` the client's own ``x-request-id``.

    The request takes one routing view and keeps it: routed, executed and recorded against the
    same inventory whatever the operator changes meanwhile.
    """
    if len(raw) > services.settings.max_body_bytes:
        raise body_too_large(services.settings.max_body_bytes)
    chat = parse_chat_request(raw, request_headers)
    return await run_chat(
        services, chat, request_headers, app_id, key, request_id, client_request_id
    )


async def run_chat(
    services: Services,
    chat: ChatRequest,
    request_headers: Mapping[str, str],
    app_id: str,
    key: ApiKeyRecord | None = None,
    request_id: str | None = None,
    client_request_id: str | None = None,
    keep: Keep | None = None,
) -> ChatReply:
    """Route, execute and record a checked chat request: the one path every front door takes
    (`chat_completions` here; the Responses, Messages and completions doors translate to a
    `ChatRequest` first and translate the reply back). A streamed reply's events are
    ``b"data: <chunk JSON>\n\n"`` each, an error event if the stream was cut, then
    ``b"data: [DONE]\n\n"``. ``keep`` (see `Keep`) hears of a successful answer only."""
    started = _now_ms()
    view = services.routing.view
    inventory = view.inventory
    target = resolve_target(chat.model, inventory)
    request_id = request_id or new_request_id()
    routing, intent = routing_request(chat, target, inventory, request_id, app_id)
    decided = await decide(services, view, chat, target, routing, intent, started)
    decision = decided.decision
    trace = TraceContext.inbound(
        request_headers.get("traceparent"), request_headers.get("tracestate"), new_id(16)
    )
    record = RequestRecord(
        request_id=request_id,
        trace_id=trace.trace_id,
        app_id=app_id,
        decision=decision,
        started_ms=started,
        decided_ms=_now_ms(),
        ended_ms=0,
        outcome=None,
        endpoints=inventory.endpoints,
        estimated_tokens_in=chat.prompt_tokens_estimate,
        parent_span_id=trace.parent_id,
        sampled=trace.sampled,
        body=chat.body,
        identity=request_identity(chat.identity, key, client_request_id),
        capture_chars=inventory.routing.prompt_capture.chars_for(request_id),
    )
    headers = {
        "x-rolecall-decision-id": decision.routing_decision_id,
        "x-rolecall-request-id": request_id,
    }
    if intent is not None:
        headers[INTENT_HEADER] = intent.header()
    if decided.plan_report is not None:
        record.plan = decided.plan_report
        headers.update(decided.headers)
    unexecuted, panic = not_executed(services, record, target.scope, headers)
    if unexecuted is not None:
        return unexecuted
    gate, panic = await admitted(services, key, chat, record, panic)
    if gate.refused is not None:
        return over_budget_reply(services, record, gate, headers)
    outcome = await services.executor.run(
        record.decision,
        chat.body,
        inventory.endpoints,
        stream=chat.stream,
        panic=panic,
        trace=trace,
    )
    record.outcome = outcome
    if outcome.panic:
        headers["x-rolecall-panic"] = "true"
    if not outcome.ok:
        return failure_reply(services, gate, record, outcome, headers)
    assert outcome.endpoint is not None
    headers["x-rolecall-endpoint"] = outcome.endpoint.endpoint_id
    headers["x-rolecall-model"] = outcome.endpoint.model
    if outcome.stream is not None:
        return ChatReply(200, headers, stream=_relay(services, record, outcome, gate, keep))
    response = outcome.response or {}
    tokens_in, tokens_out = usage_counts(response.get("usage"))
    record.tokens_in = tokens_in or chat.prompt_tokens_estimate
    record.tokens_out = tokens_out or 0
    record.ended_ms = _now_ms()
    settle(services, gate, record, outcome)
    if keep is not None:
        record.stored_response = _kept(keep, response)
    services.recorder.record(record)
    services.shadow.offer(record, response)
    cost = outcome.endpoint.request_cost(record.tokens_in, record.tokens_out)
    if cost is not None:  # streamed answers have none: their cost is known after the headers
        headers["x-rolecall-cost-usd"] = cost_text(cost)
    return ChatReply(200, headers, orjson.dumps(response))


def _kept(keep: Keep, completion: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """What ``keep`` returns; a door's failure there costs what it keeps, never the record."""
    try:
        return keep(completion)
    except Exception:
        log.exception("a front door failed to keep its answer; the request is recorded without")
        return None


def not_executed(
    services: Services, record: RequestRecord, scope: ExecutionScope, headers: dict[str, str]
) -> tuple[ChatReply | None, list[str]]:
    """(The recorded answer of a request nothing executes, the panic order). Nothing executes
    under ``decision_only`` (the decision is the answer) or when no endpoint was chosen and none
    is merely cooling (503 or 400). The panic order is empty unless every endpoint that could
    serve is cooling down."""
    decision = record.decision
    panic: list[str] = []
    if not decision.chosen_endpoint_id and scope != "decision_only":
        state = services.routing
        panic = panic_order(decision.eligibility, state.cooldowns, state.is_offline, _now_ms())
    if scope != "decision_only" and (decision.chosen_endpoint_id or panic):
        return None, panic
    record.ended_ms = _now_ms()
    if not decision.chosen_endpoint_id:
        reply = _unavailable(services, decision, headers, record.ended_ms)
    else:
        body = {"object": "rolecall.decision", "decision": decision.to_artifact()}
        reply = ChatReply(200, headers, orjson.dumps(body))
    return recorded(services, record, reply), panic


async def admitted(
    services: Services,
    key: ApiKeyRecord | None,
    request: Estimate,
    record: RequestRecord,
    panic: list[str],
) -> tuple[Gate, list[str]]:
    """The request's limits checked on its chain (or the panic order): the gate, and the panic
    order it leaves. A gate that moved the request down its chain replaces the record's
    decision."""
    decision = record.decision
    order = panic or (decision.chosen_endpoint_id, *decision.fallback_endpoint_ids)
    gate = await admit(services.limits, key, request, decision, order, record.endpoints)
    if gate.decision is not None:
        record.decision = gate.decision
        panic = list(gate.order) if panic and gate.order is not None else panic
    return gate, panic


def failure_reply(
    services: Services, gate: Gate, record: RequestRecord, outcome: Outcome, headers: dict[str, str]
) -> ChatReply:
    """A failed outcome, its reservation released and recorded: 503/400 when it ran on cooling
    endpoints and they failed as an outage would, else the failure's own answer."""
    services.limits.release(gate.admission)
    record.ended_ms = _now_ms()
    failure = outcome.failure
    if outcome.panic and failure is not None and failure.falls_back:
        reply = _unavailable(services, record.decision, headers, record.ended_ms)
    else:
        reply = _failed(outcome, headers)
    return recorded(services, record, reply)


def over_budget_reply(
    services: Services, record: RequestRecord, gate: Gate, headers: dict[str, str]
) -> ChatReply:
    """The 429 of a request no candidate's budget could take, recorded with its decision."""
    assert gate.refused is not None
    record.refusal = "budget_exceeded"
    record.ended_ms = _now_ms()
    return recorded(services, record, ChatReply(429, headers, refused_body(gate.refused, headers)))


def recorded(services: Services, record: RequestRecord, reply: ChatReply) -> ChatReply:
    """Record a request answered without an upstream's answer (a decision, a refusal, a
    failure), with the status of ``reply``."""
    record.status = reply.status
    services.recorder.record(record)
    return reply


def settle(services: Services, gate: Gate, record: RequestRecord, outcome: Outcome) -> None:
    """Settle the request's reservation at the tokens it used, priced on the endpoint that
    answered (in the background)."""
    if gate.admission is None or outcome.endpoint is None:
        return
    cost = cost_micros(outcome.endpoint, record.tokens_in, record.tokens_out)
    services.limits.settle(gate.admission, record.tokens_in + record.tokens_out, cost)


async def _relay(
    services: Services, record: RequestRecord, outcome: Outcome, gate: Gate, keep: Keep | None
) -> AsyncIterator[bytes]:
    """Relay the upstream SSE stream (it has produced its first content token). A stream cut
    after that — an upstream error, a reset, an idle timeout, garbage, or an end without a
    finish reason — ends with a ``stream_truncated`` error event, is recorded as failed and
    counts towards the endpoint's cooldown. ``keep`` hears of a stream relayed to its end
    (not of one cut, nor of one the client left)."""
    stream = outcome.stream
    assert stream is not None
    assert outcome.endpoint is not None
    strip = stream.strip_usage
    chunks = 0
    finished = relayed = False
    cause = ""
    graded = services.shadow.collector(record)  # a no-op unless the request is picked
    try:
        for payload in (*stream.held, stream.first):
            chunks += _account(record, payload)
            finished = finished or _finishes(payload)
            graded.add(payload)
            yield b"data: " + payload + b"\n\n"
        async for payload in stream.rest:
            chunks += _account(record, payload)
            graded.add(payload)
            if strip and b'"usage"' in payload and _usage_only(payload):
                continue
            finished = finished or _finishes(payload)
            yield b"data: " + payload + b"\n\n"
        relayed = finished
        if not finished:
            cause = "ended without a finish reason"
    except UpstreamFailure as failure:
        cause = f"was cut ({failure.message})"
    except Exception as exc:  # any upstream break mid-stream ends the same way
        cause = f"was cut ({type(exc).__name__})"
    finally:
        await stream.close()
        if cause:
            record.stream_error = "stream_truncated"
            services.executor.stream_failed(outcome.endpoint.endpoint_id, _now_ms())
        if not record.tokens_out:
            record.tokens_out = chunks
        if not record.tokens_in:
            record.tokens_in = record.estimated_tokens_in
        record.ended_ms = _now_ms()
        settle(services, gate, record, outcome)
        if keep is not None and relayed:
            record.stored_response = _kept(keep, None)
        services.recorder.record(record)
        graded.finish(relayed)
    if cause:
        message = f"upstream stream {cause} after {chunks} chunks"
        yield b"data: " + error_body(message, "upstream_error", code="stream_truncated") + b"\n\n"
    yield b"data: [DONE]\n\n"


def _usage_only(payload: bytes) -> bool:
    """Whether a chunk is the usage chunk ``include_usage`` adds (no choices, just usage)."""
    try:
        chunk = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return False
    return isinstance(chunk, dict) and chunk.get("choices") == [] and "usage" in chunk


def _finishes(payload: bytes) -> bool:
    """Whether a chunk carries a finish reason (a string, not the ``null`` of the chunks before),
    read off the bytes: JSON from orjson and from Python's encoder (``": "``) alike."""
    return b'"finish_reason":"' in payload or b'"finish_reason": "' in payload


def _account(record: RequestRecord, payload: bytes) -> int:
    """Count content chunks and pick up the usage chunk when the upstream sends one."""
    if b'"usage"' in payload:
        try:
            usage: Any = orjson.loads(payload).get("usage")
        except (orjson.JSONDecodeError, AttributeError):
            usage = None
        if isinstance(usage, dict):  # ``"usage": null`` rides on every chunk of some upstreams
            tokens_in, tokens_out = usage_counts(usage)
            record.tokens_in = tokens_in or 0
            record.tokens_out = tokens_out or 0
    return 1 if b'"content"' in payload or b'"tool_calls"' in payload else 0


def _unavailable(
    services: Services, decision: Decision, headers: dict[str, str], now_ms: int
) -> ChatReply:
    ends = cooldown_ends(services.routing.cooldowns, now_ms)
    answer = no_endpoint_answer(decision.eligibility, ends, now_ms)
    return _no_endpoint(decision, answer.status, answer.retry_after_s, headers)


def _no_endpoint(
    decision: Decision, status: int, retry_after_s: int | None, headers: dict[str, str]
) -> ChatReply:
    detail = "; ".join(f"{eid}: {', '.join(c for c, _ in ex)}" for eid, ex in decision.eligibility)
    message = f"no eligible endpoint for this request ({detail or 'no endpoints configured'})"
    if retry_after_s is not None:
        headers["retry-after"] = str(retry_after_s)
        message += f"; temporarily unavailable, retry after {retry_after_s} s"
    kind = "service_unavailable" if status == 503 else "invalid_request_error"
    return ChatReply(status, headers, error_body(message, kind, code="no_eligible_endpoint"))


def _failed(outcome: Outcome, headers: dict[str, str]) -> ChatReply:
    """The client's error for a failed outcome. An upstream's 4xx body is relayed only as an
    OpenAI-style error rebuilt from its scrubbed ``error`` fields (the adapters scrubbed it with
    the provider's key; this pass again catches anything credential-like)."""
    failure = outcome.failure
    assert failure is not None
    if failure.failure == "invalid_request":
        if failure.body:
            body = error_reply_body(failure.body)
        else:
            body = error_body(summarise(failure.message), "invalid_request_error")
        return ChatReply(failure.status or 400, headers, body)
    tried = ", ".join(dict.fromkeys(a.endpoint_id for a in outcome.attempts))
    message = f"every eligible endpoint failed (tried {tried}); last error: {failure.message}"
    return ChatReply(
        502, headers, error_body(summarise(message), "upstream_error", code=failure.failure)
    )
