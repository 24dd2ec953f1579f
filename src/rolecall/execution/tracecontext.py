"""W3C trace context (``traceparent``, ``tracestate``): read from a caller, sent to upstreams.

Owns `TraceContext` (one request's trace: its id, the caller's span, whether it is sampled) and
the header's two directions: `TraceContext.inbound` parses what a caller sent (anything malformed
is ignored, never an error: the request starts a trace of its own) and `TraceContext.upstream`
writes what one upstream attempt carries. When rolecall exports its spans (OpenTelemetry, docs/
operate.md) each attempt names a span of its own as the parent; when it does not, the caller's
headers pass through as they came, so rolecall is invisible in the caller's trace rather than a
parent nobody exported.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Final

__all__ = ["TraceContext", "new_span_id"]

# version-traceid-parentid-flags; a future version may append fields after a dash
_TRACEPARENT: Final = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")
_ZERO_TRACE: Final = "0" * 32
_ZERO_SPAN: Final = "0" * 16
_MAX_TRACESTATE: Final = 512  # the spec's floor for what must be propagated
_ids = random.Random()  # seeded from the OS once; ids need uniqueness, not secrecy


def new_span_id() -> str:
    """A random, non-zero 8-byte span id in hex."""
    return f"{_ids.getrandbits(64) or 1:016x}"


@dataclass(slots=True)  # not frozen: a frozen dataclass costs microseconds to build per request
class TraceContext:
    """A request's trace: ``trace_id`` (32 hex), the caller's span (``parent_id``, None when
    the request started the trace), ``sampled`` (the caller's flag; a trace rolecall starts is
    sampled), and the caller's headers as they came (``traceparent``, ``tracestate``)."""

    trace_id: str
    parent_id: str | None = None
    sampled: bool = True
    traceparent: str | None = None
    tracestate: str | None = None

    @classmethod
    def inbound(
        cls, traceparent: str | None, tracestate: str | None, new_trace_id: str
    ) -> TraceContext:
        """The caller's trace when ``traceparent`` is valid, else a new one with
        ``new_trace_id``. Version ``00`` must be exactly its four fields; a later version may
        carry more (kept as sent); ``ff``, all-zero ids and upper-case hex are invalid."""
        match = None if traceparent is None else _TRACEPARENT.fullmatch(traceparent.strip())
        if match is None:
            return cls(new_trace_id)
        version, trace_id, parent_id, flags, rest = match.groups()
        invalid_version = version == "ff" or (version == "00" and rest is not None)
        if invalid_version or trace_id == _ZERO_TRACE or parent_id == _ZERO_SPAN:
            return cls(new_trace_id)
        state = tracestate.strip() if tracestate else None
        if state is not None and (not state or len(state) > _MAX_TRACESTATE):
            state = None
        sampled = bool(int(flags, 16) & 1)
        return cls(trace_id, parent_id, sampled, match.group(0), state)

    def upstream(self, span_id: str | None) -> dict[str, str] | None:
        """The headers one upstream attempt carries: a ``traceparent`` whose parent is
        ``span_id`` (the attempt's span), or with None the caller's headers unchanged (none when
        the caller sent none)."""
        if span_id is None:
            if self.traceparent is None:
                return None
            headers = {"traceparent": self.traceparent}
        else:
            flags = "01" if self.sampled else "00"
            headers = {"traceparent": f"00-{self.trace_id}-{span_id}-{flags}"}
        if self.tracestate is not None:
            headers["tracestate"] = self.tracestate
        return headers
