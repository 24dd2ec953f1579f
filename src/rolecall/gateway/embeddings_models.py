"""The embeddings wire format as a pydantic model: the source of its OpenAPI operation.

`rolecall.gateway.embeddings_wire` checks requests by hand, as chat's checks do; this says the
same declaratively for ``GET /openapi.json``, and a differential test
(tests/unit/gateway/test_embeddings_wire.py) feeds the same bodies to both. Fields not named here
are forwarded upstream untouched (``extra="allow"``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from rolecall.gateway.embeddings_wire import MAX_DIMENSIONS, MAX_INPUTS
from rolecall.gateway.wire import MAX_TOKENS_REPORTED
from rolecall.gateway.wire_identity import MAX_METADATA_PAIRS, MAX_USER_CHARS
from rolecall.gateway.wire_models import MetadataKey, MetadataValue, RoutingOptions

Text = Annotated[str, StringConstraints(min_length=1)]
TokenId = Annotated[int, Field(ge=0, le=MAX_TOKENS_REPORTED)]
TokenIds = Annotated[list[TokenId], Field(min_length=1)]


class EmbeddingsRequest(BaseModel):
    """``POST /v1/embeddings``: what the gateway checks before routing."""

    model_config = ConfigDict(extra="allow", strict=True)
    model: str = Field(
        min_length=1, description="an alias (default, ...), a role (embedder) or an endpoint id"
    )
    input: (
        Text
        | Annotated[list[Text], Field(min_length=1, max_length=MAX_INPUTS)]
        | TokenIds
        | Annotated[list[TokenIds], Field(min_length=1, max_length=MAX_INPUTS)]
    ) = Field(
        description="one text, texts, one input as token ids, or inputs as token ids; an array "
        "longer than an endpoint's batch size is sent in batches and merged in order"
    )
    encoding_format: Literal["float", "base64"] | None = Field(
        None, description="base64: little-endian float32 (the openai SDK's default)"
    )
    dimensions: int | None = Field(
        None,
        ge=1,
        le=MAX_DIMENSIONS,
        description="forwarded; an endpoint whose vectors differ in length fails with a 400",
    )
    user: str | None = Field(
        None, max_length=MAX_USER_CHARS, description="the end user (usage per user); forwarded"
    )
    metadata: dict[MetadataKey, MetadataValue] | None = Field(
        None, max_length=MAX_METADATA_PAIRS, description="kept on the request's record"
    )
    rolecall: RoutingOptions | None = None
