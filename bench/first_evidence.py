"""How long after `rolecall run` on a clean data directory does routing rest on evidence?

Starts `rolecall run` (the default local pool: three chat models and an embedding model, weights
from the warm model cache) with an empty data directory and times, from the moment the process
starts:

* ``ready``: the gateway answers ``/readyz``;
* ``first judged``: some chat endpoint's observed profile has a judged quality;
* ``all judged``: every chat endpoint's has (the router scores every candidate on measured
  quality: evidence-backed routing);
* ``benchmark done``: the first-start benchmark run ended; with its cases per endpoint.

``--rolecall-bin`` runs another build (the baseline before adaptive runs: a worktree of an older
commit, as in docs/performance.md). Prints figures, never pass/fail.

Run: .venv/bin/python bench/first_evidence.py [--timeout 1200] [--rolecall-bin PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "rca-first-evidence"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str, token: str | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, None
    except (OSError, ValueError):
        return 0, None


def measure(binary: str, timeout_s: float) -> dict[str, Any]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="rolecall-first-") as data:
        env = {
            **os.environ,
            "ROLECALL_DATA_DIR": data,
            "ROLECALL_ADMIN_TOKEN": TOKEN,
        }
        for inherited in ("ROLECALL_DATABASE_URL", "ROLECALL_CONFIG"):
            env.pop(inherited, None)  # as `make run`: SQLite in the data dir, no inventory file
        started = time.monotonic()
        log = open(Path(data) / "run.log", "w")  # noqa: SIM115 - closed below
        child = subprocess.Popen(
            [binary, "run", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=data,
            start_new_session=True,
        )
        marks: dict[str, Any] = {}
        try:
            marks = _watch(base, started, timeout_s, child)
        finally:
            _stop(child)
            log.close()
            if "all judged" not in marks:
                print((Path(data) / "run.log").read_text()[-3000:], file=sys.stderr)
        return marks


def _stop(child: subprocess.Popen[bytes]) -> None:
    """Interrupt the run's process group (the gateway and its model servers), then kill it."""
    for sig, wait_s in ((signal.SIGINT, 60.0), (signal.SIGKILL, 10.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, sig)
        try:
            child.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


def _watch(
    base: str, started: float, timeout_s: float, child: subprocess.Popen[bytes]
) -> dict[str, Any]:
    marks: dict[str, Any] = {}
    while time.monotonic() - started < timeout_s and child.poll() is None:
        elapsed = round(time.monotonic() - started, 1)
        if "ready" not in marks:
            if _get(f"{base}/readyz")[0] == 200:
                marks["ready"] = elapsed
            time.sleep(0.5)
            continue
        status, runs = _get(f"{base}/api/bench/runs", TOKEN)
        benchmarked = set(runs["runs"][0]["endpoints"]) if status == 200 and runs["runs"] else set()
        status, body = _get(f"{base}/api/endpoints", TOKEN)
        if status == 200 and benchmarked:  # the chat endpoints: the first run's
            chat = [e for e in body["data"] if e["endpoint_id"] in benchmarked]
            judged = [e for e in chat if (e["observed"] or {}).get("judge_score") is not None]
            if judged and "first judged" not in marks:
                marks["first judged"] = elapsed
            if chat and len(judged) == len(chat) and "all judged" not in marks:
                marks["all judged"] = elapsed
                marks["quality"] = {e["endpoint_id"]: e["observed"]["judge_score"] for e in chat}
        if benchmarked and runs["runs"][0]["status"] != "running":
            run_id = runs["runs"][0]["run_id"]
            _, report = _get(f"{base}/api/bench/runs/{run_id}", TOKEN)
            marks["benchmark done"] = elapsed
            marks["cases"] = {
                e["endpoint_id"]: sum(
                    1 for c in report["cases"] if c["endpoint_id"] == e["endpoint_id"]
                )
                for e in report["endpoints"]
            }
            marks["final quality"] = {
                e["endpoint_id"]: round(e["observed"]["judge_score"], 3)
                for e in chat
                if (e["observed"] or {}).get("judge_score") is not None
            }
            adaptive = report.get("adaptive") or {}
            marks["stopped"] = {e: v["stopped"] for e, v in adaptive.get("endpoints", {}).items()}
            break
        time.sleep(1.0)
    return marks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rolecall-bin", default=str(ROOT / ".venv" / "bin" / "rolecall"))
    parser.add_argument("--timeout", type=float, default=1200.0)
    args = parser.parse_args()
    marks = measure(args.rolecall_bin, args.timeout)
    for name in ("ready", "first judged", "all judged", "benchmark done"):
        value = marks.get(name)
        print(f"{name:>15}: " + ("not reached" if value is None else f"{value:.1f} s"))
    for name in ("cases", "stopped", "quality", "final quality"):
        if name in marks:
            print(f"{name:>15}: {marks[name]}")


if __name__ == "__main__":
    main()
