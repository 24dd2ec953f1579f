"""Console page-load budget: p95 server time per page API with 100k stored requests.

Stores N requests (default 100,000; decisions, usage events and 3 trace spans each, spread over
the last 24 hours) through the real storage, starts a real gateway on loopback over that database,
then calls every API each console page makes, several times, and prints p50/p95 per call. The
time is measured at the client over loopback, so it is an upper bound of the server time.

    .venv/bin/python bench/console.py                      # SQLite in a temporary directory
    .venv/bin/python bench/console.py --db postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/console.py --requests 20000 --runs 10
    .venv/bin/python bench/console.py --db sqlite:////tmp/console100k.db   # kept: 2nd run reuses it

Budget: p95 ≤ 200 ms for every call (issue #7). Exit status 1 when a call is over budget.
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import uvicorn
import yaml

from rolecall.bootstrap import build_app, build_services
from rolecall.gateway.server import build_server
from rolecall.inventory.config import RoutingConfig
from rolecall.inventory.inventory import policy_for
from rolecall.settings import Settings
from rolecall.storage import open_storage
from rolecall.storage.analytics import FactFilter

BUDGET_MS = 200.0
TOKEN = "rca-bench-console"
ENDPOINTS = ("local-small", "local-coder", "cloud-fast", "cloud-large")
ROLES = ("general.chat", "coder.patch", None)
BATCH = 5000
DAY_MS = 24 * 3_600_000


# the default posture's policy, as the router copies it into every decision (chat required)
POLICY_SNAPSHOT = {
    **policy_for(RoutingConfig()).to_artifact(),
    "required_capabilities": ["text.chat"],
    "required_modalities": ["text"],
}


def inventory() -> dict[str, Any]:
    # nothing listens on these ports: the console reads stored data only
    return {
        "providers": {
            "home": {
                "kind": "openai_compatible",
                "base_url": "http://127.0.0.1:9/v1",
                "local": True,
            },
            "cloud": {"kind": "openai_compatible", "base_url": "http://127.0.0.1:9/v1"},
        },
        "endpoints": [
            {"provider": "home" if e.startswith("local") else "cloud", "model": e, "id": e}
            | ({"price": {"input_per_1m": 1.0, "output_per_1m": 4.0}} if "cloud" in e else {})
            for e in ENDPOINTS
        ],
    }


def decision(i: int, chosen: str, now: int) -> dict[str, Any]:
    others = [e for e in ENDPOINTS if e != chosen]
    return {
        "routing_decision_id": f"decision-req-{i}",
        "request_id": f"req-{i}",
        "app_id": "bench",
        "org_id": None,
        "policy_snapshot": POLICY_SNAPSHOT,
        "eligibility": [{"endpoint_id": e, "eligible": True, "exclusions": []} for e in ENDPOINTS],
        "scored_candidates": [],
        "chosen_endpoint_id": chosen,
        "fallback_endpoint_ids": others,
        "selection_reasons": ["BEST_TOTAL_SCORE"],
        "used_measured": True,
        "used_declared": True,
        "scoring_version": "baseline-v2",
    }


def usage(i: int, endpoint: str, ts: int, rng: random.Random) -> dict[str, Any]:
    failed = rng.random() < 0.03
    tin, tout = rng.randint(20, 2000), rng.randint(1, 600)
    event: dict[str, Any] = {
        "event_id": f"u-{i}",
        "timestamp_ms": ts,
        "app_id": "bench",
        "request_id": f"req-{i}",
        "routing_decision_id": f"decision-req-{i}",
        "endpoint_id": endpoint,
        "model_id": endpoint,
        "provider_kind": "remote_openai_compat",
        "tokens_in": tin,
        "tokens_out": tout,
        "latency_ms": rng.lognormvariate(5, 0.8),
        "sample_source": "live_request",
    }
    if failed:
        event["error_class"] = rng.choice(["timeout", "server_error", "rate_limited"])
    elif "cloud" in endpoint:
        event["cost_actual"] = (tin * 1.0 + tout * 4.0) / 1_000_000
    return event


def spans(i: int, endpoint: str, ts: int, latency: float) -> list[dict[str, Any]]:
    base = {
        "trace_id": f"t-{i}",
        "request_id": f"req-{i}",
        "routing_decision_id": f"decision-req-{i}",
    }
    start = ts - int(latency)
    return [
        base
        | {"span_id": f"s-{i}-{k}", "span_type": kind, "started_at_ms": s, "ended_at_ms": e}
        | {"status": "ok", "attributes": {"endpoint_id": endpoint}}
        for k, (kind, s, e) in enumerate(
            [
                ("router.eligibility", start, start),
                ("router.selection", start, start),
                ("provider.prefill", start, ts),
            ]
        )
    ]


def stored(url: str) -> int:
    storage = open_storage(url)
    try:
        return sum(g["requests"] for g in storage.analytics.rollup_groups(FactFilter()))
    finally:
        storage.close()


def populate(url: str, n: int) -> float:
    storage = open_storage(url)
    rng = random.Random(1)
    now = int(time.time() * 1000)
    started = time.perf_counter()
    try:
        for first in range(0, n, BATCH):
            decisions, events, trace = [], [], []
            for i in range(first, min(n, first + BATCH)):
                endpoint = rng.choices(ENDPOINTS, weights=(5, 2, 2, 1))[0]
                ts = now - rng.randint(0, DAY_MS - 60_000)
                decisions.append((decision(i, endpoint, now), ts - 5))
                u = usage(i, endpoint, ts, rng)
                events.append(u)
                trace.extend(spans(i, endpoint, ts, u["latency_ms"]))
            with storage.batch():
                storage.decisions.put_many(decisions)
                storage.usage.add(events)
                storage.analytics.add_facts(events, [d for d, _ in decisions])
                storage.traces.add_spans(trace)
            role_rows = [
                {
                    "request_id": e["request_id"],
                    "role_id": rng.choice(ROLES),
                    "task_type": "text.chat",
                }
                for e in events
            ]
            storage.analytics.annotate_requests(role_rows)
        if storage.engine.dialect.name == "postgresql":
            # what autovacuum does soon after a bulk load: statistics and the visibility map
            with storage.engine.connect() as connection:
                connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                    "VACUUM ANALYZE request_facts, request_rollup, decisions"
                )
    finally:
        storage.close()
    return time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(url: str, folder: Path) -> tuple[uvicorn.Server, int]:
    config = folder / "rolecall.yaml"
    config.write_text(yaml.safe_dump(inventory()))
    port = free_port()
    settings = Settings(
        config=config, data_dir=folder / "data", database_url=url, port=port, admin_token=TOKEN
    )
    runtime = build_services(settings)
    server, _edge = build_server(build_app(runtime), settings)  # as `rolecall serve` runs it
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, port


def timed(port: int, path: str, body: Any = None) -> float:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=None if body is None else json.dumps(body).encode(),
        method="POST" if body is not None else "GET",
        headers={"authorization": f"Bearer {TOKEN}", "content-type": "application/json"},
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:
        response.read()
    return (time.perf_counter() - started) * 1000


def page_calls(n: int) -> list[tuple[str, str, Any]]:
    mid = n // 2
    return [
        ("console shell", "/", None),
        ("dashboard", "/api/console/analytics?window=24h", None),
        ("models", "/api/console/models", None),
        ("models (matrix)", "/api/console/bindings", None),
        ("router posture", "/api/console/posture", None),
        ("router candidates", "/api/console/candidates", None),
        ("router what-if (500 replays)", "/api/console/posture/preview", {"strategy": "cost"}),
        ("decisions page 1", "/api/console/decisions?limit=50", None),
        ("decisions deep page", f"/api/console/decisions?limit=50&offset={mid}", None),
        ("decisions filtered", "/api/console/decisions?endpoint=cloud-large&limit=50", None),
        ("decision detail", f"/api/console/decisions/decision-req-{mid}", None),
        ("observe analytics", "/api/console/analytics?window=24h&group_by=role", None),
        (
            "observe filtered",
            "/api/console/analytics?window=24h&endpoint=cloud-fast&status=2xx",
            None,
        ),
        ("observe 1h (exact quantiles)", "/api/console/analytics?window=1h", None),
        ("observe ledger", "/api/console/requests?limit=50", None),
        ("observe ledger deep", f"/api/console/requests?limit=50&offset={mid}", None),
        ("request detail", f"/api/console/requests/req-{mid}", None),
        ("routing analytics", "/api/console/routing?window=24h", None),
        ("router vs observe", "/api/console/agreement?window=24h", None),
        ("system", "/api/console/system", None),
        ("lab", "/api/lab/results", None),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="SQLAlchemy URL (default: SQLite in a temp dir)")
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20, help="timed calls per API")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url = args.db or f"sqlite:///{folder / 'console.db'}"
        have = stored(url)
        if have >= args.requests:  # a database kept from an earlier run (--db)
            print(f"reusing {have:,} stored requests in {url.split('://')[0]}", flush=True)
        else:
            print(f"storing {args.requests:,} requests in {url.split('://')[0]} …", flush=True)
            print(f"  stored in {populate(url, args.requests):.1f} s", flush=True)
        server, port = serve(url, folder)
        over = 0
        print(f"\n{'call':32} {'p50 ms':>8} {'p95 ms':>8}")
        try:
            for name, path, body in page_calls(args.requests):
                timed(port, path, body)  # warm caches once, as a browser session would
                samples = sorted(timed(port, path, body) for _ in range(args.runs))
                p95 = samples[max(0, int(0.95 * len(samples) + 0.999) - 1)]
                flag = "" if p95 <= BUDGET_MS else "  OVER BUDGET"
                over += p95 > BUDGET_MS
                print(f"{name:32} {statistics.median(samples):8.1f} {p95:8.1f}{flag}", flush=True)
        finally:
            server.should_exit = True
        print(f"\nbudget p95 ≤ {BUDGET_MS:.0f} ms: {'met' if not over else f'{over} calls over'}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
