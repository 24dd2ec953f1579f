"""Sample builders for the profile tests: one valid sample with overridable fields."""

from __future__ import annotations

from typing import Any

from rolecall.profiles import Sample

ENDPOINT = "local.llama-3-8b"
VERSION = "v1"
DAY_MS = 24 * 60 * 60 * 1000
NOW = 100 * DAY_MS


def sample(**overrides: Any) -> Sample:
    """A successful live sample of ENDPOINT/VERSION at NOW, 100 ms latency, unless overridden."""
    fields: dict[str, Any] = {
        "endpoint_id": ENDPOINT,
        "endpoint_version": VERSION,
        "source": "live_request",
        "timestamp_ms": NOW,
        "latency_ms": 100.0,
    }
    fields.update(overrides)
    return Sample(**fields)


def bench(score: float, **overrides: Any) -> Sample:
    """A judged benchmark sample (full mode, no bucket unless overridden)."""
    fields: dict[str, Any] = {"source": "benchmark", "judge_score": score}
    fields.update(overrides)
    return sample(**fields)
