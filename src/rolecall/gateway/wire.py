"""The OpenAI chat-completions wire format: request checks, requirement inference, error bodies.

This is the only module that knows the wire shape. Checks are hand-written (no model building) because
they sit on the hot path; each failure names the parameter, as OpenAI's own errors do.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import orjson

from rolecall.gateway.wire_identity import NO_IDENTITY, IdentityError, parse_identity
from rolecall.gateway.wire_intent import Intent, IntentError, parse_intent
from rolecall.inventory.aliases import ROUTING_MODES
from rolecall.observe.identity import RequestIdentity

ROLES: Final = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
STRATEGIES: Final = frozenset(
    {"balanced", "quality", "latency", "cost", "high-quality", "low-latency", "low-cost"}
)
EXTENSION_KEYS: Final = frozenset(
    {"strategy", "mode", "role", "task", "budget", "prefer_local", "deny_remote"}
)
# an amount in an ``x-rolecall-budget`` header: plain decimal digits (no exponent, no nan/inf)
BUDGET_TEXT: Final = re.compile(r"[0-9]{1,15}(\.[0-9]{1,15})?")
FLAG_TEXT: Final = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}
CHARS_PER_TOKEN: Final = 4
SHOWN_CHARS: Final = 80  # a value echoed in an error message is cut to this many characters
MAX_MESSAGE_CHARS: Final = 1000  # and a whole error message to this many
# token counts beyond this are not believed from an upstream nor accepted from a client (they
# would overflow a 32-bit column)
MAX_TOKENS_REPORTED: Final = 2**31 - 1


class WireError(Exception):
    """A request the gateway refuses; rendered as an OpenAI-style error object."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        kind: str = "invalid_request_error",
        headers: dict[str, str] | None = None,
    ) -> None:
        # the last guard against echoing a client's huge value back: whatever a message or a
        # parameter name quotes, the error stays small
        message = _cut(message, MAX_MESSAGE_CHARS)
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = None if param is None else _cut(param, SHOWN_CHARS)
        self.code = code
        self.kind = kind
        self.headers = headers or {}

    def body(self) -> bytes:
        return error_body(self.message, self.kind, self.param, self.code)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def shown(value: object) -> str:
    """``repr(value)`` for an error message, cut to `SHOWN_CHARS` (a client's 7 MB model name is
    not echoed back whole)."""
    text = repr(value)
    if len(text) <= SHOWN_CHARS:
        return text
    size = len(value) if isinstance(value, str) else len(text)
    return f"{text[:SHOWN_CHARS]}... ({size} characters)"


def token_count(value: object) -> int | None:
    """A token count an upstream reported, or None when it is not a plausible count (a string, a
    list, a negative or absurd number): recorded as unknown, never trusted."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 <= value <= MAX_TOKENS_REPORTED else None


def usage_counts(usage: object) -> tuple[int | None, int | None]:
    """(prompt tokens, completion tokens) of an upstream's ``usage`` object, each None when
    absent or implausible."""
    if not isinstance(usage, dict):
        return None, None
    return token_count(usage.get("prompt_tokens")), token_count(usage.get("completion_tokens"))


def error_body(message: str, kind: str, param: str | None = None, code: str | None = None) -> bytes:
    return orjson.dumps({"error": {"message": message, "type": kind, "param": param, "code": code}})


@dataclass(slots=True)
class RoutingHints:
    """Per-request routing flags (headers ``x-rolecall-*`` or the body's ``rolecall`` object)."""

    strategy: str | None = None
    mode: str | None = None  # a routing mode (checked against what the inventory can run later)
    role: str | None = None
    task: str | None = None
    budget: float | None = None
    prefer_local: bool = False
    deny_remote: bool = False


@dataclass(slots=True)
class ChatRequest:
    body: dict[str, Any]  # forwarded upstream (without the rolecall extension)
    model: str
    stream: bool
    needs_tools: bool
    modalities: tuple[str, ...]
    context_tokens: int
    prompt_tokens_estimate: int
    structured_output: bool
    hints: RoutingHints = field(default_factory=RoutingHints)
    max_tokens: int | None = None  # the output cap the client asked for
    # ``user`` (forwarded upstream too), ``metadata`` (kept on the record, not forwarded), tags
    identity: RequestIdentity = NO_IDENTITY
    # role-model's advisory intent (``role_model``, not forwarded; `rolecall.gateway.wire_intent`)
    intent: Intent | None = None


def json_object(raw: bytes) -> dict[str, Any]:
    """A request body as a JSON object, or the 400 that says why it is not one."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise WireError(
            400, f"request body is not valid JSON: {exc}", code="invalid_json"
        ) from None
    if not isinstance(body, dict):
        raise WireError(400, "request body must be a JSON object", code="invalid_json")
    return body


def parse_chat_request(raw: bytes, headers: Mapping[str, str]) -> ChatRequest:
    return chat_request(json_object(raw), headers)


def chat_request(body: dict[str, Any], headers: Mapping[str, str]) -> ChatRequest:
    """A chat-completions body checked and read for routing. The other front doors (Responses,
    Anthropic Messages, legacy completions) translate their bodies to this shape and come here,
    so every request is checked and routed the same way. ``body`` is taken over (the ``rolecall``
    and ``role_model`` extensions and ``metadata`` are removed from it)."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise WireError(400, "'model' is required and must be a non-empty string", param="model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise WireError(400, "'messages' must be a non-empty array", param="messages")
    has_image = _check_messages(messages)
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise WireError(400, "'stream' must be true or false", param="stream")
    tools = body.get("tools")
    if tools is not None:
        _check_tools(tools)
    max_tokens = _max_tokens(body)
    _check_number(body, "temperature", 0, 2)
    _check_number(body, "top_p", 0, 1)
    response_format = body.get("response_format")
    if response_format is not None and not isinstance(response_format, dict):
        raise WireError(400, "'response_format' must be an object", param="response_format")
    hints = routing_hints(body.pop("rolecall", None), headers)
    intent = _intent(body.pop("role_model", None), headers)
    identity = body_identity(body)
    prompt_chars = encoded_size(messages, "messages")
    prompt_chars += encoded_size(tools, "tools") if tools else 0
    for key, value in body.items():  # what else is forwarded must encode too
        if key not in ("messages", "tools") and isinstance(value, dict | list):
            encoded_size(value, key)
    prompt_tokens = prompt_chars // CHARS_PER_TOKEN + 1
    structured = isinstance(response_format, dict) and response_format.get("type") in (
        "json_object",
        "json_schema",
    )
    return ChatRequest(
        body=body,
        model=model,
        stream=stream,
        needs_tools=bool(tools) and body.get("tool_choice") != "none",
        modalities=("text", "image") if has_image else ("text",),
        context_tokens=prompt_tokens + (max_tokens or 0),
        prompt_tokens_estimate=prompt_tokens,
        structured_output=structured,
        hints=hints,
        max_tokens=max_tokens,
        identity=identity,
        intent=intent,
    )


def encoded_size(value: Any, param: str | None) -> int:
    """Length of ``value`` encoded as it is forwarded upstream and recorded. The JSON parser accepts
    deeper nesting than the encoder writes: a value nested past the encoder's limit is refused here
    rather than failing later. Upstream, the value sits one level down in the body object, so it
    is encoded one level down here too (a value exactly at the limit passed, then failed there)."""
    try:
        return len(orjson.dumps((value,))) - 2
    except orjson.JSONEncodeError as exc:
        raise WireError(
            400,
            f"request body cannot be forwarded: {exc} (nest it less deeply)",
            param=param,
            code="invalid_json",
        ) from None


def _check_messages(messages: list[Any]) -> bool:
    has_image = False
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(message, dict):
            raise WireError(400, f"'{where}' must be an object", param=where)
        role = message.get("role")
        if not isinstance(role, str) or role not in ROLES:
            raise WireError(
                400, f"'{where}.role' must be one of {sorted(ROLES)}", param=f"{where}.role"
            )
        content = message.get("content")
        if isinstance(content, list):
            for j, part in enumerate(content):
                if not isinstance(part, dict) or not isinstance(part.get("type"), str):
                    raise WireError(
                        400,
                        f"'{where}.content[{j}]' must be an object with a 'type'",
                        param=f"{where}.content[{j}]",
                    )
                has_image = has_image or part["type"] in ("image_url", "input_image")
        elif content is None:
            if role not in ("assistant", "tool", "function"):
                raise WireError(400, f"'{where}.content' is required", param=f"{where}.content")
        elif not isinstance(content, str):
            raise WireError(
                400,
                f"'{where}.content' must be a string or an array of parts",
                param=f"{where}.content",
            )
    return has_image


def _check_tools(tools: Any) -> None:
    if not isinstance(tools, list):
        raise WireError(400, "'tools' must be an array", param="tools")
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict) or not isinstance(tool.get("type"), str):
            where = f"tools[{i}]"
            raise WireError(400, f"'{where}' must be an object with a 'type'", param=where)


def _max_tokens(body: Mapping[str, Any]) -> int | None:
    """The output cap asked for (``max_completion_tokens`` wins); both are checked."""
    found = None
    for key in ("max_tokens", "max_completion_tokens"):
        value = body.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise WireError(400, f"'{key}' must be a positive integer", param=key)
        if not 1 <= value <= MAX_TOKENS_REPORTED:
            raise WireError(400, f"'{key}' must be between 1 and {MAX_TOKENS_REPORTED}", param=key)
        found = value
    return found


def _check_number(body: Mapping[str, Any], key: str, low: float, high: float) -> None:
    value = body.get(key)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise WireError(400, f"'{key}' must be a number between {low} and {high}", param=key)


def body_identity(body: dict[str, Any]) -> RequestIdentity:
    """``user`` and ``metadata``. ``metadata`` is removed from the body: it describes the request
    to rolecall (records, usage by tag), and an upstream need not accept it."""
    if "user" not in body and "metadata" not in body:
        return NO_IDENTITY
    try:
        return parse_identity(body.get("user"), body.pop("metadata", None))
    except IdentityError as exc:
        raise WireError(400, exc.message, param=exc.param) from None


def _intent(extension: Any, headers: Mapping[str, str]) -> Intent | None:
    try:
        return parse_intent(extension, headers)
    except IntentError as exc:
        raise WireError(400, exc.message, param=exc.param) from None


def routing_hints(extension: Any, headers: Mapping[str, str]) -> RoutingHints:
    if extension is None:
        extension = {}
    if not isinstance(extension, dict):
        raise WireError(400, "'rolecall' must be an object", param="rolecall")
    unknown = set(extension) - EXTENSION_KEYS
    if unknown:
        key = sorted(unknown)[0]  # a client's key: WireError cuts what it echoes
        raise WireError(
            400,
            f"unknown routing option 'rolecall.{key}'; use one of {sorted(EXTENSION_KEYS)}",
            param=f"rolecall.{key}",
        )
    hints = RoutingHints()
    hints.strategy = _strategy(_option(extension, headers, "strategy")[0])
    hints.mode = _mode(_option(extension, headers, "mode")[0])
    hints.role = _text(_option(extension, headers, "role")[0], "role")
    hints.task = _text(_option(extension, headers, "task")[0], "task")
    hints.budget = _budget(*_option(extension, headers, "budget"))
    hints.prefer_local = _flag(*_option(extension, headers, "prefer_local"), "prefer_local")
    hints.deny_remote = _flag(*_option(extension, headers, "deny_remote"), "deny_remote")
    return hints


def _option(
    extension: Mapping[str, Any], headers: Mapping[str, str], name: str
) -> tuple[Any, bool]:
    """(value, whether it came from a header): the body's ``rolecall`` object wins. A header is
    text, so it is parsed; a body value must already have its JSON type."""
    if name in extension:
        return extension[name], False
    return headers.get(f"x-rolecall-{name.replace('_', '-')}"), True


def _strategy(value: Any) -> str | None:
    if value is not None and (not isinstance(value, str) or value not in STRATEGIES):
        raise WireError(
            400,
            f"unknown strategy {shown(value)}; use one of {sorted(STRATEGIES)}",
            param="rolecall.strategy",
        )
    return value


def _mode(value: Any) -> str | None:
    if value is not None and (not isinstance(value, str) or value not in ROUTING_MODES):
        raise WireError(
            400,
            f"unknown routing mode {shown(value)}; use one of {list(ROUTING_MODES)}",
            param="rolecall.mode",
        )
    return value


def _budget(value: Any, from_header: bool) -> float | None:
    if value is None:
        return None
    if from_header:
        if not BUDGET_TEXT.fullmatch(value):
            raise WireError(
                400,
                f"'x-rolecall-budget' must be a plain decimal amount like 0.05, got {shown(value)}",
                param="rolecall.budget",
            )
        return float(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise WireError(400, "'rolecall.budget' must be a number", param="rolecall.budget")
    if not math.isfinite(value) or value < 0:
        raise WireError(
            400, "'rolecall.budget' must be a finite number >= 0", param="rolecall.budget"
        )
    return float(value)


def _text(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise WireError(
            400, f"'rolecall.{name}' must be a non-empty string", param=f"rolecall.{name}"
        )
    return value


def _flag(value: Any, from_header: bool, name: str) -> bool:
    if value is None:
        return False
    if isinstance(value, bool) and not from_header:
        return value
    if from_header and value.lower() in FLAG_TEXT:
        return FLAG_TEXT[value.lower()]
    expected = f"one of {', '.join(FLAG_TEXT)}" if from_header else "true or false"
    raise WireError(400, f"'rolecall.{name}' must be {expected}", param=f"rolecall.{name}")


def int_param(request: Any, name: str, default: int, high: int) -> int:
    """Query parameter ``name`` as an integer in [0, ``high``]; 400 naming it otherwise."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise WireError(400, f"'{name}' must be an integer, got {raw!r}", param=name) from None
    if not 0 <= value <= high:
        raise WireError(400, f"'{name}' must be between 0 and {high}, got {value}", param=name)
    return value
