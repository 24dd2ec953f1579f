"""Docs are tested: every CLI command is documented in docs/cli.md.

(Sorted ``__all__`` lists are enforced by ruff's RUF022.)
"""

from __future__ import annotations

from pathlib import Path

import typer.main

from rolecall.cli import app

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_every_cli_command_is_documented() -> None:
    group = typer.main.get_command(app)
    commands = sorted(group.commands)  # type: ignore[attr-defined]
    assert commands, "no CLI commands found"
    text = (DOCS / "cli.md").read_text()
    missing = [name for name in commands if f"`rolecall {name}" not in text]
    assert missing == [], f"undocumented commands: {missing}"


def test_every_setting_is_documented() -> None:
    from rolecall.settings import Settings

    text = (DOCS / "configuration.md").read_text()
    missing = [n for n in Settings.model_fields if f"`ROLECALL_{n.upper()}`" not in text]
    assert missing == [], f"undocumented settings: {missing}"


def test_every_api_route_is_documented() -> None:
    from rolecall.gateway import admin

    text = (DOCS / "gateway.md").read_text()
    paths = ["/v1/chat/completions", "/v1/models", "/v1/rolecall/discovery", "/healthz"]
    paths += [path for path, _, _ in admin.ROUTES]
    missing = [p for p in paths if p not in text]
    assert missing == [], f"undocumented routes: {missing}"
