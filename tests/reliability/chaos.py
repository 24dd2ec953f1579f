"""Chaos harness: a real `rolecall serve` process over a scripted upstream, loaded by a real HTTP
client, killed or cut off mid-load; then the records it answered are counted in the database.

Used by tests/reliability (short runs) and bench/reliability.py (the long runs and the table).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from sqlalchemy import func, select

from rolecall.storage import open_storage
from rolecall.storage.sql_analytics_tables import REQUEST_FACTS
from rolecall.storage.sql_tables import USAGE_EVENTS

ROLECALL = [sys.executable, "-m", "rolecall"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class GatewayProcess:
    """`rolecall serve` in a child process of its own (its own process group, so a test can kill
    the gateway and its record writer together)."""

    tmp: Path
    upstream_url: str
    database_url: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    inventory: dict[str, Any] | None = None  # default: one endpoint, ep-fast
    port: int = field(default_factory=free_port)
    child: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return self.database_url or f"sqlite:///{self.tmp / 'data' / 'rolecall.db'}"

    def environment(self) -> dict[str, str]:
        config = self.tmp / "rolecall.yaml"
        inventory = self.inventory or {
            "providers": {
                "p": {"kind": "openai_compatible", "base_url": self.upstream_url, "local": False}
            },
            "endpoints": [{"provider": "p", "model": "fast", "id": "ep-fast"}],
        }
        config.write_text(yaml.safe_dump(inventory))
        return {
            **os.environ,
            "ROLECALL_CONFIG": str(config),
            "ROLECALL_DATA_DIR": str(self.tmp / "data"),
            "ROLECALL_DATABASE_URL": self.url,
            "ROLECALL_ADMIN_TOKEN": "rca-test",
            "ROLECALL_REQUIRE_API_KEY": "false",
            "ROLECALL_PORT": str(self.port),
            **self.env,
        }

    def start(self, timeout: float = 60.0) -> GatewayProcess:
        with (self.tmp / "gateway.log").open("ab") as log:  # the child keeps its own copy
            self.child = subprocess.Popen(
                [*ROLECALL, "serve"],
                env=self.environment(),
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while not self.healthy():
            if self.child.poll() is not None:
                raise RuntimeError(f"the gateway exited: {self.log()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the gateway did not start: {self.log()[-2000:]}")
            time.sleep(0.1)
        return self

    def healthy(self) -> bool:
        """Whether the gateway answers HTTP (its port is bound, and connections queue, before
        it serves)."""
        url = f"{self.base_url}/healthz"
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as reply:
            return bool(reply.status == 200)
        return False

    def log(self) -> str:
        return (self.tmp / "gateway.log").read_text(errors="replace")

    def writer_pid(self) -> int | None:
        """The record writer process (named "rolecall-writer"): a child of the forkserver the
        gateway started, or of the supervisor of several workers."""
        for pid in self.descendants():
            with contextlib.suppress(OSError):
                if Path(f"/proc/{pid}/comm").read_text().strip() == "rolecall-writer":
                    return pid
        return None

    def system(self) -> dict[str, Any]:
        """`/api/console/system` over a new connection (with several workers, the kernel picks
        which one answers)."""
        request = urllib.request.Request(
            f"{self.base_url}/api/console/system", headers={"authorization": "Bearer rca-test"}
        )
        with urllib.request.urlopen(request, timeout=10) as reply:
            body: dict[str, Any] = json.loads(reply.read())
        return body

    def descendants(self) -> dict[int, str]:
        """Every live process under the gateway's: pid → command line."""
        assert self.child is not None
        parents = {pid: _parent(pid) for pid in _pids()}
        found: dict[int, str] = {}
        frontier = [self.child.pid]
        while frontier:
            parent = frontier.pop()
            for pid, of in parents.items():
                if of == parent and pid not in found:
                    found[pid] = _cmdline(pid)
                    frontier.append(pid)
        return found

    def kill(self, *, group: bool = False) -> None:
        """kill -9 the gateway (with ``group``: and its record writer)."""
        assert self.child is not None
        if group:
            os.killpg(self.child.pid, signal.SIGKILL)
        else:
            self.child.kill()
        self.child.wait(timeout=10)

    def stop(self, timeout: float = 60.0) -> None:
        """SIGTERM and wait: a clean shutdown stores what is left."""
        if self.child is None or self.child.poll() is not None:
            return
        self.child.send_signal(signal.SIGTERM)
        try:
            self.child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.child.pid, signal.SIGKILL)
            self.child.wait()
        # the writer process outlives its gateway until it has stored what it read
        with contextlib.suppress(ProcessLookupError, PermissionError):
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                os.killpg(self.child.pid, 0)
                time.sleep(0.05)


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _parent(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


@dataclass
class LoadResult:
    tried: int = 0
    answered: list[str] = field(default_factory=list)  # request ids of 2xx answers, in order
    statuses: Counter[int] = field(default_factory=Counter)
    errors: int = 0  # connection errors (the gateway was killed, say)

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)


async def _load(
    base_url: str,
    *,
    concurrency: int,
    seconds: float,
    at: float | None,
    action: Callable[[], object] | None,
    stop_on_error: bool,
    answered: list[str] | None,
) -> LoadResult:
    result = LoadResult() if answered is None else LoadResult(answered=answered)
    deadline = time.monotonic() + seconds
    body = {"model": "ep-fast", "messages": [{"role": "user", "content": "hello"}]}
    stopped = asyncio.Event()

    async def worker(session: aiohttp.ClientSession) -> None:
        while time.monotonic() < deadline and not stopped.is_set():
            result.tried += 1
            try:
                async with session.post(f"{base_url}/v1/chat/completions", json=body) as reply:
                    await reply.read()
                    result.statuses[reply.status] += 1
                    if reply.status == 200:
                        result.answered.append(reply.headers["x-rolecall-request-id"])
            except (TimeoutError, aiohttp.ClientError):
                result.errors += 1
                if stop_on_error:
                    stopped.set()
                else:
                    await asyncio.sleep(0.05)

    async def chaos() -> None:
        if at is not None and action is not None:
            await asyncio.sleep(at)
            await asyncio.to_thread(action)

    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        await asyncio.gather(chaos(), *(worker(session) for _ in range(concurrency)))
    return result


def load(
    base_url: str,
    *,
    concurrency: int = 16,
    seconds: float = 8.0,
    at: float | None = None,
    action: Callable[[], object] | None = None,
    stop_on_error: bool = False,
    answered: list[str] | None = None,
) -> LoadResult:
    """Send chat completions for ``seconds`` at ``concurrency``; run ``action`` at ``at`` s
    (in a thread; ``answered``, when given, is the list the answers go to as they come)."""
    return asyncio.run(
        _load(
            base_url,
            concurrency=concurrency,
            seconds=seconds,
            at=at,
            action=action,
            stop_on_error=stop_on_error,
            answered=answered,
        )
    )


@dataclass(frozen=True)
class RecordCount:
    expected: int
    stored: int  # answered requests with a record
    duplicated: int  # usage events beyond one per request

    @property
    def lost(self) -> int:
        return self.expected - self.stored


def count_records(url: str, answered: list[str]) -> RecordCount:
    """How many of the ``answered`` requests have their records stored, and duplicates."""
    storage = open_storage(url, migrate=False)
    try:
        with storage.engine.connect() as connection:
            facts = {r[0] for r in connection.execute(select(REQUEST_FACTS.c.request_id))}
            per_request = connection.execute(
                select(USAGE_EVENTS.c.request_id, func.count())
                .group_by(USAGE_EVENTS.c.request_id)
                .having(func.count() > 1)
            ).all()
    finally:
        storage.close()
    duplicated = sum(int(n) - 1 for _, n in per_request)
    return RecordCount(len(answered), len(set(answered) & facts), duplicated)


@contextlib.contextmanager
def scripted_upstream(latency_ms: int = 2) -> Iterator[Any]:
    from rolecall.providers.scripted import ScriptedUpstream

    handle = ScriptedUpstream.start_in_thread(
        {"models": {"fast": {"answer": "hello there", "latency_ms": latency_ms}}}
    )
    try:
        yield handle
    finally:
        handle.stop()
