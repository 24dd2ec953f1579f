"""Keep a set of local model servers running: restart on exit, report state, persist the set.

A :class:`Supervisor` runs one watcher thread per :class:`LocalServer`. A server that exits (or
fails to become healthy) is marked ``offline`` and restarted after an exponential backoff, up to
``RestartPolicy.max_restarts`` consecutive failures; ``on_state(name, state)`` lets the gateway
mark the endpoint offline and online again. The running set (name, port, pid, state, ...) and the
supervisor's own pid are written to ``<data_dir>/local/state.json`` after every change, so that
``rolecall local status`` and ``down`` in another process can find them.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from rolecall.providers.local.models import resolve_names
from rolecall.providers.local.pull import pull
from rolecall.providers.local.server import (
    HOST,
    LocalServer,
    LocalServerError,
    default_threads,
    is_healthy,
    measure_embedding_tokens_per_sec,
    measure_tokens_per_sec,
)

ServerState = Literal["starting", "healthy", "offline", "restarting"]
StateCallback = Callable[[str, ServerState], None]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RestartPolicy:
    max_restarts: int = 5  # consecutive failures before giving up
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    startup_timeout_s: float = 120.0
    reset_after_s: float = 60.0  # healthy this long: the failure count starts again

    def delay(self, failures: int) -> float:
        return float(min(self.backoff_max_s, self.backoff_initial_s * 2 ** max(0, failures - 1)))


@dataclass(frozen=True)
class ServerStatus:
    name: str
    port: int
    pid: int | None
    state: ServerState
    restarts: int
    cold_start_ms: float | None
    base_url: str
    tokens_per_sec: float | None
    gave_up: bool
    log_path: str


@dataclass
class _Watched:
    server: LocalServer
    state: ServerState = "starting"
    restarts: int = 0
    tokens_per_sec: float | None = None
    gave_up: bool = False
    thread: threading.Thread | None = field(default=None, repr=False)


class Supervisor:
    """Run, watch and restart local servers; thread-safe ``status()``."""

    def __init__(
        self,
        servers: list[LocalServer],
        *,
        state_file: Path | None = None,
        policy: RestartPolicy | None = None,
        on_state: StateCallback | None = None,
        measure_speed: bool = False,
    ) -> None:
        self._watched = {server.name: _Watched(server) for server in servers}
        self.state_file = state_file
        self.policy = policy or RestartPolicy()
        self.on_state = on_state
        self.measure_speed = measure_speed
        self._stopping = threading.Event()
        self._changed = threading.Condition()

    def __enter__(self) -> Supervisor:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, *, wait: bool = True, timeout: float | None = None) -> list[ServerStatus]:
        """Start every server; with ``wait``, block until each is healthy or given up."""
        for watched in self._watched.values():
            thread = threading.Thread(
                target=self._watch, args=(watched,), name=f"local-{watched.server.name}"
            )
            watched.thread = thread
            thread.daemon = True
            thread.start()
        if wait:
            self.wait_settled(timeout)
        return self.status()

    def wait_settled(self, timeout: float | None = None) -> bool:
        """Wait until every server is healthy or has been given up; False on timeout."""

        def settled() -> bool:
            return all(w.state == "healthy" or w.gave_up for w in self._watched.values())

        with self._changed:
            return self._changed.wait_for(settled, timeout)

    def wait_for_state(self, name: str, state: ServerState, timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self._watched[name].state == state, timeout)

    def status(self) -> list[ServerStatus]:
        with self._changed:
            return [self._status(w) for w in self._watched.values()]

    def server(self, name: str) -> LocalServer:
        return self._watched[name].server

    def stop(self) -> None:
        """Stop watching, terminate every server and remove the state file."""
        self._stopping.set()
        for watched in self._watched.values():
            watched.server.stop()
        for watched in self._watched.values():
            if watched.thread is not None:
                watched.thread.join(timeout=30)
            watched.server.stop()
            self._set_state(watched, "offline", persist=False)
        if self.state_file is not None:
            self.state_file.unlink(missing_ok=True)

    @staticmethod
    def _status(w: _Watched) -> ServerStatus:
        server = w.server
        return ServerStatus(
            name=server.name,
            port=server.port,
            pid=server.pid if server.running() else None,
            state=w.state,
            restarts=w.restarts,
            cold_start_ms=server.cold_start_ms,
            base_url=server.base_url,
            tokens_per_sec=w.tokens_per_sec,
            gave_up=w.gave_up,
            log_path=str(server.log_path),
        )

    def _watch(self, w: _Watched) -> None:
        failures = 0
        while not self._stopping.is_set():
            healthy_since = self._run_once(w)
            if self._stopping.is_set():
                return
            self._set_state(w, "offline")
            lasted = 0.0 if healthy_since is None else time.monotonic() - healthy_since
            failures = 1 if lasted >= self.policy.reset_after_s else failures + 1
            if failures > self.policy.max_restarts:
                w.gave_up = True
                log.error("local server %s failed %d times; giving up", w.server.name, failures)
                self._set_state(w, "offline")
                return
            if self._stopping.wait(self.policy.delay(failures)):
                return
            w.restarts += 1
            self._set_state(w, "restarting")

    def _run_once(self, w: _Watched) -> float | None:
        """Start the server and wait for it to exit; return when it became healthy (or None)."""
        try:
            w.server.start()
            self._set_state(w, w.state)  # persist the new pid
            w.server.wait_healthy(self.policy.startup_timeout_s)
        except LocalServerError as exc:
            if not self._stopping.is_set():
                log.warning("%s", exc)
            w.server.stop()
            return None
        self._measure(w)  # before "healthy", so that up() returns with the figure
        healthy_since = time.monotonic()
        self._set_state(w, "healthy")
        while w.server.running() and not self._stopping.wait(0.1):
            pass
        return healthy_since

    def _measure(self, w: _Watched) -> None:
        if not self.measure_speed or w.tokens_per_sec is not None:
            return
        embedding = w.server.model.kind == "embedding"
        measure = measure_embedding_tokens_per_sec if embedding else measure_tokens_per_sec
        try:
            w.tokens_per_sec = measure(w.server.base_url, w.server.name)
        except (OSError, ValueError, LocalServerError) as exc:
            log.warning("could not measure %s: %s", w.server.name, exc)

    def _set_state(self, w: _Watched, state: ServerState, *, persist: bool = True) -> None:
        with self._changed:
            changed = w.state != state
            w.state = state
            if persist:
                self._persist()
            self._changed.notify_all()
        if changed and self.on_state is not None:
            try:
                self.on_state(w.server.name, state)
            except Exception:  # a broken callback must not kill the watcher
                log.exception("on_state callback failed for %s", w.server.name)

    def _persist(self) -> None:
        if self.state_file is None:
            return
        data = {
            "supervisor_pid": os.getpid(),
            "updated_at": time.time(),
            "servers": [asdict(self._status(w)) for w in self._watched.values()],
        }
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_name(f".{self.state_file.name}.tmp-{os.getpid()}")
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        tmp.replace(self.state_file)


def state_path(data_dir: Path) -> Path:
    return data_dir / "local" / "state.json"


def read_state(data_dir: Path) -> dict[str, Any] | None:
    """The persisted running set, or None when nothing was started (or the file is unreadable)."""
    try:
        data = json.loads(state_path(data_dir).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def pid_alive(pid: int | None, needle: str | None = None) -> bool:
    """The process exists (and, on Linux, its command line contains ``needle``)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    cmdline = Path(f"/proc/{pid}/cmdline")
    if needle is None or not cmdline.exists():
        return True
    return needle in cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")


def up(
    names: list[str] | None,
    *,
    data_dir: Path,
    cache_dir: Path | None = None,
    ports: dict[str, int] | None = None,
    n_threads: int | None = None,
    on_state: StateCallback | None = None,
    policy: RestartPolicy | None = None,
    measure_speed: bool = True,
) -> Supervisor:
    """Pull (if needed) and start the named models (all by default); the caller must ``stop()``."""
    other = (read_state(data_dir) or {}).get("supervisor_pid")
    if isinstance(other, int) and other != os.getpid() and pid_alive(other, "rolecall"):
        raise LocalServerError(
            f"local models are already running (supervisor pid {other}); "
            "run `rolecall local down` first"
        )
    models = resolve_names(names)
    paths = {model.name: pull(model, cache_dir) for model in models}
    threads = n_threads or default_threads(len(models))
    chosen = ports or {}
    servers = [
        LocalServer(
            model,
            paths[model.name],
            port=chosen.get(model.name, model.default_port),
            log_dir=data_dir / "local",
            n_threads=threads,
        )
        for model in models
    ]
    supervisor = Supervisor(
        servers,
        state_file=state_path(data_dir),
        policy=policy,
        on_state=on_state,
        measure_speed=measure_speed,
    )
    supervisor.start(wait=True)
    return supervisor


def down(data_dir: Path, timeout: float = 15.0) -> list[str]:
    """Stop what ``up`` started (in any process): the supervisor first, then stray servers."""
    state = read_state(data_dir)
    if state is None:
        return []
    stopped: list[str] = []
    supervisor_pid = state.get("supervisor_pid")
    if (
        isinstance(supervisor_pid, int)
        and supervisor_pid != os.getpid()
        and pid_alive(supervisor_pid, "rolecall")
    ):
        _terminate(supervisor_pid, timeout)
        stopped.append(f"supervisor (pid {supervisor_pid})")
    for server in state.get("servers", []):
        pid = server.get("pid")
        if pid_alive(pid, "llama_cpp.server"):
            _terminate(int(pid), timeout)
            stopped.append(f"{server.get('name')} (pid {pid}, port {server.get('port')})")
    state_path(data_dir).unlink(missing_ok=True)
    return stopped


def _terminate(pid: int, timeout: float) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and pid_alive(pid):
            time.sleep(0.1)
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return


def probe(data_dir: Path) -> list[dict[str, Any]]:
    """The persisted servers, each with ``alive`` and ``healthy`` checked now (for ``status``)."""
    state = read_state(data_dir) or {}
    rows: list[dict[str, Any]] = []
    for server in state.get("servers", []):
        row = dict(server)
        row["alive"] = pid_alive(row.get("pid"), "llama_cpp.server")
        row["healthy"] = row["alive"] and is_healthy(f"http://{HOST}:{row.get('port')}/v1")
        rows.append(row)
    return rows
