"""A routing mode's plan is stored beside its decision (``decisions.plan``), on SQLite and
PostgreSQL; a decision without one reads back as None, and the artifact is untouched."""

from __future__ import annotations

from rolecall.storage import SqlStorage
from tests.integration.storage import builders

PLAN = {
    "mode": "hybrid",
    "difficulty": {"difficulty": "hard", "source": "rubric", "score": 7.5},
    "controller": {"status": "ok", "rejected": [{"field": "deny_endpoints", "why": "all"}]},
    "arbitration": {"difficulty": "hard", "dominant": "difficulty"},
}


def test_a_plan_is_kept_beside_its_decision(storage: SqlStorage) -> None:
    planned, plain = builders.decision("dec-p"), builders.decision("dec-b")
    storage.decisions.put_many(
        [(planned, builders.NOW_MS), (plain, builders.NOW_MS + 1)], {"dec-p": PLAN}
    )
    assert storage.decisions.plan("dec-p") == PLAN
    assert storage.decisions.plan("dec-b") is None
    assert storage.decisions.plan("no-such-decision") is None
    assert storage.decisions.get("dec-p") == planned  # the artifact stays the protocol's own
    # a replayed batch (the spool after a crash) stores the same plan again, not twice
    storage.decisions.put_many([(planned, builders.NOW_MS)], {"dec-p": PLAN})
    assert storage.decisions.count() == 2
    assert storage.decisions.plan("dec-p") == PLAN
