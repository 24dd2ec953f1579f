"""The Lua script behind `rolecall.cluster.redis_limits`: settle what is pending, then reserve.

Its arguments are a few compact strings rather than one argument per number: encoding and
parsing thirty arguments costs the client more than the script's own work.

KEYS: per counter, the counter (a calendar window's integer, or a rolling window's sorted set
of ``reservation|amount`` members scored by time) and then a rolling window's running sum.

ARGV:

1. now (ms)
2. the reservation id ("" when only settling)
3. the counters, ``kind:cap:span`` joined by ``,``: kind ``c`` (calendar; span is the window's
   reset_ms) or ``r`` (rolling; span is the window's length in ms); counter i is KEYS[2i-1]
4. the groups joined by ``/`` — the common charges first, then each alternative — each
   ``counter:amount`` pairs joined by ``,`` (``-`` for an empty group)
5. settlements, ``key:kind:reservation:reserved:actual`` joined by ``,``, where key is the
   index in KEYS of a counter (its sum at key + 1)

Returns ``{1, alternative}`` (reserved; -1 without alternatives), ``{0, counter, used,
retry_ms (-1: never), alternative (-1: a common charge)}`` (refused) or ``{2}`` (settled only).
"""

from __future__ import annotations

from typing import Final

__all__ = ["GRACE_MS", "SCRIPT"]

GRACE_MS: Final = 86_400_000  # a calendar counter outlives its window by a day
ROLLING_GRACE_MS: Final = 60_000

SCRIPT: Final = """
local GRACE, ROLLING_GRACE = 86400000, 60000  -- GRACE_MS, ROLLING_GRACE_MS
local now, rid = tonumber(ARGV[1]), ARGV[2]
local function amount_of(member) return tonumber(string.match(member, '|(%d+)$')) end

for entry in string.gmatch(ARGV[5], '[^,]+') do
  local k, kind, owner, reserved, actual = string.match(entry, '^(%d+):(%a):([^:]+):(%d+):(%d+)$')
  k = tonumber(k)
  local delta = tonumber(actual) - tonumber(reserved)
  if kind == 'c' then
    if redis.call('EXISTS', KEYS[k]) == 1 then redis.call('INCRBY', KEYS[k], delta) end
  else
    local at = redis.call('ZSCORE', KEYS[k], owner .. '|' .. reserved)
    if at then
      redis.call('ZREM', KEYS[k], owner .. '|' .. reserved)
      if tonumber(actual) > 0 then redis.call('ZADD', KEYS[k], at, owner .. '|' .. actual) end
      redis.call('INCRBY', KEYS[k + 1], delta)
    end
  end
end
if rid == '' then return {2} end

local kind, cap, span, used = {}, {}, {}, {}
local n = 0
for k, c, s in string.gmatch(ARGV[3], '(%a):(%d+):(%d+)') do
  n = n + 1
  kind[n], cap[n], span[n] = k, tonumber(c), tonumber(s)
  local key, sum = KEYS[2 * n - 1], KEYS[2 * n]
  if k == 'r' then
    local cut = now - span[n]
    local old = redis.call('ZRANGEBYSCORE', key, '-inf', cut)
    if #old > 0 then
      local freed = 0
      for _, member in ipairs(old) do freed = freed + amount_of(member) end
      redis.call('ZREMRANGEBYSCORE', key, '-inf', cut)
      redis.call('DECRBY', sum, freed)
    end
    used[n] = tonumber(redis.call('GET', sum) or '0')
  else
    used[n] = tonumber(redis.call('GET', key) or '0')
  end
end

local groups = {}
for text in string.gmatch(ARGV[4], '[^/]+') do
  local items = {}
  if text ~= '-' then
    for i, a in string.gmatch(text, '(%d+):(%d+)') do
      items[#items + 1] = {tonumber(i), tonumber(a), a}
    end
  end
  groups[#groups + 1] = items
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
    -- capped at the window: an entry stamped by a process whose clock runs ahead of ours
    if freed >= needed then
      return math.min(span[i], math.max(1, tonumber(entries[k + 1]) + span[i] - now))
    end
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
      local key, sum = KEYS[2 * i - 1], KEYS[2 * i]
      if kind[i] == 'c' then
        redis.call('INCRBY', key, text)
        redis.call('PEXPIREAT', key, span[i] + GRACE)
      else
        redis.call('ZADD', key, now, rid .. '|' .. text)
        redis.call('INCRBY', sum, text)
        redis.call('PEXPIRE', key, span[i] + ROLLING_GRACE)
        redis.call('PEXPIRE', sum, span[i] + ROLLING_GRACE)
      end
    end
  end
end
apply(groups[1])
if chosen > 0 then apply(groups[chosen + 1]) end
return {1, chosen - 1}
"""
