"""`rolecall lab scale`: the pool-scaling table and plot, and newcomers known from a few records."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from rolecall.cli.lab import (
    EncoderOption,
    TestOption,
    TrainOption,
    _cache_dir,
    _errors,
    _fmt,
    _out,
    _progress,
    lab_app,
)
from rolecall.settings import load_settings


@lab_app.command("scale")
def scale(
    train: TrainOption,
    test: TestOption,
    router: Annotated[
        str, typer.Option("--router", help="router name or a comma list")
    ] = "rolecall",
    max_m: Annotated[
        int | None, typer.Option(help="largest pool size (default: every model)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the rows as JSON")] = False,
    encoder: EncoderOption = "wordllama",
    newcomer: Annotated[
        str,
        typer.Option(
            help="also treat each model as new, known from this many training prompts "
            "(comma list, e.g. 10,30,100)"
        ),
    ] = "",
) -> None:
    """Pool-scaling table and plot: m = 2..N, all-strong / all-weak / strong-to-weak (chosen on train)."""
    from rolecall.learned.evaluate import predictor_names
    from rolecall.learned.lab import run_scale, save_scale

    with _errors():
        names = predictor_names(router)
        with _progress(None, "scaling") as step:
            counts = _counts(newcomer)
            rows = run_scale(train, test, names, encoder, _cache_dir(), max_m, step, counts)
        saved = save_scale(load_settings().data_dir, rows)
    if as_json:
        typer.echo(json.dumps(rows))
        return
    table = Table(title=f"pool scaling (plot: {saved.with_suffix('.png')})")
    columns = ("m", "group", "router", "mu_o", "best_single", "oracle")
    for c in columns:
        table.add_column(c)
    for r in rows:
        if "newcomer" not in r:
            table.add_row(*[_fmt(r[c]) for c in columns])
    _out().print(table)
    if counts:
        _out().print(_newcomer_table([r for r in rows if "newcomer" in r]))


def _counts(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise typer.BadParameter(f"--newcomer: a comma list of counts, got {text!r}") from None
    if any(c < 2 for c in counts):
        raise typer.BadParameter("--newcomer: each count must be at least 2")
    return counts


def _newcomer_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="a model known from k training prompts only (mean over the pool's models)")
    columns = ("k", "without", "constant", "mu_o", "full_data", "oracle")
    for c in columns:
        table.add_column("estimated" if c == "mu_o" else c, justify="right")
    for k in sorted({r["k"] for r in rows}):
        part = [r for r in rows if r["k"] == k]
        table.add_row(str(k), *[f"{sum(r[c] for r in part) / len(part):.4f}" for c in columns[1:]])
    return table
