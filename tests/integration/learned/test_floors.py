"""The quality floors of issue #6 on the real shared data, for the default router (``rolecall``).

* do no harm: on every single-task test set (each LLMRouter task, RouteLLM MMLU, RouteLLM GSM8K) the
  default router reaches at least 0.99 of the best single model chosen on train (V_B, train-selected);
* gain where routing has room: on the mixed LLMRouter split V_B ≥ 1.06 and ≥ 20% of the oracle gap;
* RouteLLM MMLU: APGR ≥ 0.65.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rolecall.learned import importers
from rolecall.learned.evaluate import DEFAULT_PREDICTOR, Prepared, evaluate, prepare
from rolecall.learned.lab import load_pair
from rolecall.learned.records import write_records

DATA = Path("/work/shared/data")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not DATA.is_dir(), reason="shared data not mounted"),
]


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("floors")


def _prepared(
    work: Path, name: str, records: importers.Iterator[importers.Record]
) -> tuple[Path, Path]:
    out = work / f"{name}.parquet"
    write_records(importers.with_splits(records, 0.2, 0), out)
    return out, out


def _default(prepared: Prepared) -> dict[str, float]:
    [row] = evaluate(prepared, [DEFAULT_PREDICTOR])
    return row


def test_llmrouter_mixed_and_single_tasks(work: Path) -> None:
    train, test = load_pair(*_prepared(work, "llmrouter", importers.llmrouter(DATA / "llmrouter")))
    mixed = _default(prepare(train, test, cache_dir=work / "cache"))
    assert mixed["n_test"] == 500
    assert mixed["best_single"] == pytest.approx(0.563, abs=5e-4)
    assert mixed["oracle"] == pytest.approx(0.743, abs=5e-4)
    assert mixed["v_b"] >= 1.06, mixed
    assert mixed["gap_closed"] >= 0.20, mixed
    for task in test.task_names():
        single = _default(prepare(train.task(task), test.task(task), cache_dir=work / "cache"))
        assert single["v_b_train"] >= 0.99, (task, single)


@pytest.mark.parametrize("source", ["mmlu", "gsm8k"])
def test_routellm_do_no_harm_and_apgr(work: Path, source: str) -> None:
    train, test = load_pair(
        *_prepared(work, source, importers.routellm(DATA / "routellm" / source))
    )
    row = _default(prepare(train, test, cache_dir=work / "cache"))
    assert row["v_b_train"] >= 0.99, row
    if source == "mmlu":
        assert row["apgr"] >= 0.65, row
