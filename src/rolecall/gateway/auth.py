"""Gateway API keys and the admin token: issued once, stored only as hashes, never logged."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path
from typing import Final

from rolecall.files import private_dir
from rolecall.gateway.wire import WireError
from rolecall.storage.keys import ApiKeyRecord, SqlApiKeys

KEY_PREFIX: Final = "rc-"
CACHE_TTL_S: Final = 15.0  # a revoked key stops working within this time


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(store: SqlApiKeys, name: str) -> tuple[ApiKeyRecord, str]:
    """Create and store a key; the plain key is returned once and never stored."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    record = ApiKeyRecord(
        key_id="key_" + secrets.token_hex(6),
        name=name,
        key_hash=hash_key(key),
        prefix=key[:8],
        created_ms=time.time_ns() // 1_000_000,
    )
    store.put(record)
    return record, key


class KeyChecker:
    """Answers "is this bearer key valid?" from a short-lived cache in front of the store."""

    def __init__(self, store: SqlApiKeys) -> None:
        self._store = store
        self._cache: dict[str, tuple[bool, float]] = {}

    def valid(self, key: str) -> bool:
        digest = hash_key(key)
        cached = self._cache.get(digest)
        now = time.monotonic()
        if cached is not None and now - cached[1] < CACHE_TTL_S:
            return cached[0]
        ok = self._store.find(digest) is not None
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[digest] = (ok, now)
        return ok


def load_admin_token(data_dir: Path, configured: str | None) -> str:
    """The configured token, else the one stored in the data directory (created on first use)."""
    if configured:
        return configured
    path = data_dir / "admin_token"
    if path.exists():
        return path.read_text().strip()
    private_dir(data_dir)
    token = "rca-" + secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token)
    return token


def ensure_default_key(store: SqlApiKeys, data_dir: Path) -> str:
    """The key `rolecall run` prints: created once, kept in ``DATA_DIR/api_key`` (mode 0600) so a
    second start can show it again; revoke it with `rolecall keys revoke` like any other."""
    path = data_dir / "api_key"
    if path.exists():
        key = path.read_text().strip()
        if store.find(hash_key(key)) is not None:
            return key
        path.unlink()
    private_dir(data_dir)
    _, key = create_api_key(store, "default (rolecall run)")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def bearer(authorization: str | None) -> str | None:
    if not authorization or not authorization.lower().startswith("bearer "):
        return None
    return authorization[7:].strip() or None


def same_secret(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def require_gateway_key(checker: KeyChecker, authorization: str | None) -> None:
    """Raise the 401 `WireError` unless ``authorization`` carries a valid gateway key."""
    key = bearer(authorization)
    if key is None or not checker.valid(key):
        raise WireError(
            401,
            "missing or invalid API key: send 'Authorization: Bearer <key>' "
            "with a key from 'rolecall keys create'",
            code="invalid_api_key",
            kind="authentication_error",
        )
