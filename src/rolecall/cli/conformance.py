"""`rolecall conformance DIR`: run every router case in a folder and report which conform."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    app.command("conformance")(conformance)


def conformance(
    cases_dir: Annotated[Path, typer.Argument(help="Folder of router case JSON files")],
    exact_details: Annotated[
        bool,
        typer.Option(
            "--exact-details",
            help="Write role-model's detail text per exclusion code and compare details exactly, "
            "as role-model's own harness does.",
        ),
    ] = False,
) -> None:
    """Route every case in a folder and compare with its expectations; exit 1 on any mismatch."""
    import orjson
    from rich.console import Console

    from rolecall.errors import ConfigError
    from rolecall.routing import Router, conformance_problems, load_case

    out = Console()
    files = sorted(cases_dir.glob("*.json"))
    if not files:
        typer.echo(f"error: no *.json case files in {cases_dir}", err=True)
        raise typer.Exit(2)
    failed = 0
    for path in files:
        try:
            case = load_case(orjson.loads(path.read_bytes()), source=path.name)
        except (ConfigError, orjson.JSONDecodeError) as exc:
            out.print(f"[red]ERROR[/] {path.name}: {exc}", markup=True, highlight=False)
            failed += 1
            continue
        router = Router(case.policy, detail_texts="role-model" if exact_details else None)
        decision = router.decide(
            case.request, case.candidates, case.roles, case.tasks, case.bindings
        )
        problems = conformance_problems(decision, case.expected or {}, exact_details=exact_details)
        if problems:
            failed += 1
            out.print(f"[red]FAIL[/] {path.name}: " + "; ".join(problems), highlight=False)
        else:
            chosen = decision.chosen_endpoint_id or "(no eligible endpoint)"
            out.print(f"[green]ok[/]   {path.name} → {chosen}", highlight=False)
    out.print(f"{len(files) - failed} conform, {failed} do not")
    if failed:
        raise typer.Exit(1)
