"""Build item-statistics priors for the built-in cases (``src/rolecall/benchmark/data/item_priors.json``).

On a fresh install the store holds no graded results, so an adaptive run sees every case alike.
This script gives the built-in cases that came from public question sets a prior difficulty and
discrimination, fitted from public per-prompt, multi-model records in ``../shared/data``:

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

Fitting: per source, one ``rolecall.benchmark.items.fit_items`` over all of its prompts (rows:
distinct prompt texts, repeats averaged) × its models, so the many other prompts anchor the
abilities. Scales of different sources are not comparable (different models, different prompts),
so each is mapped to a common one by the affine change of the ability scale that puts that
source's difficulties (over all its prompts) at mean 0 and standard deviation 1: ``b' = (b − m)
/ s``, ``a' = a · s`` (``a'(θ' − b') = a(θ − b)``, so the fit's predictions are unchanged). A case
matched in several sources takes the source with the most models (then the order above).

Run: ``.venv/bin/python scripts/build_item_priors.py [--shared ../shared] [--check]``.
"""

from __future__ import annotations

import argparse
import ast
import datetime as dt
import importlib.util
import json
import re
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rolecall.benchmark.cases import BenchCase, builtin_suites
from rolecall.benchmark.items import fit_items
from rolecall.learned import importers
from rolecall.learned.matrix import normalise_prompt

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "rolecall" / "benchmark" / "data" / "item_priors.json"
SOURCES = ("routellm", "llmrouter", "routerarena")  # tie-break order
DIGITS = 6
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
LICENSES = {
    "routellm": "RouteLLM eval data (lm-sys/RouteLLM @ 0b64fda): Apache-2.0; MMLU MIT, GSM8K MIT",
    "llmrouter": (
        "LLMRouter data (ulab-uiuc/LLMRouter @ 4e7a796): MIT; the tasks used keep their own "
        "licenses (GSM8K MIT, HumanEval MIT, MBPP CC-BY-4.0, MGSM/AgentVerse CC-BY-SA-4.0)"
    ),
    "routerarena": "RouterArena cached results (RouteWorks/RouterArena @ 4714a9a): Apache-2.0",
}

Array = NDArray[np.float64]
Check = Callable[[BenchCase], bool]


def _build_suites() -> ModuleType:
    """``scripts/build_suites.py`` (its templates are what a case was built with)."""
    spec = importlib.util.spec_from_file_location(
        "build_suites", Path(__file__).with_name("build_suites.py")
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BS = _build_suites()


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


# --- matching ------------------------------------------------------------------------------------


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
    yield question + BS.NUMERIC_TAIL, _all(_id_prefix("gsm8k-"), check), origin == "gsm8k"
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
    if task in BS.LLMROUTER_MC or task == "mmlu":
        case = BS.choice_case("x", query, BS._choices(q["choices"]), truth)
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
        yield BS.CODE_ASK + query, lambda case: case.id == f"humaneval-{number}", True


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
    for tail in (BS.NUMERIC_TAIL, "\nAfter careful thought, " + MGSM_ASK, CHAT_TAIL):
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


# --- fitting -------------------------------------------------------------------------------------


@dataclass
class Fit:
    difficulty: Array  # standardised: mean 0, sd 1 over the source's prompts
    discrimination: Array  # rescaled with the same change of scale
    graded: NDArray[np.int64]
    flat: NDArray[np.bool_]  # the source's models all scored the same on it
    mean: float  # of the raw difficulties
    sd: float
    abilities: dict[str, float]  # the source's models on the standardised scale


def fit_source(table: Table) -> Fit:
    items, theta = fit_items(table.scores)
    mean, sd = float(items.difficulty.mean()), float(items.difficulty.std())
    return Fit(
        (items.difficulty - mean) / sd,
        items.discrimination * sd,
        items.graded,
        items.flat,
        mean,
        sd,
        {m: float((t - mean) / sd) for m, t in zip(table.models, theta, strict=True)},
    )


def build(shared: Path) -> dict[str, Any]:
    """The priors document from ``shared`` (the ``data`` folder of ../shared), less the date."""
    tables = {source: load_table(shared, source) for source in SOURCES}
    matches, notes = match_cases(shared, tables)
    picks, notes["left_out"] = chosen(matches, tables)
    fits = {s: fit_source(tables[s]) for s in sorted({m.source for m in picks.values()})}
    cases = {}
    for key in sorted(picks):
        pick = picks[key]
        fit, table = fits[pick.source], tables[pick.source]
        cases[key] = {
            "difficulty": round(float(fit.difficulty[pick.row]), DIGITS),
            "discrimination": round(float(fit.discrimination[pick.row]), DIGITS),
            "models": int(fit.graded[pick.row]),
            "mean_score": round(float(np.nanmean(table.scores[pick.row])), DIGITS),
            "separated": not bool(fit.flat[pick.row]),
            "match": "exact" if pick.exact else "whitespace",
            "source": pick.source,
        }
    sources = {}
    for source in SOURCES:
        table = tables[source]
        entry: dict[str, Any] = {
            "license": LICENSES[source],
            "models": table.models,
            "prompts": len(table.prompts),
            "repeats_averaged": table.repeats,
            "matched": sum(any(m.source == source for m in found) for found in matches.values()),
            "matched_exact": sum(
                any(m.source == source and m.exact for m in found) for found in matches.values()
            ),
            "used": sum(p.source == source for p in picks.values()),
        }
        if source in fits:
            fit = fits[source]
            entry["raw_difficulty_mean"] = round(fit.mean, DIGITS)
            entry["raw_difficulty_sd"] = round(fit.sd, DIGITS)
            entry["abilities"] = {m: round(v, DIGITS) for m, v in fit.abilities.items()}
        sources[source] = entry
    return {
        "source": (
            "public per-prompt multi-model records (../shared/data): RouteLLM eval data, "
            "LLMRouter data, RouterArena cached results; built by scripts/build_item_priors.py"
        ),
        "license": "; ".join(LICENSES.values()),
        "fitted": "",
        "method": (
            "2PL (rolecall.benchmark.items.fit_items), fitted per source over all of that "
            "source's prompts x its models; a case is matched by the exact text build_suites made "
            "of a record (MMLU and RouterArena: whitespace-collapsed); a case in several sources "
            "takes the one with the most models"
        ),
        "scale": (
            "sources' ability scales are not comparable: each source's difficulties are "
            "standardised to mean 0 / sd 1 over all its prompts (b' = (b - mean) / sd) and its "
            "discriminations rescaled to match (a' = a * sd), so a'(theta' - b') = a(theta - b) "
            "and every prior sits on the N(0, 1) ability-prior scale of rolecall.benchmark.items"
        ),
        "sources": sources,
        "notes": notes,
        "cases": cases,
    }


def _values(doc: dict[str, Any]) -> dict[str, tuple[float, float, str]]:
    return {k: (v["difficulty"], v["discrimination"], v["source"]) for k, v in doc["cases"].items()}


def same_priors(a: dict[str, Any], b: dict[str, Any], tolerance: float = 1e-6) -> list[str]:
    """Differences between two priors documents' cases (empty: the same within ``tolerance``)."""
    left, right = _values(a), _values(b)
    problems = [f"{k}: only in one" for k in sorted(set(left) ^ set(right))]
    for key in sorted(set(left) & set(right)):
        (b1, a1, s1), (b2, a2, s2) = left[key], right[key]
        if s1 != s2 or abs(b1 - b2) > tolerance or abs(a1 - a2) > tolerance:
            problems.append(f"{key}: {left[key]} != {right[key]}")
    return problems


def dumps(doc: dict[str, Any]) -> str:
    """The document as JSON: the header indented, one line per case (a small, readable diff)."""
    head = json.dumps({k: v for k, v in doc.items() if k != "cases"}, indent=1, ensure_ascii=False)
    cases = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in doc["cases"].items())
    text = f'{head.removesuffix("}").rstrip()},\n "cases": {{\n{cases}\n }}\n}}\n'
    assert json.loads(text) == doc
    return text


def _report(doc: dict[str, Any]) -> Iterable[str]:
    for source, entry in doc["sources"].items():
        yield (
            f"{source}: {entry['prompts']} prompts x {len(entry['models'])} models; "
            f"matched {entry['matched']} cases ({entry['matched_exact']} byte-exact), "
            f"used {entry['used']}"
        )
    for key, case in doc["cases"].items():
        yield (
            f"  {key:32} {case['source']:10} b={case['difficulty']:+.3f} "
            f"a={case['discrimination']:.3f} mean={case['mean_score']:.2f} n={case['models']}"
        )
    yield f"notes: {doc['notes']}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument(
        "--check", action="store_true", help="compare with the packaged file instead of writing"
    )
    args = parser.parse_args()
    doc = build(args.shared / "data")
    for line in _report(doc):
        print(line)
    if args.check:
        problems = same_priors(json.loads(OUT.read_text(encoding="utf-8")), doc)
        print("\n".join(problems) or f"{OUT.name}: up to date")
        sys.exit(1 if problems else 0)
    doc["fitted"] = dt.date.today().isoformat()
    OUT.write_text(dumps(doc), encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size} bytes, {len(doc['cases'])} cases)")


if __name__ == "__main__":
    main()
