"""Pages the console reads through the request facts: ledger keys, decisions, replay inputs.

The facts are clustered by time, so a page of anything tied to a request (its decision, its
replayable routing inputs) is found by walking their time key and reading only the page's rows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, select

from rolecall.storage.database import Database
from rolecall.storage.sql_analytics_tables import REQUEST_FACTS
from rolecall.storage.sql_tables import DECISIONS

__all__ = ["decision_page", "page_keys", "replay_inputs"]

_F = REQUEST_FACTS.c


def page_keys(db: Database, query: Select[Any], limit: int, offset: int) -> tuple[list[str], int]:
    """Request ids of one page (newest first) and the total: the skipped rows are walked
    on the time key alone (an index-only scan on PostgreSQL), whole rows read for the page."""
    if limit < 0 or offset < 0:
        raise ValueError(f"limit and offset must be non-negative, got {limit} and {offset}")
    counted = query.with_only_columns(func.count(), maintain_column_froms=True)
    ordered = query.order_by(_F.timestamp_ms.desc(), _F.request_id.desc())
    with db.read() as connection:
        keys = [str(k) for k in connection.execute(ordered.limit(limit).offset(offset)).scalars()]
        total = int(connection.execute(counted).scalar_one())
    return keys, total


def decision_page(
    db: Database,
    *,
    limit: int,
    offset: int,
    endpoint_id: str | None = None,
    strategy: str | None = None,
    outcome: str | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """Decisions of stored requests, newest first, filtered; and how many match.

    Paged through the time-clustered facts (every gateway request stores its usage event and
    so its fact row), then only the page's artifacts are read: deep pages stay cheap.
    """
    clauses: list[ColumnElement[bool]] = []
    if endpoint_id:
        clauses.append(_F.chosen_endpoint_id == endpoint_id)
    if strategy:
        clauses.append(_F.strategy == strategy)
    if outcome == "no_endpoint":
        clauses.append(_F.chosen_endpoint_id == "")
    elif outcome == "routed":
        clauses.append(_F.chosen_endpoint_id != "")
    query = select(_F.request_id)
    if clauses:
        query = query.where(and_(*clauses))
    keys, total = page_keys(db, query, limit, offset)
    wanted = select(DECISIONS.c.request_id, DECISIONS.c.created_ms, DECISIONS.c.artifact)
    with db.read() as connection:
        found = {
            row.request_id: row
            for row in connection.execute(wanted.where(DECISIONS.c.request_id.in_(keys)))
        }
    items = [
        {"created_ms": int(found[k].created_ms), **dict(found[k].artifact)}
        for k in keys
        if k in found
    ]
    return items, total


def replay_inputs(db: Database, *, limit: int) -> list[dict[str, Any]]:
    """The newest ``limit`` requests as the what-if preview replays them: role, task, tokens,
    the decision's policy snapshot (read alone, not the whole artifact) and the difficulty its
    routing mode classified it (None when its mode classified nothing)."""
    snapshot = DECISIONS.c.artifact["policy_snapshot"].label("policy_snapshot")
    # the difficulty a planned request routed with (None: it was routed without one)
    difficulty = DECISIONS.c.plan["routed_difficulty"].as_string().label("difficulty")
    query = (
        select(
            _F.request_id,
            _F.role_id,
            _F.task_type,
            _F.tokens_in,
            _F.tokens_out,
            snapshot,
            difficulty,
        )
        .join(DECISIONS, DECISIONS.c.routing_decision_id == _F.routing_decision_id)
        .order_by(_F.timestamp_ms.desc(), _F.request_id.desc())
        .limit(limit)
    )
    with db.read() as connection:
        return [dict(row._mapping) for row in connection.execute(query)]
