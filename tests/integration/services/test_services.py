"""The composition root: `build_services` on a tmp config and SQLite file, the services' start
and stop, saved operator overrides applied at build, and the served app on a real socket."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from rolecall.bootstrap import build_services
from rolecall.errors import ConfigError
from rolecall.execution.cooldown import Cooldown
from rolecall.operator import Posture
from rolecall.services import Services
from rolecall.settings import Settings
from rolecall.storage import open_storage
from tests.integration.gateway.harness import Gateway

INVENTORY: dict[str, Any] = {
    "providers": {
        "home": {"kind": "openai_compatible", "base_url": "http://127.0.0.1:9/v1", "local": True},
        "cloud": {"kind": "openai_compatible", "base_url": "http://127.0.0.1:9/v1", "local": False},
    },
    "endpoints": [
        {"provider": "home", "model": "small", "id": "local"},
        {"provider": "cloud", "model": "large", "id": "remote"},
    ],
}
FAR_FUTURE_MS = 4_000_000_000_000


def settings_for(tmp_path: Path) -> Settings:
    config = tmp_path / "rolecall.yaml"
    config.write_text(yaml.safe_dump(INVENTORY))
    data = tmp_path / "data"
    return Settings(
        config=config,
        data_dir=data,
        database_url=f"sqlite:///{data / 'rolecall.db'}",
        admin_token="rca-services-test-token",
        record_process=False,
    )


def save_overrides(tmp_path: Path, data: Any) -> None:
    path = tmp_path / "data" / "console" / "overrides.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)


def serve(services: Services, during: Callable[[], Awaitable[None]] | None = None) -> None:
    """Start the services, run ``during`` inside the loop, stop them: one event loop."""

    async def lifespan() -> None:
        await services.start()
        try:
            if during is not None:
                await during()
        finally:
            await services.stop()

    asyncio.run(lifespan())


def open_fds_on(path: Path) -> int:
    target = str(path.resolve())
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith(target):
                count += 1
        except OSError:
            continue
    return count


def test_start_opens_upstreams_and_runs_start_hooks_after(tmp_path: Path) -> None:
    services = build_services(settings_for(tmp_path))
    seen: list[str] = []

    async def hook() -> None:
        services.upstreams.adapter("openai_compatible")  # the session is open by now
        seen.append("started")

    services.lifecycle.on_start.append(hook)
    with pytest.raises(RuntimeError, match="not open yet"):
        services.upstreams.adapter("openai_compatible")
    serve(services)
    assert seen == ["started"]
    with pytest.raises(RuntimeError, match="not open yet"):
        services.upstreams.adapter("openai_compatible")


def test_stop_runs_every_stop_callback_even_when_one_raises(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(tmp_path)
    services = build_services(settings)
    calls: list[str] = []

    def broken() -> None:
        calls.append("broken")
        raise OSError("disk on fire")

    services.lifecycle.on_stop.extend([lambda: calls.append("first"), broken])
    services.lifecycle.on_stop.append(lambda: calls.append("last"))
    db = settings.data_dir / "rolecall.db"
    assert services.storage.cooldowns.all() == []
    assert open_fds_on(db) > 0  # the engine's pool keeps the database file open
    # a cooldown entered while serving goes through the writer thread to the database
    services.routing.cooldowns.enter("remote", "upstream_5xx", 1_000)
    with caplog.at_level(logging.WARNING, logger="rolecall"):
        serve(services)
    assert calls == ["first", "broken", "last"]
    failed = [r for r in caplog.records if r.getMessage() == "shutdown step failed"]
    assert len(failed) == 1
    assert failed[0].exc_info is not None
    assert isinstance(failed[0].exc_info[1], OSError)
    # the writer is closed (it refuses new work) after storing what it had been handed
    assert services.writer.submit(lambda: None) is False
    # and the storage's pooled connections are closed: nothing holds the database file
    assert open_fds_on(db) == 0
    reopened = open_storage(settings.effective_database_url)
    try:
        assert [c.endpoint_id for c in reopened.cooldowns.all()] == ["remote"]
    finally:
        reopened.close()


def test_saved_console_overrides_are_applied_by_build_services(tmp_path: Path) -> None:
    save_overrides(
        tmp_path,
        {
            "posture": {"strategy": "cost", "execution_scope": "local_only"},
            "bindings": {"general.chat@remote": "disabled", "general.chat@gone": "active"},
        },
    )
    services = build_services(settings_for(tmp_path))
    try:
        assert services.operator.posture() == Posture("cost", "local_only", "auto")
        view = services.routing.view
        assert view.inventory.policy is not None
        assert view.inventory.policy.strategy == "cost"
        bound = {(b.role_id, b.endpoint_id): b.status for b in view.inventory.bindings}
        assert bound[("general.chat", "remote")] == "disabled"
        assert ("general.chat", "gone") not in bound
    finally:
        serve(services)


def test_stored_cooldowns_are_loaded_by_build_services(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    settings.data_dir.mkdir(parents=True)
    storage = open_storage(settings.effective_database_url)
    try:
        storage.cooldowns.put(
            Cooldown(
                endpoint_id="remote",
                level=2,
                until_ms=FAR_FUTURE_MS,
                reason="timeout",
                failures=3,
                updated_ms=1_000,
            )
        )
    finally:
        storage.close()
    services = build_services(settings)
    try:
        active = services.routing.cooldowns.active("remote", 2_000)
        assert active is not None
        assert (active.level, active.reason) == (2, "timeout")
        statuses = {c.endpoint_id: c.status for c in services.routing.candidates(2_000)}
        assert statuses == {"local": "active", "remote": "cooldown"}
    finally:
        serve(services)


def test_an_unreadable_overrides_file_fails_the_build_leaving_nothing_running(
    tmp_path: Path,
) -> None:
    save_overrides(tmp_path, "{not json")
    before = set(threading.enumerate())
    with pytest.raises(ConfigError) as info:
        build_services(settings_for(tmp_path))
    assert info.value.source == str(tmp_path / "data" / "console" / "overrides.json")
    leaked = [t.name for t in set(threading.enumerate()) - before if t.is_alive()]
    assert leaked == []


def test_the_served_app_answers_healthz(tmp_path: Path, db_url: str) -> None:
    with Gateway(INVENTORY, db_url, tmp_path, record_process=False) as gw:
        status, body = gw.raw("/healthz", None)
        assert status == 200
        assert body == {"status": "ok", "endpoints": 2}
        # a console edit reaches what the served app reports and routes on
        gw.services.operator.set_posture({"strategy": "latency"})
        status, body = gw.admin("/api/console/posture")
        assert status == 200
        assert body["posture"]["strategy"] == "latency"
