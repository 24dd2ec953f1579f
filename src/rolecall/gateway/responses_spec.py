"""The Responses API routes in the OpenAPI document: the request body as a pydantic model (the
source of its JSON Schema; `rolecall.gateway.responses_wire` checks bodies by hand on the hot
path) and the three operations."""

from __future__ import annotations

from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from rolecall.gateway.openapi import CHAT_HEADERS, REQUEST_ID, Operation, obj
from rolecall.gateway.responses_api import ONE_PATH, PATH
from rolecall.gateway.wire import MAX_TOKENS_REPORTED
from rolecall.gateway.wire_identity import MAX_METADATA_PAIRS, MAX_USER_CHARS
from rolecall.gateway.wire_models import (
    MetadataKey,
    MetadataValue,
    RoutingOptions,
    routing_headers,
)


class FunctionTool(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    type: Literal["function"]
    name: str = Field(min_length=1)
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class ResponsesRequest(BaseModel):
    """``POST /v1/responses``: the fields rolecall reads (others are ignored)."""

    model_config = ConfigDict(extra="allow", strict=True)
    model: str = Field(
        min_length=1, description="an alias (default, baseline, ...), a role or an endpoint id"
    )
    input: str | list[dict[str, Any]] | None = Field(
        None,
        description="a user message, or items: messages (input_text and input_image parts), "
        "function_call and function_call_output items; required unless previous_response_id "
        "names a stored conversation",
    )
    instructions: str | None = Field(None, description="a system message before the input")
    previous_response_id: str | None = Field(
        None, description="continue this stored response's conversation"
    )
    store: bool = Field(True, description="keep the response for previous_response_id and GET")
    stream: bool = False
    tools: list[FunctionTool] | None = None
    tool_choice: Literal["none", "auto", "required"] | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    text: dict[str, Any] | None = Field(
        None, description="'format': text, json_object or json_schema (name, schema, strict)"
    )
    max_output_tokens: int | None = Field(None, ge=1, le=MAX_TOKENS_REPORTED)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    user: str | None = Field(None, max_length=MAX_USER_CHARS)
    metadata: dict[MetadataKey, MetadataValue] | None = Field(
        None, max_length=MAX_METADATA_PAIRS, description="kept on the request's record"
    )
    rolecall: RoutingOptions | None = None


RESPONSE: Final = {
    **obj("id", "object", id={"type": "string"}, object={"type": "string"}),
    "description": "the Response object (or a rolecall.decision for decision-only)",
}
DELETED: Final = obj(
    "id", "object", "deleted", id={"type": "string"}, object={"const": "response.deleted"}
)
OPERATIONS: Final = [
    Operation(
        "post",
        PATH,
        "Route and execute a Responses API request (Responses events over SSE when stream is "
        "true), translated to a chat completion",
        "gateway_key",
        RESPONSE,
        params=routing_headers(),
        body=ResponsesRequest,
        errors=(400, 404, 413, 502, 503),
        headers=CHAT_HEADERS,
        also={"text/event-stream": {"schema": {"type": "string"}}},
    ),
    Operation(
        "get",
        ONE_PATH,
        "A stored response (created with this gateway key)",
        "gateway_key",
        RESPONSE,
        errors=(404, 503),
        headers=REQUEST_ID,
    ),
    Operation(
        "delete",
        ONE_PATH,
        "Delete a stored response (created with this gateway key)",
        "gateway_key",
        DELETED,
        errors=(404, 503),
        headers=REQUEST_ID,
    ),
]
