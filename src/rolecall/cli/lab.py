"""`rolecall lab ...`: import performance records, train, evaluate and scale per-prompt routers."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from rolecall.errors import RolecallError
from rolecall.settings import load_settings

lab_app = typer.Typer(
    help="Learned per-prompt routing: records, routers, metrics.", no_args_is_help=True
)
_err = Console(stderr=True)

TABLE_COLUMNS = (
    "mu_o",
    "v_b",
    "v_b_train",
    "gap_closed",
    "e_p",
    "ece",
    "apgr",
    "cpt50",
    "cpt80",
    "aiq",
)


def register(app: typer.Typer) -> None:
    from rolecall.cli import lab_scale, lab_validate  # noqa: F401  (register their commands)

    app.add_typer(lab_app, name="lab")


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except RolecallError as exc:
        _err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None


@contextmanager
def _progress(total: int | None, label: str) -> Iterator[Callable[[str], None]]:
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=_err, transient=True) as bar:
        task = bar.add_task(label, total=total)
        started = [False]

        def step(name: str) -> None:
            if started[0]:
                bar.advance(task)
            started[0] = True
            bar.update(task, description=f"{label}: {name}")

        yield step


def _out() -> Console:
    """stdout; wide when piped so that no metric column is cut."""
    return Console(width=None if sys.stdout.isatty() else 200)


def _cache_dir() -> Path:
    return load_settings().data_dir / "lab" / "cache"


# options shared by train, evaluate and scale
TrainOption = Annotated[Path, typer.Option("--train", help="training records")]
TestOption = Annotated[
    Path, typer.Option("--test", help="test records (the same file: use its split column)")
]
EncoderOption = Annotated[str, typer.Option(help="dense prompt encoder: wordllama or minilm")]


@lab_app.command("import")
def import_(
    source: Annotated[
        Path,
        typer.Argument(
            help="a source folder (RouteLLM, LLMRouter, RouterArena, MT-Bench) or a record file"
        ),
    ],
    out: Annotated[
        Path, typer.Option("--out", help="canonical record file (.parquet, .jsonl or .csv)")
    ],
    fmt: Annotated[
        str,
        typer.Option(
            "--format", help="auto, canonical, routellm, mt_bench, llmrouter, routerarena"
        ),
    ] = "auto",
    test_fraction: Annotated[
        float, typer.Option(help="share of prompts hashed into 'test' when the source has no split")
    ] = 0.2,
    seed: Annotated[int, typer.Option(help="seed of the hashed split")] = 0,
) -> None:
    """Convert performance data into canonical records (also writes <out>.train/.test files)."""
    from rolecall.learned.lab import import_records

    with _errors(), _progress(1, "importing") as step:
        step(str(source))
        summary = import_records(source, out, fmt, test_fraction, seed)
    typer.echo(json.dumps(summary))


@lab_app.command("train")
def train(
    records: Annotated[
        list[Path] | None,
        typer.Option(
            "--records",
            help="canonical record file (its 'train' rows are used); with --from-store, public "
            "records (record files or source folders, repeatable) that join the training part",
        ),
    ] = None,
    router: Annotated[
        str, typer.Option("--router", help="router name (see 'rolecall lab routers')")
    ] = "rolecall",
    out: Annotated[Path, typer.Option("--out", help="artifact file to write (.npz)")] = Path(
        "router.npz"
    ),
    encoder: EncoderOption = "wordllama",
    from_store: Annotated[
        bool,
        typer.Option(
            "--from-store",
            help="train on this deployment's own graded benchmark cases (the database), "
            "evaluate against the best single endpoint on a held-out part, and write the "
            "artifact only if it does no harm there",
        ),
    ] = False,
    test_fraction: Annotated[
        float, typer.Option(min=0.05, max=0.9, help="--from-store: share of cases held out")
    ] = 0.25,
) -> None:
    """Train a router on records and save a deployable artifact."""
    from rolecall.learned.lab import train_artifact

    if from_store:
        _train_from_store(router, out, encoder, test_fraction, records or [])
        return
    if not records or len(records) > 1:
        typer.echo("error: give one --records FILE, or --from-store [--records FILE]...", err=True)
        raise typer.Exit(2)
    with _errors(), _progress(1, "training") as step:
        step(router)
        summary = train_artifact(records[0], router, out, encoder, _cache_dir())
    typer.echo(json.dumps(summary))


def store_rows() -> tuple[list[Any], list[dict[str, Any]]]:
    """This deployment's benchmark runs, and its learned-routing records (`store_records`)."""
    from rolecall.learned.store_records import store_records
    from rolecall.storage.sql import open_storage

    storage = open_storage(load_settings().effective_database_url)
    try:
        runs = storage.benchmarks.list_runs(limit=10_000)
        return runs, store_records(runs, storage.benchmarks.results, storage.prompts.outcomes())
    finally:
        storage.close()


def _train_from_store(
    router: str, out: Path, encoder: str, test_fraction: float, public: list[Path]
) -> None:
    """The store's records (benchmark results, and captured prompts' feedback and shadow grades)
    and ``public`` ones (mapped to endpoints by model name) trained on, judged on held-out store
    cases; the summary on stdout, why it was not deployed on stderr."""
    from rolecall.learned.lab import lab_dir, run_models, train_from_store

    missing = [str(p) for p in public if not p.exists()]
    if missing:
        typer.echo(f"error: --records {missing[0]}: no such file or folder", err=True)
        raise typer.Exit(2)
    settings = load_settings()
    runs, rows = store_rows()
    with _errors(), _progress(1, "training") as step:
        # the inventory names endpoints no run recorded; what a run served wins for its scores
        models = {**_inventory_models(settings.config), **run_models(runs)} if public else {}
        step(router)
        summary = train_from_store(
            rows,
            router,
            out,
            lab_dir(settings.data_dir),
            encoder,
            _cache_dir(),
            test_fraction,
            public=public,
            endpoint_models=models,
        )
    typer.echo(json.dumps(summary))
    _report_public(summary.get("public"))
    if not summary["deployed"]:
        typer.echo(f"not deployed: {summary['reason']}", err=True)


def _inventory_models(config: Path) -> dict[str, str]:
    """Endpoint id → upstream model name from the inventory file, when there is one."""
    if not config.is_file():
        return {}
    from rolecall.inventory.config import load_inventory_file
    from rolecall.inventory.load import configured_inventory

    inventory = configured_inventory(load_inventory_file(config))
    return {endpoint_id: e.model for endpoint_id, e in inventory.endpoints.items()}


def _report_public(public: dict[str, Any] | None) -> None:
    if public is None:
        return
    _err.print(
        f"public records: {public['records_joined']} of {public['records_read']} joined the "
        f"training part ({public['prompts_joined']} prompts); {public['ignored_records']} ignored "
        "(model served by no endpoint), "
        f"{public['prompts_incomplete']} prompt(s) not scored for every endpoint",
        highlight=False,
        soft_wrap=True,  # one line, however narrow the terminal
    )


@lab_app.command("train-difficulty")
def train_difficulty(
    out: Annotated[Path, typer.Option("--out", help="artifact file to write (.json)")] = Path(
        "difficulty.json"
    ),
    suite: Annotated[
        list[Path] | None,
        typer.Option("--suite", help="a suite file of labelled cases (repeatable)"),
    ] = None,
    builtin: Annotated[
        bool, typer.Option(help="train on the built-in benchmark suites' cases too")
    ] = True,
    folds: Annotated[int, typer.Option(min=2, max=20, help="cross-validation folds")] = 5,
) -> None:
    """Train the difficulty mode's learned classifier on labelled benchmark cases (each case's
    bucket) and print its cross-validated agreement beside the rubric's."""
    from rolecall.benchmark.cases import builtin_suites, load_suite
    from rolecall.learned.difficulty import labelled_cases, train

    with _errors():
        suites = [*(builtin_suites() if builtin else []), *(load_suite(p) for p in suite or [])]
        model, report = train(labelled_cases(suites), folds=folds)
        out.write_text(json.dumps(model.artifact, indent=1) + "\n")
    typer.echo(json.dumps({"artifact": str(out), **report}))


@lab_app.command("evaluate")
def evaluate(
    train: TrainOption,
    test: TestOption,
    router: Annotated[
        str, typer.Option("--router", help="router name, a comma list, or 'all'")
    ] = "all",
    as_json: Annotated[
        bool, typer.Option("--json", help="print a JSON list of result objects")
    ] = False,
    encoder: EncoderOption = "wordllama",
    drop_overlap: Annotated[
        bool, typer.Option(help="drop test prompts whose text also appears in train")
    ] = False,
    reference_accuracy: Annotated[
        float | None, typer.Option(help="reference model accuracy, for V_R")
    ] = None,
) -> None:
    """Train routers on --train, score them on --test with every metric."""
    from rolecall.learned.evaluate import overlap_count, predictor_names
    from rolecall.learned.lab import run_evaluate, save_evaluation

    with _errors():
        names = predictor_names(router)
        with _progress(len(names), "evaluating") as step:
            prepared, rows = run_evaluate(
                train, test, names, encoder, _cache_dir(), drop_overlap, reference_accuracy, step
            )
        save_evaluation(load_settings().data_dir, train, test, rows)
    overlap = overlap_count(prepared.train_matrix, prepared.test_matrix)
    if overlap:
        _err.print(
            f"note: {overlap} test prompt(s) also appear in train (--drop-overlap removes them)"
        )
    if as_json:
        typer.echo(json.dumps(rows))
        return
    _out().print(
        _table(rows, f"{prepared.test.n} test prompts × {len(prepared.test.models)} models")
    )


def _table(rows: list[dict[str, Any]], title: str) -> Table:
    table = Table(title=title)
    table.add_column("router")
    columns = [c for c in TABLE_COLUMNS if any(r.get(c) is not None for r in rows)]
    for c in columns:
        table.add_column(c, justify="right")
    for r in rows:
        table.add_row(r["router"], *[_fmt(r.get(c)) for c in columns])
    if rows:
        r = rows[0]
        table.caption = (
            f"oracle {r['oracle']:.4f} · best single {r['best_single']:.4f} ({r['best_single_model']},"
            f" chosen on train) · best on test {r['best_single_test']:.4f} · random {r['random']:.4f}"
        )
    return table


def _fmt(value: Any) -> str:
    return "–" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)


@lab_app.command("routers")
def routers(
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """List the registered routers."""
    from rolecall.learned.predictors.base import REGISTRY, names

    found: list[Any] = [(name, REGISTRY[name]) for name in names()]
    if as_json:
        rows = [
            {"router": name, "description": cls.description, "deployable": bool(cls.deployable)}
            for name, cls in found
        ]
        typer.echo(json.dumps({"routers": rows}, indent=2))
        return
    for name, cls in found:
        flag = "" if cls.deployable else " (evaluation only)"
        typer.echo(f"{name:12} {cls.description}{flag}")
