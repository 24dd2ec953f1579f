"""Gateway API keys and the admin token: issued once, stored only as hashes, never logged."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import threading
import time
from pathlib import Path
from typing import Final, NoReturn

from rolecall.files import private_dir
from rolecall.gateway.failed_auth import FailedAuthLimiter
from rolecall.gateway.wire import WireError
from rolecall.limits.policy import NO_LIMITS, LimitSpec
from rolecall.storage.keys import ApiKeyRecord, SqlApiKeys

log = logging.getLogger("rolecall.gateway")

KEY_PREFIX: Final = "rc-"
REFRESH_S: Final = 0.5  # a key created or revoked elsewhere counts within this time (x2)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(
    store: SqlApiKeys, name: str, *, team: str | None = None, limits: LimitSpec = NO_LIMITS
) -> tuple[ApiKeyRecord, str]:
    """Create and store a key (with its team and limits); the plain key is returned once and
    never stored."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    now = time.time_ns() // 1_000_000
    record = ApiKeyRecord(
        key_id="key_" + secrets.token_hex(6),
        name=name,
        key_hash=hash_key(key),
        prefix=key[:8],
        created_ms=now,
        team=team,
        limits=limits,
        updated_ms=now,
    )
    store.put(record)
    return record, key


class KeyChecker:
    """Answers "whose is this bearer key?" with a hash and a dict lookup, never a query.

    The live keys' records (id, team, limits) live in memory, by hash. A background thread
    (`start`) asks the store every `REFRESH_S` for a fingerprint of the keys table and reloads
    them only when it changed, so a key created, revoked or given other limits by another
    process (`rolecall keys ...`) counts within a second. While the store cannot be read
    (database down) the last loaded keys keep serving: valid keys work, unknown ones stay
    refused; a warning is logged once per outage. Failed checks are counted per client address
    by ``limiter``.
    """

    def __init__(self, store: SqlApiKeys, limiter: FailedAuthLimiter) -> None:
        self._store = store
        self.limiter = limiter
        self._valid: dict[str, ApiKeyRecord] = {}
        self._fingerprint: tuple[int, ...] | None = None
        self._store_down = False
        self._refreshing = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def valid(self, key: str) -> bool:
        return hash_key(key) in self._valid

    def refresh(self) -> None:
        """Reload the live keys if the store's keys changed (raises if it cannot be read).

        One refresh at a time: the timer thread and a change notice may both ask, and one that
        read the keys before a change must not publish them after one that read them after it."""
        with self._refreshing:
            fingerprint = self._store.fingerprint()
            if fingerprint != self._fingerprint:
                # read after the fingerprint: a change in between only causes one more reload
                self._valid = self._store.live()
                self._fingerprint = fingerprint

    def start(self) -> None:
        """Load the keys now (the server is not listening yet), then keep them current."""
        self._refresh_logged()
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="rolecall-keys", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=REFRESH_S * 4)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(REFRESH_S):
            self._refresh_logged()

    def _refresh_logged(self) -> None:
        try:
            self.refresh()
        except Exception as exc:  # the store's driver decides what an outage raises
            if not self._store_down:
                self._store_down = True
                log.warning(
                    "cannot read API keys (%s); serving the %d keys loaded before",
                    type(exc).__name__,
                    len(self._valid),
                )
            return
        if self._store_down:
            self._store_down = False
            log.warning("API keys readable again (%d valid keys)", len(self._valid))

    def check(self, authorization: str | None, client: str) -> ApiKeyRecord:
        """The record of the valid gateway key ``authorization`` carries; else raise the 401
        (or, after too many failures from ``client``, 429) `WireError`."""
        key = bearer(authorization)
        if key is not None:
            record = self._valid.get(hash_key(key))
            if record is not None:
                return record
        self.refuse(
            client,
            "missing or invalid API key: send 'Authorization: Bearer <key>' "
            "with a key from 'rolecall keys create'",
            "invalid_api_key",
        )

    def refuse(self, client: str, message: str, code: str) -> NoReturn:
        """Count a failed check from ``client`` and raise its 401 or 429."""
        wait = self.limiter.failure(client)
        if wait is not None:  # not logged: past the limit, a guesser fills no log
            raise WireError(
                429,
                f"too many failed authentication attempts from this address; retry in {wait} s",
                code="rate_limit_exceeded",
                kind="rate_limit_error",
                headers={"retry-after": str(wait)},
            )
        log.warning("authentication failed from %s (%s)", client or "unknown address", code)
        raise WireError(401, message, code=code, kind="authentication_error")


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
