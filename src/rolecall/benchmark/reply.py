"""What an endpoint answered (`Reply`) and what a grader concluded (`Verdict`).

Plain value objects shared by the client, the graders and the runner. A `Reply` holds the text,
the tool calls (name and parsed arguments), token counts and timing of one chat completion.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Reply", "Verdict", "parse_completion"]


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    tokens_in: int = 0
    tokens_out: int = 0
    latency_ms: float = 0.0
    finish_reason: str | None = None

    @property
    def tokens_per_sec(self) -> float | None:
        if self.tokens_out <= 0 or self.latency_ms <= 0:
            return None
        return self.tokens_out / (self.latency_ms / 1000)

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "tool_calls": self.tool_calls,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "latency_ms": self.latency_ms,
            "finish_reason": self.finish_reason,
        }


@dataclass(frozen=True, slots=True)
class Verdict:
    """A grade before it is stamped with a grader id and case id (a JudgeScore)."""

    score: float
    rationale: str


def _tool_call(raw: dict[str, Any]) -> dict[str, Any]:
    function = raw.get("function") or {}
    arguments: Any = function.get("arguments")
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except ValueError:
            arguments = {"_raw": arguments}
    return {"name": str(function.get("name") or ""), "arguments": arguments}


def parse_completion(body: dict[str, Any], latency_ms: float) -> Reply:
    """A `Reply` from an OpenAI chat.completion body (what every rolecall adapter returns)."""
    choices = body.get("choices") or [{}]
    message = choices[0].get("message") or {}
    content = message.get("content")
    usage = body.get("usage") or {}
    return Reply(
        text=content if isinstance(content, str) else "",
        tool_calls=[_tool_call(c) for c in message.get("tool_calls") or [] if isinstance(c, dict)],
        tokens_in=int(usage.get("prompt_tokens") or 0),
        tokens_out=int(usage.get("completion_tokens") or 0),
        latency_ms=latency_ms,
        finish_reason=choices[0].get("finish_reason"),
    )
