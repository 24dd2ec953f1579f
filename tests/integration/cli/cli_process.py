"""`rolecall` as a real subprocess for the CLI tests: a clean ``ROLECALL_*`` environment, a
working directory of the test's own, and the checks every failure must pass."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

ROLECALL = [sys.executable, "-m", "rolecall"]


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The test process's environment without its ``ROLECALL_*`` settings, with a data
    directory in ``tmp_path`` and ``extra`` on top."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROLECALL_")}
    env["ROLECALL_DATA_DIR"] = str(tmp_path / "data")
    env.update(extra)
    return env


def rolecall(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ROLECALL, *args],
        cwd=tmp_path,
        env=env if env is not None else environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def assert_one_error(result: subprocess.CompletedProcess[str], status: int, *fragments: str) -> str:
    """The command failed with ``status`` and one ``error:`` line holding every fragment, and
    no traceback; the line."""
    assert result.returncode == status, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    for fragment in fragments:
        assert fragment in errors[0], (fragment, errors[0])
    return errors[0]


def closed_port() -> int:
    """A loopback port nothing listens on (bound once, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
