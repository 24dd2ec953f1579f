"""Inventory entries for running local model servers, ready to merge into ``rolecall.yaml`` data.

Each server becomes one ``llamacpp`` provider (its loopback base URL) and one endpoint carrying
the registry's honest claims (context window served, tools, capabilities, quantization, runtime
version); an embedding model's endpoint is bound to the ``embedder`` role alone, with its batch
size. Local inference is not free: its price per token is the hardware's hourly price spread
over the measured decode speed, ``hourly_usd / (tokens_per_sec * 3600) * 1e6`` per million tokens,
the same for input and output (the registry's spec figure stands in until a speed is measured).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from rolecall.providers.local.models import RUNTIME_PACKAGE, RUNTIME_VERSION, get_model
from rolecall.providers.local.supervisor import ServerStatus

DEFAULT_HOURLY_USD: Final = 0.10
EMBEDDER_ROLE: Final = "embedder"
PROVIDER_PREFIX: Final = "local-"
ENDPOINT_PREFIX: Final = "local."


def price_per_1m(tokens_per_sec: float, hourly_usd: float = DEFAULT_HOURLY_USD) -> float:
    """USD per million tokens for hardware costing ``hourly_usd`` at ``tokens_per_sec``."""
    if tokens_per_sec <= 0:
        raise ValueError("tokens_per_sec must be positive")
    return round(hourly_usd / (tokens_per_sec * 3600) * 1e6, 6)


def status_from_dict(data: Mapping[str, Any]) -> ServerStatus:
    """A :class:`ServerStatus` from one entry of ``state.json`` (unknown keys are ignored)."""
    fields = ServerStatus.__dataclass_fields__
    return ServerStatus(**{key: value for key, value in data.items() if key in fields})


def local_inventory_entries(
    status: Iterable[ServerStatus | Mapping[str, Any]],
    *,
    hourly_usd: float = DEFAULT_HOURLY_USD,
    include_offline: bool = True,
) -> dict[str, Any]:
    """``{"providers": {...}, "endpoints": [...]}`` for the given servers (inventory-file shape).

    Offline servers are kept (the gateway's health checks and cooldowns handle them) unless
    ``include_offline`` is false; a server that was given up is always left out.
    """
    providers: dict[str, Any] = {}
    endpoints: list[dict[str, Any]] = []
    for item in status:
        server = item if isinstance(item, ServerStatus) else status_from_dict(item)
        if server.gave_up or (not include_offline and server.state != "healthy"):
            continue
        model = get_model(server.name)
        provider = f"{PROVIDER_PREFIX}{model.name}"
        speed = server.tokens_per_sec or model.tokens_per_sec_hint
        price = price_per_1m(speed, hourly_usd)
        providers[provider] = {"kind": "llamacpp", "base_url": server.base_url, "local": True}
        endpoint: dict[str, Any] = {
            "id": f"{ENDPOINT_PREFIX}{model.name}",
            "provider": provider,
            "model": model.name,
            "capabilities": list(model.capabilities),
            "modalities": ["text"],
            "context_window": model.context_window,
            "tools": model.tools,
            "price": {"input_per_1m": price, "output_per_1m": price},
            "quantization": model.quantization,
            "runtime_version": f"{RUNTIME_PACKAGE}-{RUNTIME_VERSION}",
        }
        if model.kind == "embedding":  # bound to the embedder role only; no output tokens
            endpoint["roles"] = [EMBEDDER_ROLE]
            endpoint["price"] = {"input_per_1m": price, "output_per_1m": 0.0}
            if model.batch_size is not None:
                endpoint["batch_size"] = model.batch_size
        endpoints.append(endpoint)
    return {"providers": providers, "endpoints": endpoints}
