"""A command that cannot do its job says so in one line and an exit status, never a traceback:
a missing inventory file, a bad setting, a database or gateway that does not answer, a port in
use, a missing optional dependency. ``--debug`` shows the traceback. Real `rolecall` processes."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.integration.cli.cli_process import (
    ROLECALL,
    assert_one_error,
    closed_port,
    environment,
    rolecall,
)

INVENTORY = """\
providers:
  up:
    kind: openai_compatible
    base_url: http://127.0.0.1:9/v1
endpoints:
  - provider: up
    model: m
"""


def _inventory(tmp_path: Path, text: str = INVENTORY) -> Path:
    path = tmp_path / "rolecall.yaml"
    path.write_text(text)
    return path


def test_version() -> None:
    from rolecall import __version__

    for args in (["--version"], ["version"]):
        result = rolecall(Path.cwd(), *args)
        assert result.returncode == 0, result.stderr
        assert __version__ in result.stdout


def test_a_missing_inventory_file_is_an_error(tmp_path: Path) -> None:
    result = rolecall(tmp_path, "serve", "--config", "missing.yaml", "--port", "0")
    assert_one_error(result, 2, "missing.yaml", "no such inventory file", "ROLECALL_CONFIG")
    assert result.stdout == ""  # no banner
    # the default file too: serve has nothing to serve without one
    assert_one_error(rolecall(tmp_path, "serve", "--port", "0"), 2, "rolecall.yaml")
    # rolecall run may do without rolecall.yaml, not without a file it was pointed at
    env = environment(tmp_path, ROLECALL_CONFIG=str(tmp_path / "elsewhere.yaml"))
    result = rolecall(tmp_path, "run", "--models", "", "--no-bench", "--port", "0", env=env)
    assert_one_error(result, 2, "elsewhere.yaml", "no such inventory file")


def test_the_debug_flag_shows_the_traceback(tmp_path: Path) -> None:
    for args, extra in (
        (["--debug", "serve", "--config", "missing.yaml"], {}),
        (["serve", "--config", "missing.yaml"], {"ROLECALL_DEBUG": "1"}),
    ):
        result = rolecall(tmp_path, *args, env=environment(tmp_path, **extra))
        assert result.returncode != 0
        assert "Traceback" in result.stderr, result.stderr
        assert "ConfigError" in result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("ROLECALL_PORT", "abc", "expected an integer from 0 to 65535"),
        ("ROLECALL_PORT", "70000", "expected an integer from 0 to 65535"),
        ("ROLECALL_REQUIRE_API_KEY", "maybe", "expected true or false"),
        ("ROLECALL_UPSTREAM_TIMEOUT_S", "-1", "expected a number above 0"),
    ],
)
def test_a_bad_setting_names_the_variable_the_value_and_what_it_takes(
    tmp_path: Path, variable: str, value: str, expected: str
) -> None:
    _inventory(tmp_path)
    result = rolecall(tmp_path, "serve", env=environment(tmp_path, **{variable: value}))
    assert_one_error(result, 2, f"{variable}={value!r}", expected)


@pytest.mark.parametrize(
    "args",
    [["keys", "list"], ["demo", "--key", "k"], ["bench", "list"], ["run", "--models", ""]],
    ids=" ".join,
)
def test_every_command_reads_settings_the_same_way(tmp_path: Path, args: list[str]) -> None:
    result = rolecall(tmp_path, *args, env=environment(tmp_path, ROLECALL_PORT="abc"))
    assert_one_error(result, 2, "ROLECALL_PORT='abc'", "expected an integer")


def test_an_unreachable_postgresql_names_the_setting(tmp_path: Path) -> None:
    _inventory(tmp_path)
    url = f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/test"
    env = environment(tmp_path, ROLECALL_DATABASE_URL=url)
    for args in (["serve", "--port", "0"], ["keys", "list"]):
        result = rolecall(tmp_path, *args, env=env)
        assert_one_error(result, 1, "cannot open the database", "ROLECALL_DATABASE_URL")
        assert "Connection refused" in result.stderr or "connection" in result.stderr.lower()
        assert result.stdout == ""


def test_a_missing_driver_names_the_extra(tmp_path: Path) -> None:
    """psycopg and redis are extras: a base install without them gets the pip command."""
    blocked = tmp_path / "blocked"
    for module in ("psycopg", "redis"):
        (blocked / module).mkdir(parents=True)
        (blocked / module / "__init__.py").write_text(
            f'raise ModuleNotFoundError("No module named {module}", name="{module}")\n'
        )
    env = environment(tmp_path)
    env["PYTHONPATH"] = f"{blocked}:{env.get('PYTHONPATH', '')}"
    postgres = {**env, "ROLECALL_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1/test"}
    result = rolecall(tmp_path, "keys", "list", env=postgres)
    assert_one_error(result, 1, "ROLECALL_DATABASE_URL", "pip install 'rolecall[postgres]'")
    # SQLite needs neither
    assert rolecall(tmp_path, "keys", "list", env=env).returncode == 0
    redis = {**env, "ROLECALL_REDIS_URL": "redis://127.0.0.1:6379/0"}
    result = rolecall(tmp_path, "keys", "create", "k", env=redis)
    assert_one_error(result, 1, "ROLECALL_REDIS_URL", "pip install 'rolecall[redis]'")


def test_a_port_in_use_is_one_line_and_no_banner(tmp_path: Path) -> None:
    _inventory(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        served = rolecall(tmp_path, "serve", "--port", port)
        ran = rolecall(tmp_path, "run", "--models", "", "--no-bench", "--port", port)
        upstream = rolecall(tmp_path, "upstream", "serve", "--port", port)
    for result in (served, ran):
        assert_one_error(result, 1, f"127.0.0.1:{port}", "in use", "ROLECALL_PORT")
        assert result.stdout == ""  # the banner comes only after the bind
    assert not (tmp_path / "data" / "rolecall.db").exists()  # nothing was started
    assert_one_error(upstream, 1, port, "in use", "--port")
    assert upstream.stdout == ""


def test_demo_against_a_gateway_that_is_not_there(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/v1"
    result = rolecall(tmp_path, "demo", "--key", "k", "--url", url)
    assert_one_error(result, 1, "cannot reach the gateway", url, "rolecall run")
    assert result.stdout == ""


def test_a_remote_provider_without_its_key_stops_the_start(tmp_path: Path) -> None:
    _inventory(
        tmp_path,
        "providers:\n"
        "  openai:\n"
        "    kind: openai_compatible\n"
        "    base_url: https://api.openai.com/v1\n"
        "    api_key: ${ROLECALL_TEST_UNSET_KEY}\n"
        "endpoints:\n"
        "  - provider: openai\n"
        "    model: gpt-4o-mini\n",
    )
    result = rolecall(tmp_path, "serve", "--port", "0")
    assert_one_error(
        result, 2, "providers.openai.api_key", "${ROLECALL_TEST_UNSET_KEY} is not set", "export"
    )


def test_run_without_an_inventory_file_serves_and_prints_the_port_it_bound(
    tmp_path: Path,
) -> None:
    """The README's first command: `rolecall run` needs no rolecall.yaml (here without the
    local pool, which other tests start)."""
    out = tmp_path / "run.out"
    with out.open("wb") as sink:
        child = subprocess.Popen(
            [*ROLECALL, "run", "--models", "", "--no-bench", "--port", "0"],
            cwd=tmp_path,
            env=environment(tmp_path),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        match = None
        deadline = time.monotonic() + 60
        while match is None and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.2)
            match = re.search(r"gateway +http://127\.0\.0\.1:(\d+)/v1", out.read_text())
        assert match is not None, out.read_text()
        port = int(match.group(1))
        assert port != 0
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as reply:
            assert reply.status == 200
    finally:
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=30)
    assert "Traceback" not in out.read_text()
