"""kill -9 in the middle of `rolecall bench run`, then `rolecall bench resume`: nothing graded is
redone or lost. A real CLI subprocess, a slow scripted upstream over real HTTP, SQLite on disk."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from rolecall.cli import app
from rolecall.providers.scripted import ScriptedUpstream
from rolecall.storage import open_storage

CASES = 12
ROLECALL = [sys.executable, "-m", "rolecall"]


@pytest.fixture
def slow_upstream() -> Iterator[Any]:
    handle = ScriptedUpstream.start_in_thread(
        {"models": {"slow": {"answer": "blue", "latency_ms": 150}}}
    )
    yield handle
    handle.stop()


def _suite(path: Path) -> Path:
    cases = [
        {
            "id": f"colour-{i}",
            "task": "text.classification",
            "bucket": ("easy", "medium", "hard")[i % 3],
            "messages": [{"role": "user", "content": f"Question {i}: what colour is the sky?"}],
            "reference": "blue" if i % 2 else "red",
            "grader": "exact",
            "max_tokens": 4,
            "source": "test",
            "license": "CC0-1.0",
        }
        for i in range(CASES)
    ]
    path.write_text("".join(json.dumps(c) + "\n" for c in cases))
    return path


def _env(tmp_path: Path, upstream: Any) -> dict[str, str]:
    config = tmp_path / "rolecall.yaml"
    inventory = {
        "providers": {
            "p": {"kind": "openai_compatible", "base_url": upstream.base_url, "local": False}
        },
        "endpoints": [{"provider": "p", "model": "slow", "id": "ep-slow"}],
    }
    config.write_text(yaml.safe_dump(inventory))
    return {
        **os.environ,
        "ROLECALL_CONFIG": str(config),
        "ROLECALL_DATA_DIR": str(tmp_path / "data"),
        "ROLECALL_DATABASE_URL": f"sqlite:///{tmp_path / 'data' / 'bench.db'}",
        "ROLECALL_ADMIN_TOKEN": "rca-test",
    }


def _stored(url: str) -> tuple[list[Any], list[Any]]:
    storage = open_storage(url, migrate=False)
    try:
        runs = storage.benchmarks.list_runs()
        results = storage.benchmarks.results(runs[0].run_id) if runs else []
        return runs, results
    except Exception:  # the schema is not there yet: the child is still starting
        return [], []
    finally:
        storage.close()


def _requests(upstream: Any) -> int:
    return int(upstream.stats()["models"].get("slow", {}).get("requests", 0))


def _run_cmd(suite: Path, *how: str) -> list[str]:
    """`rolecall bench run` on ``suite``, one request at a time, without a judge."""
    return [
        *ROLECALL,
        "bench",
        "run",
        *how,
        "--suite",
        str(suite),
        "--concurrency",
        "1",
        "--no-judge",
    ]


def _kill_after_four_cases(cmd: list[str], env: dict[str, str], url: str) -> None:
    """Run ``cmd`` and kill -9 it once four graded cases are stored."""
    child = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while len(_stored(url)[1]) < 4:
            assert child.poll() is None, "the benchmark ended before it could be killed"
            assert time.monotonic() < deadline, "no graded case was committed in time"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()


def _resume(run_id: str, env: dict[str, str]) -> dict[str, Any]:
    """`rolecall bench resume RUN_ID --json` in a fresh process; its report."""
    resumed = subprocess.run(
        [*ROLECALL, "bench", "resume", run_id, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert resumed.returncode == 0, resumed.stderr
    report: dict[str, Any] = json.loads(resumed.stdout)
    return report


def test_kill_minus_nine_then_resume(tmp_path: Path, slow_upstream: Any) -> None:
    env = _env(tmp_path, slow_upstream)
    url = env["ROLECALL_DATABASE_URL"]
    suite = _suite(tmp_path / "colours.jsonl")
    _kill_after_four_cases(_run_cmd(suite, "--full"), env, url)
    time.sleep(0.3)  # let a request that was in flight reach the upstream's counters
    runs, before = _stored(url)
    asked_before = _requests(slow_upstream)
    assert runs[0].status == "running"  # killed: never marked finished
    assert 4 <= len(before) < CASES
    storage = open_storage(url, migrate=False)
    assert len(storage.samples.for_endpoint("ep-slow", source="benchmark")) == len(
        before
    )  # atomic commits
    storage.close()

    report = _resume(runs[0].run_id, env)
    assert report["status"] == "completed"
    assert report["cases_done"] == CASES
    runs, after = _stored(url)
    assert runs[0].status == "completed"
    assert len(after) == CASES
    assert [r for r in after if r.case_key in {b.case_key for b in before}] == before  # untouched
    # each case not yet graded was asked exactly once more, plus one preflight probe
    assert _requests(slow_upstream) - asked_before == CASES - len(before) + 1
    storage = open_storage(url, migrate=False)
    samples = storage.samples.for_endpoint("ep-slow", source="benchmark")
    storage.close()
    assert len(samples) == CASES
    assert sum(s.judge_score or 0 for s in samples) == CASES // 2  # odd cases expect "blue"

    cli = CliRunner()
    listed = cli.invoke(app, ["bench", "list", "--json"], env=env)
    assert json.loads(listed.stdout)["runs"][0]["cases_done"] == CASES
    shown = cli.invoke(app, ["bench", "show", runs[0].run_id], env=env)
    assert "ep-slow" in shown.stdout
    assert "recommended strategy" in shown.stdout
    cleared = cli.invoke(app, ["bench", "clear", "--yes"], env=env)
    assert cleared.stdout.strip() == f"deleted {CASES} benchmark samples"


def test_kill_minus_nine_mid_adaptive_run_then_resume(tmp_path: Path, slow_upstream: Any) -> None:
    """An adaptive run killed mid-way resumes where it was: the graded cases stay as they are,
    none is asked again, and the walk goes on to its budget."""
    env = _env(tmp_path, slow_upstream)
    url = env["ROLECALL_DATABASE_URL"]
    suite = _suite(tmp_path / "colours.jsonl")
    budget = 9
    # --quick: adaptive by default
    _kill_after_four_cases(_run_cmd(suite, "--quick", "--max-cases", str(budget)), env, url)
    time.sleep(0.3)
    runs, before = _stored(url)
    asked_before = _requests(slow_upstream)
    assert runs[0].status == "running"
    assert runs[0].config["adaptive"]["max_cases"] == budget
    assert 4 <= len(before) < budget

    report = _resume(runs[0].run_id, env)
    assert report["status"] == "completed"
    entry = report["adaptive"]["endpoints"]["ep-slow"]
    assert entry["cases_used"] == budget
    assert entry["stopped"] == "case_budget"
    runs, after = _stored(url)
    assert len(after) == budget
    assert len({r.case_key for r in after}) == budget  # no case twice
    assert [r for r in after if r.case_key in {b.case_key for b in before}] == before
    assert _requests(slow_upstream) - asked_before == budget - len(before) + 1  # + the probe
    # every task and bucket of the candidates was covered
    assert {r.bucket for r in after} == {"easy", "medium", "hard"}
