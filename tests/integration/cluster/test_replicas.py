"""Two `rolecall serve` replicas and CLI processes on one PostgreSQL and one Redis behave as one
gateway: what one changes, the other routes on within a second; background work fails over.

Each replica has its own data directory (as on two hosts); they share only the database and
Redis. Everything is real: processes, HTTP on loopback, PostgreSQL, Redis, a scripted upstream.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from rolecall.storage import open_storage
from tests.reliability.chaos import ROLECALL, GatewayProcess

ADMIN = {"authorization": "Bearer rca-test"}
WITHIN_S = 1.0
REDIS_URL = "redis://127.0.0.1:6379/0"
SCRIPT = {
    "models": {
        "fast": {"answer": "negative", "latency_ms": 1},
        "strong": {"answer": "positive", "latency_ms": 1},
        "locked": {"answer": "-", "fail": {"kind": "status", "status": 401}},
    }
}


def _inventory(upstream_url: str) -> dict[str, Any]:
    provider = {"kind": "openai_compatible", "base_url": upstream_url}
    return {
        "providers": {"near": {**provider, "local": True}, "far": {**provider, "local": False}},
        "endpoints": [
            {"provider": "near", "model": "fast", "id": "ep-a"},
            {"provider": "far", "model": "strong", "id": "ep-b"},
            {"provider": "far", "model": "locked", "id": "ep-locked"},
        ],
    }


@pytest.fixture(scope="module")
def redis_up() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Redis not reachable at {REDIS_URL}: {exc}")
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    return REDIS_URL


@pytest.fixture
def upstream() -> Iterator[Any]:
    from rolecall.providers.scripted import ScriptedUpstream

    handle = ScriptedUpstream.start_in_thread(SCRIPT)
    try:
        yield handle
    finally:
        handle.stop()


def _start_two(
    tmp_path: Path, upstream: Any, database_url: str | None, env: dict[str, str]
) -> list[GatewayProcess]:
    """Two gateways: on SQLite they share one data directory (workers of one host), else each
    has its own (replicas on two hosts)."""
    started: list[GatewayProcess] = []
    try:
        for name in ("a", "b"):
            home = tmp_path if database_url is None else tmp_path / name
            home.mkdir(exist_ok=True)
            replica = GatewayProcess(
                home,
                upstream.base_url,
                database_url=database_url,
                inventory=_inventory(upstream.base_url),
                env=env,
            )
            started.append(replica.start())
    except BaseException:
        for replica in started:
            replica.stop()
        raise
    return started


@pytest.fixture(params=["postgresql+redis", "postgresql", "sqlite"])
def backend(request: pytest.FixtureRequest) -> tuple[str | None, dict[str, str]]:
    """(database URL, environment) of each way to share state: Redis wake-ups, PostgreSQL's
    LISTEN/NOTIFY, polling SQLite."""
    env = {"ROLECALL_COOLDOWN_SCALE": "0.05"}
    if request.param == "sqlite":
        return None, env
    url: str = request.getfixturevalue("pg_url")
    if request.param == "postgresql+redis":
        env["ROLECALL_REDIS_URL"] = request.getfixturevalue("redis_up")
    return url, env


@pytest.fixture
def replicas(
    tmp_path: Path, backend: tuple[str | None, dict[str, str]], upstream: Any
) -> Iterator[tuple[GatewayProcess, GatewayProcess]]:
    started = _start_two(tmp_path, upstream, *backend)
    try:
        yield started[0], started[1]
    finally:
        for replica in started:
            replica.stop()


@pytest.fixture
def redis_replicas(
    tmp_path: Path, pg_url: str, redis_up: str, upstream: Any
) -> Iterator[tuple[GatewayProcess, GatewayProcess]]:
    started = _start_two(tmp_path, upstream, pg_url, {"ROLECALL_REDIS_URL": redis_up})
    try:
        yield started[0], started[1]
    finally:
        for replica in started:
            replica.stop()


class Reply:
    def __init__(self, status: int, raw: bytes) -> None:
        self.status_code = status
        self.text = raw.decode(errors="replace")

    def json(self) -> Any:
        return json.loads(self.text)


def _call(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> Reply:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data, method=method, headers=headers or {})
    request.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return Reply(response.status, response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return Reply(exc.code, exc.read())


def _within(check: Callable[[], bool], seconds: float = WITHIN_S) -> float:
    """Seconds until ``check()`` held; fails when it did not within ``seconds``."""
    start = time.monotonic()
    while True:
        if check():
            return time.monotonic() - start
        if time.monotonic() - start > seconds:
            pytest.fail(f"not within {seconds} s")
        time.sleep(0.02)


def _chat(replica: GatewayProcess, model: str, key: str | None = None) -> Reply:
    headers = {} if key is None else {"authorization": f"Bearer {key}"}
    body = {"model": model, "messages": [{"role": "user", "content": "Sentiment of 'great'?"}]}
    return _call("POST", f"{replica.base_url}/v1/chat/completions", body, headers)


def _chosen(replica: GatewayProcess) -> str:
    reply = _chat(replica, "default.decision-only")
    assert reply.status_code == 200, reply.text
    return str(reply.json()["decision"]["chosen_endpoint_id"])


def _cooling(replica: GatewayProcess) -> set[str]:
    reply = _call("GET", f"{replica.base_url}/api/cooldowns", headers=ADMIN)
    assert reply.status_code == 200, reply.text
    return {c["endpoint_id"] for c in reply.json()["data"] if c["active"]}


def _cli(replica: GatewayProcess, *args: str, timeout: float = 120) -> str:
    done = subprocess.run(
        [*ROLECALL, *args],
        env={**replica.environment(), "ROLECALL_DATA_DIR": str(replica.tmp / "cli")},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_two_processes_route_as_one_gateway(
    replicas: tuple[GatewayProcess, GatewayProcess],
) -> None:
    """A cooldown entered on A and a posture saved through A reach B within a second; killing
    the process that leads background work moves it to the other within 30 s."""
    a, b = replicas
    _cooldown_reaches_the_other(a, b)
    _posture_reaches_the_other(a, b)
    _background_work_fails_over(a, b)


def _cooldown_reaches_the_other(a: GatewayProcess, b: GatewayProcess) -> None:
    assert "ep-locked" not in _cooling(b)
    failed = _chat(a, "ep-locked")  # the upstream refuses the credentials: cooldown at once
    assert failed.status_code >= 400
    assert "ep-locked" in _cooling(a)
    _within(lambda: "ep-locked" in _cooling(b))


def test_a_revoked_key_is_refused_by_every_replica(
    tmp_path: Path, pg_url: str, redis_up: str, upstream: Any
) -> None:
    env = {"ROLECALL_REDIS_URL": redis_up, "ROLECALL_REQUIRE_API_KEY": "true"}
    a, b = _start_two(tmp_path, upstream, pg_url, env)
    try:
        _revoke_through_the_cli(a, b)
    finally:
        a.stop()
        b.stop()


def _revoke_through_the_cli(a: GatewayProcess, b: GatewayProcess) -> None:
    key = _cli(a, "keys", "create", "ci").strip()
    _within(lambda: _chat(a, "ep-b", key).status_code == _chat(b, "ep-b", key).status_code == 200)
    listed = _cli(a, "keys", "list").splitlines()
    key_id = next(line.split("\t")[0] for line in listed if "\tci\t" in line)
    _cli(a, "keys", "revoke", key_id)
    _within(lambda: _chat(a, "ep-b", key).status_code == _chat(b, "ep-b", key).status_code == 401)


def _excluded(replica: GatewayProcess) -> set[str]:
    reply = _chat(replica, "default.decision-only")
    assert reply.status_code == 200, reply.text
    eligibility = reply.json()["decision"]["eligibility"]
    return {e["endpoint_id"] for e in eligibility if e.get("exclusions")}


def _posture_reaches_the_other(a: GatewayProcess, b: GatewayProcess) -> None:
    assert "ep-b" not in _excluded(b)
    body = {"execution_scope": "local_only"}
    saved = _call("PUT", f"{a.base_url}/api/console/posture", body, ADMIN)
    assert saved.status_code == 200, saved.text
    _within(lambda: "ep-b" in _excluded(b))  # a remote endpoint
    posture = _call("GET", f"{b.base_url}/api/console/posture", headers=ADMIN).json()["posture"]
    assert posture == saved.json()["posture"]


def _suite(path: Path) -> Path:
    case = {
        "task": "text.classification",
        "source": "test",
        "license": "CC0-1.0",
        "max_tokens": 4,
        "bucket": "easy",
        "messages": [{"role": "user", "content": "Sentiment of 'great'?"}],
        "reference": "positive",
        "grader": "exact",
    }
    path.write_text("".join(json.dumps({**case, "id": f"c{i}"}) + "\n" for i in range(6)))
    return path


def test_a_cli_benchmark_changes_every_replicas_decisions(
    redis_replicas: tuple[GatewayProcess, GatewayProcess],
) -> None:
    a, b = redis_replicas
    quality = _call("PUT", f"{a.base_url}/api/console/posture", {"strategy": "quality"}, ADMIN)
    assert quality.status_code == 200, quality.text
    # with nothing measured, the local endpoint wins on the declared evidence
    _within(lambda: _chosen(a) == _chosen(b) == "ep-a")
    suite = _suite(a.tmp / "sentiment.jsonl")
    _cli(
        a, "bench", "run", "--full", "--suite", str(suite), "--endpoints", "ep-a,ep-b", "--no-judge"
    )
    # the benchmark measured ep-b right and ep-a wrong: both replicas now choose ep-b
    _within(lambda: _chosen(a) == "ep-b", 5.0)
    _within(lambda: _chosen(b) == "ep-b", WITHIN_S)
    with_evidence = _chat(b, "default.decision-only").json()["decision"]
    assert "MEASURED_PROFILE_USED" in with_evidence["selection_reasons"]


def _leader(replica: GatewayProcess) -> bool:
    try:
        reply = _call("GET", f"{replica.base_url}/readyz")
    except OSError:
        return False
    return bool(reply.json()["node"]["leader"])


def _background_work_fails_over(a: GatewayProcess, b: GatewayProcess) -> None:
    _within(lambda: _leader(a) != _leader(b), 10.0)
    leader, follower = (a, b) if _leader(a) else (b, a)
    follower_origin = _call("GET", f"{follower.base_url}/readyz").json()["node"]["origin"]
    leader.kill(group=True)
    took = _within(lambda: _leader(follower), 30.0)
    storage = open_storage(follower.url, migrate=False)
    try:
        ran = lambda: any(r.owner == follower_origin for r in storage.job_runs.all())  # noqa: E731
        _within(ran, 30.0 - took)
    finally:
        storage.close()
