"""The access log: one line per chat completion, and a warning for what went wrong on the way.

A `RequestListener`: every request answered ends in one ``rolecall.access`` line at info (request
id, key id, endpoint, model, status, latency, time to first token, tokens, cost, fallbacks,
refusal, error class), and ``rolecall.gateway`` warnings for the failed upstream attempts, each
fallback, a stream cut mid-way, and budget or rate-limit refusals. Lines carry ids, names, codes
and numbers only: never a prompt, an answer, a key or an upstream's error text about a rejected
request (which may quote the prompt). Records are made here without what `Logger.info` looks up
for every record (the caller's frame, the thread's and process's names), and formatted off the
event loop (`rolecall.telemetry.logs`).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Final

from rolecall.execution.executor import Outcome
from rolecall.execution.secrets import summarise
from rolecall.observe.listeners import TurnedAway
from rolecall.observe.observation import RequestRecord, final_endpoint_id

__all__ = ["ACCESS", "EVENTS", "AccessLog"]

ACCESS: Final = logging.getLogger("rolecall.access")
EVENTS: Final = logging.getLogger("rolecall.gateway")


# What every record of this module holds but its name, level, message, time and fields: made
# once, so that a line costs no `logging.LogRecord.__init__` (the caller's file and the thread's
# and process's names, looked up anew for every record).
_TEMPLATE: Final = logging.LogRecord(__name__, logging.INFO, __file__, 0, "", (), None)


def emit(logger: logging.Logger, level: int, message: str, fields: dict[str, Any]) -> None:
    """Log ``message`` with ``fields`` (the formatter adds them to the line)."""
    record = logging.LogRecord.__new__(logging.LogRecord)
    record.__dict__.update(_TEMPLATE.__dict__)
    now = time.time()
    record.name = logger.name
    record.levelno = level
    record.levelname = logging.getLevelName(level)
    record.msg = message
    record.created = now
    record.msecs = (now - int(now)) * 1000
    record.relativeCreated = _TEMPLATE.relativeCreated + (now - _TEMPLATE.created) * 1000
    record.fields = fields
    logger.handle(record)


class AccessLog:
    """Writes the access line and the warnings of each request."""

    def recorded(self, record: RequestRecord) -> None:
        if ACCESS.isEnabledFor(logging.INFO):
            emit(ACCESS, logging.INFO, "request", access_fields(record))
        if EVENTS.isEnabledFor(logging.WARNING):
            _warnings(record)

    def turned_away(self, request: TurnedAway) -> None:
        if ACCESS.isEnabledFor(logging.INFO):
            fields = {
                "request_id": None,
                "key_id": request.key_id,
                "endpoint": "none",
                "status": request.status,
                "latency_ms": round(request.elapsed_s * 1000, 3),
                "refusal": request.refusal,
                "error": request.code,
            }
            emit(ACCESS, logging.INFO, "request", fields)
        if request.refusal is not None and EVENTS.isEnabledFor(logging.WARNING):
            fields = {"key_id": request.key_id, "refusal": request.refusal}
            emit(EVENTS, logging.WARNING, "request refused by a rate limit", fields)


def access_fields(record: RequestRecord) -> dict[str, Any]:
    """The access line's facts about one request."""
    outcome = record.outcome
    endpoint_id = final_endpoint_id(record)
    endpoint = record.endpoints.get(endpoint_id)
    first_byte_ms = cost = None
    if outcome is not None and outcome.ok and outcome.attempts:
        first_byte_ms = outcome.attempts[-1].first_byte_ms
        if endpoint is not None:
            cost = endpoint.request_cost(record.tokens_in, record.tokens_out)
    return {
        "request_id": record.request_id,
        "key_id": record.app_id,
        "endpoint": endpoint_id,
        "model": endpoint.model if endpoint is not None else None,
        "role": record.decision.context.request.requested_role_id,
        "status": record.status,
        "latency_ms": record.ended_ms - record.started_ms,
        "ttft_ms": None if first_byte_ms is None else first_byte_ms - record.started_ms,
        "tokens_in": record.tokens_in,
        "tokens_out": record.tokens_out,
        "cost_usd": cost,
        "fallbacks": 0 if outcome is None else _fallbacks(outcome),
        "refusal": _refusal(record),
        "error": _error(record),
    }


def _fallbacks(outcome: Outcome) -> int:
    moves = 0
    for previous, attempt in zip(outcome.attempts, outcome.attempts[1:], strict=False):
        moves += attempt.endpoint_id != previous.endpoint_id
    return moves


def _refusal(record: RequestRecord) -> str | None:
    if record.refusal is not None or record.outcome is not None:
        return record.refusal
    return None if record.decision.chosen_endpoint_id else "no_eligible_endpoint"


def _error(record: RequestRecord) -> str | None:
    outcome = record.outcome
    if outcome is not None and outcome.failure is not None:
        return outcome.failure.failure
    return record.stream_error or _refusal(record)


def _warnings(record: RequestRecord) -> None:
    request_id = record.request_id
    outcome = record.outcome
    fields: dict[str, Any]
    if outcome is not None:
        _attempt_warnings(request_id, outcome)
        if record.stream_error is not None:
            fields = {"request_id": request_id, "endpoint": final_endpoint_id(record)}
            emit(EVENTS, logging.WARNING, "upstream stream cut after its first token", fields)
    if record.refusal is not None:
        fields = {"request_id": request_id, "key_id": record.app_id, "refusal": record.refusal}
        emit(EVENTS, logging.WARNING, "request refused by a budget", fields)
    elif outcome is None and record.status >= 500:
        fields = {"request_id": request_id, "refusal": "no_eligible_endpoint"}
        emit(EVENTS, logging.WARNING, "no endpoint available for a request", fields)


def _attempt_warnings(request_id: str, outcome: Outcome) -> None:
    """A line per failed attempt the upstream is to blame for, and per fallback."""
    previous = None
    fields: dict[str, Any]
    for attempt in outcome.attempts:
        moved = previous is not None and attempt.endpoint_id != previous.endpoint_id
        if moved and previous is not None and previous.failure is not None:
            fields = {
                "request_id": request_id,
                "from_endpoint": previous.endpoint_id,
                "to_endpoint": attempt.endpoint_id,
                "after": previous.failure.failure,
            }
            emit(EVENTS, logging.WARNING, "request fell back to the next endpoint", fields)
        failure = attempt.failure
        if failure is not None and failure.falls_back:
            fields = {
                "request_id": request_id,
                "endpoint": attempt.endpoint_id,
                "error_class": failure.failure,
                "upstream_status": failure.status or None,
                "retry": attempt.retry,
                "detail": summarise(failure.message),
            }
            emit(EVENTS, logging.WARNING, "upstream attempt failed", fields)
        previous = attempt
