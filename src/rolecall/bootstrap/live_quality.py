"""The composition root's builders of live quality: feedback, shadow judging, drift alarms.

Each builds one `rolecall.judging` or `rolecall.observe` use case over the storage and the
routing state the root already built (`rolecall.bootstrap.build_services` calls them in order).
"""

from __future__ import annotations

from functools import partial

from rolecall.cluster.node import Node
from rolecall.cluster.sharing import ALARMS
from rolecall.execution.state import RoutingState
from rolecall.inventory.live_quality import ShadowJudgingConfig
from rolecall.judging.drift_watch import ALARMS_DOC, DriftWatch
from rolecall.judging.shadow import ShadowJudge
from rolecall.observe.evidence import EvidenceIntake
from rolecall.observe.feedback import Answered, FeedbackDesk
from rolecall.providers.registry import UpstreamClients
from rolecall.storage.changes import SharedDoc
from rolecall.storage.feedback import answered_request
from rolecall.storage.sql import SqlStorage

__all__ = ["drift_watch", "feedback_desk", "shadow_judge"]


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
