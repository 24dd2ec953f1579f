"""The bad-input fuzzer's corpus: hostile values and the generators that build requests from them
(deterministic for a seed). `tests/reliability/fuzz.py` sends them and judges the answers."""

from __future__ import annotations

import gzip
import json
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import quote

CHAT: Final = "/v1/chat/completions"
BASE: Final[dict[str, Any]] = {
    "model": "default",
    "messages": [{"role": "user", "content": "hi"}],
    "max_tokens": 8,
}
HOSTILE: Final[list[Any]] = [
    None, True, False, 0, -1, 1.5, -0.0, 2**63 - 1, 2**64 - 1, -(2**63), 1e308, 5e-324,
    "", " ", "x", "\x00", "\ud7ff\ue000", "\u202e\u0000\uffff", "😀" * 50, "a" * 5000,
    [], [None], [[]], {}, {"": None}, {"type": 1}, [{"type": "text"}], {"role": "user"},
]  # fmt: skip
RAW_NUMBERS: Final = [
    b"NaN", b"Infinity", b"-Infinity", b"1e309", b"-1e309", b"1e-400", b"-0", b"0e0",
    b"123456789012345678901234567890", b"18446744073709551616", b"0x10", b"01", b"+1", b".5",
]  # fmt: skip
RAW_STRINGS: Final = [
    b'"\\ud800"', b'"\\udc00\\ud800"', b'"\\u0000"', b'"\xff\xfe"', b'"\xc0\xaf"', b'"\xed\xa0\x80"',
    b'"\\x41"', b"'single'", b'"unterminated', b'"\t\n raw control"',
]  # fmt: skip
DEPTHS: Final = [200, 254, 255, 256, 1023, 1024, 1025]
BODY_FIELDS: Final = [
    ("model",), ("messages",), ("messages", 0), ("messages", 0, "role"),
    ("messages", 0, "content"), ("stream",), ("tools",), ("max_tokens",),
    ("max_completion_tokens",), ("temperature",), ("top_p",), ("response_format",),
    ("rolecall",), ("rolecall", "strategy"), ("rolecall", "role"), ("rolecall", "task"),
    ("rolecall", "budget"), ("rolecall", "prefer_local"), ("rolecall", "deny_remote"),
    ("metadata",), ("n",), ("stop",),
]  # fmt: skip
HINT_HEADERS: Final = ["strategy", "role", "task", "budget", "prefer-local", "deny-remote"]
HEADER_VALUES: Final = [
    b"nan", b"NaN", b"inf", b"-inf", b"1e309", b"-1", b"", b" ", b"0x1", b"1" * 400,
    b"\xff\xfe", b"caf\xe9", b"true", b"yes", b"cost", b"\t", b"9" * 8000,
]  # fmt: skip
ADMIN_GETS: Final = [
    "/api/endpoints", "/api/decisions", "/api/cooldowns", "/api/bench/suites", "/api/bench/runs",
    "/api/bench/compare", "/api/console/models", "/api/console/bindings", "/api/console/posture",
    "/api/console/candidates", "/api/console/decisions", "/api/console/requests",
    "/api/console/analytics", "/api/console/routing", "/api/console/agreement",
    "/api/console/system", "/api/lab/results",
]  # fmt: skip
QUERY_NAMES: Final = [
    "limit", "offset", "window", "status", "source", "group_by", "outcome", "endpoint",
    "endpoint_id", "strategy", "a", "b", "role", "task", "model",
]  # fmt: skip
QUERY_VALUES: Final = [
    "-1", "abc", "1e309", "99999999999999999999", "nan", "", "%00", "%ff", "%", "0", "500",
    "501", "24h", "7d", "5xx", "x" * 3000, "%E2%80%AE", "1.5", "+1", " 1", "endpoint",
]  # fmt: skip
ADMIN_BODIES: Final = {
    ("POST", "/api/bench/runs"): {"mode": "quick", "endpoints": ["ep"], "judge": None},
    ("PUT", "/api/console/bindings"): {"role_id": "r", "endpoint_id": "ep", "status": "auto"},
    ("POST", "/api/console/discover"): {"url": "http://127.0.0.1:9"},
    ("POST", "/api/console/endpoints"): {"url": "http://127.0.0.1:9", "provider": "p"},
    ("PUT", "/api/console/posture"): {"strategy": "balanced"},
    ("POST", "/api/console/posture/preview"): {"strategy": "cost", "mode": "baseline"},
    ("POST", "/api/console/prompt"): {"prompt": "hi", "max_tokens": 8},
}
PATHS: Final = [
    "/v1/../api/endpoints", "/v1/%2e%2e/api/endpoints", "/v1/%2E%2E%2Fapi%2Fendpoints",
    "//v1/models", "/v1/models/", "/v1/chat/completions/", "/v1/chat/completions%00",
    "/V1/CHAT/COMPLETIONS", "/api/decisions/%00", "/api/decisions/" + "d" * 5000,
    "/api/requests/%ff%fe", "/api/lab/plots/..%2f..%2fadmin_token", "/api/lab/plots/%2e%2e",
    "/ui/../../etc/passwd", "/ui/%2e%2e/%2e%2e/etc/passwd", "/ui/" + "a/" * 300, "/nope",
    "/api/bench/runs/%20/progress", "/api/cooldowns/%00", "/api/console/decisions/\u00e9",
    "/v1/chat/completions?x=" + "y" * 4000, "/api/decisions?limit=1&limit=2", "*", "/%",
]  # fmt: skip
METHODS: Final = ["GET", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "TRACE", "FOO", "post"]


@dataclass(slots=True)
class Case:
    """One hostile request; ``raw`` (a whole request's bytes) overrides the other fields."""

    name: str
    method: str = "POST"
    path: str = CHAT
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""
    raw: bytes | None = None
    # malformed HTTP, answered by the server's parser (or not at all), not by rolecall's handlers
    http_level: bool = False

    # the request claims more body than it sends: half-close so the server sees the end
    half_close: bool = False

    def wire(self, auth: dict[str, bytes]) -> bytes:
        if self.raw is not None:
            return self.raw
        names = {k.lower() for k, _ in self.headers}
        lines = [f"{self.method} {self.path} HTTP/1.1".encode("utf-8", "surrogateescape")]
        lines.append(b"host: 127.0.0.1")
        token = auth["admin"] if self.path.startswith("/api") else auth["key"]
        if b"authorization" not in names:
            lines.append(b"authorization: Bearer " + token)
        if b"content-type" not in names and self.body:
            lines.append(b"content-type: application/json")
        if b"content-length" not in names and b"transfer-encoding" not in names:
            lines.append(b"content-length: " + str(len(self.body)).encode())
        lines += [k + b": " + v for k, v in self.headers]
        lines.append(b"connection: close")
        return b"\r\n".join(lines) + b"\r\n\r\n" + self.body


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


def _nested(depth: int, leaf: bytes = b'"deep"') -> bytes:
    return b"[" * depth + leaf + b"]" * depth


def _set(body: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    out = json.loads(json.dumps(body))
    target: Any = out
    for part in path[:-1]:
        if isinstance(target, dict):
            target = target.setdefault(part, {})
        elif isinstance(target, list) and isinstance(part, int) and part < len(target):
            target = target[part]
        else:
            return out
    last = path[-1]
    in_list = isinstance(target, list) and isinstance(last, int) and last < len(target)
    if isinstance(target, dict) or in_list:
        target[last] = value
    return out


def _splice(rng: random.Random, literal: bytes) -> bytes:
    """A valid body with one field's JSON text replaced by ``literal`` (bytes the encoder
    would never write)."""
    path = rng.choice(BODY_FIELDS)
    marker = "@@SPLICE@@"
    return _dumps(_set(BASE, path, marker)).replace(f'"{marker}"'.encode(), literal)


def _wrong_type(rng: random.Random) -> Case:
    path = rng.choice(BODY_FIELDS)
    value = rng.choice(HOSTILE)
    return Case(
        f"type {'.'.join(map(str, path))}={str(value)[:20]!r}", body=_dumps(_set(BASE, path, value))
    )


def _raw_literal(rng: random.Random) -> Case:
    literal = rng.choice(RAW_NUMBERS + RAW_STRINGS)
    return Case(f"literal {literal[:20]!r}", body=_splice(rng, literal))


def _deep(rng: random.Random) -> Case:
    depth = rng.choice(DEPTHS)
    leaf = rng.choice([b'"deep"', b"{}", b'{"a":1}', b"1e309"])
    opener, closer = rng.choice([(b"[", b"]"), (b'{"k":', b"}")])
    nested = opener * depth + leaf + closer * depth
    return Case(f"depth {depth} {opener!r}", body=_splice(rng, nested))


def _size(rng: random.Random) -> Case:
    size = rng.choice([7_000_000, 8_388_608, 10_000_000])
    path = rng.choice([("model",), ("messages", 0, "content"), ("rolecall", "role"), ("metadata",)])
    return Case(f"huge {size} at {path}", body=_dumps(_set(BASE, path, "x" * size)))


def _syntax(rng: random.Random) -> Case:
    good = _dumps({**BASE, "rolecall": {"strategy": "cost"}})
    choices: list[tuple[str, bytes]] = [
        ("truncated", good[: rng.randrange(len(good))]),
        (
            "duplicate keys",
            b'{"model":"default","model":[],"messages":[{"role":"user","content":"x"}]}',
        ),
        ("duplicate rolecall", good[:-1] + b',"rolecall":{"budget":"nan"},"rolecall":{}}'),
        ("empty", b""),
        ("null", b"null"),
        ("array", b"[]"),
        ("number", b"1"),
        ("string", b'"str"'),
        ("bom", b"\xef\xbb\xbf" + good),
        ("utf16", good.decode().encode("utf-16")),
        ("trailing", good + b"garbage"),
        ("two documents", good + good),
        ("nul bytes", b"\x00" * 64),
        ("invalid utf-8", good.replace(b'"hi"', b'"h\xff\xfei"')),
        ("comment", good.replace(b"{", b"{/* c */", 1)),
    ]
    name, body = rng.choice(choices)
    return Case(name, body=body)


def _framing(rng: random.Random) -> Case:
    good = _dumps(BASE)
    kind = rng.choice(["type", "short", "long", "gzip", "chunked-bad", "te-and-cl", "bomb"])
    if kind == "type":
        ctype = rng.choice(
            [
                b"text/plain",
                b"application/x-www-form-urlencoded",
                b"multipart/form-data; boundary=x",
                b"",
                b"application/json; charset=latin-1",
                b"\xff",
            ]
        )
        return Case(f"content-type {ctype!r}", headers=[(b"content-type", ctype)], body=good)
    if kind == "short":  # says less than it sends: the rest reads as a second, garbage request
        return Case(
            "content-length short", headers=[(b"content-length", b"10")], body=good, http_level=True
        )
    if kind == "long":  # says more than it sends, then the connection is half-closed
        long = Case("content-length long", headers=[(b"content-length", b"100000")], body=good)
        long.http_level = long.half_close = True
        return long
    if kind == "gzip":
        return Case(
            "gzip body", headers=[(b"content-encoding", b"gzip")], body=gzip.compress(good, mtime=0)
        )
    if kind == "bomb":
        bomb = gzip.compress(b"[" * 2_000_000, mtime=0)
        return Case("gzip bomb", headers=[(b"content-encoding", b"gzip")], body=bomb)
    if kind == "chunked-bad":
        raw = b"zz\r\n" + good + b"\r\n0\r\n\r\n"
        return Case(
            "bad chunk size",
            headers=[(b"transfer-encoding", b"chunked")],
            body=raw,
            http_level=True,
        )
    return Case(
        "te and cl",
        headers=[(b"transfer-encoding", b"chunked"), (b"content-length", b"5")],
        body=b"5\r\nhello\r\n0\r\n\r\n",
        http_level=True,
    )


def _headers(rng: random.Random) -> Case:
    kind = rng.choice(["hint", "hint", "hint", "many", "huge", "auth"])
    if kind == "hint":
        name = b"x-rolecall-" + rng.choice(HINT_HEADERS).encode()
        value = rng.choice(HEADER_VALUES)
        return Case(f"header {name!r}={value[:12]!r}", headers=[(name, value)], body=_dumps(BASE))
    if kind == "many":
        count = rng.choice([100, 500, 2000])
        many = [(f"x-junk-{i}".encode(), b"v") for i in range(count)]
        return Case(f"{count} headers", headers=many, body=_dumps(BASE), http_level=count > 100)
    if kind == "huge":
        size = rng.choice([8_000, 64_000, 200_000])
        return Case(
            f"header of {size}",
            headers=[(b"x-big", b"v" * size)],
            body=_dumps(BASE),
            http_level=True,
        )
    value = rng.choice(
        [
            b"Bearer",
            b"Bearer ",
            b"bearer rc-x",
            b"Basic YTpi",
            b"Bearer \xff",
            b"Bearer " + b"k" * 9000,
            b"",
        ]
    )
    return Case(
        f"authorization {value[:16]!r}", headers=[(b"authorization", value)], body=_dumps(BASE)
    )


def _query(rng: random.Random) -> Case:
    path = rng.choice(ADMIN_GETS)
    pairs = [
        f"{rng.choice(QUERY_NAMES)}={quote(rng.choice(QUERY_VALUES), safe='%+')}"
        for _ in range(rng.randint(1, 4))
    ]
    return Case(f"query {path}", method="GET", path=f"{path}?{'&'.join(pairs)}")


def _method(rng: random.Random) -> Case:
    path = rng.choice([CHAT, "/v1/models", "/healthz", "/openapi.json", *ADMIN_GETS[:6]])
    method = rng.choice(METHODS)
    body = _dumps(BASE) if rng.random() < 0.5 else b""
    # a method the HTTP parser does not know is malformed HTTP, refused before any handler
    return Case(f"{method} {path}", method, path, body=body, http_level=method in ("FOO", "post"))


def _path(rng: random.Random) -> Case:
    path = rng.choice(PATHS)
    method = rng.choice(["GET", "POST", "DELETE"])
    # not a valid request target (raw non-ASCII, a broken %-escape, '*'): malformed HTTP
    invalid = not path.isascii() or re.search(r"%(?![0-9a-fA-F]{2})", path) or path == "*"
    return Case(f"{method} {path[:60]}", method, path, http_level=bool(invalid))


def _admin_body(rng: random.Random) -> Case:
    (method, path), good = rng.choice(list(ADMIN_BODIES.items()))
    roll = rng.random()
    if roll < 0.6:
        key = rng.choice([*good, "extra"])
        body = _dumps({**good, key: rng.choice(HOSTILE)})
    elif roll < 0.8:
        body = _dumps(good).replace(
            b"}", b',"k":' + rng.choice([*RAW_NUMBERS, _nested(rng.choice(DEPTHS))]) + b"}"
        )
    else:
        body = rng.choice([b"", b"null", b"[]", b"{", b'"x"', b"\xff"])
    return Case(f"{method} {path} body", method=method, path=path, body=body)


def _malformed_http(rng: random.Random) -> Case:
    raw = rng.choice(
        [
            b"GET\r\n\r\n",
            b"GET / HTTP/9.9\r\n\r\n",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  # a TLS hello
            b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nbad header line\r\n\r\n",
            b"GET /healthz HTTP/1.1\r\nhost: x\r\nx: \x00\r\n\r\n",
            b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nhost: x\r\n\r\n",
        ]
    )
    return Case("malformed http", raw=raw, http_level=True)


GENERATORS: Final[list[tuple[Callable[[random.Random], Case], int]]] = [
    (_wrong_type, 24), (_raw_literal, 12), (_deep, 8), (_size, 2), (_syntax, 8), (_framing, 6),
    (_headers, 12), (_query, 12), (_method, 4), (_path, 4), (_admin_body, 8), (_malformed_http, 2),
]  # fmt: skip


def requests(seed: int, count: int) -> Iterator[Case]:
    """``count`` hostile requests, the same ones for the same seed."""
    rng = random.Random(seed)
    makers = [maker for maker, weight in GENERATORS for _ in range(weight)]
    for _ in range(count):
        yield rng.choice(makers)(rng)
