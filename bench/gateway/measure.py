"""Measuring one path of `gateway_overhead.py`: latency at c=1 in rounds (each after the direct
path's), sustained req/s at c=64 with the CPU per request of the path's processes, and the stream
row; the figures of a path (`PathResult`)."""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gateway import paths
from gateway.histogram import median_us, share_over
from gateway.loadgen import Generator, Load
from gateway.procs import Deadline, Proc

TAIL_ADDED_MS = (1.0, 5.0)  # the tail shares: requests slower than direct's p50 plus these


@dataclass
class Latency:
    """The c=1 rounds: each the direct path's run and then this path's."""

    rounds: list[tuple[Load, Load]] = field(default_factory=list)

    def _median(self, pick: Callable[[Load, Load], float]) -> float:
        return statistics.median(pick(direct, path) for direct, path in self.rounds)

    @property
    def p50_ms(self) -> float:
        return self._median(lambda _, p: p.p50_ms)

    @property
    def p99_ms(self) -> float:
        return self._median(lambda _, p: p.p99_ms)

    def added(self) -> tuple[list[float], list[float]]:
        """Each round's added p50 and added p99 (ms)."""
        return (
            [p.p50_ms - d.p50_ms for d, p in self.rounds],
            [p.p99_ms - d.p99_ms for d, p in self.rounds],
        )

    @property
    def added_p50_ms(self) -> float:
        """The median round's added p50."""
        return self._median(lambda d, p: p.p50_ms - d.p50_ms)

    @property
    def added_p99_ms(self) -> float:
        """The median round's added p99."""
        return self._median(lambda d, p: p.p99_ms - d.p99_ms)

    def shares_over(self, added_ms: float) -> list[float]:
        """Each round's share of this path's requests slower than the direct path's median in
        the same round plus ``added_ms`` (rounds without a distribution are left out). The direct
        row measures itself against its own median: the noise floor of the others."""
        return [
            share_over(p.hist, median_us(d.hist) + 1000 * added_ms)
            for d, p in self.rounds
            if d.hist and p.hist
        ]

    @property
    def requests(self) -> int:
        return sum(p.requests for _, p in self.rounds)

    @property
    def errors(self) -> int:
        return sum(p.errors for _, p in self.rounds)

    def _shares_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for ms in TAIL_ADDED_MS:
            shares = self.shares_over(ms)
            key = f"share_over_direct_p50_plus_{ms:g}ms"
            out[key] = statistics.median(shares) if shares else None
            out[f"{key}_rounds"] = shares
        return out

    def as_dict(self) -> dict[str, Any]:
        p50, p99 = self.added()
        return {
            "p50_ms": self.p50_ms,
            "p99_ms": self.p99_ms,
            "requests": self.requests,
            "errors": self.errors,
            "added_p50_ms_rounds": p50,
            "added_p99_ms_rounds": p99,
            **self._shares_dict(),
            "rounds": [{"direct": d.as_dict(), "path": p.as_dict()} for d, p in self.rounds],
        }


@dataclass
class PathResult:
    name: str
    latency: Latency | None = None
    throughput: Load | None = None
    stream: Load | None = None
    cpu_ms_per_request: float | None = None
    cpu_alone_ms_per_request: float | None = None  # the gateway's processes without its writer
    note: str = ""
    info: dict[str, str] = field(default_factory=dict)
    disk: dict[str, int] | None = None  # --slow-disk: the data disk's I/O over the measured run


def measure(
    gen: Generator,
    result: PathResult,
    port: int,
    up_port: int,
    model: str,
    proc: Proc | None,
    args: Any,
    deadline: Deadline,
) -> None:
    """Fill ``result`` with c=1 latency, c=64 throughput (+ CPU/request) and the stream row."""
    url = paths.chat_url(port)
    body = json.dumps(paths.chat_body(model)).encode()
    rest = 2 * args.warmup + args.seconds + args.stream_seconds + 5
    deadline.require(rest + 5, f"measuring {result.name}")
    after = "" if port == up_port else " (each after the direct path's)"
    print(
        f"[{result.name}] c=1: {args.rounds} rounds of {args.requests} sequential requests{after}",
        flush=True,
    )
    result.latency = latency_rounds(gen, url, body, up_port, args, deadline, rest)
    print(f"[{result.name}] c={args.concurrency}: {args.seconds:g} s ...", flush=True)
    sustained(gen, url, body, proc, args).fill(result)
    if args.stream_seconds > 0:
        stream_body = json.dumps(paths.chat_body(model, stream=True)).encode()
        print(f"[{result.name}] stream c={args.concurrency}: {args.stream_seconds:g} s", flush=True)
        result.stream = gen.timed(url, stream_body, args.concurrency, args.stream_seconds)


@dataclass
class Sustained:
    """One run at c=64 and the CPU the path's processes used per request (all of them, and
    without rolecall's record writer)."""

    load: Load
    cpu_ms_per_request: float | None = None
    cpu_without_writer_ms_per_request: float | None = None

    def fill(self, result: PathResult) -> None:
        result.throughput = self.load
        result.cpu_ms_per_request = self.cpu_ms_per_request
        result.cpu_alone_ms_per_request = self.cpu_without_writer_ms_per_request


def sustained(gen: Generator, url: str, body: bytes, proc: Proc | None, args: Any) -> Sustained:
    """A warm-up, then ``args.seconds`` at ``args.concurrency`` with the CPU used meanwhile."""
    gen.timed(url, body, args.concurrency, args.warmup)
    cpu_before = proc.cpu_seconds() if proc else 0.0
    alone_before = proc.cpu_seconds(without_writer=True) if proc else 0.0
    run = Sustained(gen.timed(url, body, args.concurrency, args.seconds))
    if proc is not None and run.load.requests:
        used = proc.cpu_seconds() - cpu_before
        run.cpu_ms_per_request = 1000 * used / run.load.requests
        alone = proc.cpu_seconds(without_writer=True) - alone_before
        run.cpu_without_writer_ms_per_request = 1000 * alone / run.load.requests
    return run


def latency_rounds(
    gen: Generator, url: str, body: bytes, up_port: int, args: Any, deadline: Deadline, rest: float
) -> Latency:
    """``args.rounds`` rounds at c=1, each the direct path (on the upstream) and then ``url``."""
    direct_url = paths.chat_url(up_port)
    direct_body = json.dumps(paths.chat_body(paths.BENCH_MODEL)).encode()
    latency = Latency()
    for done in range(args.rounds):
        max_s = max(1.0, (deadline.left() - rest) / (args.rounds - done) / 2)
        direct = gen.latency(direct_url, direct_body, args.requests, args.warmup, max_s)
        same = url == direct_url  # the direct row: its runs are its rounds
        path = direct if same else gen.latency(url, body, args.requests, args.warmup, max_s)
        latency.rounds.append((direct, path))
    return latency
