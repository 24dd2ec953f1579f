"""`rolecall.cli.failures`: which exceptions become one error line, with which exit status."""

from __future__ import annotations

import errno

import pytest
from pydantic import ValidationError

from rolecall.cli.failures import EXIT_FAILED, EXIT_INPUT, debug_enabled, describe
from rolecall.errors import ConfigError, MissingDependencyError, RolecallError
from rolecall.settings import Settings


def test_input_errors_exit_2_and_runtime_errors_exit_1() -> None:
    assert describe(ConfigError("rolecall.yaml", "endpoints[0]", "bad")) == (
        EXIT_INPUT,
        "rolecall.yaml: endpoints[0]: bad",
    )
    assert describe(RolecallError("cannot listen")) == (EXIT_FAILED, "cannot listen")
    missing = MissingDependencyError("ROLECALL_REDIS_URL", "redis", "redis")
    assert describe(missing) == (EXIT_FAILED, str(missing))
    assert "pip install 'rolecall[redis]'" in str(missing)


def test_a_settings_validation_error_names_the_variable() -> None:
    with pytest.raises(ValidationError) as info:
        Settings(port="abc")  # type: ignore[arg-type]
    described = describe(info.value)
    assert described is not None
    assert described[0] == EXIT_INPUT
    assert "ROLECALL_PORT='abc': expected an integer from 0 to 65535" in described[1]


def test_a_missing_optional_module_names_its_extra() -> None:
    exc = ModuleNotFoundError("No module named 'psycopg'", name="psycopg")
    assert describe(exc) == (
        EXIT_FAILED,
        "the 'psycopg' package is not installed: pip install 'rolecall[postgres]'",
    )
    assert describe(ModuleNotFoundError("No module named 'x'", name="x")) is None  # a bug


def test_os_errors_with_a_file_or_a_port_in_use() -> None:
    gone = FileNotFoundError(errno.ENOENT, "No such file or directory", "/data/x")
    assert describe(gone) == (EXIT_FAILED, "/data/x: No such file or directory")
    in_use = OSError(errno.EADDRINUSE, "Address already in use")
    described = describe(in_use)
    assert described is not None
    assert described[0] == EXIT_FAILED
    assert "--port" in described[1]


def test_unknown_exceptions_keep_their_traceback() -> None:
    assert describe(KeyError("x")) is None
    assert describe(ValueError("x")) is None


@pytest.mark.parametrize(("value", "on"), [("1", True), ("true", True), ("0", False), ("", False)])
def test_debug_switch(monkeypatch: pytest.MonkeyPatch, value: str, on: bool) -> None:
    monkeypatch.setenv("ROLECALL_DEBUG", value)
    assert debug_enabled() is on
