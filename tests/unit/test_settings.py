"""Process settings: a bad value is one error naming the variable, the value and what it takes;
``.env`` files fill the environment without overriding it."""

from __future__ import annotations

from pathlib import Path

import pytest

from rolecall.errors import SettingError
from rolecall.settings import load_env_files, load_settings


def test_options_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROLECALL_PORT", "4000")
    assert load_settings().port == 4000
    assert load_settings(port=5000, host=None).port == 5000  # None: not given


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("ROLECALL_PORT", "abc", "ROLECALL_PORT='abc': expected an integer from 0 to 65535"),
        ("ROLECALL_WORKERS", "-1", "ROLECALL_WORKERS='-1': expected an integer from 0 to 256"),
        ("ROLECALL_RECORD_PROCESS", "perhaps", "ROLECALL_RECORD_PROCESS='perhaps': expected true"),
        ("ROLECALL_COOLDOWN_FAILURE_RATE", "2", "expected a number above 0 and at most 1"),
        ("ROLECALL_AUTH_FAILURE_LIMIT", "0", "expected an integer at least 1"),
    ],
)
def test_a_bad_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingError) as info:
        load_settings()
    assert expected in str(info.value)
    assert "docs/configuration.md" in str(info.value)
    assert "\n" not in str(info.value)


def test_every_bad_value_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROLECALL_PORT", "x")
    monkeypatch.setenv("ROLECALL_MAX_BODY_BYTES", "12")
    with pytest.raises(SettingError) as info:
        load_settings()
    assert [name for name, _, _ in info.value.problems] == [
        "ROLECALL_PORT",
        "ROLECALL_MAX_BODY_BYTES",
    ]


def test_env_files_fill_what_the_environment_does_not_set(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "# comment\n"
        "export ROLECALL_PORT=4001\n"
        'OPENAI_API_KEY="sk-from-file"\n'
        "ALREADY=from-file\n"
        "EMPTY=\n"
    )
    environ = {"ALREADY": "from-environment"}
    loaded = load_env_files(environ, cwd=tmp_path)
    assert loaded == [tmp_path / ".env"]
    assert environ == {
        "ALREADY": "from-environment",  # the environment wins
        "ROLECALL_PORT": "4001",
        "OPENAI_API_KEY": "sk-from-file",
        "EMPTY": "",
    }


def test_the_working_directory_wins_over_the_file_beside_the_config(tmp_path: Path) -> None:
    config_dir = tmp_path / "etc"
    config_dir.mkdir()
    (tmp_path / ".env").write_text(f"ROLECALL_CONFIG={config_dir / 'rolecall.yaml'}\nA=cwd\n")
    (config_dir / ".env").write_text("A=config\nB=config\n")
    environ: dict[str, str] = {}
    loaded = load_env_files(environ, cwd=tmp_path)
    assert loaded == [tmp_path / ".env", config_dir / ".env"]
    assert (environ["A"], environ["B"]) == ("cwd", "config")


def test_no_env_file_changes_nothing(tmp_path: Path) -> None:
    environ = {"X": "1"}
    assert load_env_files(environ, cwd=tmp_path) == []
    assert environ == {"X": "1"}
