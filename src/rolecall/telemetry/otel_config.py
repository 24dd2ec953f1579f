"""Whether and where request traces are exported over OTLP/HTTP, decided once at start.

Owns `OtelConfig` and `trace_export`, which the composition root calls: it reads
``ROLECALL_OTEL_ENDPOINT`` and the standard ``OTEL_*`` variables, refuses what cannot work (a
malformed URL, a protocol other than OTLP/HTTP protobuf, the ``otel`` extra not installed) with
one error naming the variable and the fix, and returns the factory the record writer builds its
exporter with (`rolecall.telemetry.otel.OtelExport`). Nothing here imports OpenTelemetry.

The record writer may run in a process started before the environment was last changed (a
forkserver), so the ``OTEL_*`` variables are captured here and handed over with the config.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from rolecall.errors import ConfigError
from rolecall.observe.ports import TraceExport, TraceExportFactory

__all__ = ["OtelConfig", "otel_config", "trace_export"]

TRACES_PATH: Final = "/v1/traces"
INSTALL_HINT: Final = "pip install 'rolecall[otel]'"
_MODULES: Final = ("opentelemetry.sdk.trace", "opentelemetry.exporter.otlp.proto.http")
_PROTOCOLS: Final = ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")


@dataclass(frozen=True, slots=True)
class OtelConfig:
    """Where traces go (``traces_url``: the OTLP/HTTP traces endpoint, whole), the variable
    that said so, and the process's ``OTEL_*`` variables (headers, timeouts, batching, the
    resource), which the SDK reads itself."""

    traces_url: str
    source: str
    environ: tuple[tuple[str, str], ...] = ()
    pid: int = 0  # the process that captured ``environ``


def otel_config(endpoint: str | None, environ: Mapping[str, str]) -> OtelConfig | None:
    """The export asked for: ``endpoint`` (``ROLECALL_OTEL_ENDPOINT``, a base URL) first, then
    ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` (the whole URL), then ``OTEL_EXPORTER_OTLP_ENDPOINT``
    (a base URL); None when none is set, or the standard variables are set but
    ``OTEL_SDK_DISABLED=true`` or ``OTEL_TRACES_EXPORTER=none`` say not to export."""
    captured = tuple(sorted((k, v) for k, v in environ.items() if k.startswith("OTEL_")))
    pid = os.getpid()
    if endpoint:
        name = "ROLECALL_OTEL_ENDPOINT"
        return OtelConfig(_traces_url(name, endpoint), name, captured, pid)
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    if environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
        return None
    for name, whole in (
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", True),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", False),
    ):
        value = environ.get(name, "").strip()
        if value:
            url = _checked(name, value) if whole else _traces_url(name, value)
            return OtelConfig(url, name, captured, pid)
    return None


def _traces_url(name: str, base: str) -> str:
    """A base URL's traces endpoint (a URL already ending in ``/v1/traces`` is kept)."""
    base = _checked(name, base.strip()).rstrip("/")
    return base if base.endswith(TRACES_PATH) else base + TRACES_PATH


def _checked(name: str, url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            "environment",
            name,
            f"{url!r} is not an http(s) URL; give the OTLP/HTTP receiver, like "
            "http://127.0.0.1:4318",
        )
    return url


def _check_protocol(config: OtelConfig) -> None:
    environ = dict(config.environ)
    for name in _PROTOCOLS:
        protocol = environ.get(name, "").strip()
        if protocol and protocol != "http/protobuf":
            raise ConfigError(
                "environment",
                name,
                f"{protocol!r}: rolecall exports over OTLP/HTTP with protobuf only; set "
                "http/protobuf (or unset it) and point the endpoint at the receiver's HTTP port "
                "(4318)",
            )
        if protocol:
            return


def _check_installed(config: OtelConfig) -> None:
    for module in _MODULES:
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:  # a parent package is missing
            found = False
        if not found:
            raise ConfigError(
                "environment",
                config.source,
                f"OpenTelemetry export needs the otel extra ({module} is not installed): "
                f"{INSTALL_HINT}",
            )


def trace_export(
    endpoint: str | None, environ: Mapping[str, str] | None = None
) -> TraceExportFactory | None:
    """The record writer's exporter factory for the export asked for (None: no export).
    Raises `ConfigError` naming the variable when the export cannot work."""
    config = otel_config(endpoint, os.environ if environ is None else environ)
    if config is None:
        return None
    _check_protocol(config)
    _check_installed(config)
    return functools.partial(open_export, config)


def open_export(config: OtelConfig) -> TraceExport:
    """The exporter (imports OpenTelemetry: in the record writer, once)."""
    from rolecall.telemetry.otel import OtelExport

    return OtelExport(config)
