"""Process handling for the gateway benchmark: loopback ports, pinning, readiness, CPU, cleanup.

Every process is started in its own session so that stopping it also stops whatever it spawned
(LiteLLM's workers); nothing is ever stopped by name. Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOOPBACK = "127.0.0.1"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
WRITER = "rolecall-writer"  # the name rolecall's record writer process gives itself


class BenchError(Exception):
    """A path could not be set up or measured; the message says why."""


class Deadline:
    """The run's total time budget."""

    def __init__(self, seconds: float) -> None:
        self.ends = time.monotonic() + seconds

    def left(self) -> float:
        return max(0.0, self.ends - time.monotonic())

    def require(self, seconds: float, what: str) -> None:
        if self.left() < seconds:
            raise BenchError(f"time limit: {self.left():.0f} s left, {what} needs ~{seconds:.0f} s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def pin(core: int | None) -> list[str]:
    return [] if core is None else ["taskset", "-c", str(core)]


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    _log: Any = field(repr=False, default=None)

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:]) or "(empty log)"

    def cpu_seconds(self, *, without_writer: bool = False) -> float:
        """User + system CPU of every live process in this process's group (its session: a
        gateway's workers and record writer too); ``without_writer`` leaves out rolecall's record
        writer (the process named ``rolecall-writer``)."""
        total = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                name, fields = _stat(entry)
            except (OSError, IndexError):
                continue
            if int(fields[2]) == self.popen.pid and not (without_writer and name == WRITER):
                total += int(fields[11]) + int(fields[12])  # utime + stime
        return total / CLOCK_TICKS

    def stop(self) -> None:
        if self.alive():
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
                self.popen.wait(timeout=8)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=5)
        if self._log is not None:
            self._log.close()


def _stat(entry: Path) -> tuple[str, list[str]]:
    """A process's name and the fields of /proc/PID/stat after it."""
    head, tail = entry.joinpath("stat").read_text().rsplit(")", 1)
    return head.split("(", 1)[1], tail.split()


def start(name: str, argv: Sequence[str], log_dir: Path, env: dict[str, str] | None = None) -> Proc:
    log_path = log_dir / f"{name}.log"
    log = log_path.open("wb")
    popen = subprocess.Popen(
        list(argv),
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    return Proc(name, popen, log_path, log)


def http(
    url: str, body: dict[str, Any] | None = None, timeout: float = 5.0
) -> tuple[int, dict[str, str], bytes]:
    """One request to a loopback URL: (status, headers, body); connection failures raise OSError."""
    if not url.startswith(f"http://{LOOPBACK}:"):
        raise BenchError(f"refusing a non-loopback URL: {url}")
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def wait_ready(proc: Proc, url: str, body: dict[str, Any], timeout: float) -> dict[str, str]:
    """Poll until a chat request through ``url`` answers 200 with "ok"; return its headers.
    A process that does not get there is stopped."""
    ends = time.monotonic() + timeout
    last = "no answer yet"
    while time.monotonic() < ends:
        if not proc.alive():
            raise BenchError(
                f"{proc.name} exited with code {proc.popen.returncode}; its output:\n{proc.tail()}"
            )
        try:
            status, headers, raw = http(url, body, timeout=10)
        except OSError as exc:
            last = f"{type(exc).__name__}: {exc}"
        else:
            if status == 200 and b'"ok"' in raw:
                return headers
            last = f"HTTP {status}: {raw[:300]!r}"
        time.sleep(0.25)
    # The caller never gets this process to stop, so it is stopped here (with what it spawned).
    proc.stop()
    raise BenchError(
        f"{proc.name} not ready after {timeout:.0f} s ({last}); output:\n{proc.tail()}"
    )
