"""Typed process settings, read from ``ROLECALL_*`` environment variables when asked (never at import).

`load_settings` is how commands read them: a bad value is one `SettingError` naming the variable,
the value and what it accepts. `load_env_files` puts the ``.env`` files' variables into the
environment (the CLI does it once at start), where the settings and the inventory's ``${VAR}``
references find them; a variable already set wins. Every setting is documented in
docs/configuration.md (a test checks this).
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any, Final, Literal

from dotenv import dotenv_values
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from rolecall.errors import SettingError

ENV_FILE: Final = ".env"
LOG_LEVELS: Final = ("critical", "error", "warning", "info", "debug", "trace")
# where the record writer runs: `rolecall.observe.priority.run_apart`
Placement = frozenset[int] | Literal["auto", "shared"]
MAX_CPUS: Final = 4096  # CPU numbers in a placement list stay below this


class Settings(BaseSettings):
    """Process-level configuration. The inventory (endpoints, roles, posture) lives in ``rolecall.yaml``."""

    model_config = SettingsConfigDict(env_prefix="ROLECALL_", extra="ignore")

    data_dir: Path = Field(
        default=Path(".rolecall"), description="where SQLite, keys and caches live"
    )
    config: Path = Field(default=Path("rolecall.yaml"), description="the inventory file")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default SQLite in the data directory"
    )
    redis_url: str | None = Field(
        default=None,
        description="Redis URL (redis://host:6379/0) for shared live state between workers and "
        "replicas: change notices, budgets and rate limits; without it they go through the "
        "database alone",
    )
    workers: int = Field(
        default=0,
        ge=0,
        le=256,
        description="gateway processes behind the one port, sharing one record writer (0: "
        "one; docs/deploy.md)",
    )
    host: str = Field(default="127.0.0.1", description="gateway listen address")
    port: int = Field(default=3456, ge=0, le=65535, description="gateway listen port")
    admin_token: str | None = Field(
        default=None, description="token for /api/*; generated and stored in the data dir if unset"
    )
    require_api_key: bool = Field(default=True, description="require a gateway API key on /v1/*")
    max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024, description="request size limit")
    upstream_timeout_s: float = Field(
        default=120.0,
        gt=0,
        description="first-token timeout: from sending a request to the first content token of "
        "a stream, or to the whole answer of a non-streamed call",
    )
    upstream_connect_timeout_s: float = Field(
        default=10.0, gt=0, description="upstream TCP/TLS connect timeout"
    )
    upstream_idle_timeout_s: float = Field(
        default=60.0, gt=0, description="longest pause between two events of a started stream"
    )
    cooldown_consecutive_failures: int = Field(
        default=3, ge=1, description="consecutive failed attempts that start a cooldown"
    )
    cooldown_failure_rate: float = Field(
        default=0.5, gt=0, le=1, description="failure rate over the window that starts a cooldown"
    )
    cooldown_min_requests: int = Field(
        default=10, ge=1, description="attempts in the window before the failure rate counts"
    )
    cooldown_window_s: float = Field(
        default=60.0, ge=1, description="sliding window of the failure rate"
    )
    retry_budget_s: float = Field(
        default=4.0,
        ge=0,
        description="longest a request waits in all before same-endpoint retries (backoff and "
        "Retry-After)",
    )
    cooldown_scale: float = Field(
        default=1.0, gt=0, description="multiplies the cooldown schedule (tests use a small value)"
    )
    record_process: bool = Field(
        default=True,
        description="store request records and aggregate live profiles in a separate writer "
        "process (keeps SQL and aggregation off the gateway's GIL); in-memory SQLite always "
        "writes in-process",
    )
    spool_max_bytes: int = Field(
        default=1024**3,
        ge=0,
        description="answered requests' records wait in a spool file in the data directory until "
        "the database has them (a killed process or a database outage loses none); past this "
        "size, while the database is down, new records are dropped with an error in the log; "
        "0 keeps records in memory only",
    )
    spool_memory: bool = Field(
        default=True,
        description="gateways hand records to the spool through memory (a tmpfs such as "
        "/dev/shm), which never waits on the disk; the writer moves what it cannot store to "
        "disk; false appends to the spool on disk directly",
    )
    writer_cpus: str = Field(
        default="auto",
        description="CPUs the record writer process runs on: auto (those the gateway's CPU "
        "affinity leaves out, when any: pin the gateway with taskset or a cpuset and the writer "
        "takes another core), shared (the gateway's), or a CPU list such as 3 or 2-3",
    )
    log_level: str = Field(
        default="warning",
        description="uvicorn and rolecall log level: critical, error, warning, info (adds one "
        "access line per request), debug or trace",
    )
    log_format: Literal["auto", "json", "text"] = Field(
        default="auto",
        description="log lines on stderr: json (one object a line), text, or auto (json unless "
        "stderr is a terminal)",
    )
    metrics: bool = Field(default=True, description="serve Prometheus metrics at GET /metrics")
    metrics_token: str | None = Field(
        default=None,
        description="when set, GET /metrics requires 'Authorization: Bearer <this token>'",
    )
    client_header_timeout_s: float = Field(
        default=10.0,
        gt=0,
        description="a request head must arrive within this time of the connection or of the "
        "previous response, else the connection is closed (408 if a request was begun)",
    )
    client_body_timeout_s: float = Field(
        default=30.0,
        gt=0,
        description="a request body may pause this long between chunks, else 408 and close",
    )
    max_connections_per_client: int = Field(
        default=256,
        ge=0,
        description="open connections allowed per client address; more get 503 and are closed "
        "(0: no cap)",
    )
    max_connections: int = Field(
        default=0,
        ge=0,
        description="open connections in total (0: derived from the file-descriptor limit, "
        "which also caps a configured value)",
    )
    auth_failure_limit: int = Field(
        default=20,
        ge=1,
        description="failed key or admin-token checks allowed per client address per window; "
        "more get 429",
    )
    auth_failure_window_s: float = Field(
        default=10.0, gt=0, description="the window of auth_failure_limit"
    )
    otel_endpoint: str | None = Field(
        default=None,
        description="OTLP/HTTP base URL (http://collector:4318) to export request traces to "
        "(the otel extra); unset: the standard OTEL_EXPORTER_OTLP_* variables, else no export",
    )

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().lower()
        if level not in LOG_LEVELS:
            raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}, got {value!r}")
        return level

    @field_validator("writer_cpus")
    @classmethod
    def _placement(cls, value: str) -> str:
        parse_cpus(value)
        return value.strip().lower()

    @property
    def writer_placement(self) -> Placement:
        return parse_cpus(self.writer_cpus)

    @property
    def sqlite_url(self) -> str:
        return f"sqlite:///{(self.data_dir / 'rolecall.db').resolve()}"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or self.sqlite_url


def parse_cpus(text: str) -> Placement:
    """A writer placement: ``auto``, ``shared`` or a CPU list (``3``, ``2-3,6``); ValueError
    naming what is accepted otherwise."""
    value = text.strip().lower()
    if value == "auto":
        return "auto"
    if value == "shared":
        return "shared"
    cpus: set[int] = set()
    try:
        for part in value.split(","):
            low, _, high = part.strip().partition("-")
            first, last = int(low), int(high or low)
            if first < 0 or last < first or last >= MAX_CPUS:
                raise ValueError(part)
            cpus.update(range(first, last + 1))
    except ValueError:
        raise ValueError(
            f"expected auto, shared or a CPU list such as 3 or 2-3,6; got {text!r}"
        ) from None
    return frozenset(cpus)


def load_settings(**given: Any) -> Settings:
    """Settings from the environment, with the values in ``given`` that are not None (command
    options) winning; a bad value raises `SettingError`."""
    try:
        return Settings(**{name: value for name, value in given.items() if value is not None})
    except ValidationError as exc:
        raise setting_error(exc) from None


def setting_error(exc: ValidationError) -> SettingError:
    """``exc`` (from `Settings`) as one error naming each variable, its value and what it takes."""
    problems = []
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else "?"
        problems.append((f"ROLECALL_{name.upper()}", error.get("input"), _expected(name, error)))
    return SettingError(problems)


_KINDS: Final[dict[object, str]] = {int: "an integer", float: "a number", bool: "true or false"}
_BOUNDS: Final = (("ge", "at least"), ("gt", "above"), ("le", "at most"), ("lt", "below"))


def _expected(name: str, error: Any) -> str:
    """What the setting accepts: its type and bounds, else pydantic's own words."""
    field = Settings.model_fields.get(name)
    kind = _KINDS.get(field.annotation) if field is not None else None
    if field is None or kind is None:
        message = str(error["msg"])
        return message[:1].lower() + message[1:]
    bounds = {
        attr: getattr(m, attr) for m in field.metadata for attr, _ in _BOUNDS if hasattr(m, attr)
    }
    if "ge" in bounds and "le" in bounds:
        return f"{kind} from {bounds['ge']} to {bounds['le']}"
    words = [f"{word} {bounds[attr]}" for attr, word in _BOUNDS if attr in bounds]
    return " ".join([kind, " and ".join(words)]).strip()


def load_env_files(
    environ: MutableMapping[str, str] | None = None, cwd: Path | None = None
) -> list[Path]:
    """Put the variables of ``.env`` in the working directory, then of the ``.env`` beside
    ``ROLECALL_CONFIG`` (when the file lives elsewhere), into ``environ`` (the process
    environment); a variable already set keeps its value, so the environment wins over the
    files and the working directory's file over the other. The files read."""
    environ = os.environ if environ is None else environ
    cwd = Path.cwd() if cwd is None else cwd
    here = cwd / ENV_FILE
    loaded = [path for path in [here] if _load_env_file(path, environ)]
    # ROLECALL_CONFIG may come from the working directory's file
    beside = (cwd / (environ.get("ROLECALL_CONFIG") or "rolecall.yaml")).parent / ENV_FILE
    if beside.resolve() != here.resolve() and _load_env_file(beside, environ):
        loaded.append(beside)
    return loaded


def _load_env_file(path: Path, environ: MutableMapping[str, str]) -> bool:
    """Add ``path``'s variables that ``environ`` lacks (values taken literally); False when
    there is no such file."""
    if not path.is_file():
        return False
    for name, value in dotenv_values(path, interpolate=False).items():
        if value is not None and name not in environ:
            environ[name] = value
    return True
