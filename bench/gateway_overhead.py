"""Gateway overhead: direct to a fake upstream vs through rolecall vs through the LiteLLM proxy.

One fake OpenAI-compatible upstream on loopback, one load generator, four paths measured in the same
run (direct; a lean uvicorn + aiohttp pass-through, the floor of any Python gateway on this stack;
rolecall; LiteLLM), by the method of shared/spec/gateway-anchor.md: latency at concurrency 1 (N
sequential requests after a warm-up; p50 and p99) and sustained requests/s at concurrency 64
(fixed duration after a warm-up, errors counted), plus CPU per request of the gateway process
and, optionally, a streaming row. The same rolecall process is then measured through its other
front doors (the Responses API and the Anthropic Messages API, `bench/gateway/doors.py`), in rounds
interleaved with chat, so what a translating door adds shows beside the chat row
(``--skip-doors`` leaves them out).
Latency is reported as time added over the direct path, in rounds (``--rounds``, as the anchor's
"two rounds"): each round measures the direct path and then the gateway, and the round's added
p50/p99 is the difference; the table gives the median round and the range. On a VM a burst of
scheduling noise can move one run's p99 by milliseconds; the median round is not moved by one
noisy round, and the range shows every round. A second table gives the tail at c=1 as shares: of
each path's requests, those slower than the direct path's p50 of the same round by more than 1 ms
and by more than 5 ms (`bench/gateway/histogram.py`). With pinning, the upstream and the load
generator share the first core and each gateway runs alone on the second; gateways run one at a
time, each started fresh (rolecall: keys off, new data dir; LiteLLM: one worker, no database).

The load generator is `wrk` with a Lua POST script (installed with apt-get when missing and root),
else bench/gateway/pygen.py. LiteLLM is installed into ~/.cache/rolecall-bench/litellm-venv on first
use; if it cannot be installed or started the run goes on without it. Prints figures, never pass/fail.

Run: .venv/bin/python bench/gateway_overhead.py [--seconds 10] [--requests 2000] [--rounds 3]
     [--skip-litellm] [--skip-lean] [--skip-doors] [--json] [--no-pin] [--stream-seconds 5]
     [--upstream fast|scripted] [--time-limit 900] [--telemetry]
     [--workers 1,2 [--databases sqlite,postgresql] [--pg-url URL] [--redis-url URL]]
     [--slow-disk [--slow-disk-delay-ms 5]]

With ``--telemetry`` rolecall runs twice in the same run: with metrics and logs off
(``ROLECALL_METRICS=false``, log level warning), then with Prometheus metrics on and a JSON
access line per request written to its log file (``ROLECALL_LOG_LEVEL=info``,
``ROLECALL_LOG_FORMAT=json``); what telemetry adds is printed: p50 at c=1 and req/s at c=64.

With ``--workers`` rolecall runs once per worker count and database, all started side by side,
and the c=64 runs interleave them round by round (`bench/gateway/scale.py`): the CPU per request
of every process (the workers and the record writer) is compared with one worker's, per round.

With ``--slow-disk`` (root) rolecall's data directory is on an ext4 filesystem whose device delays
every write (`bench/gateway/slow_disk.py`); the device's block-layer counters over rolecall's
measured run are printed after the table.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from gateway import paths, scale
from gateway.doors import DoorRounds, measure_doors
from gateway.loadgen import Generator, make_generator
from gateway.measure import PathResult, measure
from gateway.otlp_sink import OtlpSink
from gateway.procs import LOOPBACK, BenchError, Deadline, Proc, http
from gateway.record_lag import LagSampler
from gateway.report import LEAN, report
from gateway.slow_disk import SlowDisk, io_delta, slow_disk

ROOT = Path(__file__).resolve().parent.parent
TELEMETRY_OFF = {"ROLECALL_METRICS": "false", "ROLECALL_LOG_LEVEL": "warning"}
TELEMETRY_ON = {
    "ROLECALL_METRICS": "true",
    "ROLECALL_LOG_LEVEL": "info",
    "ROLECALL_LOG_FORMAT": "json",
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time at c=64")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up before each measure")
    parser.add_argument(
        "--requests", type=int, default=2000, help="sequential requests at c=1, per round"
    )
    parser.add_argument("--rounds", type=int, default=3, help="c=1 rounds (direct, then path)")
    parser.add_argument("--concurrency", type=int, default=64, help="connections for req/s")
    parser.add_argument("--stream-seconds", type=float, default=5.0, help="0 skips the stream row")
    parser.add_argument("--skip-litellm", action="store_true")
    parser.add_argument(
        "--skip-doors",
        action="store_true",
        help="skip the Responses and Messages rows (same rolecall, other front doors)",
    )
    parser.add_argument(
        "--skip-lean", action="store_true", help="skip the lean pass-through (the floor)"
    )
    parser.add_argument("--json", action="store_true", help="also print a JSON summary")
    parser.add_argument("--no-pin", action="store_true", help="do not pin processes to cores")
    parser.add_argument("--upstream", choices=["fast", "scripted"], default="fast")
    parser.add_argument("--generator", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--time-limit", type=float, default=900.0, help="whole run, seconds")
    parser.add_argument("--install-timeout", type=float, default=900.0, help="LiteLLM pip install")
    parser.add_argument("--litellm-venv", type=Path, default=paths.LITELLM_VENV)
    parser.add_argument("--rolecall-bin", type=Path, default=ROOT / ".venv" / "bin" / "rolecall")
    parser.add_argument(
        "--workers", help="comma-separated worker counts (1,2): rolecall measured with each"
    )
    parser.add_argument(
        "--databases", default="sqlite", help="with --workers: sqlite,postgresql (each)"
    )
    parser.add_argument("--pg-url", default=scale.PG_URL, help="PostgreSQL server for --databases")
    parser.add_argument("--redis-url", default=scale.REDIS_URL, help="Redis for PostgreSQL runs")
    parser.add_argument(
        "--telemetry",
        action="store_true",
        help="rolecall with metrics and JSON access logs off, then on: what they cost",
    )
    parser.add_argument(
        "--slow-disk",
        action="store_true",
        help="rolecall's data dir on ext4 over a write-delayed device (nbdkit; needs root)",
    )
    parser.add_argument(
        "--slow-disk-delay-ms", type=int, default=5, help="the device's delay per write (whole ms)"
    )
    return parser.parse_args()


def cores(no_pin: bool) -> tuple[int | None, int | None, str]:
    """(load core, gateway core, description): upstream + generator on one, the gateway alone."""
    allowed = sorted(os.sched_getaffinity(0))
    if no_pin:
        return None, None, "not pinned (--no-pin)"
    if not shutil.which("taskset") or len(allowed) < 2:
        return None, None, "not pinned (needs taskset and 2 cores)"
    load, gateway = allowed[0], allowed[1]
    return load, gateway, f"upstream + load generator on core {load}, gateway on core {gateway}"


def _measure_started(
    result: PathResult,
    start: Callable[[], tuple[Proc, int]],
    model: str,
    up_port: int,
    gen: Generator,
    args: Any,
    deadline: Deadline,
    after: Callable[[PathResult, int], None] | None = None,
) -> Proc | None:
    """Start a gateway, measure it (then ``after``, still running) and stop it; a start or
    measure that fails becomes the note. The stopped process is returned (None if it never
    started) for its log."""
    proc = None
    try:
        proc, port = start()
        measure(gen, result, port, up_port, model, proc, args, deadline)
        if after is not None:
            after(result, port)
    except BenchError as exc:
        result.note = f"not measured: {exc}"
    finally:
        if proc is not None:
            proc.stop()
    return proc


def run_rolecall(
    gen: Generator,
    args: Any,
    up_port: int,
    core: int | None,
    workdir: Path,
    deadline: Deadline,
    *,
    name: str = "rolecall",
    env: dict[str, str] | None = None,
    doors: DoorRounds | None = None,
) -> PathResult:
    """Measure rolecall; with ``doors``, also its other front doors while the same process runs."""
    result = PathResult(name)
    if not args.rolecall_bin.exists():
        result.note = f"not run: {args.rolecall_bin} not found"
        return result
    ports: list[int] = []
    disk: SlowDisk | None = args.disk
    io_before: dict[str, int] = {}
    lag = LagSampler(paths.rolecall_data_dir(workdir, name, args.data_parent))

    def start() -> tuple[Proc, int]:
        proc, port, headers = paths.start_rolecall(
            args.rolecall_bin,
            up_port,
            core,
            workdir,
            name=name,
            env=env,
            data_parent=args.data_parent,
        )
        result.info = {k: v for k, v in headers.items() if k.lower().startswith("x-rolecall")}
        ports.append(port)
        if disk is not None:  # after the start: its migrations are not part of the run
            io_before.update(disk.io())
        lag.start()
        return proc, port

    def after(result: PathResult, port: int) -> None:
        lag.stop()
        result.info["record_lag"] = lag.summary()
        if disk is not None:  # before the doors: what the chat path's rounds wrote
            result.disk = {**io_delta(io_before, disk.io()), "used_kib": disk.used_kib()}
        _scraped(result, port)
        if doors is not None:
            measure_doors(doors, gen, port, up_port, args, deadline)

    proc = _measure_started(result, start, "default", up_port, gen, args, deadline, after)
    if proc is not None:
        result.info["log_tail"] = _log_after_banner(proc)
        result.info["access_lines"] = str(_access_lines(proc))
    return result


def _scraped(result: PathResult, port: int) -> None:
    """(Before the gateway stops.) The requests its /metrics counted, when it serves them."""
    try:
        status, _, body = http(f"http://{LOOPBACK}:{port}/metrics")
    except OSError:
        return
    if status == 200:
        counted = sum(
            float(line.rsplit(" ", 1)[1])
            for line in body.decode().splitlines()
            if line.startswith("rolecall_requests_total{")
        )
        result.info["metrics_requests"] = f"{counted:.0f}"


def _access_lines(proc: Proc) -> int:
    try:
        text = proc.log_path.read_text(errors="replace")
    except OSError:
        return 0
    return text.count('"logger":"rolecall.access"')


def run_telemetry(
    gen: Generator, args: Any, up_port: int, core: int | None, workdir: Path, deadline: Deadline
) -> list[PathResult]:
    """rolecall with telemetry off, then with metrics, JSON access logs and OpenTelemetry export
    to a loopback receiver on."""
    off = run_rolecall(
        gen,
        args,
        up_port,
        core,
        workdir,
        deadline,
        name="rolecall telemetry off",
        env=TELEMETRY_OFF,
    )
    with OtlpSink() as sink:
        env = {**TELEMETRY_ON, "ROLECALL_OTEL_ENDPOINT": sink.url}
        on = run_rolecall(
            gen, args, up_port, core, workdir, deadline, name="rolecall telemetry on", env=env
        )
    on.info["otlp_posts"] = str(sink.posts)
    on.info["otlp_bytes"] = f"{sink.bytes:,}"
    return [off, on]


def run_lean(
    gen: Generator, args: Any, up_port: int, core: int | None, workdir: Path, deadline: Deadline
) -> PathResult:
    result = PathResult(LEAN)
    if args.skip_lean:
        result.note = "skipped (--skip-lean)"
        return result

    def start() -> tuple[Proc, int]:
        return paths.start_lean(up_port, core, workdir)

    _measure_started(result, start, paths.BENCH_MODEL, up_port, gen, args, deadline)
    return result


def run_litellm(
    gen: Generator, args: Any, up_port: int, core: int | None, workdir: Path, deadline: Deadline
) -> PathResult:
    result = PathResult("LiteLLM proxy")
    if args.skip_litellm:
        result.note = "skipped (--skip-litellm)"
        return result

    def start() -> tuple[Proc, int]:
        budget = min(args.install_timeout, deadline.left() - 60)
        result.info["version"] = paths.ensure_litellm(args.litellm_venv, budget)
        print(f"[LiteLLM] litellm {result.info['version']}; starting the proxy ...", flush=True)
        return paths.start_litellm(args.litellm_venv, up_port, core, workdir)

    _measure_started(result, start, paths.BENCH_MODEL, up_port, gen, args, deadline)
    return result


def _log_after_banner(proc: Proc) -> str:
    lines = [x for x in proc.tail(60).splitlines() if not x.startswith("rolecall gateway on")]
    return "\n".join(lines[-20:])


def _version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "?"


def run(args: argparse.Namespace, stack: ExitStack, deadline: Deadline) -> None:
    load_core, gw_core, pinning = cores(args.no_pin)
    workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rolecall-gw-bench-")))
    gen = make_generator(args.generator, load_core, workdir)
    upstream, up_port, up_label = paths.start_upstream(
        args.upstream, args.rolecall_bin, load_core, workdir
    )
    stack.callback(upstream.stop)
    # Where rolecall keeps its data (read by run_rolecall and scale through ``args``).
    args.disk, args.data_parent = None, None
    if args.slow_disk:
        disk = stack.enter_context(slow_disk(workdir, args.slow_disk_delay_ms, load_core))
        args.disk, args.data_parent = disk, disk.mount
    meta = {
        "upstream": up_label,
        "generator": gen.name,
        "pinning": pinning,
        "rolecall": _version("rolecall"),
        "python": sys.version.split()[0],
        "cpus": len(os.sched_getaffinity(0)),
        "requests_c1": args.requests,
        "seconds": args.seconds,
        "concurrency": args.concurrency,
    }
    if args.disk is not None:
        meta["slow_disk"] = args.disk.description
    for key, value in meta.items():
        print(f"{key}: {value}")
    direct = PathResult("direct")
    measure(gen, direct, up_port, up_port, paths.BENCH_MODEL, None, args, deadline)
    lean = run_lean(gen, args, up_port, gw_core, workdir, deadline)
    if args.workers:
        rcs, meta["workers"] = scale.run_configs(gen, args, up_port, gw_core, workdir, deadline)
    elif args.telemetry:
        rcs = run_telemetry(gen, args, up_port, gw_core, workdir, deadline)
    else:
        doors = None if args.skip_doors else DoorRounds()
        rcs = [run_rolecall(gen, args, up_port, gw_core, workdir, deadline, doors=doors)]
        if doors is not None and doors.rounds:
            meta["doors"] = doors
    lite = run_litellm(gen, args, up_port, gw_core, workdir, deadline)
    report([direct, lean, *rcs, lite], meta, args)


def _on_signal(signum: int, frame: Any) -> None:
    raise SystemExit(f"stopped by signal {signum}; cleaning up")


def main() -> None:
    args = parse_args()
    deadline = Deadline(args.time_limit)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGALRM, _on_signal)
    signal.alarm(int(args.time_limit) + 120)  # backstop: every process still gets stopped
    with ExitStack() as stack:
        try:
            run(args, stack, deadline)
        except BenchError as exc:
            print(f"gateway_overhead: {exc}", file=sys.stderr)
            sys.exit(1)
        finally:
            signal.alarm(0)


if __name__ == "__main__":
    main()
