"""OTLP/HTTP export of stored requests' traces, in the record writer (the ``otel`` extra).

Owns `OtelExport`, the `rolecall.observe.ports.TraceExport` the record writer calls after each
transaction that stored requests: their spans (`otel_mapping.request_spans`) become finished
OpenTelemetry spans with the ids, parents and times recorded — no tracer starts them, since
they happened already — and go to the SDK's `BatchSpanProcessor`, whose thread sends them with
the OTLP/HTTP protobuf exporter. Queueing is all the writer waits for; a receiver that is down
costs dropped spans and a line in the log, never a stored record. A trace the caller does not
sample (``traceparent`` flags ``00``) is not exported.

Imported only when export is configured (`otel_config.trace_export`).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping, Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Final

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

from rolecall.observe.observation import Observation
from rolecall.telemetry.otel_config import OtelConfig
from rolecall.telemetry.otel_mapping import SpanRecord, request_spans

__all__ = ["OtelExport"]

log = logging.getLogger("rolecall.telemetry")
CLOSE_WAIT_S: Final = 3.0  # at shutdown, for the queued spans to be sent
SERVICE_NAME: Final = "rolecall"
_KINDS: Final = {
    "server": SpanKind.SERVER,
    "client": SpanKind.CLIENT,
    "internal": SpanKind.INTERNAL,
}
_SAMPLED: Final = TraceFlags(TraceFlags.SAMPLED)
_UNSET: Final = Status(StatusCode.UNSET)


def _rolecall_version() -> str:
    try:
        return version("rolecall")
    except PackageNotFoundError:
        return "unknown"


def _adopt_environment(captured: Sequence[tuple[str, str]]) -> None:
    """Make this process's ``OTEL_*`` variables the ones captured at start (the writer process
    may have been forked from a server started before they were set); the SDK reads them."""
    wanted = dict(captured)
    for name in [n for n in os.environ if n.startswith("OTEL_") and n not in wanted]:
        del os.environ[name]
    os.environ.update(wanted)


def _resource(environ: Mapping[str, str]) -> Resource:
    """The SDK's resource (``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_SERVICE_NAME``), named
    ``rolecall`` unless those name the service."""
    attributes: dict[str, str] = {"service.version": _rolecall_version()}
    named = "OTEL_SERVICE_NAME" in environ or "service.name=" in environ.get(
        "OTEL_RESOURCE_ATTRIBUTES", ""
    )
    if not named:
        attributes["service.name"] = SERVICE_NAME
    return Resource.create(attributes)


class OtelExport:
    """Finished spans to an OTLP/HTTP receiver through a batch processor."""

    def __init__(self, config: OtelConfig) -> None:
        if os.getpid() != config.pid:  # never the gateway's own environment
            _adopt_environment(config.environ)
        self._resource = _resource(dict(config.environ))
        self._scope = InstrumentationScope("rolecall", _rolecall_version())
        self._exporter = OTLPSpanExporter(endpoint=config.traces_url)
        self._processor = BatchSpanProcessor(self._exporter)
        self._url = config.traces_url
        self._failed = False

    def export(
        self, observations: Sequence[Observation], traces: Sequence[Mapping[str, Any]]
    ) -> None:
        try:
            for observation, trace in zip(observations, traces, strict=True):
                if observation.sampled:
                    self._queue(observation.trace_id, request_spans(observation, trace))
        except Exception as exc:  # a bug here must never cost a stored record
            if not self._failed:
                log.error("OpenTelemetry export skipped a batch: %s: %s", type(exc).__name__, exc)
            self._failed = True

    def _queue(self, trace_id: str, spans: list[SpanRecord]) -> None:
        trace = int(trace_id, 16)
        for span in spans:
            self._processor.on_end(self._readable(trace, span))

    def _readable(self, trace: int, span: SpanRecord) -> ReadableSpan:
        parent = None
        if span.parent_id is not None:
            parent = SpanContext(
                trace, int(span.parent_id, 16), is_remote=span.remote_parent, trace_flags=_SAMPLED
            )
        return ReadableSpan(
            name=span.name,
            context=SpanContext(trace, int(span.span_id, 16), False, _SAMPLED),
            parent=parent,
            resource=self._resource,
            attributes=span.attributes,
            events=[Event(e.name, e.attributes, e.time_ns) for e in span.events],
            kind=_KINDS[span.kind],
            status=_UNSET if span.error is None else Status(StatusCode.ERROR, span.error),
            start_time=span.start_ns,
            end_time=span.end_ns,
            instrumentation_scope=self._scope,
        )

    def close(self) -> None:
        """Send what is queued, waiting `CLOSE_WAIT_S` at most (an unreachable receiver would
        hold the writer's exit through the exporter's retries), then stop."""
        closer = threading.Thread(
            target=self._processor.shutdown, name="rolecall-otel-close", daemon=True
        )
        closer.start()
        closer.join(CLOSE_WAIT_S)
        if closer.is_alive():
            log.warning(
                "OpenTelemetry: spans still queued for %s were dropped at shutdown (the "
                "receiver did not take them within %.0f s)",
                self._url,
                CLOSE_WAIT_S,
            )
