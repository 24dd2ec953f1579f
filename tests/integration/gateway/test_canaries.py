"""Canaries through a real gateway: a full benchmark run from the CLI (another process) is the
history; the gateway's canary rounds, every second on the process that leads, re-run a rotating
slice of the suite; once one endpoint's answers turn wrong, its canary cases fall below their
history and an alarm demotes it, while the other endpoint keeps passing."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rolecall.benchmark.cases import load_suite
from rolecall.cli.drift_demo import canary_cases
from rolecall.judging.canaries import rotating_cases
from rolecall.providers.scripted import ScriptedUpstream

from .harness import Gateway, openai_provider
from .test_shadow_judging import _until

CASES = canary_cases(2, source="rolecall tests")


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    path = tmp_path / "canary-suite.jsonl"
    path.write_text("".join(json.dumps(case) + "\n" for case in CASES))
    return path


@pytest.fixture
def pool() -> Iterator[dict[str, Any]]:
    handles = {
        n: ScriptedUpstream.start_in_thread({"models": {f"model-{n}": {"answer": "good answer"}}})
        for n in ("a", "b")
    }
    yield handles
    for handle in handles.values():
        handle.stop()


def _config(pool: dict[str, Any], suite: Path) -> dict[str, Any]:
    return {
        "providers": {n: openai_provider(h.base_url, local=False) for n, h in pool.items()},
        "endpoints": [{"provider": n, "model": f"model-{n}", "id": f"ep-{n}"} for n in pool],
        "routing": {
            "canaries": {
                "enabled": True,
                "every_s": 1,
                "per_bucket": 2,
                "suites": [str(suite)],
                "min_pairs": 4,
            }
        },
    }


def test_rotation_covers_each_bucket_and_moves_on() -> None:
    items = [("s", case) for case in load_suite_cases()]
    first, second = rotating_cases(items, 1, 0), rotating_cases(items, 1, 1)
    assert first == ["s/easy-0", "s/medium-0", "s/hard-0"]
    assert second == ["s/easy-1", "s/medium-1", "s/hard-1"]
    assert rotating_cases(items, 1, 2) == first  # wraps around
    assert rotating_cases(items, 5, 0) == [f"s/{c['id']}" for c in CASES]  # no more than there are


def load_suite_cases() -> list[Any]:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.jsonl"
        path.write_text("".join(json.dumps(case) + "\n" for case in CASES))
        return list(load_suite(path).cases)


def test_canaries_demote_the_endpoint_that_fell_below_its_history(
    pool: dict[str, Any], suite: Path, db_url: str, tmp_path: Path
) -> None:
    with Gateway(_config(pool, suite), db_url, tmp_path) as gw:
        env = {
            "ROLECALL_CONFIG": str(gw.settings.config),
            "ROLECALL_DATA_DIR": str(tmp_path / "cli"),
            "ROLECALL_DATABASE_URL": db_url,
            "PATH": "/usr/bin:/bin",
        }
        full = subprocess.run(
            [
                sys.executable,
                "-m",
                "rolecall",
                "bench",
                "run",
                "--full",
                "--no-judge",
                "--suite",
                str(suite),
                "--json",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert full.returncode == 0, full.stderr
        canaries = gw.services.canaries
        rounds = canaries.counts["rounds"]
        _until(lambda: canaries.counts["rounds"] >= rounds + 2, 30)
        assert gw.services.routing.demotions == {}  # both pass their canaries

        pool["b"].set_script({"models": {"model-b": {"answer": "wrong answer"}}})
        _until(lambda: "ep-b" in gw.services.routing.demotions, 30)
        status, alarms = gw.admin("/api/alarms")
        assert status == 200
        alarm = alarms["open"]["ep-b"]
        assert alarm["metric"] == "canary"
        assert alarm["evidence"]["mean_change"] <= -0.9
        assert "ep-a" not in alarms["open"]
        runs = gw.services.storage.benchmarks.list_runs()
        assert {r.mode for r in runs} == {"full", "canary"}
