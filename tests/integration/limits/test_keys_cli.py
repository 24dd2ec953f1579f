"""`rolecall keys` with limits: create, list, change, usage, and errors naming the option."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from rolecall.cli import app
from rolecall.storage import open_storage


@pytest.fixture
def runner(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("ROLECALL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ROLECALL_DATABASE_URL", db_url)
    return CliRunner()


def test_a_key_is_created_with_its_team_and_limits_and_they_can_change(
    runner: CliRunner, db_url: str
) -> None:
    argv = ["keys", "create", "ci", "--team", "eng", "--budget-usd", "5", "--rpm", "60"]
    created = runner.invoke(app, argv)
    assert created.exit_code == 0, created.output
    assert created.stdout.startswith("rc-")
    listed = runner.invoke(app, ["keys", "list"])
    assert "team=eng budget_usd=5.0 per=month rpm=60" in listed.stdout
    key_id = listed.stdout.split("\t")[0]
    changed = runner.invoke(app, ["keys", "limits", key_id, "--tpm", "1000"])
    assert changed.exit_code == 0
    storage = open_storage(db_url)
    try:
        [record] = storage.keys.all()
    finally:
        storage.close()
    assert (record.team, record.limits.tpm, record.limits.budget_micro_usd) == (None, 1000, None)
    assert runner.invoke(app, ["keys", "usage"]).stdout.startswith("no requests since")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--rpm", "0"], "--rpm: must be between 1"),
        (["--budget-usd", "1", "--per", "week"], "--per: expected 'day', 'month'"),
        (["--per", "day"], "--per: sets the window of a budget"),
        (["--team", "a b"], "--team: must be 1-64 letters"),
    ],
)
def test_a_bad_option_is_named_and_nothing_is_created(
    runner: CliRunner, argv: list[str], message: str
) -> None:
    result = runner.invoke(app, ["keys", "create", "x", *argv])
    assert result.exit_code == 2
    assert message in result.stderr
    assert runner.invoke(app, ["keys", "list"]).stdout == ""
