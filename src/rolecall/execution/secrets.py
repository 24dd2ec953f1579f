"""Keep credentials out of relayed upstream errors (no secret leaves the gateway).

An upstream's error text goes back to clients, into messages, logs and records; some providers
echo the request's headers in it. `scrub` replaces the credentials it knows (the provider key the
call carried) and any that look like one: ``Authorization``/``x-api-key`` values, ``Bearer``
tokens, ``sk-``/``sk-ant-``/``rc-``/``rca-`` keys and long tokens right after a key/token/secret
word. `summarise` also caps the length, and `error_reply_body` turns an upstream error body into
an OpenAI-style error carrying only scrubbed ``message``/``type``/``param``/``code``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Final

import orjson

REDACTED: Final = "[redacted]"
MIN_SECRET_LENGTH: Final = 8
MAX_MESSAGE_CHARS: Final = 2000
MAX_SCAN_CHARS: Final = 65536  # an error body longer than this is cut before it is scrubbed

_TOKEN_CHARS: Final = r"[A-Za-z0-9._~+/=-]"
# ``authorization: Bearer x``, ``"x-api-key": "k"``, ``api_key=k``: the whole value goes.
_HEADER_VALUE: Final = re.compile(
    r"""(?P<name>\b(?:proxy-)?authorization|\bx-api-key|\bapi[-_]?key)"""
    r"""(?P<sep>["']?\s*[:=]\s*)(?P<quote>["']?)(?P<value>[^"'\r\n,;}]+)""",
    re.IGNORECASE,
)
_BEARER: Final = re.compile(rf"\b(?P<scheme>bearer|basic)\s+(?P<value>{_TOKEN_CHARS}+)", re.I)
_KEY_LIKE: Final = re.compile(r"\b(?:sk-(?:ant-)?|rca?-)[A-Za-z0-9_-]{16,}")
_AFTER_WORD: Final = re.compile(
    rf"(?P<word>\b(?:key|token|secret|password)s?\b\W{{1,4}}?)(?P<value>{_TOKEN_CHARS}{{24,}})",
    re.IGNORECASE,
)


def _tokenish(value: str, min_length: int) -> bool:
    """Long enough and not an ordinary word: a digit or a symbol a word does not carry."""
    return len(value) >= min_length and any(c.isdigit() or c in "+/=_" for c in value)


def _redact_header(match: re.Match[str]) -> str:
    return f"{match['name']}{match['sep']}{match['quote']}{REDACTED}"


def _redact_bearer(match: re.Match[str]) -> str:
    value = match["value"]
    if not _tokenish(value, MIN_SECRET_LENGTH):
        return match[0]
    return f"{match['scheme']} {REDACTED}"


def _redact_after_word(match: re.Match[str]) -> str:
    if not _tokenish(match["value"], 24):
        return match[0]
    return f"{match['word']}{REDACTED}"


def scrub(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with every known secret (at least 8 characters) and every credential-looking value
    replaced by ``[redacted]``; ordinary text is left as it is."""
    known = sorted({s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True)
    for secret in known:
        text = text.replace(secret, REDACTED)
    text = _HEADER_VALUE.sub(_redact_header, text)
    text = _BEARER.sub(_redact_bearer, text)
    text = _KEY_LIKE.sub(REDACTED, text)
    return _AFTER_WORD.sub(_redact_after_word, text)


def summarise(text: str, secrets: Iterable[str | None] = (), limit: int = MAX_MESSAGE_CHARS) -> str:
    """`scrub` then cap at ``limit`` characters (scrubbed first, so no cut leaves half a key)."""
    clean = scrub(text[:MAX_SCAN_CHARS], secrets)
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def _error_object(raw: bytes) -> dict[str, Any] | None:
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    err = parsed.get("error") if isinstance(parsed, dict) else None
    return err if isinstance(err, dict) and isinstance(err.get("message"), str) else None


def error_reply_body(
    raw: bytes, secrets: Iterable[str | None] = (), kind: str = "invalid_request_error"
) -> bytes:
    """An OpenAI-style error body for a client from an upstream's error body: its
    ``error.message`` (and ``type``/``param``/``code`` when strings) scrubbed, every other field
    dropped; a body without one becomes an error whose message is the scrubbed, capped text."""
    known = tuple(secrets)
    err = _error_object(raw[: MAX_SCAN_CHARS * 4])
    if err is None:
        text = raw[:MAX_SCAN_CHARS].decode("utf-8", "replace").strip() or "upstream error"
        err = {"message": text, "type": kind}
    out: dict[str, str | int | None] = {}
    for field in ("message", "type", "param", "code"):
        value = err.get(field)
        if isinstance(value, str):
            out[field] = summarise(value, known)
        else:
            out[field] = value if type(value) is int else None
    out["type"] = out["type"] or kind
    return orjson.dumps({"error": out})
