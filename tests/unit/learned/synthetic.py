"""A small synthetic routing problem with real prompt text: arithmetic prompts are answered by the
'coder' model, history prompts by the 'chat' model, with label noise."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rolecall.learned.evaluate import Prepared, prepare
from rolecall.learned.matrix import ScoreMatrix

MODELS = ["chat", "coder"]
PEOPLE = [
    "Napoleon",
    "Caesar",
    "Cleopatra",
    "Lincoln",
    "Elizabeth",
    "Charlemagne",
    "Gandhi",
    "Bismarck",
]
EVENTS = ["the battle", "the treaty", "the coronation", "the revolution", "the reform", "the war"]


def prompt(kind: str, rng: np.random.Generator) -> str:
    if kind == "math":
        a, b = rng.integers(2, 999, 2)
        op = rng.choice(["sum", "product", "difference"])
        return f"Compute the {op} of {a} and {b}, then give the result as an integer."
    person, event = rng.choice(PEOPLE), rng.choice(EVENTS)
    return f"In which year did {person} take part in {event}, and why was it important in history?"


def matrix(n: int, seed: int, signal: bool = True) -> ScoreMatrix:
    rng = np.random.default_rng(seed)
    kinds = rng.choice(["math", "history"], n)
    prompts = [prompt(k, rng) for k in kinds]
    if signal:
        coder_right = np.where(kinds == "math", 0.9, 0.15)
        chat_right = np.where(kinds == "math", 0.2, 0.85)
    else:  # no prompt-level signal: 'chat' is a little better everywhere
        chat_right, coder_right = np.full(n, 0.6), np.full(n, 0.5)
    scores = np.column_stack([rng.random(n) < chat_right, rng.random(n) < coder_right]).astype(
        float
    )
    return ScoreMatrix(
        prompt_ids=[f"p{seed}-{i}" for i in range(n)],
        prompts=prompts,
        models=list(MODELS),
        scores=scores,
        costs=np.tile([0.002, 0.001], (n, 1)),
        tasks=[None] * n,
        splits=[None] * n,
    )


def prepared(tmp_path: Path, signal: bool = True, **kwargs: Any) -> Prepared:
    return prepare(matrix(400, 1, signal), matrix(200, 2, signal), cache_dir=tmp_path, **kwargs)


# Three tasks without labels (Chinese and English multiple choice, math word problems) and three
# models, each best at one of them.
TASK_MODELS = ["zh-strong", "en-strong", "math-strong"]
ZH_SUBJECTS = ["中国历史", "古代文学", "地理知识", "法律常识", "医学基础", "经济原理"]
ZH_STEMS = ["下列关于", "以下哪一项", "根据题意", "请选择正确的"]
ZH_OPTIONS = ["正确", "错误", "不确定", "以上都对", "以上都不对", "无法判断"]
EN_SUBJECTS = ["world history", "biology", "economics", "law", "physics", "philosophy"]
NAMES = ["Alice", "Bob", "Chen", "Dana", "Emeka", "Farah"]
ITEMS = ["apples", "pencils", "tickets", "books", "coins", "marbles"]
# P(correct) per task (rows: zh, en, math) and model (columns)
SKILL = np.array([[0.85, 0.35, 0.3], [0.4, 0.85, 0.45], [0.3, 0.45, 0.85]])


def task_prompt(task: int, rng: np.random.Generator) -> str:
    if task == 0:
        subject, stem = rng.choice(ZH_SUBJECTS), rng.choice(ZH_STEMS)
        options = rng.choice(ZH_OPTIONS, 4, replace=False)
        body = "".join(f"{k}. {o} " for k, o in zip("ABCD", options, strict=True))
        return f"{stem}{subject}的说法，哪一个是正确的？ {body}答案："
    if task == 1:
        subject = rng.choice(EN_SUBJECTS)
        a, b, c, d = rng.integers(1, 99, 4)
        return (
            f"The following is a multiple choice question about {subject}. Which statement "
            f"holds? A. {a} B. {b} C. {c} D. {d} Answer:"
        )
    name, item = rng.choice(NAMES), rng.choice(ITEMS)
    a, b = rng.integers(3, 90, 2)
    return (
        f"{name} has {a} {item} and buys {b} more, then gives away half of them. "
        f"How many {item} does {name} have left? Think step by step."
    )


def task_matrix(n: int, seed: int, skill: np.ndarray = SKILL) -> ScoreMatrix:
    rng = np.random.default_rng(seed)
    tasks = rng.integers(0, 3, n)
    scores = (rng.random((n, 3)) < skill[tasks]).astype(float)
    return ScoreMatrix(
        prompt_ids=[f"s{seed}-{i}" for i in range(n)],
        prompts=[task_prompt(int(t), rng) for t in tasks],
        models=list(TASK_MODELS),
        scores=scores,
        costs=np.full((n, 3), np.nan),
        tasks=[None] * n,  # hidden: the router has to find the tasks itself
        splits=[None] * n,
    )
