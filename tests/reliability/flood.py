"""A slow-connection flood against a gateway, and probes of it while the flood holds.

The flood opens connections from several loopback addresses (all of 127.0.0.0/8 is loopback on
Linux), sends the start of a request head and never finishes it; a connection the server closes
is opened again at once, as a persistent attacker would. Meanwhile `probe` asks ``/healthz`` and
chat from 127.0.0.1. `run_flood` spreads the flood over worker processes so that no process needs
more descriptors than its hard limit allows (the server, in its own process, needs as many).

    from tests.reliability.flood import run_flood
    report = run_flood(port, api_key, connections=20_000)  # a FloodReport
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import multiprocessing
import resource
import time
from dataclasses import dataclass, field
from typing import Final

PARTIAL_HEAD: Final = b"POST /v1/chat/completions HTTP/1.1\r\nhost: gateway\r\nx-slow: "
FLOOD_SOURCES: Final = tuple(f"127.0.{i // 250}.{2 + i % 250}" for i in range(200))
CHAT: Final = json.dumps({"model": "default", "messages": [{"role": "user", "content": "hi"}]})


@dataclass(slots=True)
class FloodReport:
    connections: int
    opened: int = 0  # connections the flood opened, re-openings included
    closed_by_server: int = 0
    connect_errors: int = 0
    answered: dict[str, int] = field(default_factory=lambda: {"healthz": 0, "chat": 0})
    failed: dict[str, int] = field(default_factory=lambda: {"healthz": 0, "chat": 0})
    worst_s: dict[str, float] = field(default_factory=lambda: {"healthz": 0.0, "chat": 0.0})

    def line(self) -> str:
        return (
            f"slow flood of {self.connections} connections: opened {self.opened}, closed by the "
            f"server {self.closed_by_server}, connect errors {self.connect_errors}; /healthz "
            f"{self.answered['healthz']} answered / {self.failed['healthz']} failed (worst "
            f"{self.worst_s['healthz']:.2f} s), chat {self.answered['chat']} answered / "
            f"{self.failed['chat']} failed (worst {self.worst_s['chat']:.2f} s)"
        )


def raise_own_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


async def _hold(port: int, source: str, stop_at: float, counts: list[int]) -> None:
    """One flood connection from ``source``, opened again whenever the server closes it."""
    while time.monotonic() < stop_at:
        try:
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, local_addr=(source, 0)
            )
        except OSError:
            counts[2] += 1
            await asyncio.sleep(0.2)
            continue
        counts[0] += 1
        try:
            writer.write(PARTIAL_HEAD)
            left = stop_at - time.monotonic()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(reader.read(), max(left, 0.01))
                counts[1] += 1  # the server closed it (a timeout or a cap)
        except OSError:
            counts[1] += 1
        finally:
            writer.close()


async def _flood_async(port: int, n: int, sources: tuple[str, ...], seconds: float) -> list[int]:
    counts = [0, 0, 0]  # opened, closed by the server, connect errors
    stop_at = time.monotonic() + seconds
    tasks = []
    for i in range(n):
        tasks.append(asyncio.create_task(_hold(port, sources[i % len(sources)], stop_at, counts)))
        if i % 500 == 499:
            await asyncio.sleep(0)  # let the first ones connect while the rest are created
    await asyncio.gather(*tasks, return_exceptions=True)
    return counts


def _worker(port: int, n: int, sources: tuple[str, ...], seconds: float, out: object) -> None:
    raise_own_fd_limit()
    counts = asyncio.run(_flood_async(port, n, sources, seconds))
    out.put(counts)  # type: ignore[attr-defined]


def probe(port: int, api_key: str | None, path: str, timeout: float = 10.0) -> bool:
    """One request from 127.0.0.1 on a fresh connection; True if it was answered 200."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        if path == "chat":
            headers = {"content-type": "application/json"}
            if api_key:
                headers["authorization"] = f"Bearer {api_key}"
            conn.request("POST", "/v1/chat/completions", CHAT, headers)
        else:
            conn.request("GET", "/healthz")
        response = conn.getresponse()
        response.read()
        return response.status == 200
    except OSError:
        return False
    finally:
        conn.close()


def run_flood(
    port: int,
    api_key: str | None,
    *,
    connections: int = 20_000,
    seconds: float = 20.0,
    warmup_s: float = 5.0,
    probe_every_s: float = 0.25,
    sources: tuple[str, ...] = FLOOD_SOURCES,
) -> FloodReport:
    """Flood ``port`` with ``connections`` slow connections for ``seconds``; after ``warmup_s``
    (the flood is in place), probe /healthz and chat every ``probe_every_s`` until it ends."""
    per_process = max(1, raise_own_fd_limit() - 200)
    workers = -(-connections // per_process)
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = []
    for w in range(workers):
        share = connections // workers + (1 if w < connections % workers else 0)
        mine = sources[w::workers] or sources
        args = (port, share, mine, seconds, out)
        procs.append(ctx.Process(target=_worker, args=args, daemon=True))
    for proc in procs:
        proc.start()
    report = FloodReport(connections)
    time.sleep(warmup_s)
    end = time.monotonic() + max(0.0, seconds - warmup_s - 1.0)
    while time.monotonic() < end:
        for path in ("healthz", "chat"):
            started = time.monotonic()
            ok = probe(port, api_key, path)
            took = time.monotonic() - started
            report.worst_s[path] = max(report.worst_s[path], took)
            (report.answered if ok else report.failed)[path] += 1
        time.sleep(probe_every_s)
    for _ in procs:
        opened, closed, errors = out.get(timeout=seconds + 60)
        report.opened += opened
        report.closed_by_server += closed
        report.connect_errors += errors
    for proc in procs:
        proc.join(timeout=10)
    return report
