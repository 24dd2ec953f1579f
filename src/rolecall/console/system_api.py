"""System and Lab: readiness, storage backend, version, configuration problems; lab results.

No answer here carries a secret: the database URL is shown with its password masked, API keys by
prefix only, and the admin token never.
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import Any, Final

import orjson
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from rolecall import __version__
from rolecall.console.common import not_found, now_ms, reply
from rolecall.errors import RolecallError
from rolecall.gateway.context import services_of
from rolecall.gateway.wire import WireError
from rolecall.gateway.wire_models import parse_body
from rolecall.storage.migrate import current_revision, head_revision

LAB_FILE: Final = re.compile(r"^(evaluate|scale|retrain)-(\d+)\.json$")
LAB_PLOT: Final = re.compile(r"^scale-\d+\.png$")


def _readiness(services: Any, revision: str | None, head: str | None) -> list[dict[str, Any]]:
    endpoints = services.routing.inventory.endpoints
    candidates = services.routing.candidates(now_ms())
    active = sum(1 for c in candidates if c.status == "active")
    checks = [
        ("storage schema at head", revision == head, f"revision {revision} (head {head})"),
        ("endpoints configured", bool(endpoints), f"{len(endpoints)} endpoints"),
        ("an endpoint can serve now", active > 0, f"{active} of {len(candidates)} active"),
        ("at least two candidates to compare", active >= 2, "docs/protocol.md §Operator workflow"),
        ("evidence for routing", bool(services.routing.profiles), "observed profiles present"),
        (
            "configuration has no problems",
            not services.routing.inventory.problems,
            "see problems below",
        ),
    ]
    return [{"check": name, "ok": ok, "detail": detail} for name, ok, detail in checks]


async def system(request: Request) -> Response:
    services = services_of(request)
    engine = services.storage.engine
    revision, head = current_revision(engine), head_revision()
    stats = services.writer.stats
    body = {
        "version": __version__,
        "started_ms": services.started_ms,
        "uptime_ms": now_ms() - services.started_ms,
        "storage": {
            "backend": engine.dialect.name,
            "url": engine.url.render_as_string(hide_password=True),
            "revision": revision,
            "head": head,
        },
        "writer": {
            "written": stats.written,
            "failed": stats.failed,
            "dropped": stats.dropped,
            "last_error": stats.last_error,
        },
        # which gateway process answered (several serve one port with ROLECALL_WORKERS) and the
        # record writer it hands records to (None when it stores them itself)
        "process": {"pid": os.getpid(), "writer_pid": getattr(services.sink, "pid", None)},
        "readiness": _readiness(services, revision, head),
        "problems": list(services.routing.inventory.problems),
        "config_file": str(services.settings.config),
        "data_dir": str(services.settings.data_dir),
        "require_api_key": services.settings.require_api_key,
        "api_keys": [
            {"key_id": k.key_id, "name": k.name, "prefix": k.prefix, "revoked": bool(k.revoked_ms)}
            for k in services.storage.keys.all()
        ],
    }
    return reply(body)


def _lab_dir(request: Request) -> Path:
    return Path(services_of(request).settings.data_dir) / "lab"


def _read_lab_file(path: Path) -> dict[str, Any] | None:
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


async def lab_results(request: Request) -> Response:
    """Every evaluate/scale result file, newest first; unreadable files are listed as such."""
    folder = _lab_dir(request)
    items: list[dict[str, Any]] = []
    problems: list[str] = []
    files = sorted(folder.glob("*.json"), reverse=True) if folder.is_dir() else []
    for path in files:
        match = LAB_FILE.match(path.name)
        if match is None:
            continue
        data = _read_lab_file(path)
        if data is None:
            problems.append(f"{path.name}: not a JSON object; re-run 'rolecall lab'")
            continue
        data.setdefault("kind", match.group(1))
        data.setdefault("created_ms", int(match.group(2)))
        data["file"] = path.name
        plot = data.get("plot")
        if isinstance(plot, str) and LAB_PLOT.match(plot) and (folder / plot).is_file():
            data["plot_url"] = f"/api/lab/plots/{plot}"
        items.append(data)
    items.sort(key=lambda d: int(d.get("created_ms") or 0), reverse=True)
    return reply({"results": items, "problems": problems, "directory": str(folder)})


async def lab_plot(request: Request) -> Response:
    name = request.path_params["name"]
    path = _lab_dir(request) / name
    if not LAB_PLOT.match(name) or not path.is_file():
        raise not_found("plot")
    return FileResponse(path, media_type="image/png", headers={"cache-control": "no-store"})


class RetrainRequest(BaseModel):
    """Which router to train on the store's graded cases, and the share held out."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    router: str = Field(default="knn", min_length=1, max_length=40)
    test_fraction: float = Field(default=0.25, ge=0.05, le=0.9)


async def lab_retrain(request: Request) -> Response:
    """Train a router on this deployment's graded benchmark cases (and its scored live answers
    whose prompts were captured); keep it only if it does no harm on the held-out ones
    (`rolecall.learned.lab.retrain_from_store`, on a worker thread)."""
    body = parse_body(RetrainRequest, await request.body())
    services = services_of(request)

    def work() -> dict[str, Any]:
        from rolecall.learned.lab import retrain_from_store  # numpy and friends, when asked
        from rolecall.learned.store_records import store_records

        store, prompts = services.storage.benchmarks, services.storage.prompts
        rows = store_records(store.list_runs(limit=10_000), store.results, prompts.outcomes())
        return retrain_from_store(
            Path(services.settings.data_dir), rows, body.router, body.test_fraction
        )

    try:
        doc = await asyncio.to_thread(work)
    except RolecallError as exc:  # too few cases, an unknown router
        raise WireError(400, str(exc), param="router", code="cannot_train") from None
    return reply(doc)
