"""The records ``scripts/build_item_priors.py`` fits item priors from (see it for the fitting),
and which built-in case each one is: each source's records as a score table, and the exact
matching of records to cases. Imported by that script (``scripts/`` first on the path).

The sources, in ``../shared/data``:

* ``routellm/`` (lm-sys/RouteLLM eval data, Apache-2.0): MMLU and GSM8K, 2 models;
* ``llmrouter/`` (ulab-uiuc/LLMRouter data, MIT): 14 tasks, 9 models;
* ``routerarena/`` (RouteWorks/RouterArena cached results, Apache-2.0): 2 models.

Matching is exact. A case matches a record when the text ``scripts/build_suites.py`` builds from
that record (the same templates: choice layout, numeric tail, "Answer briefly." and so on) is the
case's user message, and the facts it kept agree (reference answer, HumanEval task id, MBPP tests,
MMLU subject). RouteLLM's MMLU prompts lay the choices out with one newline fewer than the
built-in cases, so MMLU compares whitespace-collapsed text (``rolecall.learned.matrix
.normalise_prompt``); every other match is byte-exact. RouterArena wraps its questions in its own
instructions: its ``Question:`` (and ``Options:``) fields are compared, whitespace-collapsed.
A case matching two rows of one source (neither the kind build_suites built it from) is left out
as ambiguous, and so is an LLMRouter question text that stands for two different items (the same
question under two tasks, or with its choices in another order).
"""

from __future__ import annotations

import ast
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import build_suites
import numpy as np
from numpy.typing import NDArray

from rolecall.benchmark.cases import BenchCase, builtin_suites
from rolecall.learned import importers
from rolecall.learned.matrix import normalise_prompt

SOURCES = ("routellm", "llmrouter", "routerarena")  # tie-break order
# LLMRouter's agentverse-mgsm rows are GSM8K test questions + this instruction
MGSM_SUFFIX = "\nAfter careful thought, put you final answer in \\boxed{...}."
MGSM_BOXED = "put you final answer in \\boxed{...}."
MGSM_ASK = "end with 'Answer: <number>'."
CHAT_TAIL = "? Answer briefly."
# Tasks whose source metric does not measure what the built-in case's grader does: LLMRouter
# scores TriviaQA / Natural Questions by token F1 against one alias of the answer, often a garbled
# one ("conductivity disambiguation", "john logie baird centre"), so correct answers score 0 and
# 73% of its TriviaQA prompts have every model at 0; the built-in cases are judged by an LLM.
LEFT_OUT = {
    "llmrouter": {
        task: "F1 against one (often garbled) answer alias; the built-in case is judge-graded"
        for task in ("trivia_qa", "natural_qa")
    }
}

Array = NDArray[np.float64]
Check = Callable[[BenchCase], bool]


@dataclass
class Table:
    """One source's per-prompt scores: rows are distinct prompt texts, columns its models."""

    source: str
    models: list[str]
    prompts: list[str]
    tasks: list[set[str]]
    scores: Array
    repeats: int  # (prompt, model) scores averaged with an earlier one of the same text

    def row(self, prompt: str) -> int | None:
        return self._rows.get(prompt)

    def __post_init__(self) -> None:
        self._rows = {p: i for i, p in enumerate(self.prompts)}


def load_table(shared: Path, source: str) -> Table:
    """A source's records through ``rolecall.learned.importers`` (RouteLLM: MMLU + GSM8K, its
    contaminated prompts dropped as RouteLLM does)."""
    records = importers.IMPORTERS[source](shared / source)
    sums: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    tasks: dict[str, set[str]] = defaultdict(set)
    for rec in records:
        sums[rec["prompt"]][rec["model"]].append(float(rec["score"]))
        if rec.get("task"):
            tasks[rec["prompt"]].add(str(rec["task"]))
    models = sorted({m for by_model in sums.values() for m in by_model})
    prompts = list(sums)
    scores = np.full((len(prompts), len(models)), np.nan)
    repeats = 0
    for i, prompt in enumerate(prompts):
        for j, model in enumerate(models):
            values = sums[prompt].get(model)
            if values:
                scores[i, j] = sum(values) / len(values)
                repeats += len(values) - 1
    return Table(source, models, prompts, [tasks[p] for p in prompts], scores, repeats)


@dataclass
class Index:
    """Candidate case texts built from a source's records: key → [(row, text, check)]."""

    normalise: bool = False
    entries: dict[str, list[tuple[int, str, Check, bool]]] = field(
        default_factory=lambda: defaultdict(list)
    )

    def add(self, text: str, row: int, check: Check, primary: bool = True) -> None:
        """``primary``: the record is of the kind build_suites built such a case from (a GSM8K
        question also sits in LLMRouter's agentverse-mgsm rows: a secondary match)."""
        key = normalise_prompt(text) if self.normalise else text
        self.entries[key].append((row, text, check, primary))

    def find(self, text: str, case: BenchCase) -> list[tuple[int, str, bool]]:
        key = normalise_prompt(text) if self.normalise else text
        return [
            (r, t, primary) for r, t, check, primary in self.entries.get(key, []) if check(case)
        ]


def _jsonl(path: Path) -> list[dict[str, Any]]:
    """JSON lines split on newlines only (the texts hold U+2028, which splitlines() splits)."""
    text = path.read_text(encoding="utf-8")
    return [json.loads(line) for line in text.split("\n") if line.strip()]


def _user(case: BenchCase) -> str:
    return [m.content for m in case.messages if m.role == "user"][-1]


def _numeric(answer: str) -> str:
    return answer.split("####")[-1].strip().replace(",", "")


def _reference(value: str) -> Check:
    return lambda case: case.reference == value


def _all(*checks: Check) -> Check:
    return lambda case: all(check(case) for check in checks)


def _id_prefix(prefix: str) -> Check:
    return lambda case: case.id.startswith(prefix)


Texts = Iterator[tuple[str, Check, bool]]  # (case text, check, primary)


def _gsm8k_texts(question: str, answer: str, origin: str) -> Texts:
    """The texts build_suites makes of a GSM8K question: a ``gsm8k-*`` case (from RouteLLM's
    test set) and an ``mgsm-*`` one (from LLMRouter's agentverse-mgsm rows, which are GSM8K test
    questions); ``origin`` says which of the two the record is (``""``: neither)."""
    check = _reference(_numeric(answer))
    yield question + build_suites.NUMERIC_TAIL, _all(_id_prefix("gsm8k-"), check), origin == "gsm8k"
    yield (
        (question + MGSM_SUFFIX).replace(MGSM_BOXED, MGSM_ASK),
        _all(_id_prefix("mgsm-"), check),
        origin == "mgsm",
    )


def routellm_index(table: Table, shared: Path) -> tuple[Index, Index]:
    """(byte-exact index for GSM8K, whitespace-collapsed index for MMLU with its subject)."""
    answers = {
        row["question"]: row["answer"] for row in _jsonl(shared / "routellm/gsm8k/test.jsonl")
    }
    exact, mmlu = Index(), Index(normalise=True)
    for row, (prompt, tasks) in enumerate(zip(table.prompts, table.tasks, strict=True)):
        if "gsm8k" in tasks and prompt in answers:
            for text, check, primary in _gsm8k_texts(prompt, answers[prompt], "gsm8k"):
                exact.add(text, row, check, primary)
        subjects = {
            t.removeprefix("mmlu_").replace("_", " ") for t in tasks if t.startswith("mmlu_")
        }
        if subjects:
            mmlu.add(prompt, row, _mmlu_subject(subjects))
    return exact, mmlu


def _mmlu_subject(subjects: set[str]) -> Check:
    def check(case: BenchCase) -> bool:
        found = re.match(r"MMLU test, (.+?) \(", case.source)
        return case.id.startswith("mmlu-") and found is not None and found.group(1) in subjects

    return check


def _llmrouter_texts(q: dict[str, Any]) -> Texts:
    """What build_suites makes of one LLMRouter query row, by task."""
    task, query, truth = q["task_name"], q["query"], q["ground_truth"]
    if task in build_suites.LLMROUTER_MC or task == "mmlu":
        case = build_suites.choice_case("x", query, build_suites._choices(q["choices"]), truth)
        yield case["messages"][-1]["content"], _reference(truth), True
    elif task == "agentverse-mgsm" and query.endswith(MGSM_SUFFIX):
        yield from _gsm8k_texts(query.removesuffix(MGSM_SUFFIX), truth, "mgsm")
    elif task == "gsm8k":
        yield from _gsm8k_texts(query, truth, "")
    elif task in ("trivia_qa", "natural_qa"):
        yield query.strip().rstrip("?") + CHAT_TAIL, _reference(truth), True
    elif task == "mbpp":
        tests = ast.literal_eval(truth)
        ask = (
            f"{query}\nYour function must pass this test:\n{tests[0]}\n"
            "Reply with the function in a ```python code block."
        )
        yield ask, lambda case: (case.grader_args or {}).get("tests") == "\n".join(tests), True
    elif task == "human_eval":
        number = str(q.get("task_id") or "").removeprefix("HumanEval/")
        yield build_suites.CODE_ASK + query, lambda case: case.id == f"humaneval-{number}", True


def llmrouter_index(table: Table, shared: Path) -> tuple[Index, dict[str, int]]:
    """Byte-exact index over LLMRouter's query rows that have scores; and counts of query rows
    left out (no scores, or one question text under two different tasks/choices)."""
    queries = []
    for split in ("test", "train"):
        queries += _jsonl(shared / f"llmrouter/query_data/default_query_{split}.jsonl")
    variants: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for q in queries:
        variants[q["query"]].add((q["task_name"], str(q["choices"])))
    index, skipped = Index(), {"no_scores": 0, "ambiguous": 0}
    for q in queries:
        row = table.row(q["query"])
        if row is None:
            skipped["no_scores"] += 1
            continue
        if len(variants[q["query"]]) > 1:
            skipped["ambiguous"] += 1
            continue
        for text, check, primary in _llmrouter_texts(q):
            index.add(text, row, check, primary)
    return index, skipped


ARENA_QUESTION = re.compile(r"\nQuestion: (.*?)\n\n(?:Options: \n(.*?)\n\n\n)?Provide", re.DOTALL)


def _case_question(case: BenchCase) -> tuple[str, str] | None:
    """(question, options) a case was built from, undoing build_suites' templates."""
    text = _user(case)
    if case.grader == "choice":
        question, _, options = text.rpartition("\n\nA. ")
        return question, "A. " + options.removesuffix("\nAnswer:")
    for tail in (build_suites.NUMERIC_TAIL, "\nAfter careful thought, " + MGSM_ASK, CHAT_TAIL):
        if text.endswith(tail):
            return text.removesuffix(tail), ""
    return None


def routerarena_index(table: Table) -> Index:
    """Whitespace-collapsed index over RouterArena's ``Question:`` / ``Options:`` fields."""
    index = Index(normalise=True)
    for row, prompt in enumerate(table.prompts):
        found = ARENA_QUESTION.search(prompt)
        if found:
            index.add(f"{found.group(1)}\n{found.group(2) or ''}", row, lambda case: True)
    return index


@dataclass
class Match:
    case: str  # suite/case_id
    source: str
    row: int
    exact: bool  # byte-exact (else whitespace-collapsed)


def _pick_row(found: list[tuple[int, str, bool]], text: str) -> tuple[int, bool] | str | None:
    """The one row ``found`` names (primary matches first); ``"ambiguous"`` when two remain."""
    if not found:
        return None
    best = [f for f in found if f[2]] or found
    rows = {row for row, _, _ in best}
    if len(rows) > 1:
        return "ambiguous"
    return rows.pop(), any(t == text for _, t, _ in best)


def match_cases(
    shared: Path, tables: dict[str, Table]
) -> tuple[dict[str, list[Match]], dict[str, Any]]:
    """Every built-in case's match in each source (at most one row per source: a case with two
    candidate rows of the same standing is left out as ambiguous), and notes for the report."""
    cases = {f"{s.name}/{c.id}": c for s in builtin_suites() for c in s.cases}
    exact_r, mmlu_r = routellm_index(tables["routellm"], shared)
    llm_r, skipped = llmrouter_index(tables["llmrouter"], shared)
    arena = routerarena_index(tables["routerarena"])
    out: dict[str, list[Match]] = defaultdict(list)
    ambiguous: list[str] = []
    for key, case in cases.items():
        text = _user(case)
        asked = _case_question(case)
        lookups = {
            "routellm": exact_r.find(text, case) + mmlu_r.find(text, case),
            "llmrouter": llm_r.find(text, case),
            "routerarena": arena.find(f"{asked[0]}\n{asked[1]}", case) if asked else [],
        }
        for source, found in lookups.items():
            picked = _pick_row(found, text)
            if picked == "ambiguous":
                ambiguous.append(f"{key} ({source})")
            elif isinstance(picked, tuple):
                out[key].append(Match(key, source, picked[0], picked[1]))
    notes = {"llmrouter_query_rows_skipped": skipped, "ambiguous": ambiguous}
    return dict(out), notes


def _left_out(match: Match, tables: dict[str, Table]) -> str | None:
    """Why a match cannot serve as a prior (``None``: it can)."""
    reasons = LEFT_OUT.get(match.source, {})
    tasks = sorted(tables[match.source].tasks[match.row] & set(reasons))
    return f"{match.source} {tasks[0]}: {reasons[tasks[0]]}" if tasks else None


def chosen(
    matches: dict[str, list[Match]], tables: dict[str, Table]
) -> tuple[dict[str, Match], dict[str, list[str]]]:
    """Per case, the usable match from the source with the most models (ties: ``SOURCES``
    order); and the cases whose every match was left out, by why."""
    rank = {s: (-len(tables[s].models), SOURCES.index(s)) for s in tables}
    picks: dict[str, Match] = {}
    left_out: dict[str, list[str]] = defaultdict(list)
    for key in sorted(matches):
        found = matches[key]
        usable = [m for m in found if _left_out(m, tables) is None]
        if usable:
            picks[key] = min(usable, key=lambda m: rank[m.source])
        else:
            left_out["; ".join(str(_left_out(m, tables)) for m in found)].append(key)
    return picks, dict(left_out)
