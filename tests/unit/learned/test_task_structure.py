"""Task structure without task labels: Chinese and English multiple choice and math word problems,
three models each best at one task. The router is never told the tasks; it must find them in the
prompts (character n-grams for the Chinese ones) and give each its best model, while a task with
no clear winner keeps the best single model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rolecall.learned.encoders import TfidfEncoder
from rolecall.learned.evaluate import Prepared, evaluate, prepare
from rolecall.learned.features import FeatureSpace
from rolecall.learned.predictors.base import create
from rolecall.learned.predictors.tasks import RULES, TaskGuard

from .synthetic import SKILL
from .synthetic import task_matrix as _matrix


def _task_of(prompt: str) -> int:
    return 0 if "答案" in prompt else 1 if "multiple choice" in prompt else 2


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Prepared:
    return prepare(_matrix(900, 1), _matrix(450, 2), cache_dir=tmp_path_factory.mktemp("c"))


def test_character_ngrams_see_shared_chinese_text() -> None:
    prompts = ["下列关于中国历史的说法", "以下哪一项是中国历史", "The weather is nice today"]
    words = TfidfEncoder(chars=False).fit(prompts).encode(prompts)
    both = TfidfEncoder().fit(prompts).encode(prompts)
    # word tokens: each Chinese sentence is one token of its own, so the two share nothing
    assert (words[0] @ words[1].T).toarray()[0, 0] == 0.0
    related = (both[0] @ both[1].T).toarray()[0, 0]
    assert related > 0.05
    assert related > 5 * (both[0] @ both[2].T).toarray()[0, 0]


def test_the_router_recovers_hidden_tasks_and_gives_each_its_best_model(mixed: Prepared) -> None:
    rows = {r["router"]: r for r in evaluate(mixed, ["rolecall", "mlc", "best_single"])}
    # a router told the tasks, picking each task's best model, would reach about 0.85
    assert rows["rolecall"]["mu_o"] > 0.8, rows["rolecall"]
    assert rows["rolecall"]["mu_o"] > rows["best_single"]["mu_o"] + 0.2
    assert rows["mlc"]["mu_o"] > rows["best_single"]["mu_o"] + 0.15, rows["mlc"]
    router = create("rolecall").fit(mixed.train)
    chosen = router.choose(mixed.test)
    truth = np.array([_task_of(p) for p in mixed.test_matrix.prompts])
    assert np.mean(chosen == np.argmax(SKILL, axis=1)[truth]) > 0.9


def test_a_task_without_a_clear_winner_keeps_the_best_single_model(tmp_path: Path) -> None:
    # math is a near tie between two models and the best single model wins it: no rule beats it
    skill = SKILL.copy()
    skill[2] = [0.5, 0.52, 0.5]
    data = prepare(_matrix(900, 3, skill), _matrix(450, 4, skill), cache_dir=tmp_path)
    router = create("rolecall").fit(data.train)
    assert router.guard is not None
    tasks, choices = router.rule_choices(data.test)
    chosen = router.choose(data.test)
    math_rows = np.array([_task_of(p) == 2 for p in data.test_matrix.prompts])
    rules = router.guard.rules[np.unique(tasks[math_rows])]
    assert set(rules.tolist()) <= {RULES.index("best_single"), RULES.index("task_best")}
    # wherever math keeps the best single model, the choice is exactly that model
    single = router.guard.rules[tasks] == RULES.index("best_single")
    assert (chosen[single] == router.best_index).all()
    assert len(choices) == 3


def test_guard_takes_the_pooled_rule_and_a_task_departs_only_where_it_clearly_loses() -> None:
    # three tasks of 40 prompts; model 0 is the best single model. The prompt-level rule is right
    # everywhere in tasks 0 and 1 and wrong everywhere in task 2, where model 0 is right.
    tasks = np.repeat([0, 1, 2], 40)
    y = np.zeros((120, 3))
    y[tasks == 0, 1] = y[tasks == 1, 2] = y[tasks == 2, 0] = 1.0
    y[:, 0] = np.maximum(
        y[:, 0], (np.arange(120) % 2) * (tasks != 2)
    )  # model 0 right half the time
    single = np.zeros(120, dtype=np.int64)
    task_best = np.select([tasks == 0, tasks == 1], [1, 2], 0).astype(np.int64)
    prompt = np.where(tasks == 2, 1, task_best).astype(np.int64)
    guard = TaskGuard(z=1.64).fit(tasks, 3, y, (single, task_best, prompt))
    assert guard.default == RULES.index("task_best")  # as good as the prompt rule, and surer
    assert guard.rules.tolist() == [1, 1, 1]
    # a prompt rule that is clearly better in every task but the last: the last departs from it
    prompt_best = task_best.copy()
    y2 = y.copy()
    y2[tasks != 2, :] = 0.0
    y2[tasks == 0, 2] = y2[tasks == 1, 1] = 1.0
    prompt_best[tasks == 0], prompt_best[tasks == 1] = 2, 1
    guard = TaskGuard(z=1.64).fit(tasks, 3, y2, (single, task_best, prompt_best))
    assert guard.default == RULES.index("learned")
    assert guard.rules.tolist()[:2] == [2, 2]
    chosen = guard.apply(tasks, (single, task_best, prompt_best))
    assert (y2[np.arange(120), chosen] == 1.0).all()


def test_guard_stays_on_the_best_single_model_without_a_clear_gain() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random((60, 2)) < [0.6, 0.55]).astype(float)
    tasks = np.repeat([0, 1], 30)
    single = np.zeros(60, dtype=np.int64)
    noisy = rng.integers(0, 2, 60).astype(np.int64)
    guard = TaskGuard(z=1.64).fit(tasks, 2, y, (single, noisy, noisy))
    assert guard.default == RULES.index("best_single")
    assert guard.rules.tolist() == [0, 0]


def test_artifacts_with_word_features_only_still_load(mixed: Prepared) -> None:
    meta, arrays = mixed.space.state()
    assert meta["tfidf"] == "words+chars"
    old = FeatureSpace.from_state(
        {"encoder": meta["encoder"]}, {"tfidf_idf": arrays["tfidf_idf"][: 2**18]}
    )
    assert old.tfidf.kind == "words"
    assert old.transform(["a prompt"]).sparse.shape[1] == 2**18
