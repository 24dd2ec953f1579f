"""`Services`: what the composition root builds once per process, for the gateway, console and CLI.

The record is frozen: handlers read services, never replace them. What changes while the process
runs lives inside one of them, each with one way to change it: the routing state
(`RoutingState.update`), the operator's overrides (`Operator`), the benchmark runs (`BenchHub`).
`start` and `stop` run inside the server's event loop (the upstream session belongs to it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final

from rolecall.benchmark.service import BenchHub
from rolecall.cluster.node import Node
from rolecall.execution.executor import Executor
from rolecall.execution.state import RoutingState
from rolecall.judging.canaries import Canaries
from rolecall.judging.drift_watch import DriftWatch
from rolecall.judging.service_drift import ServiceDrift
from rolecall.judging.shadow import ShadowJudge
from rolecall.learned.mode import LearnedMode
from rolecall.limits.service import Limiter
from rolecall.observe.evidence import EvidenceIntake
from rolecall.observe.feedback import FeedbackDesk
from rolecall.observe.ports import Sink
from rolecall.observe.recorder import Recorder
from rolecall.operator import Operator
from rolecall.planning.ceilings import CeilingBook
from rolecall.planning.planner import Planner
from rolecall.providers.registry import UpstreamClients
from rolecall.settings import Settings
from rolecall.storage.response_book import ResponseBook
from rolecall.storage.spool import Spool
from rolecall.storage.sql import SqlStorage
from rolecall.storage.writer import BackgroundWriter
from rolecall.telemetry.prometheus import PrometheusMetrics

__all__ = ["Lifecycle", "Services"]

log = logging.getLogger("rolecall")
SHUTDOWN_DRAIN_S: Final = 10.0  # at shutdown, queued records get this long to reach the database


@dataclass(slots=True)
class Lifecycle:
    """Work tied to the server's lifespan: awaited once the upstream session is open (background
    jobs such as the first-start quick benchmark), and run at shutdown (uvicorn re-raises SIGTERM
    after the lifespan ends, so code after ``uvicorn.run`` may never run)."""

    on_start: list[Callable[[], Awaitable[object]]] = field(default_factory=list)
    on_stop: list[Callable[[], None]] = field(default_factory=list)


@dataclass(frozen=True, slots=True, eq=False)
class Services:
    settings: Settings
    admin_token: str
    storage: SqlStorage
    writer: BackgroundWriter
    spool: Spool | None
    node: Node
    sink: Sink
    recorder: Recorder
    evidence: EvidenceIntake
    routing: RoutingState
    upstreams: UpstreamClients
    executor: Executor
    operator: Operator
    bench: BenchHub
    learned: LearnedMode | None
    limits: Limiter
    responses: ResponseBook  # the Responses API's stored responses
    feedback: FeedbackDesk  # feedback on answered requests, into quality evidence
    shadow: ShadowJudge  # a share of live answers graded after they were served
    drift: DriftWatch  # quality-drift alarms and the demotions they make
    service_drift: ServiceDrift  # failure-rate and throughput drift alarms (they demote nothing)
    canaries: Canaries  # scheduled re-benchmarks of a few cases, against each endpoint's history
    planner: Planner  # the routing modes' planners (difficulty, controller, hybrid)
    ceilings: CeilingBook  # difficulty ceilings derived from benchmark evidence
    started_ms: int
    metrics: PrometheusMetrics | None = None  # None: metrics turned off
    lifecycle: Lifecycle = field(default_factory=Lifecycle)

    async def start(self) -> None:
        await self.upstreams.open()
        await self.recorder.start()
        self.node.start()
        for hook in self.lifecycle.on_start:
            await hook()

    async def stop(self) -> None:
        for callback in self.lifecycle.on_stop:
            try:
                callback()
            except Exception:  # shutdown continues whatever one step does
                log.warning("shutdown step failed", exc_info=True)
        try:
            await self.bench.stop()  # a run in flight (a canary round) must not outlive its clients
        except Exception:
            log.warning("interrupting the benchmark runs failed", exc_info=True)
        await self.upstreams.close()
        await self.limits.close()  # settlements in flight first: they need the database
        self.sink.hurry()
        try:
            await asyncio.wait_for(self.recorder.stop(), SHUTDOWN_DRAIN_S)
        except TimeoutError:  # what the loop still holds goes through the writer thread below
            log.warning("records still in flight after %.0f s; draining them", SHUTDOWN_DRAIN_S)
        self.recorder.close()
        self.writer.close(timeout=SHUTDOWN_DRAIN_S)
        if self.spool is not None:
            self.spool.close()  # nothing is appended any more: the writer stores it all
        self.sink.close(timeout=SHUTDOWN_DRAIN_S)
        self.node.stop()  # after the writers: what they stored is announced before the end
        self.storage.close()
