"""Plain records kept by storage that are not protocol artifacts: API keys and endpoint cooldowns.

Owns `ApiKeyRecord` (a hashed gateway API key; the key itself is never stored) and `Cooldown` (an
endpoint's place in the §2.20 cooldown schedule). Both are frozen dataclasses with no dependencies,
so the gateway, CLI and storage share them without importing SQL code; they check their own values.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ApiKeyRecord", "Cooldown"]


def _require_text(name: str, value: object) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name}: must be a non-empty string, got {value!r}")


def _require_count(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name}: must be a non-negative integer, got {value!r}")


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    """A gateway API key as stored: its hash, never the key.

    ``prefix`` is the first 8 characters of the key, kept only so operators can tell keys apart;
    ``revoked_ms`` is ``None`` while the key is usable.
    """

    key_id: str
    name: str
    key_hash: str
    prefix: str
    created_ms: int
    revoked_ms: int | None = None

    def __post_init__(self) -> None:
        for name in ("key_id", "name", "key_hash"):
            _require_text(name, getattr(self, name))
        if not isinstance(self.prefix, str) or len(self.prefix) > 8:
            raise ValueError(
                f"prefix: must be a string of at most 8 characters, got {self.prefix!r}"
            )
        _require_count("created_ms", self.created_ms)
        if self.revoked_ms is not None:
            _require_count("revoked_ms", self.revoked_ms)

    @property
    def revoked(self) -> bool:
        """Whether the key has been revoked."""
        return self.revoked_ms is not None


@dataclass(frozen=True, slots=True)
class Cooldown:
    """An endpoint cooling down after fallback-eligible failures (role-model §2.20).

    ``level`` indexes the cooldown schedule (0 is the first, shortest step), ``until_ms`` is when
    the endpoint becomes routable again, ``reason`` the error class that caused it and
    ``failures`` how many consecutive failures led here.
    """

    endpoint_id: str
    level: int
    until_ms: int
    reason: str
    failures: int
    updated_ms: int

    def __post_init__(self) -> None:
        _require_text("endpoint_id", self.endpoint_id)
        _require_text("reason", self.reason)
        for name in ("level", "until_ms", "failures", "updated_ms"):
            _require_count(name, getattr(self, name))

    def active(self, now_ms: int) -> bool:
        """Whether the endpoint is still cooling down at ``now_ms``."""
        return now_ms < self.until_ms
