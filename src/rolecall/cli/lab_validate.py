"""`rolecall lab validate`: leave-one-source-out and mixed-task evaluations (`learned.validate`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from rolecall.cli.lab import EncoderOption, _errors, _fmt, _out, _progress, lab_app, store_rows
from rolecall.settings import load_settings

DATA_HELP = "a folder laid out like ../shared/data (routellm/, llmrouter/, routerarena/)"


@lab_app.command("validate")
def validate(
    data: Annotated[Path, typer.Option("--data", help=DATA_HELP)] = Path("../shared/data"),
    router: Annotated[
        str, typer.Option("--router", help="candidate routers (comma list)")
    ] = "rolecall,mlc,cluster,linear,knn,best_single",
    from_store: Annotated[
        bool, typer.Option("--from-store", help="add this deployment's records as a source")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the whole report as JSON")] = False,
    encoder: EncoderOption = "wordllama",
) -> None:
    """Score candidate routers per held-out source and on mixed-task sets (tasks hidden)."""
    from rolecall.learned.validate import store_source
    from rolecall.learned.validate import validate as run

    candidates = [c.strip() for c in router.split(",") if c.strip()]
    work = load_settings().data_dir / "lab" / "validate"
    with _errors(), _progress(None, "validating") as step:
        store = store_source(store_rows()[1], work) if from_store else None
        report = run(data, work, candidates, encoder, store, progress=step)
    if as_json:
        typer.echo(json.dumps(report))
        return
    out = _out()
    out.print(source_table(report["leave_one_source_out"]))
    out.print(mixed_table(report["mixed"]))


def _guard(row: dict[str, Any]) -> str:
    guard = row.get("guard")
    if not guard:
        return "–"
    rules = ", ".join(f"{n} {c}" for n, c in guard["rules"].items() if c)
    return f"{rules} (regret {guard['regret']:.4f})"


def source_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="leave one source out (router chosen on the other sources)")
    columns = ("source", "n_test", "m", "best_single", "oracle", "chosen", "v_b", "v_b_train")
    for c in (*columns, "gap_closed", "rolecall v_b_train", "guard"):
        table.add_column(c)
    for r in rows:
        table.add_row(
            *[_fmt(r[c]) for c in columns],
            _fmt(r["gap_closed"]),
            _fmt(r["default_v_b_train"]),
            _guard(r),
        )
    return table


def mixed_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="mixed tasks (labels hidden unless stated), default router")
    columns = ("source", "n_test", "m", "best_single", "oracle", "v_b", "v_b_train", "gap_closed")
    for c in (*columns, "best other", "guard"):
        table.add_column(c)
    for r in rows:
        other = "–" if r["best_other"] is None else f"{r['best_other']} {r['best_other_v_b']:.4f}"
        table.add_row(*[_fmt(r[c]) for c in columns], other, _guard(r))
    return table
