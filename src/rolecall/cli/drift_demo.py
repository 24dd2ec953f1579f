"""`rolecall demo --drift`: the drift scenario anyone can run, with nothing else running.

Three scripted endpoints answer well; a scripted judge grades answers (well-formed answers 9 of
10, the wrong ones 2) for shadow judging at 10%; a gateway on loopback routes with the quality
strategy over a benchmark baseline written for the scenario (the scripted endpoints have no
benchmark of their own worth running). After ``--before`` requests the best endpoint's answers
silently turn wrong, its latency unchanged. Each run reports after how many requests and seconds
the drift alarm demoted it and routing moved away; ``--runs`` repeats the scenario and as many
control runs (no change) to measure the false-alarm rate.
"""

from __future__ import annotations

import json
import socket
import statistics
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

GOOD: Final = '{"score": 9, "reason": "correct"}'
BAD: Final = '{"score": 2, "reason": "wrong"}'
BASELINE: Final = {"ep-a": 0.84, "ep-b": 0.9, "ep-c": 0.8}
SPREAD: Final = (-0.1, -0.05, 0.0, 0.05, 0.1, -0.05, 0.0, 0.05, 0.0, 0.0)


@dataclass
class RunResult:
    degraded: bool
    alarmed: bool
    requests_to_move: int | None  # after the change, until routing left the broken endpoint
    seconds_to_move: float | None
    judged: int


def _script(name: str, answer: str) -> dict[str, Any]:
    return {"models": {f"model-{name}": {"answer": answer, "latency_ms": 3}}}


def _inventory(upstreams: dict[str, Any]) -> dict[str, Any]:
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
        upstreams = {n: ScriptedUpstream.start_in_thread(_script(n, "good answer")) for n in "abc"}
        judge = {
            "models": {"model-j": {"answer": GOOD}},
            "rules": [{"prompt_contains": "bad answer", "answer": BAD}],
        }
        upstreams["j"] = ScriptedUpstream.start_in_thread(judge)
        for handle in upstreams.values():
            stack.callback(handle.stop)
        config = Path(tmp) / "rolecall.yaml"
        config.write_text(yaml.safe_dump(_inventory(upstreams)))
        port = _free_port()
        settings = Settings(
            config=config, data_dir=Path(tmp) / "data", port=port, require_api_key=False
        )
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


def run_once(*, degraded: bool, before: int, after: int) -> RunResult:
    """One scenario: ``before`` requests, the change (when ``degraded``), then up to ``after``
    requests until routing leaves the broken endpoint under an alarm."""
    with _world() as (services, upstreams, port):
        seed_baseline(services)
        for _ in range(before):
            _ask(port)
        if degraded:
            upstreams["b"].set_script(_script("b", "bad answer"))
        started, moved_at = time.monotonic(), None
        for i in range(1, after + 1):
            endpoint = _ask(port)
            if degraded and endpoint != "ep-b" and "ep-b" in services.routing.demotions:
                moved_at = i
                break
        seconds = time.monotonic() - started
        if not degraded:
            time.sleep(0.5)  # the last grades are in
        return RunResult(
            degraded=degraded,
            alarmed=bool(services.routing.demotions),
            requests_to_move=moved_at,
            seconds_to_move=None if moved_at is None else seconds,
            judged=services.shadow.counts["judged"],
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
    if control:
        alarms = sum(r.alarmed for r in control)
        lines.append(
            f"control runs (no change): {alarms} of {len(control)} raised an alarm "
            f"(false-alarm rate {alarms / len(control):.1%})"
        )
    return lines
