"""`rolecall route` and `rolecall conformance`, run as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SHARED_FIXTURES

CASES = SHARED_FIXTURES / "router-golden" / "cases"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rolecall", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_route_prints_decision_json() -> None:
    result = _run("route", str(CASES / "latency-strategy-prefers-faster.json"))
    assert result.returncode == 0, result.stderr
    decision = json.loads(result.stdout)
    assert decision["chosen_endpoint_id"] == "fast-endpoint"
    assert decision["routing_decision_id"] == "decision-fixture-latency-strategy-1"


def test_route_explain_prints_a_table() -> None:
    result = _run("route", str(CASES / "privacy-remote-deny.json"), "--explain")
    assert result.returncode == 0, result.stderr
    assert "chosen: local-cli" in result.stdout
    assert "POLICY_DENY_REMOTE" in result.stdout
    assert "Remote endpoints are denied" in result.stdout


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (
            lambda d: d["input"]["request"].update(contextTokens="lots"),
            "$.input.request.contextTokens",
        ),
        (
            lambda d: d["input"]["candidates"][0]["declared"].pop("modalities"),
            "$.input.candidates[0].declared.modalities",
        ),
        (lambda d: d["input"].pop("candidates"), "$.input.candidates"),
        (
            lambda d: d["input"]["candidates"][0]["identity"].update(endpoint_id=5),
            "$.input.candidates[0].identity.endpoint_id",
        ),
    ],
)
def test_malformed_case_names_the_json_path(tmp_path: Path, mutate, path: str) -> None:  # type: ignore[no-untyped-def]
    data = json.loads((CASES / "privacy-remote-deny.json").read_text())
    mutate(data)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    result = _run("route", str(bad))
    assert result.returncode == 2
    assert path in result.stderr
    assert "Traceback" not in result.stderr


def test_invalid_json_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = _run("route", str(bad))
    assert result.returncode == 2
    assert "not valid JSON" in result.stderr


def test_conformance_command_over_the_golden_cases() -> None:
    result = _run("conformance", str(CASES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "18 conform, 0 do not" in result.stdout
