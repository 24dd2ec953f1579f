"""Value checks for the plain frozen records that are not pydantic models (cooldowns, API keys):
each raises `ValueError` naming the field and what it must be."""

from __future__ import annotations


def require_text(name: str, value: object) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name}: must be a non-empty string, got {value!r}")


def require_count(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name}: must be a non-negative integer, got {value!r}")
