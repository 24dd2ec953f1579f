"""The difficulty mode's classifier endpoint (``routing.difficulty.classifier: endpoint``): a
small model asked, in constrained JSON, whether a request is easy, medium or hard.

Its failures never fail the request: a missing endpoint, a timeout, an upstream error or an
answer that is not ``{"difficulty": "easy|medium|hard"}`` give the configured
``fallback_difficulty``, with the reason recorded.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from rolecall.execution.ports import Upstreams
from rolecall.inventory.inventory import Inventory
from rolecall.inventory.modes import DIFFICULTIES, Difficulty, DifficultyConfig
from rolecall.planning.ask import ask_endpoint, request_text
from rolecall.routing.controller import strip_fence

ClassifierStatus = Literal["ok", "not_configured", "timeout", "upstream_error", "invalid"]
SCHEMA_NAME: Final = "request_difficulty"
MAX_TOKENS: Final = 24
PROMPT_CHARS: Final = 4000
DIFFICULTY_SCHEMA: Final = {
    "type": "object",
    "properties": {"difficulty": {"type": "string", "enum": list(DIFFICULTIES)}},
    "required": ["difficulty"],
    "additionalProperties": False,
}
SYSTEM_PROMPT: Final = """\
Classify how hard the request below is for a language model to answer well: "easy" (a short \
factual or conversational answer), "medium" (some reasoning, writing or code) or "hard" \
(long multi-step reasoning, substantial code, strict formats). Answer with one JSON object: \
{"difficulty": "easy"|"medium"|"hard"}."""


@dataclass(frozen=True, slots=True)
class EndpointClassification:
    """The classifier endpoint's difficulty, or the fallback one and why (``status`` not ok)."""

    difficulty: Difficulty
    status: ClassifierStatus
    endpoint_id: str
    latency_ms: float = 0.0
    detail: str = ""

    @property
    def fell_back(self) -> bool:
        return self.status != "ok"

    def to_json(self) -> dict[str, Any]:
        return {
            "difficulty": self.difficulty,
            "source": "endpoint",
            "status": self.status,
            "endpointId": self.endpoint_id,
            "latencyMs": round(self.latency_ms, 3),
            "detail": self.detail,
        }


def parse_difficulty(text: str) -> Difficulty:
    """The difficulty in the answer (a ```json fence tolerated); `ValueError` says what is wrong."""
    try:
        data = json.loads(strip_fence(text))
    except ValueError:
        raise ValueError("the answer is not JSON") from None
    value = data.get("difficulty") if isinstance(data, dict) else None
    for difficulty in DIFFICULTIES:
        if value == difficulty:
            return difficulty
    raise ValueError(f"difficulty: expected one of {', '.join(DIFFICULTIES)}, got {value!r}")


class DifficultyEndpointClassifier:
    """Asks the configured classifier endpoint for each request's difficulty."""

    def __init__(self, config: DifficultyConfig, upstreams: Upstreams) -> None:
        if config.classifier != "endpoint" or config.endpoint_id is None:
            raise ValueError(
                "DifficultyEndpointClassifier needs classifier 'endpoint' and endpoint_id"
            )
        self.config = config
        self.endpoint_id: str = config.endpoint_id
        self._upstreams = upstreams

    async def classify(
        self, messages: Sequence[Mapping[str, Any]], inventory: Inventory
    ) -> EndpointClassification:
        eid = self.endpoint_id
        endpoint = inventory.endpoints.get(eid)
        if endpoint is None:
            return self._fallback(
                "not_configured", 0.0, f"endpoint {eid!r} is not in the inventory"
            )
        prompt = [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": request_text(messages, PROMPT_CHARS)},
        ]
        asked = await ask_endpoint(
            self._upstreams,
            endpoint,
            prompt,
            schema_name=SCHEMA_NAME,
            schema=DIFFICULTY_SCHEMA,
            max_tokens=MAX_TOKENS,
            timeout_ms=self.config.timeout_ms,
        )
        if asked.status != "ok":
            return self._fallback(asked.status, asked.latency_ms, asked.detail)
        try:
            difficulty = parse_difficulty(asked.text)
        except ValueError as error:
            return self._fallback("invalid", asked.latency_ms, str(error))
        return EndpointClassification(difficulty, "ok", eid, asked.latency_ms)

    def _fallback(
        self, status: ClassifierStatus, latency_ms: float, why: str
    ) -> EndpointClassification:
        difficulty = self.config.fallback_difficulty
        detail = f"{why}; fell back to {difficulty}"
        return EndpointClassification(difficulty, status, self.endpoint_id, latency_ms, detail)
