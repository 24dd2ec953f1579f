"""W3C trace context: what a caller's ``traceparent`` becomes, and what each upstream attempt sends."""

from __future__ import annotations

import pytest

from rolecall.execution.tracecontext import TraceContext, new_span_id

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN = "00f067aa0ba902b7"
NEW = "a" * 32


def test_a_valid_traceparent_is_continued() -> None:
    trace = TraceContext.inbound(f"00-{TRACE}-{SPAN}-01", "rojo=00f067aa0ba902b7", NEW)
    assert (trace.trace_id, trace.parent_id, trace.sampled) == (TRACE, SPAN, True)
    assert trace.tracestate == "rojo=00f067aa0ba902b7"
    unsampled = TraceContext.inbound(f"00-{TRACE}-{SPAN}-00", None, NEW)
    assert not unsampled.sampled
    # flags other than "sampled" are carried by their bit, not their value
    assert TraceContext.inbound(f"00-{TRACE}-{SPAN}-03", None, NEW).sampled


def test_a_later_version_may_carry_more_fields() -> None:
    header = f"cc-{TRACE}-{SPAN}-01-what-the-future-holds"
    trace = TraceContext.inbound(header, None, NEW)
    assert (trace.trace_id, trace.parent_id, trace.traceparent) == (TRACE, SPAN, header)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "garbage",
        f"00-{TRACE.upper()}-{SPAN}-01",
        f"00-{'0' * 32}-{SPAN}-01",
        f"00-{TRACE}-{'0' * 16}-01",
        f"ff-{TRACE}-{SPAN}-01",
        f"00-{TRACE}-{SPAN}-01-more",
        f"00-{TRACE}-{SPAN}-1",
        f"00_{TRACE}_{SPAN}_01",
        f"cc-{TRACE}-{SPAN}-01.",
    ],
)
def test_anything_malformed_starts_a_new_trace(header: str | None) -> None:
    trace = TraceContext.inbound(header, "a=b", NEW)
    assert trace == TraceContext(NEW)  # the caller's tracestate goes too: it belonged to it


def test_tracestate_beyond_the_propagated_size_is_dropped() -> None:
    trace = TraceContext.inbound(f"00-{TRACE}-{SPAN}-01", "a=" + "b" * 600, NEW)
    assert trace.trace_id == TRACE
    assert trace.tracestate is None


def test_an_attempt_names_its_own_span_or_passes_the_callers_through() -> None:
    trace = TraceContext.inbound(f"00-{TRACE}-{SPAN}-00", "a=b", NEW)
    span = new_span_id()
    assert len(span) == 16
    assert int(span, 16) != 0
    assert trace.upstream(span) == {"traceparent": f"00-{TRACE}-{span}-00", "tracestate": "a=b"}
    assert trace.upstream(None) == {"traceparent": f"00-{TRACE}-{SPAN}-00", "tracestate": "a=b"}
    own = TraceContext(NEW)
    assert own.upstream(None) is None
    assert own.upstream(span) == {"traceparent": f"00-{NEW}-{span}-01"}
