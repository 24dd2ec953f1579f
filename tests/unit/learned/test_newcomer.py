"""A model that joins with a few records: per-prompt estimates from how its outcomes relate to the
known models' predictions, and the pool-scaling report that compares them."""

from __future__ import annotations

import numpy as np
import pytest

from rolecall.learned.evaluate import Prepared, prepare
from rolecall.learned.newcomer import Newcomer, newcomer_rows
from rolecall.learned.predictors.base import create

from .synthetic import task_matrix


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Prepared:
    return prepare(task_matrix(900, 5), task_matrix(450, 6), cache_dir=tmp_path_factory.mktemp("c"))


def _task(prompt: str) -> int:
    return 0 if "答案" in prompt else 1 if "multiple choice" in prompt else 2


def test_sixty_records_place_a_new_model_where_it_is_strong(data: Prepared) -> None:
    # "math-strong" joins late: the router knows the other two; 60 of its outcomes are seen
    known = data.train.columns([0, 1])
    router = create("rolecall").fit(known)
    seen = np.random.default_rng(0).choice(data.train.n, 60, replace=False)
    newcomer = Newcomer(router).fit(
        data.train.rows(seen).columns([0, 1]), data.train.labels()[seen, 2]
    )
    estimate = newcomer.predict(data.test.columns([0, 1]))
    tasks = np.array([_task(p) for p in data.test_matrix.prompts])
    # higher on math than on either other task (few records: the penalty keeps it modest)
    means = [estimate[tasks == t].mean() for t in range(3)]
    assert means[2] > max(means[:2]) + 0.02, means
    assert 0.0 < newcomer.margin < 0.2


def test_the_scaling_report_compares_with_leaving_it_out(data: Prepared) -> None:
    rows = newcomer_rows(data, "rolecall", counts=(30,))
    assert {r["newcomer"] for r in rows} == set(data.train.models)
    for row in rows:
        assert row["k"] == 30
        assert row["group"] == "newcomer_30"
        assert row["mu_o"] <= row["oracle"] + 1e-9
    strong = next(r for r in rows if r["newcomer"] == "math-strong")
    # without it, math goes to a weaker model; with 30 records it wins back most of the gap
    assert strong["mu_o"] > strong["without"] + 0.05, strong
    assert strong["mu_o"] > strong["constant"], strong
