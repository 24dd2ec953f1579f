"""`rolecall serve --workers 2` with export on: the one shared record writer exports every
request once, whichever worker answered it. A real `rolecall serve`, a scripted upstream and a
real OTLP/HTTP receiver."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest

from tests.reliability.chaos import GatewayProcess, scripted_upstream

from .otlp_receiver import OtlpReceiver

pytestmark = pytest.mark.slow

REQUESTS = 12


def test_the_shared_writer_exports_each_request_once(tmp_path: Path, pg_url: str) -> None:
    # workers share one record writer the same way on both databases: PostgreSQL, the
    # deployment workers are for
    with scripted_upstream() as upstream, OtlpReceiver() as receiver:
        env = {
            "ROLECALL_WORKERS": "2",
            "ROLECALL_OTEL_ENDPOINT": receiver.endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "100",
            "OTEL_SERVICE_NAME": "gateway-under-test",
        }
        gateway = GatewayProcess(tmp_path, upstream.base_url, pg_url, env=env).start()
        try:
            client = openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key="unused")
            traces = [f"{n + 1:032x}" for n in range(REQUESTS)]
            with client:
                for trace_id in traces:
                    client.chat.completions.create(
                        model="default",
                        messages=[{"role": "user", "content": "hi"}],
                        extra_headers={"traceparent": f"00-{trace_id}-{'ab' * 8}-01"},
                    )
            spans = receiver.wait_for(
                lambda got: len({s.trace_id for s in got if s.kind == "server"}) >= REQUESTS
            )
        finally:
            gateway.stop()
        sent = upstream.stats()["models"]["fast"]["traceparents"]
    roots = [s for s in spans if s.kind == "server"]
    assert sorted(s.trace_id for s in roots) == traces  # each once
    assert {s.resource["service.name"] for s in spans} == {"gateway-under-test"}
    attempts = {s.span_id for s in spans if s.kind == "client"}
    assert {value.split("-")[2] for value in sent} == attempts
