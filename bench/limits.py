"""Budgets and rate limits: the latency they add, a limited key against an unlimited one.

One fake upstream (bench/gateway/fast_upstream.py) and one `rolecall serve` with keys on; two keys
of the same gateway: one without limits (no counter is touched) and one with a monthly USD
budget, requests and tokens per minute (three counters per request, none ever reached). For each
counter store — Redis (with SQLite for the rest), the SQL counters on SQLite, and on PostgreSQL
without Redis — the gateway starts fresh and is measured at concurrency 1 in rounds, as
bench/gateway_overhead.py does: each round runs N sequential requests with each key (the order
alternating), and the round's added p50/p99 is the limited key's minus the unlimited key's. The
table gives the median round and the range. Settling (after the answer) is off the measured path
but its CPU is not: at c=1 it overlaps the client's next request.

The load generator is `wrk` (needed: it sends the key). Pinning as in gateway_overhead: the
upstream and wrk on the first core, the gateway on the second; Redis and PostgreSQL unpinned.
Prints figures, never pass/fail.

Run: PYTHONPATH=src .venv/bin/python bench/limits.py [--requests 3000] [--rounds 5]
     [--stores redis,sqlite,postgresql] [--redis-url redis://127.0.0.1:6379/0]
     [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/test] [--no-pin] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway import paths
from gateway.loadgen import LUA, Load, Wrk
from gateway.procs import LOOPBACK, BenchError, Proc, free_port, pin, start
from gateway.scale import pg_database

TARGET_ADDED_P50_MS = 0.1
LIMITED = {"budget_usd": 1_000_000.0, "per": "month", "rpm": 1_000_000_000, "tpm": 10**12}


class KeyedWrk(Wrk):
    """wrk with an ``Authorization: Bearer`` header."""

    def __init__(self, core: int | None, workdir: Path, key: str) -> None:
        super().__init__(core, workdir)
        self.key = key

    def _script(self, body: bytes) -> Path:
        path = self.workdir / f"post-{self.key[-6:]}.lua"
        header = f'wrk.headers["Authorization"] = "Bearer {self.key}"\n'
        path.write_text(header + LUA % body.decode())
        return path


@dataclass
class StoreResult:
    name: str
    rounds: list[tuple[Load, Load]] = field(default_factory=list)  # (unlimited, limited)
    note: str = ""

    def added(self, pick: str) -> list[float]:
        return [getattr(lim, pick) - getattr(free, pick) for free, lim in self.rounds]

    def as_dict(self) -> dict[str, Any]:
        return {
            "store": self.name,
            "note": self.note,
            "added_p50_ms_rounds": self.added("p50_ms"),
            "added_p99_ms_rounds": self.added("p99_ms"),
            "rounds": [{"unlimited": f.as_dict(), "limited": m.as_dict()} for f, m in self.rounds],
        }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="per key, per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before each run")
    parser.add_argument("--stores", default="redis,sqlite,postgresql")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-pin", action="store_true")
    parser.add_argument("--json", action="store_true")
    return parser.parse_args()


def make_keys(database_url: str) -> tuple[str, str]:
    """(unlimited key, limited key), stored before the gateway starts."""
    from rolecall.gateway.auth import create_api_key
    from rolecall.limits.spec import parse_spec
    from rolecall.storage import open_storage

    storage = open_storage(database_url)
    try:
        _, free = create_api_key(storage.keys, "bench-unlimited")
        _, limited = create_api_key(storage.keys, "bench-limited", limits=parse_spec(LIMITED))
    finally:
        storage.close()
    return free, limited


def start_gateway(
    workdir: Path, upstream_port: int, database_url: str, redis_url: str | None, core: int | None
) -> tuple[Proc, int]:
    port = free_port()
    config = workdir / "rolecall.yaml"
    price = "{input_per_1m: 1.0, output_per_1m: 2.0}"
    config.write_text(
        "providers:\n"
        f'  up: {{kind: openai_compatible, base_url: "http://{LOOPBACK}:{upstream_port}/v1", '
        "local: false}\n"
        "endpoints:\n"
        f"  - {{provider: up, model: {paths.BENCH_MODEL}, id: ep-up, price: {price}}}\n"
    )
    env = {
        **os.environ,
        "ROLECALL_CONFIG": str(config),
        "ROLECALL_DATA_DIR": str(workdir / "data"),
        "ROLECALL_DATABASE_URL": database_url,
        "ROLECALL_HOST": LOOPBACK,
        "ROLECALL_PORT": str(port),
        "ROLECALL_ADMIN_TOKEN": secrets.token_hex(16),
        "ROLECALL_LOG_LEVEL": "warning",
        "ROLECALL_WORKERS": "1",  # one process on its core, as gateway_overhead measures
    }
    env.pop("ROLECALL_REDIS_URL", None)
    if redis_url:
        env["ROLECALL_REDIS_URL"] = redis_url
    argv = [*pin(core), sys.executable, "-m", "rolecall", "serve"]
    return start("rolecall", argv, workdir, env), port


def measure_store(
    name: str, args: argparse.Namespace, up_port: int, cores: tuple[int | None, int | None]
) -> StoreResult:
    load_core, gateway_core = cores
    result = StoreResult(name)
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"rc-{name}-")))
        if name == "postgresql":
            database_url = stack.enter_context(pg_database(args.pg_url))
        else:
            database_url = f"sqlite:///{workdir / 'data' / 'rolecall.db'}"
        free, limited = make_keys(database_url)
        redis_url = args.redis_url if name == "redis" else None
        proc, port = start_gateway(workdir, up_port, database_url, redis_url, gateway_core)
        stack.callback(proc.stop)
        url = paths.chat_url(port)
        body = json.dumps(paths.chat_body("default")).encode()
        keyed = {k: KeyedWrk(load_core, workdir, k) for k in (free, limited)}
        _ready(proc, port, free)
        for done in range(args.rounds):
            order = (free, limited) if done % 2 == 0 else (limited, free)
            runs = {k: keyed[k].latency(url, body, args.requests, args.warmup, 120) for k in order}
            result.rounds.append((runs[free], runs[limited]))
            a, b = result.rounds[-1]
            print(
                f"[{name}] round {done + 1}: unlimited p50 {a.p50_ms:.3f} ms, limited "
                f"{b.p50_ms:.3f} ms (added {b.p50_ms - a.p50_ms:+.3f}); errors {a.errors}/"
                f"{b.errors}",
                flush=True,
            )
    return result


def _ready(proc: Proc, port: int, key: str) -> None:
    """Wait until the gateway answers (a key check needs the key: asked on /v1/models)."""
    ends = time.monotonic() + 60
    while time.monotonic() < ends:
        if not proc.alive():
            raise BenchError(f"rolecall exited; its output:\n{proc.tail()}")
        request = urllib.request.Request(
            f"http://{LOOPBACK}:{port}/v1/models", headers={"authorization": f"Bearer {key}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as reply:
                if reply.status == 200:
                    return
        except (OSError, urllib.error.HTTPError):
            pass
        time.sleep(0.25)
    raise BenchError(f"rolecall not ready after 60 s; output:\n{proc.tail()}")


def report(results: list[StoreResult], args: argparse.Namespace) -> None:
    print(f"\nadded latency at c=1 (limited key minus unlimited key), {args.rounds} rounds of")
    print(
        f"{args.requests} requests per key; median round [range]; target p50 <= "
        f"{TARGET_ADDED_P50_MS} ms with Redis\n"
    )
    print(f"{'store':<12} {'unlimited p50':>14} {'added p50 ms':>22} {'added p99 ms':>22}")
    for r in results:
        if not r.rounds:
            print(f"{r.name:<12} skipped: {r.note}")
            continue
        base = statistics.median(f.p50_ms for f, _ in r.rounds)
        p50, p99 = r.added("p50_ms"), r.added("p99_ms")
        print(f"{r.name:<12} {base:>11.3f} ms {_cell(p50):>22} {_cell(p99):>22}")
    if args.json:
        print(json.dumps([r.as_dict() for r in results], indent=2))


def _cell(values: list[float]) -> str:
    return f"{statistics.median(values):+.3f} [{min(values):+.3f}, {max(values):+.3f}]"


def main() -> None:
    args = parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("bench/limits.py needs wrk (apt-get install wrk): it sends the key")
    allowed = sorted(os.sched_getaffinity(0))
    pinned = not args.no_pin and shutil.which("taskset") and len(allowed) >= 2
    cores = (allowed[0], allowed[1]) if pinned else (None, None)
    results = []
    with tempfile.TemporaryDirectory(prefix="rc-upstream-") as tmp:
        upstream, up_port, label = paths.start_upstream(
            "fast", Path(sys.executable), cores[0], Path(tmp)
        )
        try:
            print(f"upstream: {label}; {'pinned' if pinned else 'not pinned'}", flush=True)
            for name in args.stores.split(","):
                try:
                    results.append(measure_store(name, args, up_port, cores))
                except BenchError as exc:
                    results.append(StoreResult(name, note=str(exc).splitlines()[0]))
        finally:
            upstream.stop()
    report(results, args)


if __name__ == "__main__":
    main()
