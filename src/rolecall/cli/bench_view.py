"""How `rolecall bench` prints a run's report on a terminal (rich tables).

Pure rendering of the report `rolecall.benchmark.report.build_report` makes — the same dict the
console's run view reads from ``GET /api/bench/runs/{run_id}`` — so the CLI and the page tell the
same facts: the judge actually used (or none), whether it also answered as a candidate and the
self-bias measured on it, per-endpoint quality, per-suite scores, the pairwise results, and on
request one row per case with the reason a skipped or failed case has no score.
"""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

__all__ = ["console", "num", "print_report"]


def console() -> Console:
    """stdout; piped output would wrap tables at 80 columns and cut every cell, so it is wide."""
    out = Console()
    return out if out.is_terminal else Console(width=160)


def num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def print_report(
    report: dict[str, Any], *, elapsed_s: float | None = None, cases: bool = False
) -> None:
    """The whole run: header, judge, endpoints, suites, pairwise, advice; ``cases``: every case."""
    out = console()
    out.print(_header(report, elapsed_s), highlight=False)
    skipped = sum(c["status"] == "skipped" for c in report["cases"])
    if report["status"] == "cancelled":
        out.print(f"cancelled: the {report['cases_done']} case(s) graded before it are kept")
    if skipped:
        hint = "" if cases else " (--cases shows why)"
        out.print(f"[yellow]{skipped} case(s) skipped[/yellow]{hint}")
    _print_judge(out, report)
    out.print(_endpoints_table(report["endpoints"]))
    if report.get("adaptive"):
        out.print(_adaptive_table(report["adaptive"]))
    out.print(_suites_table(report["suites"]))
    if report["pairwise"]:
        out.print(_pairwise_table(report["pairwise"]))
    _print_advice(out, report["recommendation"])
    if cases:
        out.print(_cases_table(report["cases"], report["judge"]))


def _header(report: dict[str, Any], elapsed_s: float | None) -> str:
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(report["started_ms"] / 1000))
    parts = [
        f"started {started}",
        f"{report['cases_done']}/{report['cases_total']} cases",
    ]
    if elapsed_s is not None:
        parts.insert(1, f"elapsed {elapsed_s:.1f} s")
    return f"run {report['run_id']} ({report['mode']}, {report['status']}) · " + " · ".join(parts)


def _print_judge(out: Console, report: dict[str, Any]) -> None:
    """What the judge did, as the console's Judge section says it (`judge_facts`)."""
    facts = report["judge_facts"]
    judge = report["judge"]
    if judge is None:
        out.print(
            "judge: [bold]no judge (graders only)[/bold] — "
            f"{facts['heuristic_cases']} open-ended case(s) scored by the judge-free heuristic"
        )
        return
    out.print(f"judge: [bold]{escape(judge)}[/bold]")
    rows = [
        ("also a candidate", "[red]yes: self-judging[/red]" if facts["overlap"] else "no"),
        (
            "cases judged",
            f"{facts['judged_cases']} ({facts['self_graded_cases']} of its own answers)",
        ),
        ("heuristic fallbacks", str(facts["heuristic_cases"])),
    ]
    if facts["overlap"]:
        bias = facts.get("score_bias")
        rows.append(("measured self-bias", "not measured" if bias is None else f"{bias:+.3f}"))
    if "pairwise_win_rate" in facts:
        own, expected = facts["pairwise_win_rate"], facts["expected_win_rate"]
        rows.append(("own pairwise wins", f"{own:.0%} (its scores predict {expected:.0%})"))
    table = Table(show_header=False, box=None, padding=(0, 2))
    for name, value in rows:
        table.add_row(f"  {name}", value)
    out.print(table)
    if facts["overlap"]:
        out.print(
            f"[red]{escape(judge)} judged its own answers[/red]: read its scores with the "
            "measured bias in mind"
        )


def _adaptive_table(adaptive: dict[str, Any]) -> Table:
    """Cases each endpoint needed against the whole suite, why it stopped, and the suite-level
    estimate from its sample."""
    anchors = ", ".join(adaptive["anchors"])
    title = "adaptive run" + (f" (compared with stored results of {anchors})" if anchors else "")
    table = Table("endpoint", "cases used", "suite estimate [95% CI]", "stopped", title=title)
    for endpoint, entry in adaptive["endpoints"].items():
        estimate = entry["estimate"]
        shown = (
            "-"
            if estimate is None
            else f"{estimate['mean']:.3f} [{estimate['ci_low']:.3f}, {estimate['ci_high']:.3f}]"
        )
        table.add_row(
            escape(endpoint), f"{entry['cases_used']} of {entry['cases_full']}", shown, entry["why"]
        )
    return table


def _endpoints_table(endpoints: list[dict[str, Any]]) -> Table:
    table = Table("endpoint", "quality [95% CI]", "easy / medium / hard", "fail")
    for title in ("p50 / p95 ms", "tok/s", "$/case"):
        table.add_column(title, justify="right")
    for e in endpoints:
        quality = e["quality"]
        buckets = [_bucket(quality["buckets"].get(b)) for b in ("easy", "medium", "hard")]
        cost = e["cost_per_case_usd"]
        table.add_row(
            f"{escape(e['endpoint_id'])} ({'local' if e['local'] else 'remote'})",
            _overall(quality["overall"]),
            " / ".join(buckets),
            str(e["failures"]),
            f"{_ms(e['latency_ms_p50'])} / {_ms(e['latency_ms_p95'])}",
            _ms(e["tokens_per_sec"]),
            "-" if cost is None else f"{cost:.6f}",
        )
    return table


def _suites_table(rows: list[dict[str, Any]]) -> Table:
    table = Table("suite", "endpoint", title="per suite")
    for title in ("mean", "graded", "failed", "skipped"):
        table.add_column(title, justify="right")
    for r in rows:
        table.add_row(
            escape(r["suite"]),
            escape(r["endpoint_id"]),
            num(r["mean"]),
            str(r["graded"]),
            str(r["failed"]),
            str(r["skipped"]),
        )
    return table


def _pairwise_table(pairs: list[dict[str, Any]]) -> Table:
    table = Table("case", "A", "B", "winner", "both orders agree", "decided by", title="pairwise")
    for p in pairs:
        table.add_row(
            escape(str(p.get("case_id", ""))),
            escape(str(p.get("endpoint_a", ""))),
            escape(str(p.get("endpoint_b", ""))),
            escape(p.get("winner") or "tie"),
            "yes" if p.get("consistent") else "[red]no[/red]",
            escape(str(p.get("judge_id", ""))),
        )
    return table


def _cases_table(rows: list[dict[str, Any]], judge: str | None) -> Table:
    table = Table("suite", "case", "endpoint", "bucket", "status", title="per case")
    table.add_column("score", justify="right")
    table.add_column("graded by")
    table.add_column("why", overflow="fold")
    for r in rows:
        table.add_row(
            escape(r["suite"]),
            escape(r["case_id"]),
            escape(r["endpoint_id"]),
            r["bucket"] or "-",
            _status(r["status"]),
            num(r["score"]),
            _graded_by(r, judge),
            escape(r["reason"] or ""),
        )
    return table


def _status(status: str) -> str:
    colour = {"graded": "green", "failed": "red"}.get(status)
    return f"[{colour}]{status}[/{colour}]" if colour else status


def _graded_by(row: dict[str, Any], judge: str | None) -> str:
    """The grading method; a judge's grade names the judge, and its own answers say self."""
    method = row["method"]
    if method is None:
        return "-"
    if method != "judge" or judge is None:
        return str(method)
    mark = " [red](self)[/red]" if row["self_graded"] else ""
    return f"judge {escape(judge)}{mark}"


def _print_advice(out: Console, rec: dict[str, Any]) -> None:
    out.print(f"recommended strategy: [bold]{rec['strategy']}[/bold]")
    for reason in rec["reasons"]:
        out.print(f"  - {reason}")
    if rec["leave_pool"]:
        out.print(f"should leave the pool: {', '.join(rec['leave_pool'])}")


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _overall(q: dict[str, Any] | None) -> str:
    if q is None:
        return "-"
    return f"{q['mean']:.2f} [{q['ci_low']:.2f}, {q['ci_high']:.2f}] n={q['samples']}"


def _bucket(q: dict[str, Any] | None) -> str:
    return "-" if q is None else f"{q['mean']:.2f}"
