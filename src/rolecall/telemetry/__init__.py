"""Telemetry adapters: what the gateway tells the outside about itself.

Prometheus metrics (`prometheus`, `request_metrics`, `families`, `state`, `multiproc`) and
structured logs (`logs`, `access_log`), both fed by the recorder's request listeners
(`rolecall.observe.listeners`) and built by the composition root; OpenTelemetry trace export
(`otel_config`, `otel_mapping`, `otel`) from the record writer. See docs/operate.md.
"""
