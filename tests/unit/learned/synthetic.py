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
