"""Which export the settings and the standard ``OTEL_*`` variables ask for, and the errors."""

from __future__ import annotations

import pytest

from rolecall.errors import ConfigError
from rolecall.telemetry.otel_config import otel_config, trace_export


@pytest.mark.parametrize(
    ("endpoint", "environ", "url", "source"),
    [
        ("http://c:4318", {}, "http://c:4318/v1/traces", "ROLECALL_OTEL_ENDPOINT"),
        ("http://c:4318/", {}, "http://c:4318/v1/traces", "ROLECALL_OTEL_ENDPOINT"),
        ("https://c/v1/traces", {}, "https://c/v1/traces", "ROLECALL_OTEL_ENDPOINT"),
        # ours wins over the standard variables, which cannot turn it off
        (
            "http://ours:4318",
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://theirs:4318", "OTEL_SDK_DISABLED": "true"},
            "http://ours:4318/v1/traces",
            "ROLECALL_OTEL_ENDPOINT",
        ),
        (
            None,
            {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://t:9/custom"},
            "http://t:9/custom",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        ),
        (
            None,
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://b:4318/base"},
            "http://b:4318/base/v1/traces",
            "OTEL_EXPORTER_OTLP_ENDPOINT",
        ),
    ],
)
def test_where_traces_go(
    endpoint: str | None, environ: dict[str, str], url: str, source: str
) -> None:
    config = otel_config(endpoint, environ)
    assert config is not None
    assert (config.traces_url, config.source) == (url, source)
    assert dict(config.environ) == environ  # handed to the writer process as they are


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"OTEL_SERVICE_NAME": "gw"},  # not an endpoint
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://b:4318", "OTEL_SDK_DISABLED": "true"},
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://b:4318", "OTEL_TRACES_EXPORTER": "none"},
    ],
)
def test_no_export(environ: dict[str, str]) -> None:
    assert otel_config(None, environ) is None
    assert trace_export(None, environ) is None


@pytest.mark.parametrize(
    ("endpoint", "environ", "named"),
    [
        ("collector:4318", {}, "ROLECALL_OTEL_ENDPOINT"),
        ("ftp://c", {}, "ROLECALL_OTEL_ENDPOINT"),
        (
            None,
            {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "c:4318"},
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        ),
        (
            "http://c:4318",
            {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
            "OTEL_EXPORTER_OTLP_PROTOCOL",
        ),
        (
            "http://c:4318",
            {"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json"},
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        ),
    ],
)
def test_an_export_that_cannot_work_names_the_variable(
    endpoint: str | None, environ: dict[str, str], named: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        trace_export(endpoint, environ)
    assert raised.value.path == named


def test_the_signal_specific_protocol_wins() -> None:
    environ = {
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",  # for the other signals
    }
    assert trace_export("http://c:4318", environ) is not None
