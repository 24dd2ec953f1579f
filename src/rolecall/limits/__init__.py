"""Budgets and rate limits per gateway key, team of keys, role and globally (docs/limits.md).

`policy` says what a limit is (scope, metric, integer amount, window), `spec` parses limits as
people write them, `charges` is the arithmetic every store shares, `ports` the store's port,
`service.Limiter` the use case the chat path calls, and `failover` keeps counting on SQL while
Redis is down. The stores themselves are adapters: `rolecall.cluster.redis_limits` and
`rolecall.storage.limit_counters`.
"""
