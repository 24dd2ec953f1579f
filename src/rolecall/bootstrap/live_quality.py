"""The composition root's builders of live quality: feedback, shadow judging, drift alarms,
and the retention of captured prompts.

Each builds one `rolecall.judging` or `rolecall.observe` use case over the storage and the
routing state the root already built (`rolecall.bootstrap.build_services` calls them in order).
"""

from __future__ import annotations

import time
from functools import partial

from rolecall.benchmark.service import BenchHub
from rolecall.cluster.node import RETENTION_EVERY_S, Node
from rolecall.cluster.sharing import ALARMS
from rolecall.execution.state import RoutingState
from rolecall.inventory.live_quality import CanaryConfig, ShadowJudgingConfig
from rolecall.judging.canaries import Canaries
from rolecall.judging.drift_watch import ALARMS_DOC, DriftWatch
from rolecall.judging.service_drift import EVERY_S as SERVICE_DRIFT_EVERY_S
from rolecall.judging.service_drift import ServiceDrift
from rolecall.judging.shadow import ShadowJudge
from rolecall.observe.evidence import EvidenceIntake
from rolecall.observe.feedback import Answered, FeedbackDesk
from rolecall.providers.registry import UpstreamClients
from rolecall.settings import Settings
from rolecall.storage.changes import SharedDoc
from rolecall.storage.feedback import answered_request
from rolecall.storage.sql import SqlStorage

__all__ = [
    "canary_rounds",
    "drift_watch",
    "feedback_desk",
    "prompt_retention",
    "service_watch",
    "shadow_judge",
]

DAY_MS = 86_400_000


def drift_watch(storage: SqlStorage, routing: RoutingState, node: Node) -> DriftWatch:
    """Drift alarms kept in a shared document; every process applies them when told."""

    doc = SharedDoc(storage.shared_docs, ALARMS_DOC, on_save=lambda: node.feed.publish(ALARMS))
    drift = DriftWatch(
        storage.samples.for_endpoint,
        doc,
        version=routing.endpoint_version,
        demote=routing.set_demotions,
    )
    drift.apply()
    node.feed.subscribe(ALARMS, lambda _: drift.apply())
    return drift


def shadow_judge(
    config: ShadowJudgingConfig,
    upstreams: UpstreamClients,
    routing: RoutingState,
    storage: SqlStorage,
    evidence: EvidenceIntake,
) -> ShadowJudge:
    """Shadow judging over the current inventory; grades go in as evidence does."""

    return ShadowJudge(
        config,
        upstreams,
        endpoints=lambda: routing.view.inventory.endpoints,
        versions=routing.endpoint_version,
        store=evidence.add,
        spent=partial(storage.samples.spent, "live_judged"),
    )


def feedback_desk(
    storage: SqlStorage, routing: RoutingState, evidence: EvidenceIntake
) -> FeedbackDesk:
    """Feedback looks requests up in the usage records and refreshes profiles like evidence."""

    def lookup(any_id: str) -> Answered | None:
        request_id, events = storage.usage.lookup(any_id)
        return answered_request(events, request_id)

    return FeedbackDesk(
        storage.feedback,
        lookup=lookup,
        version=routing.endpoint_version,
        evidence_changed=evidence.changed,
    )


def prompt_retention(storage: SqlStorage, routing: RoutingState, node: Node) -> None:
    """Captured prompts older than ``routing.prompt_capture.keep_days`` are deleted by the
    leading process, every `RETENTION_EVERY_S`; also while capture is off, so that prompts
    kept before it was turned off still go."""

    def prune() -> None:
        keep_ms = int(routing.view.inventory.routing.prompt_capture.keep_days * DAY_MS)
        storage.prompts.prune(time.time_ns() // 1_000_000 - keep_ms)

    node.leadership.every("prune-captured-prompts", RETENTION_EVERY_S, prune)


def service_watch(
    drift: DriftWatch, storage: SqlStorage, routing: RoutingState, node: Node
) -> ServiceDrift:
    """Failure-rate and throughput sweeps of the current inventory: a job of the leader."""

    watch = ServiceDrift(
        drift,
        storage.samples.for_endpoint,
        endpoints=lambda: routing.view.inventory.endpoints,
        version=routing.endpoint_version,
    )
    node.leadership.every("service-drift", SERVICE_DRIFT_EVERY_S, watch.sweep)
    return watch


def canary_rounds(
    config: CanaryConfig,
    bench: BenchHub,
    drift: DriftWatch,
    storage: SqlStorage,
    node: Node,
    settings: Settings,
) -> Canaries:
    """Canary runs through this process's benchmark hub, while it leads; suite paths are
    relative to the config file."""

    return Canaries(
        config,
        bench,
        drift,
        leading=lambda: node.leadership.leader,
        runs=lambda limit: storage.benchmarks.list_runs(limit=limit),
        results_of=storage.benchmarks.results,
        base_dir=settings.config.parent,
    )
