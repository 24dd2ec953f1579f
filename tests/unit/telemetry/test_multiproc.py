"""Multiprocess metrics: two processes write to one directory and one exposition adds them up,
even in a process that imported prometheus-client before the directory was named."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

# a worker: prometheus-client imported first, the directory named afterwards (use_directory)
WORKER = textwrap.dedent(
    """
    import os, sys
    import prometheus_client
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = sys.argv[1]
    from rolecall.observe.listeners import TurnedAway
    from rolecall.telemetry.families import build_families
    from rolecall.telemetry import multiproc
    from rolecall.telemetry.request_metrics import RequestMetrics

    multiproc.use_directory()
    metrics = RequestMetrics(build_families(None))
    for _ in range(int(sys.argv[2])):
        metrics.turned_away(TurnedAway(401, "invalid_api_key", None, 0.002))
    metrics.flush()
    """
)


def test_two_processes_one_exposition(tmp_path: Path) -> None:
    from rolecall.telemetry import multiproc

    env = {**os.environ}
    env.pop(multiproc.ENV, None)
    shared = tmp_path / "metrics"
    shared.mkdir()
    for count in ("3", "4"):
        subprocess.run([sys.executable, "-c", WORKER, str(shared), count], env=env, check=True)
    assert len(list(shared.glob("counter_*.db"))) == 2
    # the exposition of a third process over the directory
    script = (
        "import sys; from prometheus_client import CollectorRegistry, generate_latest;"
        "from prometheus_client.multiprocess import MultiProcessCollector;"
        "r = CollectorRegistry(); MultiProcessCollector(r, path=sys.argv[1]);"
        "sys.stdout.write(generate_latest(r).decode())"
    )
    text = subprocess.run(
        [sys.executable, "-c", script, str(shared)], env=env, check=True, capture_output=True
    ).stdout.decode()
    samples = [s for f in text_string_to_metric_families(text) for s in f.samples]
    requests = [s for s in samples if s.name == "rolecall_requests_total"]
    assert [(s.labels["status_class"], s.value) for s in requests] == [("4xx", 7.0)]
    timed = [s for s in samples if s.name == "rolecall_request_duration_seconds_count"]
    assert [s.value for s in timed] == [7.0]
