"""Liveness and readiness: ``/livez``, ``/healthz`` and ``/readyz`` (unauthenticated).

``/livez`` answers 200 while the process serves (its event loop ran the handler); ``/healthz`` is
the same with the number of configured endpoints. ``/readyz`` says whether this process should
get traffic: 503 ``unready`` when the database does not answer ``SELECT 1``, records have waited
in the spool longer than `RECORD_LAG_UNREADY_S`, or no endpoint can serve (none configured, or
every one offline or cooling down); 200 ``degraded`` while it serves on a fallback (Redis gone:
notices by polling, limit counters in SQL; records late), else 200 ``ready``. Each problem names
its check, what was found and the fix.

Blocking probes (the database, Redis, the spool on disk) run off the event loop, one at a time
per probe, and their answer is kept `PROBE_TTL_S`, so a scrape storm costs one query a second.
While a probe refreshes, its previous answer stands until the refresh has run `PROBE_TIMEOUT_S`:
a storm never waits on a refresh (a busy event loop could not deliver the answer in time and
would turn a healthy database into a burst of 503s); a probe that has not answered within
`PROBE_TIMEOUT_S` of its start counts as failed.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Literal

import orjson
from starlette.requests import Request
from starlette.responses import Response

from rolecall.cluster.redis import sync_client
from rolecall.execution.secrets import summarise
from rolecall.gateway.auth import bearer, same_secret
from rolecall.gateway.context import services_of
from rolecall.gateway.responses import json_response
from rolecall.services import Services
from rolecall.storage.spool_reader import backlog

__all__ = ["Check", "Probe", "Readiness", "healthz", "livez", "readyz", "records_check"]

PROBE_TTL_S: Final = 1.0
PROBE_TIMEOUT_S: Final = 1.0
RECORD_LAG_DEGRADED_S: Final = 5.0  # normal: under a second (a hand-off every 0.25 s)
RECORD_LAG_UNREADY_S: Final = 60.0
DETAIL_CHARS: Final = 200
Severity = Literal["unready", "degraded"]

DATABASE_FIX: Final = (
    "check that the database at ROLECALL_DATABASE_URL is up and reachable from this host; "
    "answered requests' records wait in DATA_DIR/spool meanwhile"
)
REDIS_FIX: Final = (
    "check the Redis at ROLECALL_REDIS_URL; meanwhile change notices go by polling the database "
    "and budget and rate-limit counters by SQL"
)
RECORDS_FIX: Final = (
    "the record writer cannot keep up or cannot store: check the database and the log "
    "(logger rolecall.observe); records wait in DATA_DIR/spool, up to ROLECALL_SPOOL_MAX_BYTES"
)
ENDPOINTS_FIX: Final = (
    "see GET /api/endpoints: fix the upstream, end a cooldown with DELETE "
    "/api/cooldowns/{endpoint_id}, or add endpoints (rolecall.yaml or the console's Models page)"
)


@dataclass(frozen=True, slots=True)
class Check:
    """One readiness check; a failed one is a problem of its ``severity``. ``private`` is what
    only the admin token is shown (an error's text names hosts and ports)."""

    check: str
    ok: bool
    detail: str
    fix: str = ""
    severity: Severity = "unready"
    private: str = ""

    def shown(self, full: bool) -> str:
        return f"{self.detail}: {self.private}" if full and self.private else self.detail

    def problem(self, full: bool) -> dict[str, str]:
        return {"check": self.check, "detail": self.shown(full), "fix": self.fix}


class Probe:
    """A blocking check run off the event loop: at most one run at a time, its answer kept
    ``ttl_s``; one that takes longer than ``timeout_s`` fails (and keeps running until it ends)."""

    def __init__(
        self,
        name: str,
        run: Callable[[], Check],
        *,
        failure: str,
        fix: str,
        severity: Severity = "unready",
        ttl_s: float = PROBE_TTL_S,
        timeout_s: float = PROBE_TIMEOUT_S,
    ) -> None:
        self.name = name
        self._run = run
        self._failure = failure  # what a failed run means, for people
        self._fix = fix
        self._severity = severity
        self._ttl_s = ttl_s
        self._timeout_s = timeout_s
        self._last: Check | None = None
        self._at = -math.inf
        self._running: asyncio.Future[Check] | None = None
        self._started = -math.inf  # when the run under way began

    async def check(self) -> Check:
        now = time.monotonic()
        if self._last is not None and now - self._at < self._ttl_s:
            return self._last
        running = self._running
        if running is None:
            running = asyncio.get_running_loop().run_in_executor(None, self._run_safely)
            running.add_done_callback(self._finished)
            self._running, self._started = running, now
        waited = now - self._started
        recent = now - self._at < self._ttl_s + self._timeout_s
        if self._last is not None and recent and waited < self._timeout_s:
            return self._last  # a refresh is under way; the previous answer stands meanwhile
        try:
            return await asyncio.wait_for(asyncio.shield(running), self._timeout_s - waited)
        except TimeoutError:
            result = self.failed(f"{self._failure}: no answer within {self._timeout_s:g} s")
            self._last, self._at = result, time.monotonic()
            return result

    def failed(self, detail: str, private: str = "") -> Check:
        return Check(self.name, False, detail, self._fix, self._severity, private)

    def _run_safely(self) -> Check:
        try:
            return self._run()
        except Exception as exc:  # the failure is the answer; its text is scrubbed and cut
            cause = getattr(exc, "orig", None) or exc
            lines = str(cause).strip().splitlines()
            text = summarise(lines[0], limit=DETAIL_CHARS) if lines else ""
            return self.failed(f"{self._failure} ({type(cause).__name__})", text)

    def _finished(self, run: asyncio.Future[Check]) -> None:
        self._running = None
        if not run.cancelled():  # the answer as it came, even after a timeout was reported
            self._last, self._at = run.result(), time.monotonic()


def _timed(name: str, action: Callable[[], object], severity: Severity) -> Callable[[], Check]:
    def run() -> Check:
        started = time.perf_counter()
        action()
        detail = f"answered in {(time.perf_counter() - started) * 1000:.1f} ms"
        return Check(name, True, detail, severity=severity)

    return run


def records_check(pending: int, oldest_ms: int | None, dropped: int, now_s: float) -> Check:
    """The records check from the spool's backlog: ``pending`` bytes, the oldest appended at
    ``oldest_ms``; ``dropped`` records so far because it was full (its lag tells whether it
    still is)."""
    lag_s = 0.0 if oldest_ms is None else max(0.0, now_s - oldest_ms / 1000)
    detail = f"{pending} bytes waiting in the spool, the oldest for {lag_s:.1f} s"
    if dropped:
        detail += f"; {dropped} records dropped so far (spool full)"
    if lag_s > RECORD_LAG_UNREADY_S:
        return Check("records", False, detail, RECORDS_FIX)
    if lag_s > RECORD_LAG_DEGRADED_S:
        return Check("records", False, detail, RECORDS_FIX, "degraded")
    return Check("records", True, detail)


class Readiness:
    """The readiness checks of one process, built once per app."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._probes = [
            Probe(
                "database",
                _timed("database", services.storage.ping, "unready"),
                failure="the database does not answer SELECT 1",
                fix=DATABASE_FIX,
            ),
            Probe("records", self._records, failure="the spool cannot be read", fix=RECORDS_FIX),
        ]
        self._redis = (
            sync_client(services.settings.redis_url) if services.settings.redis_url else None
        )
        if self._redis is not None:
            ping = _timed("redis", self._redis.ping, "degraded")
            self._probes.append(
                Probe(
                    "redis",
                    ping,
                    failure="Redis does not answer PING",
                    fix=REDIS_FIX,
                    severity="degraded",
                )
            )

    def close(self) -> None:
        """Close the Redis connection the probe holds (at shutdown)."""
        if self._redis is not None:
            self._redis.close()

    async def report(self, *, full: bool = False) -> tuple[int, dict[str, Any]]:
        """(HTTP status, body) of ``/readyz``; ``full``: with the errors' own text."""
        services = self._services
        checks = list(await asyncio.gather(*(probe.check() for probe in self._probes)))
        checks += [self._endpoints(), *self._shared_state()]
        problems = [c.problem(full) for c in checks if not c.ok and c.severity == "unready"]
        degraded = [c.problem(full) for c in checks if not c.ok and c.severity == "degraded"]
        status = "unready" if problems else "degraded" if degraded else "ready"
        body = {
            "status": status,
            "problems": problems,
            "degraded": degraded,
            "checks": [
                {"check": c.check, "ok": c.ok, "on_failure": c.severity, "detail": c.shown(full)}
                for c in checks
            ],
            "node": services.node.status(),
            "limits": services.limits.status(),
        }
        return (503 if problems else 200), body

    def _records(self) -> Check:
        """How long the oldest record not yet stored has waited in the spool (on disk)."""
        spool = self._services.spool
        if spool is None:
            return Check("records", True, "no spool (in-memory database): stored in-process")
        pending, oldest = backlog(spool.root)
        return records_check(pending, oldest, spool.dropped, time.time())

    def _endpoints(self) -> Check:
        now = time.time_ns() // 1_000_000
        candidates = self._services.routing.candidates(now)
        active = sum(1 for c in candidates if c.status == "active")
        if not candidates:
            detail = "no endpoint is configured (or every one is disabled)"
            return Check("endpoints", False, detail, ENDPOINTS_FIX)
        others = [
            f"{c.identity.endpoint_id}: {c.status}" for c in candidates if c.status != "active"
        ]
        detail = f"{active} of {len(candidates)} endpoints can serve"
        detail += (
            f" ({', '.join(others[:5])}{', ...' if len(others) > 5 else ''})" if others else ""
        )
        return Check("endpoints", active > 0, detail, "" if active else ENDPOINTS_FIX)

    def _shared_state(self) -> list[Check]:
        """Change notices and limit counters, from what the node and the limiter report."""
        services = self._services
        changes = services.node.status()["changes"]
        wakeups = changes.get("wakeups", {}) if isinstance(changes, dict) else {}
        via = str(wakeups.get("via", "polling"))
        fix = REDIS_FIX if via == "redis" else DATABASE_FIX
        if wakeups.get("ok", True):
            checks = [Check("notices", True, f"pushed by {via}", severity="degraded")]
        else:
            detail = f"{via} unreachable: other processes' changes arrive by polling"
            checks = [Check("notices", False, detail, fix, "degraded")]
        limits = services.limits.status()
        if "fallback_since_ms" in limits:
            detail = "budget and rate-limit counters are on the SQL fallback"
            error = str(limits.get("primary_error") or "")
            checks.append(Check("limits", False, detail, REDIS_FIX, "degraded", error))
        elif not limits["enforcing"]:
            detail = "no counter store answers: requests are served unmetered"
            checks.append(Check("limits", False, detail, DATABASE_FIX, "degraded"))
        else:
            detail = f"counting in {limits['store']}"
            checks.append(Check("limits", True, detail, severity="degraded"))
        return checks


async def livez(request: Request) -> Response:
    return json_response(b'{"status":"alive"}')


async def healthz(request: Request) -> Response:
    body = {"status": "ok", "endpoints": len(services_of(request).routing.inventory.endpoints)}
    return json_response(orjson.dumps(body))


async def readyz(request: Request) -> Response:
    """Open to everyone (probes send no credentials); the errors' own text, which names hosts
    and ports, only with the admin token."""
    readiness: Readiness = request.app.state.readiness
    full = same_secret(
        bearer(request.headers.get("authorization")), services_of(request).admin_token
    )
    status, body = await readiness.report(full=full)
    return json_response(orjson.dumps(body), status)
