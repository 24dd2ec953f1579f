"""Telemetry adapters: what rolecall sends to monitoring systems (OpenTelemetry traces: `otel`)."""
