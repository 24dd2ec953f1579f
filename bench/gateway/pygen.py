"""The Python load generator (used when `wrk` is not available), run as its own process.

Two modes, each printing one JSON line with requests, errors, duration_s, p50_ms and p99_ms (and
with ``--requests``, hist: every latency as [µs, count] pairs):
``--requests N`` sends N sequential requests on one connection (after ``--warmup`` seconds);
``--seconds S --connections C`` keeps C requests in flight for S seconds (after the warm-up).
A request is an error unless it answers 200 and its whole body is read. Slower than `wrk`: at high
request rates the generator itself can be the limit, so compare paths within one run only.

Run: python bench/gateway/pygen.py --url URL --body-file F (--requests N | --seconds S)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

HEADERS = {"content-type": "application/json"}


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0


async def one(session: aiohttp.ClientSession, url: str, body: bytes, tally: Tally) -> None:
    started = time.perf_counter()
    ok = False
    try:
        async with session.post(url, data=body, headers=HEADERS) as response:
            await response.read()
            ok = response.status == 200
    except (aiohttp.ClientError, TimeoutError):
        ok = False
    tally.latencies.append(time.perf_counter() - started)
    tally.errors += not ok


async def for_seconds(
    session: aiohttp.ClientSession, url: str, body: bytes, connections: int, seconds: float
) -> tuple[Tally, float]:
    tally = Tally()
    started = time.perf_counter()
    deadline = started + seconds

    async def worker() -> None:
        while time.perf_counter() < deadline:
            await one(session, url, body, tally)

    await asyncio.gather(*(worker() for _ in range(connections)))
    return tally, time.perf_counter() - started


async def counted(
    session: aiohttp.ClientSession, url: str, body: bytes, n: int, max_s: float
) -> tuple[Tally, float]:
    tally = Tally()
    started = time.perf_counter()
    deadline = started + max_s
    for _ in range(n):
        await one(session, url, body, tally)
        if time.perf_counter() > deadline:
            break
    return tally, time.perf_counter() - started


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


async def run(args: argparse.Namespace) -> dict[str, object]:
    body = Path(args.body_file).read_bytes()
    connections = 1 if args.requests else args.connections
    timeout = aiohttp.ClientTimeout(total=args.timeout)
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        if args.warmup > 0:
            await for_seconds(session, args.url, body, connections, args.warmup)
        if args.requests:
            tally, elapsed = await counted(session, args.url, body, args.requests, args.max_seconds)
        else:
            tally, elapsed = await for_seconds(session, args.url, body, connections, args.seconds)
    lat = sorted(tally.latencies)
    result: dict[str, object] = {
        "requests": len(lat),
        "errors": tally.errors,
        "duration_s": elapsed,
        "p50_ms": percentile(lat, 50) * 1000,
        "p99_ms": percentile(lat, 99) * 1000,
    }
    if args.requests:  # the c=1 runs: the whole distribution, as wrk's runs give it
        result["hist"] = histogram(lat)
    return result


def histogram(latencies: list[float]) -> list[list[int]]:
    """[µs, count] pairs, ascending: the shape of wrk's histogram (gateway/histogram.py)."""
    counts: dict[int, int] = {}
    for seconds in latencies:
        us = round(seconds * 1e6)
        counts[us] = counts.get(us, 0) + 1
    return [[us, n] for us, n in sorted(counts.items())]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--body-file", required=True)
    parser.add_argument("--requests", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--max-seconds", type=float, default=600.0, help="cap for --requests")
    args = parser.parse_args()
    if not args.url.startswith("http://127.0.0.1:"):
        sys.exit("pygen: only http://127.0.0.1 targets")
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
