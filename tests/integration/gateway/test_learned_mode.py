"""The ``learned`` routing mode end to end: a router trained with ``rolecall lab train`` on
performance records, deployed through rolecall.yaml, changes the gateway's choice per prompt.

Two scripted upstreams stand for two models with opposite strengths (one answers arithmetic well,
the other code); the records say so, the trained router learns it, and the quality strategy then
sends each prompt to the model the router predicts is better for it — with the artifact recorded as
the quality metric's source in the stored decision.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from rolecall.cli import app
from rolecall.errors import ConfigError
from rolecall.providers.scripted import ScriptedUpstream

from .harness import Gateway, openai_provider

pytest.importorskip("sklearn", reason="the learned mode needs the 'learned' extra")

MATH_PROMPTS = [
    "What is {a} plus {b}? Give the sum.",
    "Compute {a} times {b} and show the product.",
    "If a train travels {a} km in {b} hours, what is its average speed?",
    "Subtract {b} from {a}. What number do you get?",
]
CODE_PROMPTS = [
    "Write a Python function named f{a} that reverses a list.",
    "Fix the bug in this JavaScript loop: for (let i = 0; i <= {a}; i++) {{ arr[i] }}",
    "Implement binary search in Rust over a sorted vector of {a} integers.",
    "Write a SQL query that returns the {a} most recent orders per customer.",
]


def _records(path: Path) -> None:
    rng = random.Random(7)
    rows = []
    for i in range(160):
        kind = "math" if i % 2 == 0 else "code"
        template = rng.choice(MATH_PROMPTS if kind == "math" else CODE_PROMPTS)
        prompt = template.format(a=rng.randint(2, 999), b=rng.randint(2, 99))
        good, bad = ("math-model", "code-model") if kind == "math" else ("code-model", "math-model")
        for model, score in ((good, 1.0), (bad, 0.0)):
            rows.append(
                {
                    "prompt_id": f"p{i}",
                    "prompt": prompt,
                    "model": model,
                    "score": score,
                    "task": kind,
                    "split": "train",
                }
            )
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("learned")
    records, out = tmp / "records.jsonl", tmp / "router.npz"
    _records(records)
    result = CliRunner().invoke(
        app, ["lab", "train", "--records", str(records), "--router", "rolecall", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert out.is_file()
    return out


@pytest.fixture
def upstreams() -> Iterator[tuple[Any, Any]]:
    math = ScriptedUpstream.start_in_thread({"models": {"model-m": {"answer": "42"}}})
    code = ScriptedUpstream.start_in_thread({"models": {"model-c": {"answer": "def f(): ..."}}})
    yield math, code
    math.stop()
    code.stop()


def _inventory(math: Any, code: Any, artifact: Path, mode: str) -> dict[str, Any]:
    return {
        "providers": {
            "m": openai_provider(math.base_url, local=False),
            "c": openai_provider(code.base_url, local=False),
        },
        "endpoints": [
            {
                "provider": "m",
                "model": "model-m",
                "id": "ep-math",
                "price": {"input_per_1m": 1.0, "output_per_1m": 1.0},
            },
            {
                "provider": "c",
                "model": "model-c",
                "id": "ep-code",
                "price": {"input_per_1m": 1.0, "output_per_1m": 1.0},
            },
        ],
        "routing": {
            "strategy": "quality",
            "mode": mode,
            "learned": {
                "artifact": str(artifact),
                "models": {"ep-math": "math-model", "ep-code": "code-model"},
            },
        },
    }


def _route(gw: Gateway, prompt: str) -> dict[str, Any]:
    with gw.client() as client:
        raw = client.chat.completions.with_raw_response.create(
            model="default", messages=[{"role": "user", "content": prompt}], max_tokens=8
        )
    status, decision = gw.admin(f"/api/decisions/{raw.headers['x-rolecall-decision-id']}")
    assert status == 200
    assert decision["chosen_endpoint_id"] == raw.headers["x-rolecall-endpoint"]
    return decision  # type: ignore[no-any-return]


def test_learned_mode_routes_each_prompt_to_its_predicted_best(
    upstreams: tuple[Any, Any], artifact: Path, tmp_path: Path
) -> None:
    math, code = upstreams
    config = _inventory(math, code, artifact, "learned")
    with Gateway(config, f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path) as gw:
        # prompts the router never saw in training
        arithmetic = _route(gw, "What is 613 plus 58? Give the sum.")
        coding = _route(gw, "Write a Python function named parse that reverses a list.")
    assert arithmetic["chosen_endpoint_id"] == "ep-math"
    assert coding["chosen_endpoint_id"] == "ep-code"
    quality = arithmetic["scored_candidates"][0]["metric_breakdown"]["quality"]
    assert quality["raw"]["predictor"].startswith("learned:")
    assert quality["raw"]["predicted_quality"] > 0.5


def test_baseline_mode_ignores_the_trained_router(
    upstreams: tuple[Any, Any], artifact: Path, tmp_path: Path
) -> None:
    math, code = upstreams
    config = _inventory(math, code, artifact, "baseline")
    with Gateway(config, f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path) as gw:
        first = _route(gw, "What is 613 plus 58? Give the sum.")
        second = _route(gw, "Write a Python function named parse that reverses a list.")
    assert first["chosen_endpoint_id"] == second["chosen_endpoint_id"]  # no per-prompt signal
    quality = first["scored_candidates"][0]["metric_breakdown"]["quality"]
    assert "predictor" not in quality.get("raw", {})


@pytest.mark.parametrize(
    ("break_config", "named"),
    [
        # a model name the trained router never saw
        (
            lambda c, tmp: c["routing"]["learned"]["models"].update({"ep-code": "cobol-model"}),
            "cobol-model",
        ),
        # an artifact that does not exist
        (
            lambda c, tmp: c["routing"]["learned"].update({"artifact": str(tmp / "nowhere.npz")}),
            "rolecall lab train",
        ),
    ],
    ids=["unknown-model", "missing-artifact"],
)
def test_a_bad_learned_config_fails_at_startup_naming_the_key(
    upstreams: tuple[Any, Any], artifact: Path, tmp_path: Path, break_config: Any, named: str
) -> None:
    math, code = upstreams
    config = _inventory(math, code, artifact, "learned")
    break_config(config, tmp_path)
    with pytest.raises(ConfigError) as err:
        Gateway(config, f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path)
    assert err.value.path == "routing.learned.artifact"
    assert named in str(err.value)
