"""The composition root: settings → storage, routing state, upstreams, recorder, use cases.

`build_services` does the synchronous setup once (database migrations, inventory, stored profiles
and cooldowns, the operator's saved overrides) and returns the frozen `Services`; nothing here runs
at import, and nothing else in the package constructs these services.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from functools import partial
from pathlib import Path
from typing import Any, Final

from rolecall.benchmark.service import BenchHub
from rolecall.bootstrap.live_quality import (
    canary_rounds,
    drift_watch,
    feedback_desk,
    prompt_retention,
    service_watch,
    shadow_judge,
)
from rolecall.cluster.aggregation import writer_aggregation
from rolecall.cluster.changes import ChangeFeed
from rolecall.cluster.node import Node, build_node
from rolecall.cluster.redis_limits import RedisLimitStore
from rolecall.cluster.sharing import COOLDOWN, OVERRIDES_DOC, SAMPLES, share_state
from rolecall.cluster.sharing import share_profile as _share_profile
from rolecall.console import OPERATIONS as CONSOLE_OPERATIONS
from rolecall.console import console_routes
from rolecall.execution.cooldown import Cooldown, CooldownBook
from rolecall.execution.executor import Executor, RetryPolicy
from rolecall.execution.outliers import EjectionRule
from rolecall.execution.state import RoutingState
from rolecall.files import private_dir
from rolecall.gateway.app import create_app
from rolecall.gateway.auth import load_admin_token
from rolecall.gateway.chat_asgi import GatewayApp
from rolecall.inventory.config import load_inventory_file
from rolecall.inventory.inventory import Inventory
from rolecall.inventory.load import check_provider_keys, configured_inventory
from rolecall.judging.drift_watch import DriftWatch
from rolecall.learned.difficulty import LearnedDifficulty
from rolecall.learned.mode import LearnedMode
from rolecall.limits.failover import FailoverStore
from rolecall.limits.service import Limiter
from rolecall.limits.spec import ScopedLimits, parse_limits_section
from rolecall.observe.evidence import EvidenceIntake
from rolecall.observe.recorder import Recorder
from rolecall.operator import Operator
from rolecall.operator.overrides import overrides_file
from rolecall.planning.ceilings import CeilingBook
from rolecall.planning.planner import Planner
from rolecall.protocol import ObservedPerformanceProfile
from rolecall.providers.local.models import MODELS
from rolecall.providers.registry import UpstreamClients, adapters_for
from rolecall.services import Lifecycle, Services
from rolecall.settings import Settings
from rolecall.storage.changes import SharedDoc
from rolecall.storage.limit_counters import SqlLimitCounters
from rolecall.storage.limit_store import ThreadedLimitStore
from rolecall.storage.record_writer import WriterLink, is_in_memory, open_sink
from rolecall.storage.response_book import DELETED, ResponseBook
from rolecall.storage.spool import Spool, open_spool
from rolecall.storage.spool_reader import backlog as spool_backlog
from rolecall.storage.sql import SqlStorage, open_storage
from rolecall.storage.writer import BackgroundWriter
from rolecall.telemetry.access_log import AccessLog
from rolecall.telemetry.otel_config import trace_export
from rolecall.telemetry.prometheus import PrometheusMetrics, build_metrics
from rolecall.telemetry.state import StateCollector

__all__ = [
    "build_app",
    "build_services",
    "prepare_shared",
    "spool_directory",
    "tune_gc_for_serving",
]

log = logging.getLogger("rolecall")
FULL_GC_INTERVAL_S: Final = 600.0  # cyclic garbage among long-lived objects is collected this often


def build_services(
    settings: Settings | None = None,
    *,
    extra_inventory: dict[str, Any] | None = None,
    writer_link: WriterLink | None = None,
) -> Services:
    """Everything the gateway needs; ``extra_inventory`` adds generated endpoints (the local pool);
    ``writer_link`` is a channel to the record writer of several gateway processes (else this
    process starts its own)."""
    settings = settings or Settings()
    inventory, saved_overrides, learned, scoped = _read_configuration(settings, extra_inventory)
    export = trace_export(settings.otel_endpoint)  # an export that cannot work stops us here
    storage = open_storage(settings.effective_database_url)
    node = build_node(
        storage, settings.effective_database_url, settings.redis_url, settings.data_dir
    )
    writer = BackgroundWriter(storage)
    routing = RoutingState(inventory, _cooldowns(settings, storage, writer, node.feed))
    for profile in storage.profiles.all():
        routing.publish_profile(profile)
    ceilings = CeilingBook(routing, storage.samples, inventory.routing.difficulty.ceilings)
    ceilings.refresh()
    overrides = SharedDoc(
        storage.shared_docs, OVERRIDES_DOC, on_save=lambda: node.feed.publish("overrides")
    )
    operator = Operator(
        routing,
        overrides,
        learned_loaded=learned is not None,
        saved=_shared_overrides(overrides, saved_overrides),
    )
    operator.apply_saved()
    spool = _spool(settings)
    sink = open_sink(
        settings.effective_database_url,
        storage,
        use_process=settings.record_process,
        spool=None if spool is None else spool.root,
        link=writer_link,
        aggregation=writer_aggregation,
        export=export,
        placement=settings.writer_placement,
    )
    drift = drift_watch(storage, routing, node)
    metrics = _metrics(settings, routing, spool, drift)
    recorder = Recorder(
        writer,
        sink,
        journal=spool,
        endpoint_facts=routing.all_endpoint_facts,
        on_profile=lambda profile: _share_profile(routing, node, profile),
        listeners=[AccessLog()] if metrics is None else [metrics.requests, AccessLog()],
    )
    evidence = EvidenceIntake(
        storage.samples,
        storage.profiles,
        facts=routing.endpoint_facts,
        publish=lambda profile: _benchmarked(routing, node, ceilings, profile),
        live=recorder.observe_stored,
        reload=recorder.reload_samples,
        watch=drift.check,
    )
    share_state(node, routing, operator, storage, recorder)
    node.feed.subscribe(SAMPLES, ceilings.refresh)  # another process stored benchmark results
    prompt_retention(storage, routing, node)  # captured prompts leave with age
    responses = ResponseBook(
        storage.responses,
        publish=lambda key: node.feed.publish(DELETED, key),
        settled=recorder.flushed,
    )
    node.feed.subscribe(DELETED, responses.forget)
    upstreams = UpstreamClients(
        settings.upstream_timeout_s,
        connect_timeout_s=settings.upstream_connect_timeout_s,
        idle_timeout_s=settings.upstream_idle_timeout_s,
    )
    shadow = shadow_judge(inventory.routing.shadow_judging, upstreams, routing, storage, evidence)
    bench = _bench_hub(settings, routing, storage, evidence, writer, recorder, metrics)
    service_drift = service_watch(drift, storage, routing, node)
    canaries = canary_rounds(inventory.routing.canaries, bench, drift, storage, node, settings)
    return Services(
        settings=settings,
        admin_token=load_admin_token(settings.data_dir, settings.admin_token),
        storage=storage,
        writer=writer,
        spool=spool,
        node=node,
        sink=sink,
        recorder=recorder,
        evidence=evidence,
        routing=routing,
        upstreams=upstreams,
        executor=Executor(
            upstreams,
            routing.cooldowns,
            RetryPolicy(budget_ms=int(settings.retry_budget_s * 1000)),
            span_per_attempt=export is not None,
        ),
        operator=operator,
        bench=bench,
        learned=learned,
        limits=_limiter(settings, scoped, storage),
        responses=responses,
        feedback=feedback_desk(storage, routing, evidence),
        shadow=shadow,
        drift=drift,
        service_drift=service_drift,
        canaries=canaries,
        planner=Planner.build(
            inventory.routing, upstreams, _learned_difficulty(settings, inventory)
        ),
        ceilings=ceilings,
        started_ms=time.time_ns() // 1_000_000,
        metrics=metrics,
        lifecycle=Lifecycle(
            on_start=[s.start for s in (shadow, canaries, metrics) if s],
            on_stop=[s.stop for s in (shadow, canaries, metrics) if s],
        ),
    )


def _learned_difficulty(settings: Settings, inventory: Inventory) -> LearnedDifficulty | None:
    """The trained difficulty classifier ``routing.difficulty`` names (classifier: learned); a
    relative path is relative to the config file."""
    config = inventory.routing.difficulty
    if config.classifier != "learned" or config.artifact is None:
        return None
    path = config.artifact
    if not path.is_absolute():
        path = settings.config.parent / path
    return LearnedDifficulty.load(path, f"{settings.config}: routing.difficulty.artifact")


def _benchmarked(
    routing: RoutingState, node: Node, ceilings: CeilingBook, profile: ObservedPerformanceProfile
) -> None:
    """A profile refreshed from benchmark results stored here: publish it, and re-derive the
    endpoint's difficulty ceiling (only benchmark samples carry a difficulty bucket)."""
    _share_profile(routing, node, profile, samples=True)
    ceilings.refresh([profile.endpoint_id])


def _metrics(
    settings: Settings, routing: RoutingState, spool: Spool | None, drift: DriftWatch
) -> PrometheusMetrics | None:
    """This process's Prometheus metrics (None when turned off): what requests did, and the
    cooldowns and the spool's backlog read at each scrape."""
    if not settings.metrics:
        return None
    directory = None if spool is None else spool.root
    backlog = None if directory is None else partial(spool_backlog, directory)
    state = StateCollector(
        routing.cooldowns,
        lambda: routing.inventory.endpoints,
        backlog,
        demoted=lambda: routing.demotions,
        alarms=lambda: drift.open_alarms,
    )
    return build_metrics(state)


def _shared_overrides(doc: SharedDoc, legacy: dict[str, Any]) -> dict[str, Any]:
    """The overrides every process routes on; a data directory's overrides file (where versions
    before the shared store kept them) is imported once, when the database has none yet."""
    saved = doc.load()
    if not saved and legacy:
        doc.save(legacy)
        log.warning("console overrides imported from the data directory into the database")
        return legacy
    return saved


def prepare_shared(
    settings: Settings, *, extra_inventory: dict[str, Any] | None = None
) -> Inventory:
    """What several gateway processes over one data directory and database need done once,
    before any of them starts (`rolecall serve --workers N`): the configuration read and checked
    (a bad file is one error, not one per process), the schema migrated (concurrent migrations
    would race) and the admin token created (each process would make its own). The inventory."""
    inventory, _, _, _ = _read_configuration(settings, extra_inventory)
    trace_export(settings.otel_endpoint)  # checked once, like the configuration
    open_storage(settings.effective_database_url).close()
    load_admin_token(settings.data_dir, settings.admin_token)
    return inventory


def spool_directory(settings: Settings) -> Path | None:
    """Where the record spool lives; none for an in-memory database (nothing it holds could
    outlive the process) or when turned off."""
    if settings.spool_max_bytes == 0 or is_in_memory(settings.effective_database_url):
        return None
    return settings.data_dir / "spool"


def _spool(settings: Settings) -> Spool | None:
    directory = spool_directory(settings)
    if directory is None:
        return None
    return open_spool(directory, memory=settings.spool_memory, max_bytes=settings.spool_max_bytes)


def _read_configuration(
    settings: Settings, extra_inventory: dict[str, Any] | None
) -> tuple[Inventory, dict[str, Any], LearnedMode | None, ScopedLimits]:
    """The inventory, the operator's saved overrides, the learned router and the file's limits:
    all read and checked before anything is opened, so a bad file leaves nothing running."""
    private_dir(settings.data_dir)
    config = load_inventory_file(settings.config, extra_inventory)
    scoped = parse_limits_section(config.limits, str(settings.config))
    inventory = configured_inventory(config)
    check_provider_keys(config, inventory, str(settings.config))
    for problem in inventory.problems:
        log.warning("configuration: %s", problem)
    saved_overrides = overrides_file(settings.data_dir).load()
    learned = None
    if config.routing.learned is not None:
        learned = LearnedMode.load(
            config.routing.learned, settings.config.parent, str(settings.config)
        )
    return inventory, saved_overrides, learned, scoped


def _limiter(settings: Settings, scoped: ScopedLimits, storage: SqlStorage) -> Limiter:
    """Limits counted in Redis when one is configured (on SQL while it is down), else on SQL."""
    sql = ThreadedLimitStore(SqlLimitCounters(storage.database))
    if settings.redis_url is None:
        return Limiter(scoped, sql)
    redis = RedisLimitStore(settings.redis_url)
    return Limiter(scoped, FailoverStore(redis, sql, redis.ping))


def _bench_hub(
    settings: Settings,
    routing: RoutingState,
    storage: SqlStorage,
    evidence: EvidenceIntake,
    writer: BackgroundWriter,
    recorder: Recorder,
    metrics: PrometheusMetrics | None,
) -> BenchHub:
    return BenchHub(
        routing,
        storage.benchmarks,
        storage.samples,
        evidence,
        writer,
        recorder,
        batch=storage.batch,
        adapters=adapters_for,
        timeout_s=settings.upstream_timeout_s,
        local_model_sizes={name: m.size_bytes for name, m in MODELS.items()},
        on_run=None if metrics is None else metrics.requests.bench_run,
    )


def _cooldowns(
    settings: Settings, storage: SqlStorage, writer: BackgroundWriter, feed: ChangeFeed
) -> CooldownBook:
    """The cooldown book, loaded from storage, persisted through the writer thread, and each
    change announced to the other processes once stored."""

    def put(cooldown: Cooldown) -> None:
        storage.cooldowns.put(cooldown)
        feed.publish(COOLDOWN, cooldown.endpoint_id)

    def clear(endpoint_id: str) -> None:
        storage.cooldowns.clear(endpoint_id)
        feed.publish(COOLDOWN, endpoint_id)

    def persist(cooldown: Cooldown) -> None:
        writer.submit(put, cooldown)

    def forget(endpoint_id: str) -> None:
        writer.submit(clear, endpoint_id)

    rule = EjectionRule(
        consecutive=settings.cooldown_consecutive_failures,
        rate=settings.cooldown_failure_rate,
        min_requests=settings.cooldown_min_requests,
        window_ms=int(settings.cooldown_window_s * 1000),
    )
    return CooldownBook(
        scale=settings.cooldown_scale,
        rule=rule,
        persist=persist,
        forget=forget,
        initial=storage.cooldowns.all(),
    )


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


def build_app(services: Services) -> GatewayApp:
    """The served ASGI app: the gateway's routes with the console mounted beside them."""
    return create_app(services, console_routes, CONSOLE_OPERATIONS)
