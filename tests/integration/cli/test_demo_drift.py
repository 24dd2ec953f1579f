"""`rolecall demo --drift` as a user runs it: a real subprocess, scripted endpoints on loopback,
one degraded run and one control run, reported in plain lines."""

from __future__ import annotations

import re
from pathlib import Path

from .cli_process import rolecall


def test_demo_drift_detects_the_degraded_endpoint_and_not_the_control(tmp_path: Path) -> None:
    result = rolecall(tmp_path, "demo", "--drift", "--runs", "1", timeout=240)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert re.search(r"run 1 degraded: routed away after \d+ requests .* by a \w+ alarm", out), out
    assert "canaries agree" in out  # a canary round after the change found the drop as well
    assert re.search(r"run 1 control : no alarm; \d+ answers judged, [1-9]\d* canary rounds", out)
    assert "degraded runs: 1 of 1 detected and routed away" in out
    assert "control runs (no change): 0 of 1 raised an alarm (false-alarm rate 0.0%)" in out
    assert "Traceback" not in result.stderr
