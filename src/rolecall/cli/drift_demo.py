"""`rolecall demo --drift`: the drift scenario anyone can run, with nothing else running.

Three scripted endpoints answer well; a scripted judge grades answers (well-formed answers 9 of
10, the wrong ones 2) for shadow judging at 10%, and canaries re-run a rotating slice of a small
exact-graded suite on each endpoint every second (time compressed: a second stands for the
minutes between canary rounds in production). A gateway on loopback routes with the quality
strategy; the canaries' history is a real full benchmark of that suite, run from the CLI (another
process), and the routing baseline adds judged scores written for the scenario (the scripted
endpoints' answers are all alike, so a benchmark of their own would not rank them). Traffic is
paced at about ``RATE`` requests a second. After ``--before`` requests the best endpoint's
answers silently turn wrong, its latency unchanged. Each run reports after how many requests and
seconds an alarm demoted it and routing moved away, which signal raised it (shadow-judged
quality or a canary) and whether the canaries agreed; ``--runs`` repeats the scenario and as
many control runs (no change) to measure the false-alarm rate.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

GOOD: Final = '{"score": 9, "reason": "correct"}'
BAD: Final = '{"score": 2, "reason": "wrong"}'
BASELINE: Final = {"ep-a": 0.84, "ep-b": 0.9, "ep-c": 0.8}
SPREAD: Final = (-0.1, -0.05, 0.0, 0.05, 0.1, -0.05, 0.0, 0.05, 0.0, 0.0)
POOL: Final = ["ep-a", "ep-b", "ep-c"]
RATE: Final = 100  # requests a second, at most
CANARY_EVERY_S: Final = 1.0


def canary_cases(per_bucket: int, source: str = "rolecall drift demo") -> list[dict[str, Any]]:
    """A small exact-graded suite: ``per_bucket`` cases in each difficulty bucket, each asking
    for the scripted endpoints' "good answer"."""
    return [
        {
            "id": f"{bucket}-{i}",
            "task": "text.classification",
            "bucket": bucket,
            "grader": "exact",
            "reference": "good answer",
            "messages": [{"role": "user", "content": f"Say it ({bucket} {i})."}],
            "source": source,
            "license": "Apache-2.0",
        }
        for bucket in ("easy", "medium", "hard")
        for i in range(per_bucket)
    ]


CANARY_CASES: Final = canary_cases(4)


@dataclass
class RunResult:
    degraded: bool
    alarmed: bool
    requests_to_move: int | None  # after the change, until routing left the broken endpoint
    seconds_to_move: float | None
    judged: int
    signal: str | None = None  # the metric of the alarm that demoted: "quality" or "canary"
    canary_agrees: bool | None = None  # a canary round after the change found the drop too
    canary_rounds: int = 0


def _script(name: str, answer: str) -> dict[str, Any]:
    """How endpoint ``name`` answers: ``answer``, except that only ep-b gets the hard cases of
    the suite right (so the benchmark ranks it first, as the judged baseline does)."""
    script: dict[str, Any] = {"models": {f"model-{name}": {"answer": answer, "latency_ms": 3}}}
    if name != "b":
        script["rules"] = [{"prompt_contains": "(hard ", "answer": "not sure"}]
    return script


def scripts() -> dict[str, dict[str, Any]]:
    """The scripts of the scenario's three endpoints and its judge, before any change."""
    judge = {
        "models": {"model-j": {"answer": GOOD}},
        "rules": [{"prompt_contains": "bad answer", "answer": BAD}],
    }
    return {**{n: _script(n, "good answer") for n in "abc"}, "j": judge}


def degrade(upstream: Any) -> None:
    """ep-b's answers turn wrong, its latency unchanged."""
    upstream.set_script(_script("b", "bad answer"))


def restore(upstream: Any) -> None:
    upstream.set_script(_script("b", "good answer"))


def _inventory(upstreams: dict[str, Any], suite: Path) -> dict[str, Any]:
    def endpoint(name: str, price: float) -> dict[str, Any]:
        return {
            "provider": name,
            "model": f"model-{name}",
            "id": f"ep-{name}",
            "price": {"input_per_1m": price, "output_per_1m": price},
        }

    return {
        "providers": {
            n: {"kind": "openai_compatible", "base_url": h.base_url, "local": False}
            for n, h in upstreams.items()
        },
        "endpoints": [endpoint("a", 1), endpoint("b", 1), endpoint("c", 1), endpoint("j", 5)],
        "aliases": {"pool": {"endpoints": ["ep-a", "ep-b", "ep-c"]}},
        "routing": {
            "strategy": "quality",
            "shadow_judging": {"share": 0.1, "judge_endpoint_id": "ep-j"},
            "canaries": {
                "enabled": True,
                "every_s": CANARY_EVERY_S,
                "per_bucket": 2,
                "endpoints": POOL,
                "suites": [str(suite)],
                "min_pairs": 4,
            },
        },
    }


@contextmanager
def _world() -> Iterator[tuple[Any, dict[str, Any], int]]:
    """Scripted upstreams and a gateway over them on loopback: services, upstreams, port."""
    from rolecall.bootstrap import build_app, build_services
    from rolecall.gateway.server import build_server
    from rolecall.providers.scripted import ScriptedUpstream
    from rolecall.settings import Settings

    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="rolecall-drift-") as tmp:
        upstreams = {n: ScriptedUpstream.start_in_thread(s) for n, s in scripts().items()}
        for handle in upstreams.values():
            stack.callback(handle.stop)
        suite = Path(tmp) / "canary-suite.jsonl"
        suite.write_text("".join(json.dumps(case) + "\n" for case in CANARY_CASES))
        config = Path(tmp) / "rolecall.yaml"
        config.write_text(yaml.safe_dump(_inventory(upstreams, suite)))
        port = _free_port()
        settings = Settings(
            config=config, data_dir=Path(tmp) / "data", port=port, require_api_key=False
        )
        full_benchmark(config, settings.effective_database_url, suite, Path(tmp) / "cli")
        services = build_services(settings)
        server, _ = build_server(build_app(services), settings)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the scenario's gateway did not start")
            time.sleep(0.02)
        try:
            yield services, upstreams, port
        finally:
            server.should_exit = True
            thread.join(timeout=15)


def full_benchmark(
    config: Path,
    database_url: str,
    suite: Path,
    data_dir: Path,
    endpoints: Sequence[str] = tuple(POOL),
) -> None:
    """The canaries' history: a full run of the suite from the CLI, as an operator would."""
    command = [sys.executable, "-m", "rolecall", "bench", "run", "--full", "--no-judge"]
    command += ["--suite", str(suite), "--endpoints", ",".join(endpoints), "--json"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROLECALL_")}
    env |= {
        "ROLECALL_CONFIG": str(config),
        "ROLECALL_DATA_DIR": str(data_dir),
        "ROLECALL_DATABASE_URL": database_url,
    }
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"the scenario's full benchmark failed: {done.stderr.strip()}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed_baseline(services: Any, endpoint_ids: list[str] | None = None) -> None:
    """The scenario's benchmark baseline, as a full benchmark would leave it: ten judged cases
    per endpoint (all three, or ``endpoint_ids``) around its `BASELINE` score."""
    from rolecall.profiles import Sample

    now = time.time_ns() // 1_000_000
    samples = []
    chosen = endpoint_ids or list(BASELINE)
    for endpoint_id, score in ((e, BASELINE[e]) for e in chosen):
        version, revision = services.routing.endpoint_facts(endpoint_id)
        samples += [
            Sample(
                endpoint_id,
                version,
                "benchmark",
                now,
                40.0,
                judge_score=score + d,
                difficulty_bucket="medium",
                membership_revision=revision,
                benchmark_mode="full",
            )
            for d in SPREAD
        ]
    services.evidence.add(samples)
    services.evidence.refresh(chosen)


def _ask(port: int) -> str:
    body = {"model": "pool", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 8}
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/chat/completions",
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as reply:
        return str(reply.headers["x-rolecall-endpoint"])


def _paced(port: int) -> str:
    started = time.monotonic()
    endpoint = _ask(port)
    time.sleep(max(0.0, 1 / RATE - (time.monotonic() - started)))
    return endpoint


def _canary_verdict(services: Any, after_round: int, wait_s: float) -> bool | None:
    """Whether the canaries find ep-b's drop, once rounds past ``after_round`` have run (the
    round in flight at the change may have run its cases before it: two more rounds, so at
    least one started after it)."""
    after_round += 1
    deadline = time.monotonic() + wait_s
    while services.canaries.counts["rounds"] <= after_round and time.monotonic() < deadline:
        time.sleep(0.05)
    if services.canaries.counts["rounds"] <= after_round:
        return None
    verdict = services.canaries.judge(["ep-b"])["ep-b"]
    return None if verdict is None else bool(verdict["alarmed"])


def run_once(*, degraded: bool, before: int, after: int) -> RunResult:
    """One scenario: ``before`` requests, the change (when ``degraded``), then up to ``after``
    requests until routing leaves the broken endpoint under an alarm."""
    with _world() as (services, upstreams, port):
        seed_baseline(services)
        for _ in range(before):
            _paced(port)
        rounds = services.canaries.counts["rounds"]
        if degraded:
            degrade(upstreams["b"])
        started, moved_at = time.monotonic(), None
        for i in range(1, after + 1):
            endpoint = _paced(port)
            if degraded and endpoint != "ep-b" and "ep-b" in services.routing.demotions:
                moved_at = i
                break
        seconds = time.monotonic() - started
        agrees = _canary_verdict(services, rounds, 30.0) if degraded else None
        if not degraded:
            time.sleep(0.5)  # the last grades are in
        # the demoting alarms: a throughput warning (a loaded machine slows the scripted pool)
        # demotes nothing and is not what the scenario is about
        opened = {
            key: alarm
            for key, alarm in services.drift.alarms()["open"].items()
            if alarm.get("demotes", True)
        }
        return RunResult(
            degraded=degraded,
            alarmed=bool(opened),
            requests_to_move=moved_at,
            seconds_to_move=None if moved_at is None else seconds,
            judged=services.shadow.counts["judged"],
            signal=opened["ep-b"]["metric"] if "ep-b" in opened else None,
            canary_agrees=agrees,
            canary_rounds=services.canaries.counts["rounds"],
        )


def report(results: list[RunResult]) -> list[str]:
    """Lines that sum the runs up: detection (requests, seconds) and the false-alarm rate."""
    degraded = [r for r in results if r.degraded]
    control = [r for r in results if not r.degraded]
    lines = []
    if degraded:
        moved = [r for r in degraded if r.requests_to_move is not None]
        lines.append(f"degraded runs: {len(moved)} of {len(degraded)} detected and routed away")
        if moved:
            reqs = [r.requests_to_move for r in moved if r.requests_to_move is not None]
            secs = [r.seconds_to_move for r in moved if r.seconds_to_move is not None]
            lines.append(
                f"  requests after the change until routing moved: median "
                f"{statistics.median(reqs):.0f}, max {max(reqs)}; seconds: median "
                f"{statistics.median(secs):.1f}, max {max(secs):.1f}"
            )
        signals = ", ".join(
            f"{n} by {signal}"
            for signal, n in sorted(Counter(r.signal for r in degraded if r.signal).items())
        )
        agreed = sum(r.canary_agrees is True for r in degraded)
        lines.append(
            f"  alarm raised {signals or 'by nothing'}; canaries found the drop too in "
            f"{agreed} of {len(degraded)}"
        )
    if control:
        alarms = sum(r.alarmed for r in control)
        lines.append(
            f"control runs (no change): {alarms} of {len(control)} raised an alarm "
            f"(false-alarm rate {alarms / len(control):.1%}) over "
            f"{sum(r.canary_rounds for r in control)} canary rounds and "
            f"{sum(r.judged for r in control)} judged answers"
        )
    return lines
