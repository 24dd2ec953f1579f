"""The composition root: settings → storage, inventory, router, pool, executor, recorder.

Nothing here runs at import. `build_runtime` does the synchronous setup (database migrations,
inventory, stored profiles and cooldowns); `Runtime.start` / `Runtime.stop` open and close the pooled
upstream HTTP session inside the server's event loop.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from rolecall.execution.cooldown import CooldownBook
from rolecall.execution.executor import Adapter, Executor
from rolecall.execution.pool import CandidatePool
from rolecall.gateway.auth import KeyChecker, load_admin_token
from rolecall.gateway.learned_mode import LearnedMode
from rolecall.inventory.catalog import Catalog
from rolecall.inventory.config import load_inventory_file
from rolecall.inventory.inventory import (
    Inventory,
    build_inventory,
    endpoint_version,
    membership_revision_for,
)
from rolecall.observe.evidence import EvidenceIntake
from rolecall.observe.ports import Sink
from rolecall.observe.recorder import Recorder
from rolecall.protocol import ObservedPerformanceProfile
from rolecall.providers.openai_compat import OpenAICompatAdapter
from rolecall.routing import Router
from rolecall.settings import Settings
from rolecall.storage.record_writer import open_sink
from rolecall.storage.sql import SqlStorage, open_storage
from rolecall.storage.writer import BackgroundWriter

log = logging.getLogger("rolecall")
SHUTDOWN_DRAIN_S = 10.0  # at shutdown, queued records get this long to reach the database
FULL_GC_INTERVAL_S = 600.0  # cyclic garbage among long-lived objects is collected this often


@dataclass
class Runtime:
    settings: Settings
    inventory: Inventory
    storage: SqlStorage
    writer: BackgroundWriter
    router: Router
    cooldowns: CooldownBook
    pool: CandidatePool
    keys: KeyChecker
    admin_token: str
    recorder: Recorder
    sink: Sink
    started_ms: int = field(default_factory=lambda: time.time_ns() // 1_000_000)
    executor: Executor | None = None
    # the trained per-prompt router, when one is configured (routing.learned)
    learned: LearnedMode | None = None
    # the benchmark service (rolecall.benchmark.service.hub_for), created on first use
    bench_hub: Any = None
    session: aiohttp.ClientSession | None = None
    # run at shutdown, inside the server's lifespan (uvicorn re-raises SIGTERM after it returns,
    # so code after `uvicorn.run` may never run)
    on_stop: list[Callable[[], None]] = field(default_factory=list)
    # awaited once the upstream session is open, inside the server's event loop (background jobs
    # such as the first-start quick benchmark)
    on_start: list[Callable[[], Awaitable[object]]] = field(default_factory=list)
    _facts: tuple[Inventory, dict[str, tuple[str, str | None]]] | None = None
    # benchmark samples in, refreshed profiles out (rolecall.observe.evidence)
    evidence: EvidenceIntake = field(init=False)

    def __post_init__(self) -> None:
        self.evidence = EvidenceIntake(
            self.storage.samples,
            self.storage.profiles,
            facts=self.endpoint_facts,
            publish=self.route_on,
            live=self.recorder.observe_stored,
        )

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300, keepalive_timeout=60)
        self.session = aiohttp.ClientSession(connector=connector, auto_decompress=True)
        openai_compat = OpenAICompatAdapter(self.session, self.settings.upstream_timeout_s)
        adapters: dict[str, Adapter] = {
            "openai_compatible": openai_compat,
            "ollama": openai_compat,
            "llamacpp": openai_compat,
        }
        try:
            from rolecall.providers.anthropic import AnthropicAdapter
        except ImportError:  # pragma: no cover - the adapter ships with the package
            pass
        else:
            adapters["anthropic"] = AnthropicAdapter(self.session, self.settings.upstream_timeout_s)
        self.executor = Executor(self.inventory, adapters, self.cooldowns)
        await self.recorder.start()
        for hook in self.on_start:
            await hook()

    async def stop(self) -> None:
        for callback in self.on_stop:
            try:
                callback()
            except Exception as exc:  # shutdown continues whatever one step does
                log.warning("shutdown step failed: %s", type(exc).__name__)
        if self.session is not None:
            await self.session.close()
        self.sink.hurry()
        try:
            await asyncio.wait_for(self.recorder.stop(), SHUTDOWN_DRAIN_S)
        except TimeoutError:  # what the loop still holds goes through the writer thread below
            log.warning("records still in flight after %.0f s; draining them", SHUTDOWN_DRAIN_S)
        self.recorder.close()
        self.writer.close(timeout=SHUTDOWN_DRAIN_S)
        self.sink.close(timeout=SHUTDOWN_DRAIN_S)
        self.storage.close()

    def endpoint_facts(self, endpoint_id: str) -> tuple[str, str | None] | None:
        """(endpoint version, membership revision) of a known endpoint, for aggregating its
        samples: benchmark samples graded under other bindings or identity are stale evidence."""
        endpoint = self.inventory.endpoints.get(endpoint_id)
        if endpoint is None:
            return None
        version = endpoint_version(endpoint.identity)
        return version, membership_revision_for(self.inventory, endpoint_id)

    def all_endpoint_facts(self) -> Mapping[str, tuple[str, str | None]]:
        """`endpoint_facts` of every endpoint: the same mapping until the inventory changes."""
        inventory = self.inventory
        cached = self._facts
        if cached is None or cached[0] is not inventory:
            facts = {eid: self.endpoint_facts(eid) for eid in inventory.endpoints}
            cached = self._facts = (inventory, {k: v for k, v in facts.items() if v is not None})
        return cached[1]

    def route_on(self, profile: ObservedPerformanceProfile) -> None:
        """Route on a new observed profile, unless its endpoint has gone or changed meanwhile."""
        endpoint = self.inventory.endpoints.get(profile.endpoint_id)
        if endpoint is not None and profile.endpoint_version == endpoint_version(endpoint.identity):
            self.pool.set_profile(profile)


async def tune_gc_for_serving() -> None:
    """Keep full garbage collections off the request path (a server process's last start hook).

    Everything loaded at startup (catalog, schemas, inventory, libraries) lives as long as the
    process: frozen out of the collector's generations, a collection no longer scans it. Automatic
    full collections would still run every few hundred requests once the frozen heap no longer
    counts as "long-lived" and stall the event loop for tens of milliseconds; they are left to a
    timer instead, which bounds how much cyclic garbage can accumulate. Young generations are
    collected as usual.
    """
    loop = asyncio.get_running_loop()
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, 1_000_000_000)

    def full_collection() -> None:
        gc.collect()
        loop.call_later(FULL_GC_INTERVAL_S, full_collection)

    loop.call_later(FULL_GC_INTERVAL_S, full_collection)


def build_runtime(
    settings: Settings | None = None, *, extra_inventory: dict[str, Any] | None = None
) -> Runtime:
    """Everything the gateway needs; ``extra_inventory`` adds generated endpoints (the local pool)."""
    settings = settings or Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    config = load_inventory_file(settings.config, extra_inventory)
    catalog = Catalog.load_default().with_overrides(config.catalog_overrides)
    inventory = build_inventory(config, catalog)
    for problem in inventory.problems:
        log.warning("configuration: %s", problem)
    learned = None  # checked before anything is opened: a bad config leaves nothing running
    if config.routing.learned is not None:
        learned = LearnedMode.load(
            config.routing.learned, settings.config.parent, str(settings.config)
        )
    storage = open_storage(settings.effective_database_url)
    writer = BackgroundWriter(storage)
    cooldowns = CooldownBook(
        scale=settings.cooldown_scale,
        persist=lambda c: _submit(writer, storage.cooldowns.put, c),
        forget=lambda endpoint_id: _submit(writer, storage.cooldowns.clear, endpoint_id),
        initial=storage.cooldowns.all(),
    )
    sink = open_sink(settings.effective_database_url, storage, use_process=settings.record_process)
    pool = CandidatePool(inventory, cooldowns)
    for profile in storage.profiles.all():
        endpoint = inventory.endpoints.get(profile.endpoint_id)
        if endpoint is not None and profile.endpoint_version == endpoint_version(endpoint.identity):
            pool.set_profile(profile)
    runtime = Runtime(
        settings=settings,
        inventory=inventory,
        storage=storage,
        writer=writer,
        router=Router(inventory.policy),
        cooldowns=cooldowns,
        pool=pool,
        keys=KeyChecker(storage.keys),
        admin_token=load_admin_token(settings.data_dir, settings.admin_token),
        recorder=Recorder(
            writer,
            sink,
            endpoint_facts=lambda: runtime.all_endpoint_facts(),
            on_profile=lambda profile: runtime.route_on(profile),
        ),
        sink=sink,
        learned=learned,
    )
    return runtime


def _submit(writer: BackgroundWriter, fn: Any, *args: Any) -> None:
    writer.submit(fn, *args)
