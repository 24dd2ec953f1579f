"""Benchmark runner overhead: full-suite wall time against the ideal, on a scripted upstream.

A scripted upstream (its own process, `rolecall upstream serve`, so it never competes with the
runner for the GIL) answers every request after a fixed latency. Every built-in case (the full
suite) runs on ``--endpoints`` endpoints with ``--concurrency`` requests in flight per endpoint,
through the real runner: preflight, the upstream adapters over HTTP, grading (code cases in the
sandbox), one committed transaction per graded case (result + profile sample, SQLite on disk) and
the compare phase. The ideal is ``cases × latency / concurrency`` (endpoints run side by side);
the figure is wall time / ideal (target ≤ 1.1). Each repetition is a fresh run; the best and the
median are printed (the machine is shared, so the best is the runner's own overhead).

Run: .venv/bin/python bench/benchmark_runner.py [--latency-ms 200] [--concurrency 4] [--endpoints 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from rolecall.benchmark.progress import RunProgress
from rolecall.benchmark.runner import BenchRunner
from rolecall.benchmark.service import writer_commit
from rolecall.bootstrap import build_services
from rolecall.providers.local.server import free_port
from rolecall.providers.registry import adapters_for
from rolecall.services import Services
from rolecall.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--endpoints", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    models = {
        f"m{i}": {"answer": "ok", "latency_ms": args.latency_ms} for i in range(args.endpoints)
    }
    walls: list[float] = []
    with (
        tempfile.TemporaryDirectory(prefix="rolecall-bench-") as tmp,
        _upstream(Path(tmp), models) as url,
    ):
        for repetition in range(args.repeat):
            runtime = _runtime(Path(tmp) / f"run{repetition}", url, list(models))
            try:
                wall, cases = asyncio.run(_measure(runtime, args.concurrency))
            finally:
                asyncio.run(runtime.stop())
            walls.append(wall)
    per_endpoint = cases // args.endpoints
    ideal = per_endpoint * args.latency_ms / 1000 / args.concurrency
    print(
        f"full suite: {per_endpoint} cases x {args.endpoints} endpoints, latency {args.latency_ms:g} ms, "
        f"concurrency {args.concurrency} per endpoint, ideal {ideal:.2f} s"
    )
    print("walls: " + ", ".join(f"{w:.2f} s" for w in walls))
    best, median = min(walls), statistics.median(walls)
    print(f"best {best / ideal:.3f}x, median {median / ideal:.3f}x the ideal (target <= 1.1x)")


def _runtime(folder: Path, base_url: str, models: list[str]) -> Services:
    folder.mkdir()
    config = folder / "rolecall.yaml"
    endpoints = [{"provider": "s", "model": m, "id": f"ep-{m}", "tools": True} for m in models]
    provider = {"kind": "openai_compatible", "base_url": base_url, "local": False}
    config.write_text(yaml.safe_dump({"providers": {"s": provider}, "endpoints": endpoints}))
    return build_services(Settings(config=config, data_dir=folder / "data"))


@contextlib.contextmanager
def _upstream(folder: Path, models: dict[str, Any]) -> Iterator[str]:
    script = folder / "script.yaml"
    script.write_text(yaml.safe_dump({"models": models}))
    port = free_port()
    cmd = [sys.executable, "-m", "rolecall", "upstream", "serve", "--script", str(script)]
    process = subprocess.Popen([*cmd, "--port", str(port)], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not _healthy(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the scripted upstream did not start")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


async def _measure(runtime: Services, concurrency: int) -> tuple[float, int]:
    hub = runtime.bench
    plan = hub.plan("full", concurrency=concurrency)
    progress = RunProgress(plan.run_id, plan.total)
    runner = BenchRunner(
        plan,
        runtime.routing.inventory,
        runtime.storage.benchmarks,
        writer_commit(
            runtime.storage.benchmarks, runtime.evidence, runtime.writer, runtime.storage.batch
        ),
        progress,
        adapters=adapters_for,
    )
    started = time.perf_counter()
    status = await runner.run()
    wall = time.perf_counter() - started
    if status != "completed" or progress.done != plan.total:
        raise SystemExit(f"the run did not complete: {progress.to_dict()}")
    return wall, plan.total


if __name__ == "__main__":
    main()
