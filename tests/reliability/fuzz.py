"""A bad-input fuzzer: hostile HTTP requests to the gateway's /v1 and /api routes, deterministic
for a seed, sent over raw sockets (so it can lie about lengths and send invalid bytes).

`requests(seed, count)` (the corpus: tests/reliability/fuzz_corpus.py) yields the cases; `run(...)`
sends them and returns a `FuzzReport` (every answer below 500, every 4xx an OpenAI-style error
that names a field or the problem).
`tests/reliability/test_fuzz.py` sends ~800; the long run (``python -m tests.reliability.fuzz``,
or `long_run` from a bench script) 5,000 or more against a fresh gateway.
"""

from __future__ import annotations

import argparse
import json
import socket
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from tests.reliability.fuzz_corpus import Case, requests

__all__ = ["Answer", "Case", "FuzzReport", "long_run", "problem", "requests", "run", "send"]


@dataclass(slots=True)
class Answer:
    status: int | None  # None: the server closed or timed out without an answer
    body: bytes = b""
    content_type: str = ""


@dataclass(slots=True)
class FuzzReport:
    tried: int = 0
    answered: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)  # ≥ 500
    problems: list[str] = field(default_factory=list)  # a 4xx that is not a good error object

    def summary(self) -> str:
        return (
            f"tried {self.tried}, answered {self.answered}, 5xx {len(self.server_errors)}, "
            f"bad 4xx {len(self.problems)}, statuses {dict(sorted(self.statuses.items()))}"
        )


def send(host: str, port: int, data: bytes, half_close: bool, timeout: float = 15.0) -> Answer:
    """Send ``data`` on a fresh connection (``connection: close``), read until the server
    closes. A half-close reads as a disconnect to the server, so only ``half_close`` does it."""
    chunks: list[bytes] = []
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            try:
                sock.sendall(data)
                if half_close:
                    sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass  # the server may refuse before reading it all; read what it answered
            while chunk := sock.recv(65536):
                chunks.append(chunk)
    except OSError:
        pass
    return _parse(b"".join(chunks))


def _parse(raw: bytes) -> Answer:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        return Answer(None)
    headers = dict(line.lower().split(b": ", 1) for line in lines[1:] if b": " in line)
    if headers.get(b"transfer-encoding") == b"chunked":
        body = _unchunk(body)
    return Answer(int(parts[1]), body, headers.get(b"content-type", b"").decode("latin-1"))


def _unchunk(body: bytes) -> bytes:
    out = b""
    while body:
        size_line, _, rest = body.partition(b"\r\n")
        try:
            size = int(size_line.split(b";")[0], 16)
        except ValueError:
            break
        if size == 0:
            break
        out += rest[:size]
        body = rest[size + 2 :]
    return out


def problem(case: Case, answer: Answer) -> str | None:
    """What is wrong with ``answer`` to ``case``, or None."""
    if answer.status is None:
        return None if case.http_level else f"{case.name}: no answer"
    if answer.status >= 500:
        return f"{case.name}: {answer.status} {answer.body[:200]!r}"
    # malformed HTTP too gets an OpenAI-style error (the edge's), when it gets an answer at all
    if answer.status < 400 or case.method in ("HEAD", "OPTIONS"):
        return None
    try:
        error = json.loads(answer.body)["error"]
    except (ValueError, KeyError, TypeError):
        return f"{case.name}: {answer.status} is not an OpenAI-style error: {answer.body[:120]!r}"
    if not isinstance(error, dict) or set(error) < {"message", "type", "param", "code"}:
        return f"{case.name}: {answer.status} error object lacks fields: {error!r:.120}"
    if not (error["param"] or error["code"] or error["message"]):
        return f"{case.name}: {answer.status} error names nothing"
    if len(answer.body) > 4_000:
        return f"{case.name}: {answer.status} error body of {len(answer.body)} bytes (an echo?)"
    return None


def run(
    host: str, port: int, api_key: str, admin_token: str, *, seed: int = 14, count: int = 800,
    workers: int = 4,
) -> FuzzReport:  # fmt: skip
    """Send ``count`` cases and report what came back."""
    auth = {"key": api_key.encode(), "admin": admin_token.encode()}
    cases = list(requests(seed, count))
    report = FuzzReport()

    def one(case: Case) -> tuple[Case, Answer]:
        return case, send(host, port, case.wire(auth), case.half_close)

    with ThreadPoolExecutor(workers) as pool:
        for case, answer in pool.map(one, cases):
            report.tried += 1
            if answer.status is not None:
                report.answered += 1
                report.statuses[answer.status] += 1
            found = problem(case, answer)
            if found is None:
                continue
            target = report.server_errors if (answer.status or 0) >= 500 else report.problems
            target.append(found)
    return report


def long_run(count: int = 5_000, seed: int = 14, database_url: str | None = None) -> FuzzReport:
    """The long run against a fresh gateway over a scripted upstream (SQLite unless given)."""
    from tests.integration.gateway.harness import ADMIN_TOKEN
    from tests.reliability.conftest import scripted_gateway

    with scripted_gateway(database_url) as gw:
        return run("127.0.0.1", gw.port, gw.api_key, ADMIN_TOKEN, seed=seed, count=count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    report = long_run(args.count, args.seed, args.database_url)
    print(report.summary())
    for line in [*report.server_errors, *report.problems][:50]:
        print("  ", line)


if __name__ == "__main__":
    main()
