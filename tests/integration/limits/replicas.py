"""Two real `rolecall serve` processes on one PostgreSQL database (and one Redis, or none), a
scripted upstream, and a burst of concurrent requests split between them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import redis
import yaml

from rolecall.gateway.auth import create_api_key
from rolecall.limits.policy import LimitSpec
from rolecall.providers.scripted import ScriptedUpstream
from rolecall.storage import open_storage
from tests.reliability.chaos import GatewayProcess

ANSWER = "one two three four five"  # 5 tokens: a request reserves and costs the same
PER_REQUEST_MICRO_USD = 5_000  # 5 output tokens at 1,000 USD per million, input free
BODY = {"model": "default", "messages": [{"role": "user", "content": "hello"}], "max_tokens": 5}
REDIS_PREFIX = "rolecall:{limits}:"  # the gateway's own (rolecall.cluster.redis_limits)


def inventory(upstream_url: str) -> dict[str, Any]:
    price = {"input_per_1m": 0.0, "output_per_1m": 1000.0}
    return {
        "providers": {"p": {"kind": "openai_compatible", "base_url": upstream_url, "local": False}},
        "endpoints": [{"provider": "p", "model": "m", "id": "ep-paid", "price": price}],
    }


@dataclass
class LimitedGateway(GatewayProcess):
    """`GatewayProcess` with a priced endpoint and keys required."""

    def environment(self) -> dict[str, str]:
        env = super().environment()
        Path(env["ROLECALL_CONFIG"]).write_text(yaml.safe_dump(inventory(self.upstream_url)))
        return {**env, "ROLECALL_REQUIRE_API_KEY": "true"}


@dataclass
class Replicas:
    database_url: str
    redis_url: str | None
    gateways: list[LimitedGateway] = field(default_factory=list)
    key_ids: list[str] = field(default_factory=list)

    def key(self, spec: LimitSpec) -> str:
        """A new key with ``spec``, once every gateway has loaded it (within a second)."""
        storage = open_storage(self.database_url)
        try:
            record, key = create_api_key(storage.keys, "race", limits=spec)
        finally:
            storage.close()
        self.key_ids.append(record.key_id)
        # a gateway may be several worker processes behind its port, each with its own copy of
        # the keys: every one has the key once ten new connections in a row are let in
        deadline = time.monotonic() + 30
        for gateway in self.gateways:
            streak = 0
            while streak < 10:
                assert time.monotonic() < deadline, f"{gateway.base_url} did not load the key"
                streak = streak + 1 if _knows(gateway, key) else 0
                time.sleep(0 if streak else 0.05)
        return key

    @property
    def urls(self) -> list[str]:
        return [f"{g.base_url}/v1/chat/completions" for g in self.gateways]


@contextlib.contextmanager
def replicas(tmp: Path, database_url: str, redis_url: str | None) -> Iterator[Replicas]:
    """Two gateways over one scripted upstream; their Redis keys are deleted afterwards."""
    upstream = ScriptedUpstream.start_in_thread({"models": {"m": {"answer": ANSWER}}})
    open_storage(database_url).close()  # migrated once, before two processes start
    env = {"ROLECALL_REDIS_URL": redis_url} if redis_url else {}
    group = Replicas(database_url, redis_url)
    try:
        for name in ("one", "two"):
            (tmp / name).mkdir()
            gateway = LimitedGateway(tmp / name, upstream.base_url, database_url, env)
            group.gateways.append(gateway.start())
        yield group
    finally:
        for gateway in group.gateways:
            gateway.stop()
        upstream.stop()
        if redis_url:
            forget_redis_keys(redis_url, group.key_ids)


def _knows(gateway: GatewayProcess, key: str) -> bool:
    """Whether ``gateway`` takes ``key`` (asked on /v1/models, which no limit counts)."""
    request = urllib.request.Request(
        f"{gateway.base_url}/v1/models", headers={"authorization": f"Bearer {key}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as reply:
            return reply.status == 200
    except urllib.error.HTTPError as exc:
        exc.close()
        return False


def forget_redis_keys(redis_url: str, key_ids: Sequence[str]) -> None:
    """Delete the gateway's Redis counters of these keys."""
    client = redis.Redis.from_url(redis_url)
    try:
        for key_id in key_ids:
            found = list(client.scan_iter(match=f"{REDIS_PREFIX}key:{key_id}:*"))
            if found:
                client.delete(*found)
    finally:
        client.close()


async def _burst(urls: Sequence[str], key: str, n: int) -> list[tuple[int, Any, str | None]]:
    headers = {"authorization": f"Bearer {key}"}
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def one(i: int) -> tuple[int, Any, str | None]:
            url = urls[i % len(urls)]
            async with session.post(url, json=BODY, headers=headers) as reply:
                body = json.loads(await reply.read())
                return reply.status, body, reply.headers.get("retry-after")

        return await asyncio.gather(*(one(i) for i in range(n)))


def burst(group: Replicas, key: str, n: int) -> list[tuple[int, Any, str | None]]:
    """``n`` requests at once, every other one to each gateway: (status, body, Retry-After)."""
    return asyncio.run(_burst(group.urls, key, n))
