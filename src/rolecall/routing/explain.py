"""Render a decision for humans: the winner and why, the fallbacks, every score and every exclusion."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from rolecall.routing.decision import Decision
from rolecall.routing.metrics import METRICS

_SOURCE_MARK = {"measured": "m", "declared": "d", "default": "-"}
_SHORT = {
    "quality": "qual",
    "latency": "lat",
    "throughput": "tput",
    "cost": "cost",
    "reliability": "rel",
    "preference": "pref",
}


def explain(decision: Decision) -> RenderableType:
    policy = decision.context.policy
    header = Text()
    header.append(f"decision {decision.routing_decision_id}", style="bold")
    header.append(f"  strategy={policy.strategy} compute={policy.compute_preference}")
    header.append(f" budget={policy.budget_mode}\n")
    if decision.chosen_endpoint_id:
        header.append("chosen: ", style="bold")
        header.append(decision.chosen_endpoint_id, style="bold green")
        header.append(f"\nfallbacks: {', '.join(decision.fallback_endpoint_ids) or '(none)'}")
        header.append(f"\nreasons: {', '.join(decision.selection_reasons)}")
    else:
        header.append("no eligible endpoint", style="bold red")
    header.append(_targets_line(decision))
    for flat in decision.flat_metrics():
        header.append("\nwarning: ", style="bold yellow")
        header.append(flat.message)
    parts: list[RenderableType] = [header, _scores_table(decision)]
    excluded = [(eid, ex) for eid, ex in decision.eligibility if ex]
    if excluded:
        parts.append(_exclusions_table(excluded))
    return Group(*parts)


def _targets_line(decision: Decision) -> str:
    p = decision.context.policy
    return (
        f"\ntargets: latency {p.latency_target_ms:g} ms (max {p.latency_max_ms:g} ms, "
        f"{p.target_source('latency_target_ms')}), throughput {p.throughput_target_tps:g} "
        f"tokens/s ({p.target_source('throughput_target_tps')}), cost {p.cost_target:g} per 1k "
        f"tokens ({p.target_source('cost_target')})"
    )


def _scores_table(decision: Decision) -> Table:
    table = Table(title="scored candidates (value source: m measured, d declared, - default)")
    table.add_column("#", justify="right")
    table.add_column("endpoint", no_wrap=True)
    for metric, weight in zip(METRICS, decision.weights, strict=True):
        table.add_column(f"{_SHORT[metric]}\n×{weight:.2f}", justify="right", no_wrap=True)
    table.add_column("total", justify="right", style="bold")
    for position, s in enumerate(decision.ranked, start=1):
        cells = [f"{v:.2f}{_SOURCE_MARK[src]}" for v, src in zip(s.values, s.sources, strict=True)]
        table.add_row(str(position), s.endpoint_id, *cells, f"{s.total:.4f}")
    return table


def _exclusions_table(excluded: Sequence[tuple[str, Sequence[tuple[str, str]]]]) -> Table:
    table = Table(title="excluded candidates")
    table.add_column("endpoint")
    table.add_column("code")
    table.add_column("reason")
    for endpoint_id, exclusions in excluded:
        for i, (code, detail) in enumerate(exclusions):
            table.add_row(endpoint_id if i == 0 else "", code, detail)
    return table
