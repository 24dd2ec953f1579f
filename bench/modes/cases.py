"""The replayed cases and the scripted pool's known per-bucket quality.

Only cases a deterministic grader scores are replayed (``judge`` cases need an LLM judge and are
left out; `gradable_cases` says how many). A scripted model answers a case right (its reference;
for tool cases the expected calls) when its skill covers it: a hash of (model, case id) against
the model's skill for the case's bucket, so every run and every mode sees the same answers. The
skill table is the "known per-bucket quality"; each model's declared ``max_difficulty`` is the
hardest bucket it is right on at least `CEILING_SKILL` of the time.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Final

from rolecall.benchmark.cases import BenchCase, builtin_suites
from rolecall.benchmark.graders import grade_case
from rolecall.benchmark.reply import Reply
from rolecall.inventory.baseline import baseline_tasks

BUCKETS: Final = ("easy", "medium", "hard")
WRONG: Final = "no idea"  # no letter, number, JSON, code or tool call: every grader scores 0
CEILING_SKILL: Final = 0.7


@dataclass(frozen=True)
class ScriptedModel:
    """One scripted upstream model: its skill per bucket, latency, price and whether it is local."""

    name: str
    skill: dict[str, float]
    latency_ms: float
    local: bool
    price_in: float = 0.0  # USD per 1M tokens
    price_out: float = 0.0

    @property
    def ceiling(self) -> str:
        covered = [b for b in BUCKETS if self.skill[b] >= CEILING_SKILL]
        return covered[-1] if covered else "easy"

    def right(self, case: BenchCase) -> bool:
        digest = hashlib.sha256(f"{self.name}/{case.id}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64 < self.skill[case.bucket]


POOL: Final = (
    ScriptedModel("weak", {"easy": 0.9, "medium": 0.4, "hard": 0.05}, 20, local=True),
    ScriptedModel("mid", {"easy": 0.95, "medium": 0.8, "hard": 0.3}, 120, local=True),
    ScriptedModel(
        "strong",
        {"easy": 0.98, "medium": 0.95, "hard": 0.9},
        400,
        local=False,
        price_in=3.0,
        price_out=15.0,
    ),
)


@dataclass(frozen=True)
class Case:
    key: str  # suite/id
    case: BenchCase
    prompt: str  # the last user message: what the scripted upstream's rules match on


def _last_user(case: BenchCase) -> str:
    return next(m.content for m in reversed(case.messages) if m.role == "user")


def gateway_task(case: BenchCase) -> str | None:
    """The task a ``--task-hints`` request names: the case's, when the gateway knows it (its
    built-in tasks; ``reasoning.multi_step`` is the benchmark's own), else none (the default)."""
    known = {t.task_type for t in baseline_tasks()}
    return case.task if case.task in known else None


def right_calls(case: BenchCase) -> list[dict[str, Any]]:
    """The expected tool calls of a ``tool_calls`` case, OpenAI-shaped."""
    wanted = case.parsed_args().arguments
    return [
        {
            "id": f"call_{i}",
            "type": "function",
            "function": {"name": name, "arguments": json.dumps(wanted.get(name, {}))},
        }
        for i, name in enumerate(case.expected_tools or [])
    ]


def right_reply(case: BenchCase) -> Reply:
    if case.grader == "tool_calls":
        calls = [
            {"name": c["function"]["name"], "arguments": json.loads(c["function"]["arguments"])}
            for c in right_calls(case)
        ]
        return Reply("", tool_calls=calls)
    return Reply(case.reference or "")


async def _checked(case: BenchCase) -> str | None:
    """Why ``case`` cannot be replayed (its right answer must score 1, a wrong one 0), or None."""
    right = (await grade_case(case, right_reply(case))).score.score
    wrong = (await grade_case(case, Reply(WRONG))).score.score
    if right < 1.0 or wrong > 0.0:
        return f"right answer scores {right:g}, wrong {wrong:g}"
    return None


def gradable_cases(limit: int | None = None, *, tools: bool = True) -> tuple[list[Case], list[str]]:
    """(The replayed cases, notes on those left out), spread over the buckets when ``limit``d;
    without ``tools``, tool-calling cases are left out (llama.cpp endpoints declare none)."""
    chosen: list[Case] = []
    notes: list[str] = []
    seen_prompts: set[str] = set()
    for suite in builtin_suites():
        for bench_case in suite.cases:
            key = f"{suite.name}/{bench_case.id}"
            if bench_case.grader == "judge":
                continue
            if bench_case.tools and not tools:
                notes.append(f"{key}: needs tool calling")
                continue
            if bench_case.grader != "tool_calls" and not bench_case.reference:
                notes.append(f"{key}: no reference answer")
                continue
            prompt = _last_user(bench_case)
            if prompt in seen_prompts:
                notes.append(f"{key}: same prompt as another case")
                continue
            problem = asyncio.run(_checked(bench_case))
            if problem:
                notes.append(f"{key}: {problem}")
                continue
            seen_prompts.add(prompt)
            chosen.append(Case(key, bench_case, prompt))
    judged = sum(1 for s in builtin_suites() for c in s.cases if c.grader == "judge")
    notes.insert(0, f"{judged} judge-graded cases (no deterministic grader)")
    return _spread(chosen, limit), notes


def _spread(cases: list[Case], limit: int | None) -> list[Case]:
    """The first ``limit`` cases taking the buckets in turn (every bucket represented)."""
    if limit is None or limit >= len(cases):
        return cases
    queues = {b: [c for c in cases if c.case.bucket == b] for b in BUCKETS}
    out: list[Case] = []
    while len(out) < limit and any(queues.values()):
        for bucket in BUCKETS:
            if queues[bucket] and len(out) < limit:
                out.append(queues[bucket].pop(0))
    return out


def script(cases: list[Case], pool: tuple[ScriptedModel, ...] = POOL) -> dict[str, Any]:
    """The scripted upstream's script: per model and case a rule matching the case's prompt
    (longest prompts first, so a prompt inside another's never takes its rule), answering right or
    wrong; the ``controller`` model answers ``{}`` (no directives) to everything."""
    models: dict[str, Any] = {m.name: {"answer": WRONG, "latency_ms": m.latency_ms} for m in pool}
    models["controller"] = {"answer": "{}", "latency_ms": 5}
    rules: list[dict[str, Any]] = []
    for case in sorted(cases, key=lambda c: -len(c.prompt)):
        for model in pool:
            rule: dict[str, Any] = {"model": model.name, "prompt_contains": case.prompt}
            if not model.right(case.case):
                rule["answer"] = WRONG
            elif case.case.grader == "tool_calls":
                rule |= {"answer": "", "tool_calls": right_calls(case.case)}
            else:
                rule["answer"] = case.case.reference
            rules.append(rule)
    return {"models": models, "rules": rules}


def expected_quality(cases: list[Case], pool: tuple[ScriptedModel, ...] = POOL) -> dict[str, Any]:
    """Each model's share of right answers per bucket on ``cases`` (the realised skill table)."""
    table: dict[str, Any] = {}
    for model in pool:
        row = {}
        for bucket in BUCKETS:
            inside = [c for c in cases if c.case.bucket == bucket]
            row[bucket] = sum(model.right(c.case) for c in inside) / len(inside) if inside else None
        table[model.name] = row
    return table


def ideal_difficulty(
    cases: list[Case], pool: tuple[ScriptedModel, ...] = POOL
) -> tuple[float, float]:
    """(Quality, mean upstream latency in ms) of difficulty mode with a classifier that always
    agrees with the labels and the latency strategy: each case on the fastest model whose ceiling
    covers its bucket. What a perfect run of the mode approaches (plus the gateway's own time)."""
    fastest = sorted(pool, key=lambda m: m.latency_ms)
    strongest = max(pool, key=lambda m: BUCKETS.index(m.ceiling))
    chosen = [
        next(
            (m for m in fastest if BUCKETS.index(m.ceiling) >= BUCKETS.index(c.case.bucket)),
            strongest,
        )
        for c in cases
    ]
    quality = sum(m.right(c.case) for m, c in zip(chosen, cases, strict=True)) / len(cases)
    return quality, sum(m.latency_ms for m in chosen) / len(cases)
