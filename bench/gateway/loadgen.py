"""Load generators behind one interface: `wrk` with a Lua POST script, or bench/gateway/pygen.py.

Both run as separate processes pinned beside the upstream, and report the same `Load` figures.
`wrk` runs for whole seconds, so a latency run of N requests first times a warm-up and then runs
long enough for about 1.2 x N requests; the request count actually measured is reported.
A latency run also brings back the whole distribution (`Load.hist`, see histogram.py). wrk's p50
and p99 are its own, taken after its coordinated-omission correction; the distribution is the
requests actually sent.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from gateway.histogram import Hist, uncorrect
from gateway.procs import BenchError, pin

PYGEN = Path(__file__).with_name("pygen.py")

LUA = """\
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [[%s]]

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%%d,"duration_us":%%d,"connect":%%d,"read":%%d,' ..
    '"write":%%d,"status":%%d,"timeout":%%d,"p50_us":%%d,"p99_us":%%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
  if os.getenv("BENCH_HIST") == "1" then
    -- wrk 4.1 gives no latency[i]: latency(i) is the i-th of the #latency distinct values (µs)
    -- with its count, each call a scan of the histogram, so only the c=1 runs ask for it
    local buckets = {}
    for i = 1, #latency do
      local us, count = latency(i)
      buckets[i] = string.format("[%%d,%%d]", us, count)
    end
    io.write('BENCH_HIST [', table.concat(buckets, ","), ']\\n')
  end
end
"""


@dataclass
class Load:
    requests: int
    errors: int
    duration_s: float
    p50_ms: float
    p99_ms: float
    hist: Hist = ()  # latency runs only: every request's latency, for shares over any threshold

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    def as_dict(self) -> dict[str, float]:
        figures = {k: v for k, v in asdict(self).items() if k != "hist"}
        return {**figures, "rps": round(self.rps, 1)}


class Generator:
    name = "?"

    def timed(self, url: str, body: bytes, connections: int, seconds: float) -> Load:
        raise NotImplementedError

    def latency(self, url: str, body: bytes, requests: int, warmup_s: float, max_s: float) -> Load:
        """``requests`` sequential requests on one connection after a warm-up, within ``max_s``."""
        raise NotImplementedError


class Wrk(Generator):
    def __init__(self, core: int | None, workdir: Path) -> None:
        self.core = core
        self.workdir = workdir
        out = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
        self.name = (out.stdout or out.stderr).split("Copyright")[0].strip() or "wrk"

    def _script(self, body: bytes) -> Path:
        path = self.workdir / f"post-{abs(hash(body))}.lua"
        path.write_text(LUA % body.decode())
        return path

    def timed(
        self, url: str, body: bytes, connections: int, seconds: float, *, hist: bool = False
    ) -> Load:
        secs = max(1, math.ceil(seconds))
        argv = [*pin(self.core), "wrk", "-t1", f"-c{connections}", f"-d{secs}s", "--timeout", "10s"]
        argv += ["-s", str(self._script(body)), url]
        env = {**os.environ, "BENCH_HIST": "1" if hist else "0"}
        out = subprocess.run(
            argv, capture_output=True, text=True, timeout=secs + 30, check=False, env=env
        )
        lines = {
            tag: rest
            for tag, _, rest in (x.partition(" ") for x in out.stdout.splitlines())
            if tag.startswith("BENCH_")
        }
        if "BENCH_JSON" not in lines:
            raise BenchError(f"wrk gave no result (exit {out.returncode}): {out.stderr[-500:]}")
        raw = json.loads(lines["BENCH_JSON"])
        errors = sum(raw[k] for k in ("connect", "read", "write", "status", "timeout"))
        load = Load(
            raw["requests"],
            errors,
            raw["duration_us"] / 1e6,
            raw["p50_us"] / 1e3,
            raw["p99_us"] / 1e3,
        )
        if "BENCH_HIST" in lines:
            # wrk's own interval: its run time over the requests per connection (integers)
            per_connection = raw["requests"] // connections
            interval = raw["duration_us"] // per_connection if per_connection else 0
            load.hist = uncorrect(json.loads(lines["BENCH_HIST"]), interval)
        return load

    def latency(self, url: str, body: bytes, requests: int, warmup_s: float, max_s: float) -> Load:
        warm = self.timed(url, body, 1, warmup_s)
        rate = max(warm.rps, 1.0)
        return self.timed(url, body, 1, min(max_s, 1.2 * requests / rate), hist=True)


class PyGen(Generator):
    def __init__(self, core: int | None, workdir: Path) -> None:
        self.core = core
        self.workdir = workdir
        self.name = "python asyncio+aiohttp generator (bench/gateway/pygen.py)"

    def _run(self, url: str, body: bytes, extra: list[str], timeout: float) -> Load:
        body_file = self.workdir / f"body-{abs(hash(body))}.json"
        body_file.write_bytes(body)
        argv = [
            *pin(self.core),
            sys.executable,
            str(PYGEN),
            "--url",
            url,
            "--body-file",
            str(body_file),
        ]
        out = subprocess.run(
            argv + extra, capture_output=True, text=True, timeout=timeout, check=False
        )
        if out.returncode != 0:
            raise BenchError(f"pygen failed (exit {out.returncode}): {out.stderr[-500:]}")
        raw = json.loads(out.stdout.strip().splitlines()[-1])
        hist = tuple((int(us), int(n)) for us, n in raw.pop("hist", ()))
        return Load(**raw, hist=hist)

    def timed(self, url: str, body: bytes, connections: int, seconds: float) -> Load:
        extra = ["--connections", str(connections), "--seconds", str(seconds), "--warmup", "0"]
        return self._run(url, body, extra, seconds + 60)

    def latency(self, url: str, body: bytes, requests: int, warmup_s: float, max_s: float) -> Load:
        extra = [
            "--requests",
            str(requests),
            "--warmup",
            str(warmup_s),
            "--max-seconds",
            str(max_s),
        ]
        return self._run(url, body, extra, warmup_s + max_s + 60)


def ensure_wrk(install: bool) -> str | None:
    """Path to wrk; with ``install`` (root only) try ``apt-get install -y wrk`` once if missing."""
    found = shutil.which("wrk")
    if found or not install or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    print("wrk not found; trying apt-get install -y wrk ...", flush=True)
    for argv in (["apt-get", "update"], ["apt-get", "install", "-y", "wrk"]):
        try:
            subprocess.run(argv, capture_output=True, timeout=300, check=False)
        except subprocess.TimeoutExpired:
            return None
    return shutil.which("wrk")


def make_generator(kind: str, core: int | None, workdir: Path) -> Generator:
    """``kind`` is auto, wrk or python; auto prefers wrk (installing it when possible)."""
    if kind != "python" and ensure_wrk(install=True):
        return Wrk(core, workdir)
    if kind == "wrk":
        raise BenchError("wrk is not available and could not be installed")
    return PyGen(core, workdir)
