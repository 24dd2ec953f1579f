"""Models: endpoint health and evidence, the model × role activation matrix, discover and add.

Re-benchmark badges follow `rolecall.profiles.needs_rebenchmark`: benchmark samples graded under
another membership revision (identity or role bindings changed since) and none under the current.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import Response

from rolecall.bootstrap import Runtime
from rolecall.console.common import json_body, now_ms, reply, runtime_of
from rolecall.console.state import bindings_view, state_of, swap_inventory
from rolecall.errors import ConfigError
from rolecall.gateway.wire import WireError
from rolecall.inventory.catalog import Catalog
from rolecall.inventory.config import load_inventory_file
from rolecall.inventory.discovery import add_to_inventory, discover
from rolecall.inventory.inventory import Endpoint, build_inventory, endpoint_version
from rolecall.profiles import membership_revision, needs_rebenchmark, partition_samples


def shown_url(url: str) -> str:
    """``url`` without user info or query, which may carry credentials."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def revision_of(runtime: Runtime, endpoint: Endpoint) -> str:
    """The endpoint's current membership revision (identity plus its role bindings)."""
    bindings = [
        b.to_artifact() for b in runtime.inventory.bindings if b.endpoint_id == endpoint.endpoint_id
    ]
    return membership_revision(endpoint.identity.to_artifact(), bindings)


def _benchmark_evidence(runtime: Runtime, endpoint: Endpoint) -> dict[str, Any]:
    samples = runtime.storage.samples.for_endpoint(endpoint.endpoint_id, source="benchmark")
    partition = partition_samples(
        samples,
        endpoint_id=endpoint.endpoint_id,
        endpoint_version=endpoint_version(endpoint.identity),
        membership_revision=revision_of(runtime, endpoint),
    )
    fresh = sum(1 for s in partition.usable if s.source == "benchmark")
    return {
        "benchmark_samples": fresh,
        "stale_samples": partition.stale_samples,
        "needs_rebenchmark": needs_rebenchmark(partition) if samples else False,
        "never_benchmarked": not samples,
        "last_benchmark_ms": max((s.timestamp_ms for s in samples), default=None),
    }


def _status(runtime: Runtime, endpoint_id: str, now: int) -> str:
    for candidate in runtime.pool.candidates(now):
        if candidate.endpoint_id == endpoint_id:
            return str(candidate.status)
    return "disabled"


def endpoint_view(runtime: Runtime, endpoint: Endpoint, now: int) -> dict[str, Any]:
    cooldown = runtime.cooldowns.active(endpoint.endpoint_id, now)
    profile = runtime.pool.profiles.get(endpoint.endpoint_id)
    return {
        "endpoint_id": endpoint.endpoint_id,
        "provider": endpoint.provider_name,
        "provider_kind": endpoint.identity.provider_kind,
        "model": endpoint.model,
        "local": endpoint.is_local,
        "enabled": endpoint.enabled,
        "status": _status(runtime, endpoint.endpoint_id, now),
        "base_url": shown_url(endpoint.provider.base_url),
        "declared": endpoint.declared.to_artifact(),
        "price_per_1m": {"input": endpoint.input_per_1m, "output": endpoint.output_per_1m},
        "observed": profile.to_artifact() if profile else None,
        "evidence": _benchmark_evidence(runtime, endpoint),
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
    runtime = runtime_of(request)
    now = now_ms()
    items = [endpoint_view(runtime, e, now) for e in runtime.inventory.endpoints.values()]
    return reply({"data": items, "now_ms": now})


async def bindings(request: Request) -> Response:
    return reply(bindings_view(runtime_of(request).inventory))


async def set_binding(request: Request) -> Response:
    runtime = runtime_of(request)
    state = state_of(runtime)
    body = await json_body(request)
    try:
        state.set_binding(
            runtime,
            str(body.get("role_id", "")),
            str(body.get("endpoint_id", "")),
            str(body.get("status", "")),
        )
    except ConfigError as exc:
        raise WireError(400, str(exc), param=exc.path) from None
    return reply(bindings_view(runtime.inventory))


async def discover_endpoints(request: Request) -> Response:
    body = await json_body(request)
    url = body.get("url")
    if not isinstance(url, str) or not url:
        raise WireError(400, "'url' is required, e.g. http://127.0.0.1:8080", param="url")
    try:
        found = await asyncio.to_thread(discover, url, 5.0)
    except ConfigError as exc:
        raise WireError(400, str(exc), param="url") from None
    known = {
        (e.provider.base_url, e.model) for e in runtime_of(request).inventory.endpoints.values()
    }
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
    """Discover ``url``, append it to rolecall.yaml as ``provider``, route to the new endpoints."""
    runtime = runtime_of(request)
    body = await json_body(request)
    url, provider = body.get("url"), body.get("provider")
    if not isinstance(url, str) or not url:
        raise WireError(400, "'url' is required, e.g. http://127.0.0.1:8080", param="url")
    if not isinstance(provider, str) or not provider.replace("-", "").replace("_", "").isalnum():
        raise WireError(
            400, "'provider' must be a name of letters, digits, '-' or '_'", param="provider"
        )
    config_path = runtime.settings.config
    try:
        found = await asyncio.to_thread(discover, url, 5.0)
        added = add_to_inventory(config_path, provider, found)
        fresh = build_inventory(load_inventory_file(config_path), Catalog.load_default())
    except ConfigError as exc:
        raise WireError(400, str(exc), param=exc.path) from None
    new = {k: e for k, e in fresh.endpoints.items() if k not in runtime.inventory.endpoints}
    inventory = dataclasses.replace(
        runtime.inventory, endpoints={**runtime.inventory.endpoints, **new}
    )
    swap_inventory(runtime, inventory)
    if runtime.executor is not None:
        runtime.executor.set_inventory(inventory)
    return reply({"added": added, "endpoints": sorted(new)}, 201)
