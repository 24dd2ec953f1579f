"""`RedisLimitStore`: budget and rate-limit counters in Redis, one Lua script per reservation.

The script reads every counter a request touches, picks the first alternative that fits, and adds
the charges, all in one atomic step on the server, so any number of gateway processes and
replicas share exact counters with one round trip per request. A calendar window's counter is an
integer key that expires a day after its window ends (a late settlement still finds it). A
rolling window is a sorted set of ``reservation|amount`` members scored by time, beside a key
holding their sum; entries that left the window are pruned (and subtracted) as it is read, so
"at most N in any window" holds exactly rather than per bucket. Every key starts with one hash
tag, so on Redis Cluster they share a slot and the script stays atomic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from rolecall.cluster.redis import async_client
from rolecall.limits.charges import applied_charges
from rolecall.limits.ports import (
    Charge,
    LimitStoreError,
    Refusal,
    Reservation,
    ReserveRequest,
)

__all__ = ["DEFAULT_PREFIX", "RedisLimitStore"]

DEFAULT_PREFIX: Final = "rolecall:{limits}:"
GRACE_MS: Final = 86_400_000  # a calendar counter outlives its window by a day (as in RESERVE)

# Counter i uses KEYS[2i-1] (the counter, or a rolling window's log) and KEYS[2i] (a rolling
# window's sum). ARGV: now, reservation id, n, then (kind, cap, reset_ms | window_ms) per counter,
# then the number of groups (the common one, then each alternative) and per group its length and
# (counter index, amount) pairs. Amounts stay strings where they become member names: Lua would
# print a large number as 1e+15.
RESERVE: Final = """
local now, rid, n = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local kind, cap, span, used = {}, {}, {}, {}
local function amount_of(member) return tonumber(string.match(member, '|(%d+)$')) end
for i = 1, n do
  local b = 3 + (i - 1) * 3
  kind[i], cap[i], span[i] = ARGV[b + 1], tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3])
  if kind[i] == 'r' then
    local old = redis.call('ZRANGEBYSCORE', KEYS[2 * i - 1], '-inf', now - span[i])
    if #old > 0 then
      local freed = 0
      for _, member in ipairs(old) do freed = freed + amount_of(member) end
      redis.call('ZREMRANGEBYSCORE', KEYS[2 * i - 1], '-inf', now - span[i])
      redis.call('DECRBY', KEYS[2 * i], freed)
    end
    used[i] = tonumber(redis.call('GET', KEYS[2 * i]) or '0')
  else
    used[i] = tonumber(redis.call('GET', KEYS[2 * i - 1]) or '0')
  end
end
local p = 4 + n * 3
local groups, count = {}, tonumber(ARGV[4 + n * 3])
p = p + 1
for g = 1, count do
  local m, items = tonumber(ARGV[p]), {}
  p = p + 1
  for j = 1, m do
    items[j] = {tonumber(ARGV[p]), tonumber(ARGV[p + 1]), ARGV[p + 1]}
    p = p + 2
  end
  groups[g] = items
end
local function blocked(first, second)
  local pending = {}
  for _, list in ipairs({first, second}) do
    for _, it in ipairs(list) do
      local i, amount = it[1], it[2]
      if amount > 0 then
        local already = used[i] + (pending[i] or 0)
        if already + amount > cap[i] then return it end
        pending[i] = (pending[i] or 0) + amount
      end
    end
  end
  return nil
end
local function retry(i, amount)
  if amount > cap[i] then return -1 end
  if kind[i] == 'c' then return math.max(1, span[i] - now) end
  local needed, freed = used[i] + amount - cap[i], 0
  local entries = redis.call('ZRANGE', KEYS[2 * i - 1], 0, -1, 'WITHSCORES')
  for k = 1, #entries, 2 do
    freed = freed + amount_of(entries[k])
    if freed >= needed then return math.max(1, tonumber(entries[k + 1]) + span[i] - now) end
  end
  return span[i]
end
local b = blocked(groups[1], {})
if b then return {0, b[1], used[b[1]], retry(b[1], b[2]), -1} end
local chosen = 0
if #groups > 1 then
  local best = nil
  for g = 2, #groups do
    local bb = blocked(groups[1], groups[g])
    if not bb then chosen = g - 1 break end
    local r = retry(bb[1], bb[2])
    if best == nil or (r >= 0 and (best[4] < 0 or r < best[4])) then
      best = {0, bb[1], used[bb[1]], r, g - 2}
    end
  end
  if chosen == 0 then return best end
end
local function apply(list)
  for _, it in ipairs(list) do
    local i, amount, text = it[1], it[2], it[3]
    if amount > 0 then
      if kind[i] == 'c' then
        redis.call('INCRBY', KEYS[2 * i - 1], text)
        redis.call('PEXPIREAT', KEYS[2 * i - 1], span[i] + 86400000)
      else
        redis.call('ZADD', KEYS[2 * i - 1], now, rid .. '|' .. text)
        redis.call('INCRBY', KEYS[2 * i], text)
        redis.call('PEXPIRE', KEYS[2 * i - 1], span[i] + 60000)
        redis.call('PEXPIRE', KEYS[2 * i], span[i] + 60000)
      end
    end
  end
end
apply(groups[1])
if chosen > 0 then apply(groups[chosen + 1]) end
return {1, chosen - 1}
"""

# ARGV: reservation id, n, then (kind, reserved, actual, actual - reserved) per counter.
SETTLE: Final = """
local rid, n = ARGV[1], tonumber(ARGV[2])
for i = 1, n do
  local b = 2 + (i - 1) * 4
  local kind, reserved, actual, delta = ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], ARGV[b + 4]
  if kind == 'c' then
    if redis.call('EXISTS', KEYS[2 * i - 1]) == 1 then
      redis.call('INCRBY', KEYS[2 * i - 1], delta)
    end
  else
    local at = redis.call('ZSCORE', KEYS[2 * i - 1], rid .. '|' .. reserved)
    if at then
      redis.call('ZREM', KEYS[2 * i - 1], rid .. '|' .. reserved)
      if tonumber(actual) > 0 then redis.call('ZADD', KEYS[2 * i - 1], at, rid .. '|' .. actual) end
      redis.call('INCRBY', KEYS[2 * i], delta)
    end
  end
end
return 1
"""

_FAILURES: Final = (RedisError, OSError, TimeoutError)


class RedisLimitStore:
    """Counters in the Redis at ``url`` under ``prefix`` (the client connects on first use,
    inside the serving event loop)."""

    name: Final = "redis"

    def __init__(self, url: str, *, prefix: str = DEFAULT_PREFIX) -> None:
        self._url = url
        self._prefix = prefix
        self._client: aioredis.Redis | None = None
        self._reserve: AsyncScript | None = None
        self._settle: AsyncScript | None = None

    def _scripts(self) -> tuple[AsyncScript, AsyncScript]:
        if self._reserve is None or self._settle is None:
            self._client = async_client(self._url)
            self._reserve = self._client.register_script(RESERVE)
            self._settle = self._client.register_script(SETTLE)
        return self._reserve, self._settle

    def _keys(self, counters: Sequence[str]) -> list[str]:
        keys: list[str] = []
        for counter in counters:
            keys += (self._prefix + counter, self._prefix + counter + "#sum")
        return keys

    async def reserve(self, request: ReserveRequest) -> Reservation | Refusal:
        charges: dict[str, Charge] = {}
        groups = (request.common, *request.alternatives)
        for group in groups:
            for charge in group:
                charges.setdefault(charge.counter, charge)
        index = {counter: i for i, counter in enumerate(charges, 1)}
        args: list[Any] = [request.now_ms, request.reservation_id, len(charges)]
        for charge in charges.values():
            span = charge.limit.window.window_ms if charge.rolling else charge.reset_ms
            args += ("r" if charge.rolling else "c", charge.cap, span)
        args.append(len(groups))
        for group in groups:
            args.append(len(group))
            for charge in group:
                args += (index[charge.counter], charge.amount)
        script, _ = self._scripts()
        try:
            reply = await script(keys=self._keys(list(charges)), args=args)
        except _FAILURES as exc:
            raise LimitStoreError(f"redis: {type(exc).__name__}: {exc}") from exc
        if int(reply[0]) == 1:
            alternative = int(reply[1])
            charged = applied_charges(request, alternative)
            return Reservation(
                request.reservation_id, request.now_ms, charged, alternative, "redis"
            )
        return _refusal(request, list(charges), reply)

    async def settle(self, reservation: Reservation, actual: Sequence[int]) -> None:
        changed = [
            (charge, amount)
            for charge, amount in zip(reservation.charges, actual, strict=True)
            if amount != charge.amount
        ]
        if not changed:
            return
        args: list[Any] = [reservation.reservation_id, len(changed)]
        for charge, amount in changed:
            kind = "r" if charge.rolling else "c"
            args += (kind, charge.amount, amount, amount - charge.amount)
        _, script = self._scripts()
        try:
            await script(keys=self._keys([c.counter for c, _ in changed]), args=args)
        except _FAILURES as exc:
            raise LimitStoreError(f"redis: {type(exc).__name__}: {exc}") from exc

    async def absorb(self, amounts: Mapping[str, tuple[int, int]]) -> None:
        if not amounts:
            return
        self._scripts()
        assert self._client is not None
        pipe = self._client.pipeline(transaction=True)
        for counter, (amount, reset_ms) in amounts.items():
            pipe.incrby(self._prefix + counter, amount)
            pipe.pexpireat(self._prefix + counter, reset_ms + GRACE_MS)
        try:
            await pipe.execute()
        except _FAILURES as exc:
            raise LimitStoreError(f"redis: {type(exc).__name__}: {exc}") from exc

    async def ping(self) -> None:
        """Raise unless Redis answers (the failover's probe)."""
        self._scripts()
        assert self._client is not None
        await self._client.ping()

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
            self._reserve = self._settle = None


def _refusal(request: ReserveRequest, counters: Sequence[str], reply: Sequence[Any]) -> Refusal:
    counter = counters[int(reply[1]) - 1]
    alternative = int(reply[4])
    group = (*request.common, *(request.alternatives[alternative] if alternative >= 0 else ()))
    charge = next(c for c in reversed(group) if c.counter == counter)
    retry = int(reply[3])
    return Refusal(
        charge,
        int(reply[2]),
        None if retry < 0 else retry,
        None if alternative < 0 else alternative,
    )
