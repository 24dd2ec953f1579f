"""One llama.cpp OpenAI-compatible server process for one local model, on loopback.

:class:`LocalServer` spawns ``python -m llama_cpp.server`` (from the optional ``local`` extra) with
its output appended to ``<data_dir>/local/<name>.log``, waits until ``GET /v1/models`` answers and
records the cold start (milliseconds from spawn to healthy). It knows nothing about restarts: the
supervisor owns that. Health checks and the speed probe use the standard library only.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO, Any

from rolecall.errors import RolecallError
from rolecall.providers.local.models import LocalModel

HOST = "127.0.0.1"
SPEED_PROMPT = "Write a long story about a lighthouse keeper and a storm."
# what the speed probe of an embedding model embeds: a batch of sentences of everyday length
SPEED_TEXTS = [
    f"Sentence {i}: the lighthouse keeper watched the storm roll in over the grey sea."
    for i in range(16)
]


class LocalServerError(RolecallError):
    """A local model server could not be started or did not become healthy."""


def free_port() -> int:
    """A currently free TCP port on loopback (for tests and ``port=0``)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def default_threads(server_count: int) -> int:
    """Split the CPU cores between the servers (at least one thread each)."""
    return max(1, (os.cpu_count() or 1) // max(1, server_count))


class LocalServer:
    """Start, health-check and stop one ``llama_cpp.server`` subprocess."""

    def __init__(
        self,
        model: LocalModel,
        model_path: Path,
        *,
        port: int,
        log_dir: Path,
        n_threads: int = 1,
        python: str = sys.executable,
    ) -> None:
        self.model = model
        self.model_path = model_path
        self.port = port or free_port()
        self.log_path = log_dir / f"{model.name}.log"
        self.n_threads = n_threads
        self.python = python
        self.process: subprocess.Popen[bytes] | None = None
        self.cold_start_ms: float | None = None
        self._spawned_at = 0.0

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}/v1"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def command(self) -> list[str]:
        command = [self.python, "-m", "llama_cpp.server", "--model", str(self.model_path)]
        command += ["--host", HOST, "--port", str(self.port), "--model_alias", self.name]
        command += ["--n_ctx", str(self.model.context_window), "--n_threads", str(self.n_threads)]
        if self.model.chat_format:
            command += ["--chat_format", self.model.chat_format]
        if self.model.kind == "embedding":  # answers /v1/embeddings (and no chat)
            command += ["--embedding", "True"]
        # by default the server cuts the running request when a new one arrives: the client of the
        # first then sees its stream end without a finish reason. Requests queue instead.
        command += ["--interrupt_requests", "False"]
        return command

    def start(self) -> None:
        """Spawn the process (in its own session, so a terminal's Ctrl-C reaches only us)."""
        if self.running():
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
        with self.log_path.open("ab") as log:
            log.write(f"\n=== {stamp} starting: {' '.join(self.command())}\n".encode())
            self._spawned_at = time.monotonic()
            self.process = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.cold_start_ms = None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def healthy(self, timeout: float = 1.0) -> bool:
        return is_healthy(self.base_url, timeout)

    def wait_healthy(self, timeout: float = 120.0) -> float:
        """Block until healthy; return the cold start in ms. Raise if it exits or times out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                code = None if self.process is None else self.process.returncode
                raise LocalServerError(self._failure(f"exited with code {code} while starting"))
            if self.healthy(timeout=0.5):
                self.cold_start_ms = round((time.monotonic() - self._spawned_at) * 1000, 1)
                return self.cold_start_ms
            time.sleep(0.05)
        raise LocalServerError(self._failure(f"not healthy after {timeout:.0f} s"))

    def _failure(self, what: str) -> str:
        return (
            f"local server {self.name} on port {self.port} {what}; last log lines:\n"
            f"{self.log_tail()}\nsee {self.log_path} (is llama-cpp-python[server] installed? "
            f"`pip install 'rolecall[local]'`; is port {self.port} free?)"
        )

    def log_tail(self, lines: int = 8) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)


def is_healthy(base_url: str, timeout: float = 1.0) -> bool:
    """``GET {base_url}/models`` answers 200."""
    try:
        with urllib.request.urlopen(f"{base_url}/models", timeout=timeout) as response:
            return int(response.status) == 200
    except (OSError, urllib.error.URLError):
        return False


def measure_tokens_per_sec(base_url: str, model: str, max_tokens: int = 64) -> float:
    """Completion tokens per second of one chat completion, after a one-token warm-up.

    End to end (prompt processing included), so it is what a caller gets and a fair basis for a
    price per token; the decode rate alone is a little higher.
    """
    body = {
        "model": model,
        "messages": [{"role": "user", "content": SPEED_PROMPT}],
        "max_tokens": 1,
        "temperature": 0,
    }
    _post_json(f"{base_url}/chat/completions", body, timeout=120.0)
    body["max_tokens"] = max_tokens
    started = time.monotonic()
    reply = _post_json(f"{base_url}/chat/completions", body, timeout=120.0)
    elapsed = time.monotonic() - started
    tokens = int(reply.get("usage", {}).get("completion_tokens", 0))
    if tokens <= 0:
        raise LocalServerError(f"{model} at {base_url} returned no completion tokens: {reply}")
    return round(tokens / elapsed, 1)


def measure_embedding_tokens_per_sec(base_url: str, model: str) -> float:
    """Input tokens per second of one embeddings call on `SPEED_TEXTS`, after a one-text
    warm-up (what an embedding's price per token is spread over)."""
    _post_json(f"{base_url}/embeddings", {"model": model, "input": SPEED_TEXTS[:1]}, 120.0)
    started = time.monotonic()
    reply = _post_json(f"{base_url}/embeddings", {"model": model, "input": SPEED_TEXTS}, 120.0)
    elapsed = time.monotonic() - started
    tokens = int(reply.get("usage", {}).get("prompt_tokens", 0))
    if tokens <= 0:
        raise LocalServerError(f"{model} at {base_url} counted no input tokens: {reply}")
    return round(tokens / elapsed, 1)


def _post_json(url: str, body: dict[str, Any], timeout: float) -> dict[str, Any]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        reply: IO[bytes] = response
        data = json.loads(reply.read())
    if not isinstance(data, dict):
        raise LocalServerError(f"unexpected reply from {url}: {data!r}")
    return data
