"""The chat-completions wire format as pydantic models: the source of the OpenAPI document.

`rolecall.gateway.wire` checks requests by hand because it sits on the hot path (building these
models costs more than routing the request did). These models say the same thing declaratively:
their JSON Schema is what ``GET /openapi.json`` publishes, and a differential test
(tests/unit/gateway/test_wire_models.py) feeds the same bodies to both and fails on any
disagreement, so the document cannot drift from what the gateway accepts. Fields not named here
are forwarded upstream untouched (``extra="allow"``), as OpenAI's own parameters evolve.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Final, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from rolecall.gateway.wire import (
    BUDGET_TEXT,
    EXTENSION_KEYS,
    FLAG_TEXT,
    MAX_TOKENS_REPORTED,
    STRATEGIES,
    WireError,
)
from rolecall.gateway.wire_identity import (
    MAX_METADATA_KEY_CHARS,
    MAX_METADATA_PAIRS,
    MAX_METADATA_VALUE_CHARS,
    MAX_TAG_CHARS,
    MAX_TAGS,
    MAX_USER_CHARS,
    TAGS_KEY,
    split_tags,
)
from rolecall.inventory.aliases import ROUTING_MODES, RoutingMode

Role = Literal["system", "developer", "user", "assistant", "tool", "function"]
Strategy = Literal[
    "balanced", "quality", "latency", "cost", "high-quality", "low-latency", "low-cost"
]
# roles whose message may carry no content (a tool call, a function call)
CONTENT_OPTIONAL: Final = frozenset({"assistant", "tool", "function"})
# headers that set a routing option: x-rolecall-<name with dashes> → rolecall.<name>
HEADER_PREFIX: Final = "x-rolecall-"


Body = TypeVar("Body", bound=BaseModel)
MetadataKey = Annotated[str, StringConstraints(min_length=1, max_length=MAX_METADATA_KEY_CHARS)]
MetadataValue = Annotated[str, StringConstraints(max_length=MAX_METADATA_VALUE_CHARS)]


class ContentPart(BaseModel):
    """One part of a multi-part message (text, image_url, input_audio, ...)."""

    model_config = ConfigDict(extra="allow", strict=True)
    type: str


class ChatMessage(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        strict=True,
        # the rule of `_content_required`, for the published schema
        json_schema_extra={
            "if": {"properties": {"role": {"enum": ["system", "developer", "user"]}}},
            "then": {"required": ["content"], "properties": {"content": {"not": {"type": "null"}}}},
        },
    )
    role: Role
    content: str | list[ContentPart] | None = Field(
        None, description="required except for assistant, tool and function messages"
    )

    @model_validator(mode="after")
    def _content_required(self) -> ChatMessage:
        if self.content is None and self.role not in CONTENT_OPTIONAL:
            raise ValueError(f"'content' is required for a {self.role} message")
        return self


class Tool(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    type: str


class RoutingOptions(BaseModel):
    """The ``rolecall`` extension object; each option may also come as an ``x-rolecall-*`` header
    (a value in the body wins)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    strategy: Strategy | None = None
    mode: RoutingMode | None = Field(
        None, description="the routing mode (planner) for this request; one the gateway can run"
    )
    role: str | None = Field(None, min_length=1, description="a role id to route within")
    task: str | None = Field(None, min_length=1, description="a task type id")
    budget: float | None = Field(None, ge=0, description="the most to spend on this request, USD")
    prefer_local: bool | None = None
    deny_remote: bool | None = None

    @field_validator("budget")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value


Texts = str | list[str]


class IntentAlternative(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    role: str | None = None
    role_hint_id: str | None = None
    task: str | None = None
    task_type: str | None = None


class RoleModelIntent(BaseModel):
    """role-model's advisory intent (rolecall.gateway.wire_intent): unknown fields and values
    are ignored and reported in ``x-rolecall-intent``; either spelling of a field is read."""

    model_config = ConfigDict(extra="allow", strict=True)
    role: str | None = None
    role_hint_id: str | None = None
    task: str | None = None
    task_type: str | None = None
    capabilities: Texts | None = None
    preferred_capabilities: Texts | None = None
    modalities: Texts | None = None
    required_modalities: Texts | None = None
    tool_classes: Texts | None = None
    confidence: float | None = Field(None, ge=0, le=1, allow_inf_nan=False)
    evidence: Texts | None = None
    alternatives: list[IntentAlternative] | None = None


class RoleModelExtension(BaseModel):
    """The ``role_model`` object of role-model's clients; never forwarded upstream."""

    model_config = ConfigDict(extra="allow", strict=True)
    contract_version: int | str | None = None
    intent: RoleModelIntent | None = None


class ChatCompletionRequest(BaseModel):
    """``POST /v1/chat/completions``: what the gateway checks before routing."""

    model_config = ConfigDict(extra="allow", strict=True)
    model: str = Field(
        min_length=1,
        description="a configured alias, a posture (default, baseline, ...), an endpoint id, a "
        "role or an upstream model name",
    )
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    tools: list[Tool] | None = None
    max_completion_tokens: int | None = Field(None, ge=1, le=MAX_TOKENS_REPORTED)
    max_tokens: int | None = Field(None, ge=1, le=MAX_TOKENS_REPORTED)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    response_format: dict[str, Any] | None = None
    rolecall: RoutingOptions | None = None
    role_model: RoleModelExtension | None = None
    user: str | None = Field(
        None, max_length=MAX_USER_CHARS, description="the end user (usage per user); forwarded"
    )
    metadata: dict[MetadataKey, MetadataValue] | None = Field(
        None,
        max_length=MAX_METADATA_PAIRS,
        description="kept on the request's record, not forwarded; 'tags' lists its usage tags, "
        f"comma-separated (at most {MAX_TAGS} of at most {MAX_TAG_CHARS} characters)",
    )

    @field_validator("metadata")
    @classmethod
    def _tags(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        tags = split_tags(value[TAGS_KEY]) if value and TAGS_KEY in value else ()
        if len(tags) > MAX_TAGS or any(len(tag) > MAX_TAG_CHARS for tag in tags):
            raise ValueError(f"'tags' lists at most {MAX_TAGS} tags of {MAX_TAG_CHARS} characters")
        return value


def header_name(option: str) -> str:
    return HEADER_PREFIX + option.replace("_", "-")


def routing_headers() -> list[dict[str, Any]]:
    """The ``x-rolecall-*`` headers as OpenAPI header parameters (values are strings on the wire)."""
    schemas: dict[str, dict[str, Any]] = {
        "strategy": {"type": "string", "enum": sorted(STRATEGIES)},
        "mode": {"type": "string", "enum": list(ROUTING_MODES)},
        "role": {"type": "string", "minLength": 1},
        "task": {"type": "string", "minLength": 1},
        "budget": {"type": "string", "pattern": f"^{BUDGET_TEXT.pattern}$"},
        "prefer_local": {"type": "string", "enum": list(FLAG_TEXT)},
        "deny_remote": {"type": "string", "enum": list(FLAG_TEXT)},
    }
    assert set(schemas) == EXTENSION_KEYS, "every routing option has a header"
    return [
        {
            "name": header_name(option),
            "in": "header",
            "required": False,
            "schema": schema,
            "description": f"routing option rolecall.{option} (the body's value wins)",
        }
        for option, schema in sorted(schemas.items())
    ]


def parse_body(model: type[Body], raw: bytes) -> Body:
    """An admin or console request body checked against ``model``; a 400 naming the first bad
    field (a dotted path, like the chat checks) otherwise."""
    try:
        return model.model_validate_json(raw or b"{}", strict=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or None
        shown_where = f"'{where}'" if where else "the body"
        raise WireError(
            400, f"{shown_where}: {first['msg']}", param=where, code="invalid_body"
        ) from None
