"""What `gateway_overhead.py` prints at the end: the table of paths, the tail shares at c=1, the
ratios against the targets, the telemetry comparison and the JSON summary."""

from __future__ import annotations

import argparse
import json
import statistics
from typing import Any

from gateway import scale
from gateway.doors import print_doors
from gateway.measure import TAIL_ADDED_MS, PathResult
from gateway.slow_disk import describe_io

TARGET_ADDED_P99_MS = 1.0
TARGET_RPS_RATIO = 10.0
TARGET_P99_OVER_LEAN_MS = 0.5  # rolecall's added p99 at c=1 over lean's, a normal disk ...
TARGET_P99_OVER_LEAN_SLOW_DISK_MS = 1.0  # ... and with --slow-disk
TARGET_P50_OVER_LEAN_MS = 0.15
TARGET_LEAN_RPS_SHARE = 0.6  # of lean's req/s at c=64
TARGET_TELEMETRY_P50_MS = 0.1  # added by metrics + access logs at c=1
TARGET_TELEMETRY_RPS_LOSS = 0.10  # of req/s at c=64
LEAN = "lean pass-through"


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _row(r: PathResult, direct: PathResult) -> list[str]:
    lat, thr = r.latency, r.throughput
    if lat is None or thr is None:
        return [r.name, "—", "—", "—", "—", "—", "—", "—", r.note]
    added = "—"
    if r is not direct:
        p99 = lat.added()[1]
        added = f"{lat.added_p50_ms:+.3f} / {lat.added_p99_ms:+.3f}"
        if len(p99) > 1:
            added += f" ({min(p99):+.3f} to {max(p99):+.3f})"
    stream = "—" if r.stream is None else f"{r.stream.rps:,.0f} ({r.stream.errors} err)"
    cpu = "—" if r.cpu_ms_per_request is None else f"{r.cpu_ms_per_request:.3f}"
    if r.cpu_alone_ms_per_request is not None:
        cpu += f" ({r.cpu_alone_ms_per_request:.3f})"
    errors = f"{lat.errors} + {thr.errors}"
    return [
        r.name,
        _ms(lat.p50_ms),
        _ms(lat.p99_ms),
        added,
        f"{thr.rps:,.0f}",
        errors,
        cpu,
        stream,
        f"n={lat.requests:,} @c=1, {thr.requests:,} @c=64",
    ]


def print_table(results: list[PathResult], concurrency: int) -> None:
    head = [
        "path",
        "p50 ms",
        "p99 ms",
        "added p50 / p99 ms, median round (p99 range)",
        f"req/s @{concurrency}",
        "errors c1 + c64",
        "CPU ms/req (without the writer)",
        f"stream req/s @{concurrency}",
        "notes",
    ]
    _print_rows([head] + [_row(r, results[0]) for r in results])


def _print_rows(rows: list[list[str]]) -> None:
    """Columns aligned: the first left, the others right, the last (notes) as it comes."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [row[0].ljust(widths[0])]
        cells += [row[i].rjust(widths[i]) for i in range(1, len(widths))]
        print(" | ".join([*cells, row[-1]]))


def _shares(values: list[float]) -> str:
    if not values:
        return "—"
    text = f"{100 * statistics.median(values):.2f}%"
    if len(values) > 1:
        text += f" ({100 * min(values):.2f} to {100 * max(values):.2f}%)"
    return text


def print_tail(results: list[PathResult]) -> None:
    """The tail at c=1 as shares: of each path's requests, those slower than the direct path's
    median in the same round plus each of TAIL_ADDED_MS. A p99 says nothing of how many requests
    are slow beyond the slowest one percent; the shares do, against fixed budgets."""
    head = ["path", *(f"share over +{ms:g} ms added" for ms in TAIL_ADDED_MS), "requests @c=1"]
    rows = [head]
    for r in results:
        if r.latency is not None and r.latency.shares_over(TAIL_ADDED_MS[0]):
            shares = [_shares(r.latency.shares_over(ms)) for ms in TAIL_ADDED_MS]
            rows.append([r.name, *shares, f"{r.latency.requests:,}"])
    if len(rows) == 1:
        return
    print(
        "tail at c=1: share of requests slower than the direct path's p50 in the same round "
        "plus 1 ms / 5 ms, median round (range):"
    )
    _print_rows(rows)


def _rolecall(results: dict[str, PathResult]) -> PathResult:
    """The first rolecall row (one worker on SQLite, with --workers 1,...)."""
    return next(r for name, r in results.items() if name.startswith("rolecall"))


def ratios(results: dict[str, PathResult]) -> dict[str, float | None]:
    rc, lite = _rolecall(results), results["LiteLLM proxy"]
    lean = results[LEAN]
    out: dict[str, float | None] = dict.fromkeys(
        (
            "rps_ratio",
            "lean_rps_share",
            "added_p50_ms",
            "added_p99_ms",
            "lean_added_p50_ms",
            "lean_added_p99_ms",
        )
    )
    if rc.throughput and lite.throughput and lite.throughput.rps > 0:
        out["rps_ratio"] = rc.throughput.rps / lite.throughput.rps
    if rc.throughput and lean.throughput and lean.throughput.rps > 0:
        out["lean_rps_share"] = rc.throughput.rps / lean.throughput.rps
    for prefix, path in (("", rc), ("lean_", lean)):
        if path.latency and path.latency.rounds:
            out[f"{prefix}added_p50_ms"] = path.latency.added_p50_ms
            out[f"{prefix}added_p99_ms"] = path.latency.added_p99_ms
            out[f"{prefix}added_p99_ms_max_round"] = max(path.latency.added()[1])
    return out


def print_against_lean(r: dict[str, float | None], slow_disk: bool) -> None:
    """Rolecall against the lean pass-through of the same run, with the targets of the tail
    issue: added p99 within `TARGET_P99_OVER_LEAN_MS` of lean's (more on a slow disk), added
    p50 within `TARGET_P50_OVER_LEAN_MS`, and a share of lean's req/s at c=64."""
    p50, p99 = r["added_p50_ms"], r["added_p99_ms"]
    lean50, lean99 = r["lean_added_p50_ms"], r["lean_added_p99_ms"]
    if p50 is None or p99 is None or lean50 is None or lean99 is None:
        return
    target99 = TARGET_P99_OVER_LEAN_SLOW_DISK_MS if slow_disk else TARGET_P99_OVER_LEAN_MS
    print(
        f"rolecall over lean at c=1: added p99 {p99 - lean99:+.3f} ms (target ≤ +{target99:g}), "
        f"added p50 {p50 - lean50:+.3f} ms (target ≤ +{TARGET_P50_OVER_LEAN_MS:g})"
    )
    share = r["lean_rps_share"]
    if share is not None:
        print(
            f"rolecall req/s ÷ lean req/s at c=64: {share:.2f} (target ≥ {TARGET_LEAN_RPS_SHARE:g})"
        )


def print_ratios(r: dict[str, float | None]) -> None:
    ratio = "n/a (LiteLLM not measured)" if r["rps_ratio"] is None else f"{r['rps_ratio']:.1f}x"
    print(f"rolecall req/s ÷ LiteLLM req/s: {ratio}   (target ≥ {TARGET_RPS_RATIO:g}x)")
    p99 = "n/a" if r["added_p99_ms"] is None else f"{r['added_p99_ms']:.3f} ms"
    p50 = "n/a" if r["added_p50_ms"] is None else f"{r['added_p50_ms']:.3f} ms"
    if r.get("added_p99_ms_max_round") is not None:
        p99 += f" (median round; worst round {r['added_p99_ms_max_round']:.3f} ms)"
    print(f"rolecall added p99 at c=1: {p99}   (target ≤ {TARGET_ADDED_P99_MS:g} ms)")
    print(f"rolecall added p50 at c=1: {p50}")
    if r["lean_added_p99_ms"] is not None and r["lean_added_p50_ms"] is not None:
        print(
            f"floor, {LEAN} (uvicorn + aiohttp, no gateway logic) added at c=1: "
            f"p50 {r['lean_added_p50_ms']:.3f} / p99 {r['lean_added_p99_ms']:.3f} ms"
        )


def summary(results: list[PathResult], meta: dict[str, Any], r: dict[str, Any]) -> dict[str, Any]:
    def one(p: PathResult) -> dict[str, Any]:
        return {
            "latency_c1": p.latency.as_dict() if p.latency else None,
            "throughput": p.throughput.as_dict() if p.throughput else None,
            "stream": p.stream.as_dict() if p.stream else None,
            "cpu_ms_per_request": p.cpu_ms_per_request,
            "cpu_alone_ms_per_request": p.cpu_alone_ms_per_request,
            "data_disk_io": p.disk,
            "note": p.note,
        }

    targets = {"added_p99_ms_max": TARGET_ADDED_P99_MS, "rps_ratio_min": TARGET_RPS_RATIO}
    return {**meta, "paths": {p.name: one(p) for p in results}, "ratios": r, "targets": targets}


def print_telemetry(off: PathResult, on: PathResult, concurrency: int) -> None:
    """What metrics and access logs add: p50 at c=1 and req/s at c=64, off vs on."""
    if not (off.latency and on.latency and off.throughput and on.throughput):
        print("telemetry: not measured (see the notes)")
        return
    print("telemetry (metrics + JSON access log + OTLP export) vs off, same run:")
    for r in (off, on):
        lat, thr = r.latency, r.throughput
        assert lat is not None
        assert thr is not None
        print(
            f"  {r.name:<24} added p50 @c=1 {lat.added_p50_ms:+.3f} ms, "
            f"req/s @c={concurrency} {thr.rps:,.0f}, "
            f"access lines {r.info.get('access_lines', '?')}, "
            f"/metrics counted {r.info.get('metrics_requests', '—')} requests"
        )
    print(
        f"  OTLP receiver: {on.info.get('otlp_posts', '0')} exports, "
        f"{on.info.get('otlp_bytes', '0')} bytes"
    )
    added = on.latency.added_p50_ms - off.latency.added_p50_ms
    ratio = on.throughput.rps / off.throughput.rps if off.throughput.rps else float("nan")
    print(
        f"  telemetry adds {added:+.3f} ms p50 at c=1 (target ≤ {TARGET_TELEMETRY_P50_MS:g} ms); "
        f"req/s on ÷ off at c={concurrency}: {ratio:.3f} "
        f"(target ≥ {1 - TARGET_TELEMETRY_RPS_LOSS:.2f})"
    )


def report(results: list[PathResult], meta: dict[str, Any], args: argparse.Namespace) -> None:
    print()
    print_table(results, args.concurrency)
    print()
    print_tail(results)
    print()
    by_name = {p.name: p for p in results}
    r = ratios(by_name)
    print_ratios(r)
    print_against_lean(r, args.slow_disk)
    if meta.get("workers"):
        scale.print_comparison(meta["workers"])
    doors = meta.pop("doors", None)
    if doors is not None:
        print_doors(doors, args.concurrency)
        meta["doors"] = doors.as_dict()
    if args.telemetry and not args.workers:
        off, on = by_name["rolecall telemetry off"], by_name["rolecall telemetry on"]
        print_telemetry(off, on, args.concurrency)
    rc, lite = _rolecall(by_name), by_name["LiteLLM proxy"]
    if lite.info.get("version"):
        meta["litellm"] = lite.info["version"]
    headers = {k: v for k, v in rc.info.items() if k not in ("log_tail", "record_lag")}
    if headers:
        print(f"rolecall response headers (sanity request): {headers}")
    if rc.info.get("record_lag"):
        print(f"{rc.name} {rc.info['record_lag']}")
    if rc.disk is not None:
        print(f"{rc.name} data disk over its measured run: {describe_io(rc.disk)}")
    if rc.info.get("log_tail"):
        print("rolecall log (after the banner):\n" + rc.info["log_tail"])
    for p in results:
        if p.note:
            print(f"{p.name}: {p.note}")
    if args.json:
        print(json.dumps(summary(results, meta, r), indent=2))
