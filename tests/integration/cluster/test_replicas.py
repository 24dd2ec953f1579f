"""Two `rolecall serve` replicas and CLI processes on one PostgreSQL and one Redis behave as one
gateway: what one changes, the other routes on within a second; background work fails over.

Each replica has its own data directory (as on two hosts); they share only the database and
Redis. Everything is real: processes, HTTP on loopback, PostgreSQL, Redis, a scripted upstream.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rolecall.storage import open_storage
from tests.integration.cluster.harness import (
    ADMIN,
    WITHIN_S,
    call,
    chat,
    cooling,
    inventory,
    redis_up,
    upstream,
    within,
)
from tests.reliability.chaos import ROLECALL, GatewayProcess

__all__ = ["redis_up", "upstream"]  # fixtures

# one process per replica, so that "the replica" is one process (several workers per replica
# are tested in tests/integration/gateway/test_workers.py)
ONE_WORKER = {"ROLECALL_WORKERS": "1"}


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
                inventory=inventory(upstream.base_url),
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
    env = {"ROLECALL_COOLDOWN_SCALE": "0.05", **ONE_WORKER}
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
    started = _start_two(tmp_path, upstream, pg_url, {"ROLECALL_REDIS_URL": redis_up, **ONE_WORKER})
    try:
        yield started[0], started[1]
    finally:
        for replica in started:
            replica.stop()


def _chosen(replica: GatewayProcess) -> str:
    reply = chat(replica, "default.decision-only")
    assert reply.status_code == 200, reply.text
    return str(reply.json()["decision"]["chosen_endpoint_id"])


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
    assert "ep-locked" not in cooling(b)
    failed = chat(a, "ep-locked")  # the upstream refuses the credentials: cooldown at once
    assert failed.status_code >= 400
    within(lambda: "ep-locked" in cooling(a))  # every worker of A, too
    within(lambda: "ep-locked" in cooling(b))


def test_a_revoked_key_is_refused_by_every_replica(
    tmp_path: Path, pg_url: str, redis_up: str, upstream: Any
) -> None:
    env = {"ROLECALL_REDIS_URL": redis_up, "ROLECALL_REQUIRE_API_KEY": "true", **ONE_WORKER}
    a, b = _start_two(tmp_path, upstream, pg_url, env)
    try:
        _revoke_through_the_cli_and_the_api(a, b)
    finally:
        a.stop()
        b.stop()


def _revoke_through_the_cli_and_the_api(a: GatewayProcess, b: GatewayProcess) -> None:
    key = _cli(a, "keys", "create", "ci").strip()
    within(lambda: chat(a, "ep-b", key).status_code == chat(b, "ep-b", key).status_code == 200)
    listed = _cli(a, "keys", "list").splitlines()
    key_id = next(line.split("\t")[0] for line in listed if "\tci\t" in line)
    _cli(a, "keys", "revoke", key_id)
    within(lambda: chat(a, "ep-b", key).status_code == chat(b, "ep-b", key).status_code == 401)
    # and through replica A's admin API
    created = call("POST", f"{a.base_url}/api/keys", {"name": "api"}, ADMIN)
    assert created.status_code == 201, created.text
    key, key_id = created.json()["key"], created.json()["key_id"]
    within(lambda: chat(a, "ep-b", key).status_code == chat(b, "ep-b", key).status_code == 200)
    assert call("DELETE", f"{a.base_url}/api/keys/{key_id}", headers=ADMIN).status_code == 200
    within(lambda: chat(b, "ep-b", key).status_code == 401)


def _excluded(replica: GatewayProcess) -> set[str]:
    reply = chat(replica, "default.decision-only")
    assert reply.status_code == 200, reply.text
    eligibility = reply.json()["decision"]["eligibility"]
    return {e["endpoint_id"] for e in eligibility if e.get("exclusions")}


def _posture_reaches_the_other(a: GatewayProcess, b: GatewayProcess) -> None:
    assert "ep-b" not in _excluded(b)
    body = {"execution_scope": "local_only"}
    saved = call("PUT", f"{a.base_url}/api/console/posture", body, ADMIN)
    assert saved.status_code == 200, saved.text
    within(lambda: "ep-b" in _excluded(b))  # a remote endpoint
    posture = call("GET", f"{b.base_url}/api/console/posture", headers=ADMIN).json()["posture"]
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
    quality = call("PUT", f"{a.base_url}/api/console/posture", {"strategy": "quality"}, ADMIN)
    assert quality.status_code == 200, quality.text
    # with nothing measured, the local endpoint wins on the declared evidence
    within(lambda: _chosen(a) == _chosen(b) == "ep-a")
    suite = _suite(a.tmp / "sentiment.jsonl")
    _cli(
        a, "bench", "run", "--full", "--suite", str(suite), "--endpoints", "ep-a,ep-b", "--no-judge"
    )
    # the benchmark measured ep-b right and ep-a wrong: both replicas now choose ep-b
    within(lambda: _chosen(a) == "ep-b", 5.0)
    within(lambda: _chosen(b) == "ep-b", WITHIN_S)
    with_evidence = chat(b, "default.decision-only").json()["decision"]
    assert "MEASURED_PROFILE_USED" in with_evidence["selection_reasons"]


def _leader(replica: GatewayProcess) -> bool:
    try:
        reply = call("GET", f"{replica.base_url}/readyz")
    except OSError:
        return False
    return bool(reply.json()["node"]["leader"])


def _background_work_fails_over(a: GatewayProcess, b: GatewayProcess) -> None:
    within(lambda: _leader(a) != _leader(b), 10.0)
    leader, follower = (a, b) if _leader(a) else (b, a)
    follower_origin = call("GET", f"{follower.base_url}/readyz").json()["node"]["origin"]
    leader.kill(group=True)
    took = within(lambda: _leader(follower), 30.0)
    storage = open_storage(follower.url, migrate=False)
    try:
        ran = lambda: any(r.owner == follower_origin for r in storage.job_runs.all())  # noqa: E731
        within(ran, 30.0 - took)
    finally:
        storage.close()
