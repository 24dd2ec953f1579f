"""`rolecall bench`: run, resume, list, show, compare and clear benchmark runs; the cases' statistics.

Uses the same settings and inventory as `rolecall serve` (`Settings`, `build_services`); local model
servers started by `rolecall local up` / `rolecall run` in the same data directory join the
inventory as in `rolecall run`. Each command is a few lines over `rolecall.benchmark.service`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rolecall.cli.bench_view import console, num, print_report
from rolecall.errors import RolecallError

if TYPE_CHECKING:
    from rolecall.benchmark.service import BenchHub

bench_app = typer.Typer(
    help="Benchmark the configured endpoints and feed routing evidence.", no_args_is_help=True
)
ConfigOpt = Annotated[Path | None, typer.Option(help="inventory file (ROLECALL_CONFIG)")]
DataDirOpt = Annotated[Path | None, typer.Option(help="data directory (ROLECALL_DATA_DIR)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]


def register(app: typer.Typer) -> None:
    app.add_typer(bench_app, name="bench")


@contextmanager
def _hub(config: Path | None, data_dir: Path | None) -> Iterator[BenchHub]:
    """Services built like `rolecall serve`'s, closed (writes drained) on the way out."""
    from rolecall.bootstrap import build_services
    from rolecall.inventory.config import require_inventory_file
    from rolecall.settings import load_settings

    settings = load_settings(config=config, data_dir=data_dir)
    if "config" in settings.model_fields_set:  # a file asked for must exist; rolecall.yaml may not
        require_inventory_file(settings.config)
    try:
        services = build_services(settings, extra_inventory=_local_pool(settings.data_dir))
    except RolecallError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        yield services.bench
    except RolecallError as exc:
        typer.echo(f"error: {exc}{_hint(exc)}", err=True)
        raise typer.Exit(2) from None
    finally:
        asyncio.run(services.stop())  # drains queued writes, then closes storage


def _hint(exc: RolecallError) -> str:
    """The fix for a run id that names no run (the hub's 404s name a run unless they name an
    endpoint): the command that lists the runs."""
    from rolecall.benchmark.errors import BenchError

    if isinstance(exc, BenchError) and exc.status == 404 and exc.param != "endpoint":
        return "; 'rolecall bench list' shows the stored runs"
    return ""


def _local_pool(data_dir: Path) -> dict[str, Any] | None:
    from rolecall.providers.local.supervisor import probe, read_state

    if read_state(data_dir) is None:
        return None
    from rolecall.providers.local.inventory import local_inventory_entries

    return local_inventory_entries(probe(data_dir), include_offline=False)


def _split(values: list[str] | None) -> list[str] | None:
    items = [v.strip() for raw in values or [] for v in raw.split(",") if v.strip()]
    return items or None


@bench_app.command("run")
def run(
    quick: Annotated[
        bool, typer.Option("--quick/--full", help="quick (hard-regression subset) or full")
    ] = True,
    endpoints: Annotated[
        list[str] | None,
        typer.Option("--endpoints", help="endpoint ids (comma-separated or repeated); default all"),
    ] = None,
    judge: Annotated[
        str | None,
        typer.Option(help="judge endpoint id (default: first remote endpoint, else a local 1.5B+)"),
    ] = None,
    no_judge: Annotated[
        bool, typer.Option("--no-judge", help="grade open-ended cases by heuristic only")
    ] = False,
    suite: Annotated[
        list[Path] | None,
        typer.Option("--suite", help="suite file(s) (.jsonl/.yaml); default the built-in suites"),
    ] = None,
    case: Annotated[list[str] | None, typer.Option("--case", help="only these case ids")] = None,
    spend_cap: Annotated[
        float | None, typer.Option(help="stop calling endpoints after this many USD")
    ] = None,
    concurrency: Annotated[int, typer.Option(help="requests in flight per endpoint")] = 2,
    adaptive: Annotated[
        bool | None,
        typer.Option(
            "--adaptive/--fixed",
            help="answer only the cases the ranking needs (default for --quick), or every case",
        ),
    ] = None,
    max_cases: Annotated[
        int | None,
        typer.Option(help="an adaptive run's most cases per endpoint (quick: the quick count)"),
    ] = None,
    precision: Annotated[
        float | None,
        typer.Option(
            help="adaptive: each endpoint also answers until its 95% interval is within ±this"
        ),
    ] = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Benchmark the endpoints; graded cases become routing evidence as they finish."""

    with _hub(config, data_dir) as hub:
        if judge is None and not no_judge:
            judge = hub.default_judge()
        plan = hub.plan(
            "quick" if quick else "full",
            _split(endpoints),
            judge,
            suite,
            _split(case),
            spend_cap,
            concurrency,
            adaptive=adaptive,
            max_cases=max_cases,
            precision=precision,
        )
        how = (
            f"adaptive, up to {plan.per_endpoint} of {len(plan.items)} cases per endpoint"
            if plan.adaptive
            else f"{plan.total} cases"
        )
        typer.echo(
            f"benchmark run {plan.run_id}: {how} on {len(plan.endpoint_ids)} endpoint(s)",
            err=as_json,
        )
        status = asyncio.run(_drive(hub, hub.start(plan), quiet=as_json))
        _finish(hub, plan.run_id, status, as_json)


@bench_app.command("resume")
def resume(
    run_id: str, config: ConfigOpt = None, data_dir: DataDirOpt = None, as_json: JsonOpt = False
) -> None:
    """Finish an interrupted run without redoing or losing any graded case."""
    with _hub(config, data_dir) as hub:
        status = asyncio.run(_drive(hub, hub.resume(run_id), quiet=as_json))
        _finish(hub, run_id, status, as_json)


async def _drive(hub: BenchHub, starting: Any, *, quiet: bool) -> str:
    """Start the run, show a rich progress bar until it ends, return its status."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    run_id = await starting
    task = hub.tasks[run_id]
    progress = hub.progress[run_id]
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, disable=quiet, transient=False) as bar:
        row = bar.add_task(progress.phase, total=progress.total)
        while not task.done():
            where = (
                f"{progress.phase} {progress.current_endpoint or ''} {progress.current_case or ''}"
            )
            bar.update(row, completed=progress.done, description=where.strip()[:60])
            await asyncio.wait({task}, timeout=0.2)
        bar.update(row, completed=progress.done, description=progress.phase)
    try:
        return await task
    except Exception as exc:  # stored results stay; the run can be finished later
        typer.echo(f"error: run {run_id} stopped: {exc}", err=True)
        typer.echo(f"finish it with: rolecall bench resume {run_id}", err=True)
        return "failed"


def _finish(hub: BenchHub, run_id: str, status: str, as_json: bool) -> None:
    report = hub.report(run_id)
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        print_report(report, elapsed_s=hub.progress_of(run_id)["elapsed_s"])
    if status != "completed":
        raise typer.Exit(1)


@bench_app.command("list")
def list_runs(
    config: ConfigOpt = None, data_dir: DataDirOpt = None, as_json: JsonOpt = False
) -> None:
    """Benchmark runs, newest first."""
    with _hub(config, data_dir) as hub:
        runs = hub.list_runs()
    if as_json:
        typer.echo(json.dumps({"runs": runs}, indent=2))
        return
    from rich.table import Table

    table = Table("run", "mode", "status", "endpoints", "cases")
    for r in runs:
        table.add_row(
            r["run_id"],
            r["mode"],
            r["status"],
            ", ".join(r["endpoints"]),
            f"{r['cases_done']}/{r['cases_total']}",
        )
    console().print(table)


@bench_app.command("show")
def show(
    run_id: str,
    cases: Annotated[
        bool, typer.Option("--cases", help="also one row per (case, endpoint), with why skipped")
    ] = False,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One run in full: the judge used (self-judging and its measured bias), quality by endpoint
    and suite, pairwise results, the recommended strategy; ``--json``: the console's run detail."""
    with _hub(config, data_dir) as hub:
        report = hub.report(run_id)
        elapsed_s = hub.progress_of(run_id)["elapsed_s"]
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        print_report(report, elapsed_s=elapsed_s, cases=cases)


@bench_app.command("compare")
def compare(
    run_a: str,
    run_b: str,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Compare two runs per endpoint over their shared cases (paired permutation test)."""
    with _hub(config, data_dir) as hub:
        result = hub.compare(run_a, run_b)
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    from rich.table import Table

    table = Table("endpoint", "a", "b", "delta", "shared", "p")
    for e in result["endpoints"]:
        table.add_row(
            e["endpoint_id"],
            num(e["a_mean"]),
            num(e["b_mean"]),
            num(e["delta"]),
            str(e["shared_cases"]),
            num(e["p_value"]),
        )
    console().print(table)


@bench_app.command("items")
def items(config: ConfigOpt = None, data_dir: DataDirOpt = None, as_json: JsonOpt = False) -> None:
    """Each stored case's difficulty and discrimination (IRT, fitted on every endpoint's latest
    result), hardest first; cases that told no endpoints apart are marked."""
    with _hub(config, data_dir) as hub:
        rows = hub.items()
    if as_json:
        typer.echo(json.dumps({"items": rows}, indent=2))
        return
    from rich.table import Table

    table = Table("suite", "case", "task", "bucket", "endpoints", "mean", "difficulty", "discr.")
    for r in rows:
        table.add_row(
            r["suite"],
            r["case_id"] + ("" if r["separates"] else " (separates none)"),
            r["task"],
            r["bucket"],
            str(r["endpoints"]),
            num(r["mean_score"]),
            num(r["difficulty"]),
            num(r["discrimination"]),
        )
    console().print(table)


@bench_app.command("clear")
def clear(
    endpoint: Annotated[
        str | None, typer.Option(help="only this endpoint's benchmark data")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for confirmation")] = False,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Delete benchmark samples and results (one endpoint, or all) and re-aggregate profiles."""
    if not yes:
        typer.confirm(f"delete the benchmark data of {endpoint or 'every endpoint'}?", abort=True)
    with _hub(config, data_dir) as hub:
        deleted = hub.clear(endpoint)
    typer.echo(f"deleted {deleted} benchmark samples")
