"""Docs are tested: every CLI command is documented in docs/cli.md.

(Sorted ``__all__`` lists are enforced by ruff's RUF022.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer.main

from rolecall.cli import app

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _command_paths(command: Any, prefix: str) -> list[str]:
    """``rolecall X`` for every leaf command, ``rolecall GROUP SUB`` inside groups."""
    subcommands = getattr(command, "commands", None)
    if not subcommands:
        return [prefix]
    paths: list[str] = []
    for name in sorted(subcommands):
        paths += _command_paths(subcommands[name], f"{prefix} {name}")
    return paths


def test_every_cli_command_is_documented() -> None:
    commands = _command_paths(typer.main.get_command(app), "rolecall")
    assert len(commands) > 10, "no CLI commands found"
    text = (DOCS / "cli.md").read_text()
    missing = [path for path in commands if f"`{path}" not in text]
    assert missing == [], f"undocumented commands: {missing}"


def test_every_setting_is_documented() -> None:
    from rolecall.settings import Settings

    text = (DOCS / "configuration.md").read_text()
    missing = [n for n in Settings.model_fields if f"`ROLECALL_{n.upper()}`" not in text]
    assert missing == [], f"undocumented settings: {missing}"


def test_every_api_route_is_documented() -> None:
    from rolecall.gateway import admin
    from rolecall.gateway.app import DOORS

    text = (DOCS / "gateway.md").read_text()
    paths = ["/v1/chat/completions", "/v1/models", "/v1/rolecall/discovery", "/healthz", "/metrics"]
    paths.append("/api/role-model/downstream/openai")
    paths += [path for path, _, _ in admin.ROUTES]
    paths += [door.path for door in DOORS]  # the proxied routes served on raw ASGI
    missing = [p for p in paths if p not in text]
    assert missing == [], f"undocumented routes: {missing}"


def test_benchmark_and_console_apis_are_documented() -> None:
    from rolecall.console import API
    from rolecall.gateway import bench_api

    documented = {
        "benchmark.md": [path for path, _, _ in bench_api.routes],
        "console.md": [path for path, _, _ in API],
    }
    for doc, paths in documented.items():
        text = (DOCS / doc).read_text()
        missing = [p for p in paths if p not in text]
        assert missing == [], f"routes missing from docs/{doc}: {missing}"
