"""bench/routing_modes.py on the scripted pool with a handful of cases: real processes (a scripted
upstream, the seeding benchmark, `rolecall serve`), a row per mode whose numbers parse. The
targets (beyond the line, classifier agreement) are the benchmark's to print, not asserted here.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
ROW = re.compile(
    r"^(?P<label>\S+(?: \(derived ceilings\))?)\s+(?P<strategy>quality|latency|balanced)\s+"
    r"(?P<n>\d+)\s+(?P<err>\d+)\s+(?P<quality>[\d.]+)\s+(?P<mean>[\d.]+)\s+(?P<p95>[\d.]+)\s+"
    r"(?P<cost>[\d.]+)\s+(?P<endpoints>.+)$"
)


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("routing_modes", BENCH / "routing_modes.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["routing_modes"] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_scripted_pool_prints_a_row_per_mode(capsys: pytest.CaptureFixture[str]) -> None:
    summary = _load().main(["--cases", "6", "--derived", "--task-hints", "--json"])
    out = capsys.readouterr().out
    rows = {m["label"]: m for m in (ROW.match(line) for line in out.splitlines()) if m}
    for mode in ("baseline-quality", "baseline-latency"):
        assert mode in rows, out
    for mode in ("difficulty", "hybrid", "difficulty (derived ceilings)"):
        # until the gateway runs the mode, a refusal is reported instead of a row
        assert mode in rows or f"mode {mode} not available on this gateway" in out, out
    for row in rows.values():
        assert int(row["n"]) == 6
        assert int(row["err"]) == 0
        assert 0.0 <= float(row["quality"]) <= 1.0
        assert float(row["p95"]) >= float(row["mean"]) * 0.5 > 0
        assert float(row["cost"]) >= 0
    # the strong model is the only priced one, and the quality strategy's pick
    assert float(rows["baseline-quality"]["cost"]) > 0
    assert float(rows["baseline-quality"]["quality"]) >= float(rows["baseline-latency"]["quality"])
    if "difficulty" in rows:
        assert re.search(r"beyond the line: difficulty .* margin [-+][\d.]+ (PASS|FAIL)", out)
    assert "classifier" in out
    assert {r["label"] for r in summary["rows"]} == set(rows)


def test_the_line_between_the_strategies() -> None:
    figures = _load().figures
    quality = figures.Row("q", "quality", 10, 0, 0.9, 400.0, 420.0, 0.1, {}, 0)
    latency = figures.Row("l", "latency", 10, 0, 0.5, 20.0, 30.0, 0.0, {}, 0)
    beyond = figures.Row("d", "latency", 10, 0, 0.8, 115.0, 300.0, 0.01, {}, 0)
    below = figures.Row("d", "latency", 10, 0, 0.55, 210.0, 300.0, 0.01, {}, 0)
    assert figures.line_quality(quality, latency, 210.0) == pytest.approx(0.7)
    assert figures.line_quality(quality, latency, 5.0) == pytest.approx(0.5)  # clamped to L
    margin, ok = figures.beyond_line(quality, latency, beyond)
    assert ok
    assert margin == pytest.approx(0.2)
    margin, ok = figures.beyond_line(quality, latency, below)
    assert not ok
    assert margin == pytest.approx(-0.15)
    overall, per = figures.agreement([("easy", "easy"), ("hard", "medium"), ("hard", "hard")])
    assert overall == pytest.approx(2 / 3)
    assert per == {"easy": (1, 1), "medium": (0, 0), "hard": (1, 2)}
