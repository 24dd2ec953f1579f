"""Reliability under attack and chaos: the long runs of tests/reliability, as one table.

Per run: requests tried, answered (2xx), 5xx, and for the chaos runs the answered requests'
records expected vs stored vs duplicated. Targets (issue #14): 0 × 5xx over ≥ 5,000 fuzzed requests
and ≥ 1,000 schemathesis cases; 0 lost and 0 duplicated after kill -9 of the gateway or of the
writer (c=16, 8 s, kill at 3 s); 0 lost across a 10 s PostgreSQL outage with the gateway answering
throughout; < 1 % 503 with three endpoints failing 20–30 % at random; a 20,000-connection slow
flood leaves /healthz and chat answering; records reach the database within 1 s of the load.

Run: .venv/bin/python bench/reliability.py [--only NAME ...] [--quick]
(PostgreSQL at 127.0.0.1:5432 for the PostgreSQL runs; ROLECALL_BENCH_PG overrides the server URL.)
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' harnesses

from tests.reliability.chaos import (
    GatewayProcess,
    LoadResult,
    RecordCount,
    count_records,
    load,
    scripted_upstream,
)
from tests.reliability.tcp_proxy import TcpProxy

from gateway.scale import pg_database

PG_SERVER = os.environ.get("ROLECALL_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@dataclass
class Row:
    name: str
    tried: int
    answered: int
    server_errors: int
    expected: int | str = "-"
    stored: int | str = "-"
    duplicated: int | str = "-"
    note: str = ""

    @classmethod
    def of_records(cls, name: str, result: LoadResult, counted: RecordCount, note: str) -> Row:
        """A chaos run's row: its load and the answered requests' records."""
        return cls(
            name,
            result.tried,
            len(result.answered),
            result.server_errors,
            counted.expected,
            counted.stored,
            counted.duplicated,
            note,
        )

    def cells(self) -> list[str]:
        return [
            self.name,
            str(self.tried),
            str(self.answered),
            str(self.server_errors),
            str(self.expected),
            str(self.stored),
            str(self.duplicated),
            self.note,
        ]


@contextlib.contextmanager
def database(kind: str) -> Iterator[str | None]:
    if kind == "sqlite":
        yield None
    else:
        with pg_database(PG_SERVER) as url:
            yield url


@contextlib.contextmanager
def serving(kind: str) -> Iterator[GatewayProcess]:
    """`rolecall serve` over a scripted upstream on a fresh ``kind`` database, started."""
    with (
        tempfile.TemporaryDirectory() as tmp,
        scripted_upstream() as upstream,
        database(kind) as url,
    ):
        yield GatewayProcess(Path(tmp), upstream.base_url, url).start()


def fuzz_run(count: int) -> list[Row]:
    """The seeded bad-input fuzzer (tests/reliability/fuzz.py) on SQLite and PostgreSQL."""
    from tests.reliability.fuzz import long_run

    rows = []
    for kind in ("sqlite", "postgresql"):
        with database(kind) as url:
            report = long_run(count, seed=14 if kind == "sqlite" else 15, database_url=url)
        rows.append(
            Row(
                f"fuzzed requests ({kind})",
                report.tried,
                report.answered,
                len(report.server_errors),
                note=f"4xx without a proper error object: {len(report.problems)}; "
                "unanswered: malformed HTTP the edge closed",
            )
        )
    return rows


def schemathesis_run(scale: int) -> list[Row]:
    """schemathesis over /openapi.json (tests/reliability/schemathesis_run.py)."""
    from tests.reliability.schemathesis_run import long_run

    report = long_run(scale)
    return [
        Row(
            "schemathesis cases (sqlite)",
            report.cases,
            report.cases - report.server_errors,
            report.server_errors,
            note=f"{len(report.per_operation)} operations; conformance failures "
            f"{len(report.failures)}",
        )
    ]


def kill_run(kind: str, target: str, seconds: float, kill_at: float) -> Row:
    """c=16 for ``seconds``; kill -9 ``target`` (gateway: with its writer) at ``kill_at``; the
    gateway is started again afterwards (a restart replays the spool) and stopped cleanly."""
    with serving(kind) as gateway:

        def chaos() -> None:
            if target == "gateway":
                gateway.kill(group=True)
            else:
                pid = gateway.writer_pid()
                if pid is not None:
                    os.kill(pid, 9)

        try:
            result = load(
                gateway.base_url, concurrency=16, seconds=seconds, at=kill_at, action=chaos
            )
        finally:
            gateway.stop()
        if target == "gateway":
            gateway.child = None
            gateway.start()
            gateway.stop()
        counted = count_records(gateway.url, result.answered)
    note = f"connection errors after the kill: {result.errors}" if target == "gateway" else ""
    return Row.of_records(f"kill -9 {target} ({kind})", result, counted, note)


@contextlib.contextmanager
def busy_cores(count: int) -> Iterator[None]:
    """``count`` processes spinning at normal priority (local models decoding, say): an idle-
    priority writer gets no CPU unless it is moved to normal priority when it falls behind."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


def catch_up_run(kind: str, seconds: float, busy: int = 0) -> Row:
    """Sustained c=16 (with ``busy`` cores kept busy meanwhile): how long after the load ends
    until every answered request is stored."""
    with busy_cores(busy), serving(kind) as gateway:
        try:
            result = load(gateway.base_url, concurrency=16, seconds=seconds)
            ended = time.monotonic()
            while True:
                counted = count_records(gateway.url, result.answered)
                waited = time.monotonic() - ended
                if counted.stored == counted.expected or waited > 30:
                    break
                time.sleep(0.05)
        finally:
            gateway.stop()
    rate = len(result.answered) / seconds
    name = f"writer keeps up ({kind}{f', {busy} busy cores' if busy else ''})"
    note = f"{rate:,.0f} req/s; all stored {waited:.2f} s after the load"
    return Row.of_records(name, result, counted, note)


def outage_run(outage_s: float) -> Row:
    """c=16 on PostgreSQL behind a TCP proxy cut for ``outage_s`` from 3 s in; the load runs
    3 s past the end of the outage; then how long until every answered request is stored."""
    with (
        tempfile.TemporaryDirectory() as tmp,
        scripted_upstream() as upstream,
        database("postgresql") as direct,
        TcpProxy() as proxy,
    ):
        assert direct is not None
        url = direct.replace(":5432/", f":{proxy.port}/")
        gateway = GatewayProcess(Path(tmp), upstream.base_url, url).start()
        answered: list[str] = []
        during: list[int] = []

        def outage() -> None:
            proxy.cut()
            before = len(answered)
            time.sleep(outage_s)
            during.append(len(answered) - before)
            proxy.restore()

        try:
            result = load(
                gateway.base_url,
                concurrency=16,
                seconds=outage_s + 6,
                at=3.0,
                action=outage,
                answered=answered,
            )
            ended = time.monotonic()
            while count_records(url, answered).lost and time.monotonic() - ended < 60:
                time.sleep(0.1)
            caught_up = time.monotonic() - ended
        finally:
            gateway.stop()
        counted = count_records(url, result.answered)
    note = f"{during[0]} answered during the outage; all stored {caught_up:.1f} s after the load"
    return Row.of_records(f"PostgreSQL outage {outage_s:.0f} s", result, counted, note)


def availability_run(requests: int) -> Row:
    """Three endpoints failing 30 %, 25 % and 20 % of their requests at random, c=16."""
    from tests.integration.gateway.harness import Gateway
    from tests.reliability.test_fault_matrix import inventory, run_random_failures, upstream

    ups = [upstream(name) for name in ("primary", "backup", "backup1")]
    for up, rate in zip(ups, (0.3, 0.25, 0.2), strict=True):
        up.fail_rate = rate
    try:
        config = inventory(ups[0].base_url, [u.base_url for u in ups[1:]])
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'data' / 'rolecall.db'}"
            with Gateway(config, url, Path(tmp)) as gw:
                tally = run_random_failures(gw.base_url, gw.api_key, requests, 16)
    finally:
        for up in ups:
            up.close()
    share = 100 * tally.errors_503 / max(1, tally.tried)
    return Row(
        "3 endpoints failing 20-30 %",
        tally.tried,
        tally.answered,
        tally.errors_5xx,
        note=f"503: {tally.errors_503} ({share:.2f} %); other 5xx (502: every attempt on every "
        f"endpoint failed): {tally.errors_5xx - tally.errors_503}; panic: {tally.panics}",
    )


def flood_run(connections: int) -> Row:
    """``connections`` slow connections (a request head never finished) against `rolecall
    serve`, re-opened as soon as the server closes one; /healthz and chat probed meanwhile."""
    from tests.reliability.flood import run_flood

    with tempfile.TemporaryDirectory() as tmp, scripted_upstream() as upstream:
        gateway = GatewayProcess(Path(tmp), upstream.base_url).start()
        try:
            report = run_flood(gateway.port, None, connections=connections)
        finally:
            gateway.stop()
    answered = sum(report.answered.values())
    failed = sum(report.failed.values())
    worst = max(report.worst_s.values())
    return Row(
        f"slow flood, {connections:,} connections",
        answered + failed,
        answered,
        failed,
        note=f"/healthz and chat probes; worst {worst:.2f} s; flood connections opened "
        f"{report.opened:,}, closed by the gateway {report.closed_by_server:,}",
    )


RUNS: dict[str, Callable[[argparse.Namespace], list[Row]]] = {
    "fuzz": lambda a: fuzz_run(5000),
    "schemathesis": lambda a: schemathesis_run(6),
    "kill-gateway": lambda a: [
        kill_run(kind, "gateway", a.seconds, a.kill_at) for kind in ("sqlite", "postgresql")
    ],
    "kill-writer": lambda a: [
        kill_run(kind, "writer", a.seconds, a.kill_at) for kind in ("sqlite", "postgresql")
    ],
    "db-outage": lambda a: [outage_run(10.0)],
    "availability": lambda a: [availability_run(3000)],
    "flood": lambda a: [flood_run(20_000)],
    "catch-up": lambda a: [
        *(catch_up_run(kind, a.seconds) for kind in ("sqlite", "postgresql")),
        catch_up_run("sqlite", a.seconds, busy=os.cpu_count() or 2),
    ],
}


def print_table(rows: list[Row]) -> None:
    head = ["run", "tried", "answered", "5xx", "expected", "stored", "duplicated", "note"]
    table = [head, *(row.cells() for row in rows)]
    widths = [max(len(r[i]) for r in table) for i in range(len(head) - 1)]
    for r in table:
        pairs = enumerate(zip(r[:-1], widths, strict=True))
        cells = [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in pairs]
        print("  ".join([*cells, r[-1]]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=sorted(RUNS), help="these runs only")
    parser.add_argument("--seconds", type=float, default=8.0, help="load duration (chaos runs)")
    parser.add_argument("--kill-at", type=float, default=3.0, help="when to kill -9")
    args = parser.parse_args()
    rows: list[Row] = []
    for name in args.only or RUNS:
        started = time.monotonic()
        new = RUNS[name](args)
        rows.extend(new)
        print(f"# {name}: {time.monotonic() - started:.0f} s", file=sys.stderr)
        for row in new:
            print("  ", " | ".join(row.cells()), file=sys.stderr)
    print_table(rows)


if __name__ == "__main__":
    main()
