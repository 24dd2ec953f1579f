"""Models: endpoint health and evidence, the model × role activation matrix, discover and add.

Re-benchmark badges follow `rolecall.profiles.needs_rebenchmark`: benchmark samples graded under
another membership revision (identity or role bindings changed since) and none under the current.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import Response

from rolecall.benchmark.service import benchmark_unmeasured
from rolecall.console.api_spec import AddEndpointsRequest, BindingRequest, DiscoverRequest
from rolecall.console.common import now_ms, reply
from rolecall.errors import ConfigError, RolecallError
from rolecall.gateway.context import services_of
from rolecall.gateway.wire import WireError
from rolecall.gateway.wire_models import parse_body
from rolecall.inventory.inventory import (
    Endpoint,
    Inventory,
    endpoint_version,
    membership_revision_for,
)
from rolecall.operator.endpoints import add_endpoints as add_endpoints_to
from rolecall.operator.endpoints import discover_at
from rolecall.profiles import needs_rebenchmark, partition_samples
from rolecall.protocol import RoleBinding
from rolecall.services import Services

log = logging.getLogger(__name__)


def shown_url(url: str) -> str:
    """``url`` without user info or query, which may carry credentials."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _benchmark_evidence(services: Services, endpoint: Endpoint) -> dict[str, Any]:
    samples = services.storage.samples.for_endpoint(endpoint.endpoint_id, source="benchmark")
    partition = partition_samples(
        samples,
        endpoint_id=endpoint.endpoint_id,
        endpoint_version=endpoint_version(endpoint.identity),
        membership_revision=membership_revision_for(
            services.routing.inventory, endpoint.endpoint_id
        ),
    )
    fresh = sum(1 for s in partition.usable if s.source == "benchmark")
    return {
        "benchmark_samples": fresh,
        "stale_samples": partition.stale_samples,
        "needs_rebenchmark": needs_rebenchmark(partition) if samples else False,
        "never_benchmarked": not samples,
        "last_benchmark_ms": max((s.timestamp_ms for s in samples), default=None),
    }


def _status(services: Services, endpoint_id: str, now: int) -> str:
    for candidate in services.routing.candidates(now):
        if candidate.endpoint_id == endpoint_id:
            return str(candidate.status)
    return "disabled"


def endpoint_view(services: Services, endpoint: Endpoint, now: int) -> dict[str, Any]:
    cooldown = services.routing.cooldowns.active(endpoint.endpoint_id, now)
    profile = services.routing.profiles.get(endpoint.endpoint_id)
    return {
        "endpoint_id": endpoint.endpoint_id,
        "provider": endpoint.provider_name,
        "provider_kind": endpoint.identity.provider_kind,
        "model": endpoint.model,
        "local": endpoint.is_local,
        "enabled": endpoint.enabled,
        "status": _status(services, endpoint.endpoint_id, now),
        "base_url": shown_url(endpoint.provider.base_url),
        "declared": endpoint.declared.to_artifact(),
        "price_per_1m": {"input": endpoint.input_per_1m, "output": endpoint.output_per_1m},
        "observed": profile.to_artifact() if profile else None,
        "evidence": _benchmark_evidence(services, endpoint),
        "cooldown": None
        if cooldown is None
        else {
            "level": cooldown.level,
            "until_ms": cooldown.until_ms,
            "remaining_ms": max(0, cooldown.until_ms - now),
            "reason": cooldown.reason,
            "failures": cooldown.failures,
        },
    }


async def models(request: Request) -> Response:
    services = services_of(request)
    now = now_ms()
    items = [endpoint_view(services, e, now) for e in services.routing.inventory.endpoints.values()]
    return reply({"data": items, "now_ms": now})


async def bindings(request: Request) -> Response:
    return reply(bindings_view(services_of(request).routing.inventory))


async def set_binding(request: Request) -> Response:
    services = services_of(request)
    body = parse_body(BindingRequest, await request.body())
    try:
        services.operator.set_binding(body.role_id, body.endpoint_id, body.status)
    except ConfigError as exc:
        raise WireError(400, str(exc), param=exc.path) from None
    return reply(bindings_view(services.routing.inventory))


async def discover_endpoints(request: Request) -> Response:
    body = parse_body(DiscoverRequest, await request.body())
    try:
        found = await asyncio.to_thread(discover_at, body.url)
    except ConfigError as exc:
        raise WireError(400, str(exc), param="url") from None
    inventory = services_of(request).routing.inventory
    known = {(e.provider.base_url, e.model) for e in inventory.endpoints.values()}
    return reply(
        {
            "base_url": found.base_url,
            "kind": found.kind,
            "models": [
                {"model": m, "configured": (found.base_url, m) in known} for m in found.models
            ],
        }
    )


async def add_endpoints(request: Request) -> Response:
    """Discover ``url``, append it to rolecall.yaml as ``provider``, route to the new endpoints,
    and start an adaptive benchmark on them (anchored on the measured pool) unless a run is
    active; ``benchmark_run`` is its id (None: not started)."""
    services = services_of(request)
    body = parse_body(AddEndpointsRequest, await request.body())
    try:
        added = await asyncio.to_thread(
            add_endpoints_to, services.routing, services.settings.config, body.url, body.provider
        )
    except ConfigError as exc:
        raise WireError(400, str(exc), param=exc.path) from None
    run_id = None
    if added.endpoints:
        try:
            run_id = await benchmark_unmeasured(services.bench)
        except RolecallError as exc:  # the endpoints are added; a run can be started later
            log.warning("no benchmark for the new endpoints: %s", exc)
    body_out = {"added": added.added, "endpoints": added.endpoints, "benchmark_run": run_id}
    return reply(body_out, 201)


def bindings_view(inventory: Inventory) -> dict[str, Any]:
    """The role × endpoint matrix: every cell's binding status (``auto``: no explicit binding)."""
    explicit: dict[tuple[str, str], RoleBinding] = {
        (b.role_id, b.endpoint_id): b for b in inventory.bindings
    }
    return {
        "roles": [
            {"role_id": r.role_id, "name": r.name, "tasks": r.task_types_supported}
            for r in inventory.roles.values()
        ],
        "endpoints": list(inventory.endpoints),
        "cells": [
            {
                "role_id": role_id,
                "endpoint_id": endpoint_id,
                "status": b.status if (b := explicit.get((role_id, endpoint_id))) else "auto",
            }
            for role_id in inventory.roles
            for endpoint_id in inventory.endpoints
        ],
    }
