"""Replaying the cases through the gateway under one mode, one request at a time (latency is the
client's wall time), each answer graded by the case's own deterministic grader.

A mode the gateway refuses (its first request is not a 200) is reported unavailable with the
gateway's error. What the mode did is read back from the stored decisions: the classified
difficulty (the answer's ``x-rolecall-difficulty`` header) and exclusions whose detail names the
difficulty ceiling; a difficulty run whose answers carry neither was routed as baseline.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from gateway.procs import http
from modes.cases import Case, gateway_task
from modes.pool import Gateway, ModeSpec, admin_get
from rolecall.benchmark.graders import grade_case
from rolecall.benchmark.reply import parse_completion


@dataclass
class Answer:
    key: str
    bucket: str
    status: int
    latency_ms: float
    score: float = 0.0
    cost: float = 0.0
    endpoint: str = ""
    decision_id: str = ""
    error: str = ""  # a refused or failed request's body
    classified: str | None = None  # from the decision record
    ceiling_exclusions: int = 0


@dataclass
class ModeRun:
    spec: ModeSpec
    label: str
    answers: list[Answer] = field(default_factory=list)
    unavailable: str | None = None


def request_body(case: Case, alias: str, task_hint: bool = False) -> dict[str, Any]:
    bench_case = case.case
    body: dict[str, Any] = {
        "model": alias,
        "messages": [m.model_dump() for m in bench_case.messages],
        "max_tokens": bench_case.max_tokens,
        "temperature": 0,
    }
    if bench_case.tools:
        body["tools"] = bench_case.tools
    task = gateway_task(bench_case) if task_hint else None
    if task is not None:  # the rolecall extension: route (and classify) as the case's task
        body["rolecall"] = {"task": task}
    return body


def replay(
    gateway: Gateway, spec: ModeSpec, cases: list[Case], label: str, task_hints: bool = False
) -> ModeRun:
    run = ModeRun(spec, label)
    for case in cases:
        started = time.perf_counter()
        status, headers, raw = http(
            f"{gateway.url}/v1/chat/completions",
            request_body(case, spec.alias, task_hints),
            timeout=600,
        )
        latency = (time.perf_counter() - started) * 1000
        if status != 200 and not run.answers:
            run.unavailable = f"HTTP {status}: {raw[:300].decode(errors='replace')}"
            return run
        answer = Answer(case.key, case.case.bucket, status, latency)
        if status != 200:
            answer.error = f"{case.key}: HTTP {status}: {raw[:200].decode(errors='replace')}"
        else:
            lower = {k.lower(): v for k, v in headers.items()}
            answer.endpoint = lower.get("x-rolecall-endpoint", "")
            answer.cost = float(lower.get("x-rolecall-cost-usd", "0") or 0)
            answer.decision_id = lower.get("x-rolecall-decision-id", "")
            # the difficulty a planned request routed with (the hybrid mode's arbitrated one)
            answer.classified = lower.get("x-rolecall-difficulty") or None
            reply = parse_completion(json.loads(raw), latency)
            answer.score = asyncio.run(grade_case(case.case, reply)).score.score
        run.answers.append(answer)
    _read_decisions(gateway, run)
    return run


def _read_decisions(gateway: Gateway, run: ModeRun) -> None:
    """The ceiling exclusions of each answer's stored decision."""
    wanted = {a.decision_id: a for a in run.answers if a.decision_id}
    try:
        found = admin_get(gateway, "/api/decisions?limit=500").get("data", [])
    except OSError:
        return
    for decision in found:
        answer = wanted.get(decision.get("routing_decision_id", ""))
        if answer is None:
            continue
        answer.ceiling_exclusions = sum(
            1 for text in _exclusions(decision) if "difficult" in text.lower()
        )


def _exclusions(node: Any) -> Iterator[str]:
    """The code and detail of every exclusion (the ceiling rule reports as POLICY_DENY_ENDPOINT
    with a detail naming the difficulty ceiling)."""
    if isinstance(node, dict):
        if isinstance(node.get("code"), str):
            yield f"{node['code']} {node.get('detail', '')}"
        for value in node.values():
            yield from _exclusions(value)
    elif isinstance(node, list):
        for item in node:
            yield from _exclusions(item)
