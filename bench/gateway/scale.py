"""rolecall with several workers in `gateway_overhead.py --workers 1,2`: the configurations
(worker counts × databases), their gateways started side by side, c=64 rounds interleaved between
them, and the comparison printed after the table.

PostgreSQL runs get a database of their own on ``--pg-url``'s server (dropped afterwards) and
``ROLECALL_REDIS_URL`` (``--redis-url``), as a deployment with workers would have.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import statistics
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway import paths
from gateway.loadgen import Generator
from gateway.measure import PathResult, Sustained, latency_rounds, sustained
from gateway.procs import BenchError, Deadline, Proc

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"
TARGET_CPU_GROWTH = 0.15  # 2 workers' CPU per request at most this much above 1 worker's
BACKENDS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


@dataclass(frozen=True)
class Config:
    workers: int
    database: str  # sqlite or postgresql

    @property
    def label(self) -> str:
        plural = "s" if self.workers > 1 else ""
        return f"rolecall {self.workers} worker{plural} {BACKENDS[self.database]}"

    @property
    def slug(self) -> str:
        return f"rolecall-{self.workers}w-{self.database}"


def configs(workers: str, databases: str) -> list[Config]:
    """Each database's worker counts, in the order given (1 then 2: side by side in the run)."""
    counts = [int(w) for w in workers.split(",") if w.strip()]
    kinds = [d.strip() for d in databases.split(",") if d.strip()]
    unknown = [k for k in kinds if k not in BACKENDS]
    if unknown or not counts or min(counts) < 1:
        raise SystemExit(
            f"--workers takes counts >= 1 (got {workers!r}); --databases takes "
            f"{', '.join(BACKENDS)} (got {databases!r})"
        )
    return [Config(w, kind) for kind in kinds for w in counts]


@contextlib.contextmanager
def environment(config: Config, pg_url: str, redis_url: str) -> Iterator[dict[str, str]]:
    """The settings of one configuration's gateway (a fresh PostgreSQL database for it)."""
    env = {"ROLECALL_WORKERS": str(config.workers)}
    if config.database == "sqlite":
        yield env
        return
    with pg_database(pg_url) as url:
        yield {**env, "ROLECALL_DATABASE_URL": url, "ROLECALL_REDIS_URL": redis_url}


@contextlib.contextmanager
def pg_database(server_url: str) -> Iterator[str]:
    """A PostgreSQL database of its own on ``server_url``'s server, dropped afterwards."""
    from sqlalchemy import create_engine, make_url, text

    server = make_url(server_url)
    name = f"rolecall_bench_{secrets.token_hex(4)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run_configs(
    gen: Generator, args: Any, up_port: int, core: int | None, workdir: Path, deadline: Deadline
) -> tuple[list[PathResult], list[dict[str, Any]]]:
    """Per database, its configurations' gateways started side by side; c=1 latency rounds for
    each; then ``args.rounds`` rounds at c=64 that take each configuration in turn, so that a
    noisy moment of the machine falls on all of them. Each row gets its median round; the
    comparison is made round by round."""
    chosen = configs(args.workers, args.databases)
    results = {config: PathResult(config.label) for config in chosen}
    runs: dict[Config, list[Sustained]] = {}
    for database in dict.fromkeys(config.database for config in chosen):
        group = [config for config in chosen if config.database == database]
        with ExitStack() as stack:
            started = _start_all(stack, group, results, args, up_port, core, workdir)
            _measure_group(gen, started, runs, args, up_port, deadline)
    for config, found in runs.items():
        _median(found).fill(results[config])
    return list(results.values()), comparison(chosen, runs)


def _measure_group(
    gen: Generator,
    started: list[Started],
    runs: dict[Config, list[Sustained]],
    args: Any,
    up_port: int,
    deadline: Deadline,
) -> None:
    body = json.dumps(paths.chat_body("default")).encode()
    rest = (args.warmup + args.seconds) * args.rounds * len(started) + 5
    for _, result, _, port in started:
        print(f"[{result.name}] c=1: {args.rounds} rounds of {args.requests}", flush=True)
        url = paths.chat_url(port)
        result.latency = latency_rounds(gen, url, body, up_port, args, deadline, rest)
    for done in range(args.rounds):
        deadline.require((args.warmup + args.seconds) * len(started), "a round at c=64")
        for config, result, proc, port in started:
            print(f"[{result.name}] c={args.concurrency} round {done + 1}", flush=True)
            run = sustained(gen, paths.chat_url(port), body, proc, args)
            runs.setdefault(config, []).append(run)


Started = tuple[Config, PathResult, Proc, int]


def _start_all(
    stack: ExitStack,
    chosen: list[Config],
    results: dict[Config, PathResult],
    args: Any,
    up_port: int,
    core: int | None,
    workdir: Path,
) -> list[Started]:
    """Start each configuration's gateway (stopped when ``stack`` closes, before its database
    is dropped); one that cannot start gets the reason as its note."""
    started: list[Started] = []
    for config in chosen:
        result = results[config]
        try:
            env = stack.enter_context(environment(config, args.pg_url, args.redis_url))
            print(f"[{result.name}] starting ...", flush=True)
            proc, port, headers = paths.start_rolecall(
                args.rolecall_bin,
                up_port,
                core,
                workdir,
                name=config.slug,
                env=env,
                data_parent=args.data_parent,
            )
        except BenchError as exc:
            result.note = f"not measured: {exc}"
            continue
        stack.callback(proc.stop)
        result.info = {k: v for k, v in headers.items() if k.lower().startswith("x-rolecall")}
        started.append((config, result, proc, port))
    return started


def _median(runs: list[Sustained]) -> Sustained:
    """The median round's load, and the median of each CPU figure."""
    by_rps = sorted(runs, key=lambda run: run.load.rps)

    def middle(values: list[float | None]) -> float | None:
        known = [v for v in values if v is not None]
        return statistics.median(known) if known else None

    return Sustained(
        by_rps[len(by_rps) // 2].load,
        middle([run.cpu_ms_per_request for run in runs]),
        middle([run.cpu_without_writer_ms_per_request for run in runs]),
    )


def comparison(chosen: list[Config], runs: dict[Config, list[Sustained]]) -> list[dict[str, Any]]:
    """Per database, each worker count against the first one measured: req/s and CPU per
    request, and per round the growth of CPU per request (median and range of rounds)."""
    out: list[dict[str, Any]] = []
    base: dict[str, Config] = {}
    for config in chosen:
        if config not in runs:
            continue
        first = base.setdefault(config.database, config)
        pairs = list(zip(runs[first], runs[config], strict=True))
        growth = [
            b.cpu_ms_per_request / a.cpu_ms_per_request - 1
            for a, b in pairs
            if a.cpu_ms_per_request and b.cpu_ms_per_request
        ]
        middle = _median(runs[config])
        out.append(
            {
                "database": config.database,
                "workers": config.workers,
                "rps": middle.load.rps,
                "rps_rounds": [run.load.rps for run in runs[config]],
                "cpu_ms_per_request": middle.cpu_ms_per_request,
                "cpu_without_writer_ms_per_request": middle.cpu_without_writer_ms_per_request,
                "cpu_growth_rounds": growth,
                "cpu_growth": statistics.median(growth) if growth else None,
            }
        )
    return out


def print_comparison(rows: list[dict[str, Any]]) -> None:
    print(
        "workers, c=64 (CPU of every process, workers + writer; CPU/req against the first "
        f"count, round by round: median (range); target ≤ +{TARGET_CPU_GROWTH:.0%}):"
    )
    for row in rows:
        growth = ""
        if row["cpu_growth"] is not None and row["cpu_growth_rounds"] and row["workers"] > 1:
            low, high = min(row["cpu_growth_rounds"]), max(row["cpu_growth_rounds"])
            growth = f", CPU/req {row['cpu_growth']:+.1%} ({low:+.1%} to {high:+.1%})"
        cpu = row["cpu_ms_per_request"]
        cpu_text = "—" if cpu is None else f"{cpu:.3f}"
        rounds = " / ".join(f"{r:,.0f}" for r in row["rps_rounds"])
        print(
            f"  {BACKENDS[row['database']]:<10} {row['workers']} worker(s): "
            f"{row['rps']:,.0f} req/s (rounds {rounds}), {cpu_text} CPU ms/req{growth}"
        )
