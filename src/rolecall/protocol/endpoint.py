"""Endpoint artifacts: who an endpoint is, what it claims, and what was measured.

Owns `EndpointIdentity`, `DeclaredCapabilityProfile` with `ToolCalling` and
`ObservedPerformanceProfile` with `MeasurementWindow` and `SampleSources` (docs/protocol.md
§Artifacts), mirroring the ``endpoint-identity``, ``declared-capability-profile`` and
``observed-performance-profile`` schemas.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import Field

from rolecall.protocol.base import ProtocolModel

__all__ = [
    "KNOWN_ENDPOINT_KINDS",
    "KNOWN_PROVIDER_KINDS",
    "DeclaredCapabilityProfile",
    "EndpointIdentity",
    "MeasurementWindow",
    "ObservedPerformanceProfile",
    "SampleSources",
    "ToolCalling",
    "ToolCallingStyle",
]

KNOWN_ENDPOINT_KINDS: Final[tuple[str, ...]] = (
    "local_engine",
    "remote_api",
    "browser_engine",
    "dispatch_adapter",
)
"""The ``endpoint_kind`` values the schema enumerates (schema order)."""

KNOWN_PROVIDER_KINDS: Final[tuple[str, ...]] = (
    "acp",
    "mcp",
    "cli",
    "remote_openai_compat",
    "onnx",
    "mlx",
    "litertlm",
    "gguf",
    "webllm",
    "mediapipe_genai",
    "mediapipe_text",
)
"""The ``provider_kind`` values the schema enumerates (schema order)."""

ToolCallingStyle = Literal["openai", "json", "none"]

Fraction = Annotated[float, Field(ge=0, le=1)]
NonNegative = Annotated[float, Field(ge=0)]
TimestampMs = Annotated[int, Field(ge=0)]


class EndpointIdentity(ProtocolModel):
    """One concrete routable execution target (``endpoint-identity.schema.json``).

    ``endpoint_kind`` and ``provider_kind`` are plain strings here although the schema enumerates
    them (`KNOWN_ENDPOINT_KINDS`, `KNOWN_PROVIDER_KINDS`): upstream fixtures and third-party
    inventories use other values (for example ``mcp-endpoint``) and a router must still accept
    them as input. Validating an emitted identity with `validate_artifact` still applies the
    strict enums.
    """

    endpoint_id: str
    endpoint_kind: str
    provider_kind: str
    serving_source: str
    model_id: str
    package_id: str | None = None
    variant_id: str | None = None
    runtime_version: str
    quantization: str | None = None
    precision: str | None = None
    host_class: str | None = None
    device_class: str | None = None
    region: str | None = None
    org_scope: str | None = None
    endpoint_version: str | None = None


class ToolCalling(ProtocolModel):
    """Whether and how an endpoint calls tools."""

    supported: bool
    style: ToolCallingStyle


class DeclaredCapabilityProfile(ProtocolModel):
    """What an endpoint claims it can do: the eligibility floor."""

    endpoint_id: str
    capabilities: Annotated[list[str], Field(min_length=1)]
    modalities: Annotated[list[str], Field(min_length=1)]
    max_context_tokens: Annotated[int, Field(ge=1)]
    tool_calling: ToolCalling
    supports_embeddings: bool
    platform_constraints: list[str] | None = None


class MeasurementWindow(ProtocolModel):
    """The time span the samples of an observed profile were taken in (epoch milliseconds)."""

    started_at_ms: TimestampMs
    ended_at_ms: TimestampMs


class SampleSources(ProtocolModel):
    """How many of an observed profile's samples came from benchmarks and from live requests."""

    benchmark_samples: Annotated[int, Field(ge=0)]
    live_request_samples: Annotated[int, Field(ge=0)]


class ObservedPerformanceProfile(ProtocolModel):
    """Measured, evidence-bearing performance of one endpoint version."""

    endpoint_id: str
    endpoint_version: str
    measured_at_ms: TimestampMs
    measurement_window: MeasurementWindow
    sample_size: Annotated[int, Field(ge=1)]
    sources: SampleSources
    judge_score: Fraction | None = None
    quality_score: Fraction | None = None
    latency_ms_p50: NonNegative
    latency_ms_p95: NonNegative
    tokens_per_sec: NonNegative | None = None
    cold_start_ms: NonNegative | None = None
    failure_rate: Fraction
    error_class_rates: dict[str, Fraction] | None = None
    cost_per_1k_tokens_est: NonNegative | None = None
    currency: str | None = None
    freshness_score: Fraction
    confidence_score: Fraction
