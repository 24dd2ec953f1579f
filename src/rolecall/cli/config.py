"""`rolecall config ...`: the inventory file's tools; `import-litellm` migrates a LiteLLM proxy config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from rolecall.errors import ConfigError

config_app = typer.Typer(
    help="Work with rolecall.yaml: import a LiteLLM proxy config.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")


@config_app.command("import-litellm")
def import_litellm(
    path: Annotated[Path, typer.Argument(help="the LiteLLM proxy config.yaml")],
    out: Annotated[
        Path, typer.Option("--out", help="where to write the rolecall inventory")
    ] = Path("rolecall.yaml"),
    merge: Annotated[
        Path | None,
        typer.Option("--merge", help="an existing rolecall.yaml to add the import to"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable report")] = False,
) -> None:
    """Convert a LiteLLM config.yaml: providers, endpoints, an alias per model_name; print what
    could not be carried over."""
    from rolecall.inventory.config import read_inventory_data
    from rolecall.inventory.litellm import import_litellm as convert
    from rolecall.inventory.litellm_merge import check_imported, merge_imported

    if out.exists() and (merge is None or out.resolve() != merge.resolve()):
        raise ConfigError(
            str(out), "", "exists; pass --merge with it to add the import, or choose another --out"
        )
    result = convert(_read_litellm(path), str(path))
    data, notes = result.data, list(result.notes)
    if merge is not None:
        if not merge.is_file():
            raise ConfigError(str(merge), "", "no such file to merge into")
        data, merged_notes = merge_imported(read_inventory_data(merge), data)
        notes += merged_notes
    check_imported(data, str(out))
    out.write_text(_document(path, data))
    _report(out, result.data, notes, as_json)


def _read_litellm(path: Path) -> Any:
    import yaml

    if not path.is_file():
        raise ConfigError(str(path), "", "no such file; give the path of LiteLLM's config.yaml")
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "$"
        raise ConfigError(str(path), where, f"not valid YAML: {exc}") from None


def _document(source: Path, data: dict[str, Any]) -> str:
    import yaml

    header = (
        f"# imported from the LiteLLM config {source.name} by `rolecall config import-litellm`;\n"
        "# API keys are environment references: export each ${VAR} (or put it in .env)\n"
    )
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _report(out: Path, imported: dict[str, Any], notes: list[Any], as_json: bool) -> None:
    counts = {k: len(imported[k]) for k in ("providers", "endpoints", "aliases")}
    if as_json:
        report = {
            "out": str(out),
            "providers": counts["providers"],
            "endpoints": counts["endpoints"],
            "aliases": {name: a["endpoints"] for name, a in imported["aliases"].items()},
            "warnings": [{"path": n.path, "message": n.message} for n in notes],
        }
        typer.echo(json.dumps(report, indent=2))
        return
    typer.echo(
        f"wrote {out}: {counts['providers']} providers, {counts['endpoints']} endpoints, "
        f"{counts['aliases']} aliases"
    )
    if notes:
        typer.echo(f"{len(notes)} things were not carried over as they were:")
        for note in notes:
            typer.echo(f"  - {note}")
