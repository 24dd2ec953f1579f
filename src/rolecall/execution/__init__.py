"""Executing routing decisions: the routing state requests read, the candidate pool, cooldowns,
failure classes and the executor (retry, fallback). Upstream adapters plug in through
`rolecall.execution.ports`; this package never imports a provider."""
