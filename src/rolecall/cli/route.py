"""`rolecall route CASE.json`: print the RouterDecision for a conformance-shaped case."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    app.command("route")(route)


def route(
    case_file: Annotated[
        Path, typer.Argument(help="JSON case with input.request and input.candidates")
    ],
    explain_: Annotated[
        bool, typer.Option("--explain", help="Print a readable table instead of JSON.")
    ] = False,
    exact_details: Annotated[
        bool,
        typer.Option(
            "--exact-details",
            help="Exclusion details in role-model's canonical text (one per code).",
        ),
    ] = False,
) -> None:
    """Route one request: read a case file and print the RouterDecision as JSON."""
    import orjson
    from rich.console import Console

    from rolecall.errors import ConfigError
    from rolecall.routing import Router, load_case
    from rolecall.routing.explain import explain

    try:
        data = orjson.loads(case_file.read_bytes())
    except OSError as exc:
        typer.echo(f"error: cannot read {case_file}: {exc.strerror}", err=True)
        raise typer.Exit(2) from None
    except orjson.JSONDecodeError as exc:
        typer.echo(f"error: {case_file}: not valid JSON: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        case = load_case(data, source=str(case_file))
    except ConfigError as exc:
        typer.echo(f"error: {exc.source}: {exc.path}: {exc.message}", err=True)
        raise typer.Exit(2) from None
    router = Router(case.policy, detail_texts="role-model" if exact_details else None)
    decision = router.decide(case.request, case.candidates, case.roles, case.tasks, case.bindings)
    if explain_:
        Console().print(explain(decision))
    else:
        typer.echo(orjson.dumps(decision.to_artifact(), option=orjson.OPT_INDENT_2).decode())
