"""`rolecall lab` end to end on real data: import, evaluate (--json and the saved console file), train,
scale (table, JSON and plot), and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rolecall.cli import app
from rolecall.learned.deploy import LearnedQuality

DATA = Path("/work/shared/data")
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="shared data not mounted")
REQUIRED = {"router", "mu_o", "v_b", "oracle", "best_single", "e_p", "gap_closed"}


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ROLECALL_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def _run(*args: str) -> str:
    result = CliRunner().invoke(app, ["lab", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_import_evaluate_train(lab: Path) -> None:
    out = lab / "arena.parquet"
    summary = json.loads(_run("import", str(DATA / "routerarena"), "--out", str(out)))
    assert summary["format"] == "routerarena"
    assert summary["records"] == 2 * 809
    assert summary["splits"]["train"] + summary["splits"]["test"] == 2 * 809
    train, test = lab / "arena.train.parquet", lab / "arena.test.parquet"

    stdout = _run(
        "evaluate",
        "--train",
        str(train),
        "--test",
        str(test),
        "--router",
        "rolecall,best_single,oracle",
        "--json",
    )
    rows = json.loads(stdout)
    assert [r["router"] for r in rows] == ["rolecall", "best_single", "oracle"]
    for row in rows:
        assert row.keys() >= REQUIRED
        assert row["apgr"] is not None  # two models: RouteLLM metrics
        assert row["aiq"] is not None
        assert row["zero_router_aiq"] is not None
    assert rows[2]["mu_o"] == pytest.approx(rows[2]["oracle"])
    assert rows[1]["v_b_train"] == pytest.approx(1.0)

    [saved] = (lab / "data" / "lab").glob("evaluate-*.json")
    doc = json.loads(saved.read_text())
    assert doc["kind"] == "evaluate"
    assert doc["train"] == str(train)
    assert doc["test"] == str(test)
    assert isinstance(doc["created_ms"], int)
    assert doc["results"] == rows

    artifact = lab / "router.npz"
    trained = json.loads(
        _run("train", "--records", str(out), "--router", "rolecall", "--out", str(artifact))
    )
    quality = LearnedQuality.load(artifact)
    assert quality.artifact_id == trained["artifact_id"]
    estimates = quality.estimates("What is the capital of Peru?", {"ep": "gemini-2.0-flash-001"})
    assert 0.0 <= estimates["ep"].value <= 1.0


def test_evaluate_table_and_errors(lab: Path) -> None:
    out = lab / "mt.jsonl"
    _run("import", str(DATA / "routellm" / "mt_bench"), "--out", str(out))
    table = _run(
        "evaluate",
        "--train",
        str(out),
        "--test",
        str(out),
        "--router",
        "best_single,knn",
        "--reference-accuracy",
        "0.9",
    )
    assert "best_single" in table
    assert "oracle" in table
    rows = json.loads(
        _run(
            "evaluate",
            "--train",
            str(out),
            "--test",
            str(out),
            "--router",
            "best_single",
            "--json",
            "--reference-accuracy",
            "0.9",
        )
    )
    assert rows[0]["v_r"] == pytest.approx(rows[0]["mu_o"] / 0.9)

    result = CliRunner().invoke(
        app, ["lab", "evaluate", "--train", str(lab / "nope.parquet"), "--test", str(out)]
    )
    assert result.exit_code == 2
    assert "nope.parquet" in result.output.replace("\n", "")  # a long path wraps
    assert "file not found" in result.output
    result = CliRunner().invoke(
        app, ["lab", "evaluate", "--train", str(out), "--test", str(out), "--router", "zzz"]
    )
    assert result.exit_code == 2
    assert "unknown router 'zzz'" in result.output


def test_scale_table_json_and_plot(lab: Path) -> None:
    out = lab / "llmrouter.parquet"
    _run("import", str(DATA / "llmrouter"), "--out", str(out))
    train, test = lab / "llmrouter.train.parquet", lab / "llmrouter.test.parquet"
    rows = json.loads(
        _run(
            "scale",
            "--train",
            str(train),
            "--test",
            str(test),
            "--router",
            "best_single,knn",
            "--max-m",
            "3",
            "--json",
        )
    )
    assert {(r["m"], r["group"]) for r in rows} == {
        (m, g) for m in (2, 3) for g in ("all_strong", "all_weak", "strong_to_weak")
    }
    for row in rows:
        assert {"m", "group", "router", "mu_o", "best_single", "oracle"} <= row.keys()
        assert row["mu_o"] <= row["oracle"] + 1e-12
    [saved] = (lab / "data" / "lab").glob("scale-*.json")
    doc = json.loads(saved.read_text())
    assert doc["kind"] == "scale"
    assert doc["rows"] == rows
    png = saved.parent / doc["plot"]
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_scale_reports_newcomers_known_from_a_few_records(lab: Path) -> None:
    out = lab / "arena.parquet"
    _run("import", str(DATA / "routerarena"), "--out", str(out))
    train, test = str(lab / "arena.train.parquet"), str(lab / "arena.test.parquet")
    args = ["scale", "--train", train, "--test", test, "--router", "knn", "--newcomer", "10,30"]
    rows = json.loads(_run(*args, "--json"))
    newcomers = [r for r in rows if "newcomer" in r]
    assert {(r["newcomer"], r["k"]) for r in newcomers} == {
        (m, k) for m in {r["newcomer"] for r in newcomers} for k in (10, 30)
    }
    assert len({r["newcomer"] for r in newcomers}) == 2  # RouterArena's two models in turn
    for row in newcomers:
        assert row["group"] == f"newcomer_{row['k']}"
        assert {"without", "constant", "mu_o", "full_data", "oracle"} <= row.keys()
        assert max(row["without"], row["mu_o"]) <= row["oracle"] + 1e-12
    assert "known from k training prompts" in _run(*args)
    bad = CliRunner().invoke(app, ["lab", *args[:-1], "ten"])
    assert bad.exit_code == 2
    assert "--newcomer" in bad.output
