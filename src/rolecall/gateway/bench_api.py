"""The benchmark API under ``/api/bench`` (admin token) for the console.

Thin handlers over `rolecall.benchmark.service.BenchHub`: a run started here runs in the
background on the server's event loop (202 with its id; 409 while another is active). Errors are
OpenAI-style error objects (`WireError`). Contract (JSON bodies):

* ``GET /api/bench/suites`` → ``{"suites": [{"name", "cases", "quick_cases", "tasks"}],
  "quick_cases", "full_cases"}``
* ``POST /api/bench/runs`` ``{"mode", "endpoints", "judge", "adaptive", "max_cases", "precision"}`` → 202
  ``{"run_id"}``; ``judge`` absent: the default judge, ``null``: no judge at all (graders and the
  heuristic only); ``adaptive`` absent or null: adaptive for quick runs, fixed for full ones
* ``GET /api/bench/runs`` → ``{"runs": [...]}`` newest first
* ``GET /api/bench/runs/{run_id}`` → the run report
* ``GET /api/bench/runs/{run_id}/progress`` → phase, counts, current endpoint/case, stalled,
  ``elapsed_s`` and ``eta_s``
* ``POST /api/bench/runs/{run_id}/cancel`` → 202; the run ends ``cancelled``, keeping the cases
  (and their samples) committed before the cancel; 409 when it is not running
* ``GET /api/bench/summary`` → every configured endpoint from its latest evidence across runs,
  and the advice over the whole pool
* ``GET /api/bench/compare?a=RUN&b=RUN`` → per-endpoint paired comparison
* ``DELETE /api/bench/data?endpoint=ID`` → ``{"deleted_samples": N}``
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from rolecall.benchmark.cases import SuiteError, builtin_suites
from rolecall.benchmark.errors import BenchError
from rolecall.benchmark.service import BenchHub
from rolecall.gateway.context import services_of
from rolecall.gateway.openapi import Operation, array, obj, query
from rolecall.gateway.responses import json_response
from rolecall.gateway.wire import WireError
from rolecall.gateway.wire_models import parse_body

__all__ = ["OPERATIONS", "RunRequest", "routes"]


def _hub(request: Request) -> BenchHub:
    return services_of(request).bench


def _wire(exc: BenchError | SuiteError) -> WireError:
    if isinstance(exc, SuiteError):
        return WireError(400, str(exc), param="suite", code="invalid_suite")
    kind = {404: "not_found_error", 409: "conflict_error"}.get(exc.status, "invalid_request_error")
    code = exc.code or {404: "not_found", 409: "run_active"}.get(exc.status)
    return WireError(exc.status, str(exc), param=exc.param, code=code, kind=kind)


def _ok(body: Any, status: int = 200) -> Response:
    return json_response(orjson.dumps(body), status)


async def suites(request: Request) -> Response:
    loaded = await asyncio.to_thread(builtin_suites)
    items = [
        {"name": s.name, "cases": len(s.cases), "quick_cases": len(s.quick_cases), "tasks": s.tasks}
        for s in loaded
    ]
    return _ok(
        {
            "suites": items,
            "quick_cases": sum(i["quick_cases"] for i in items),
            "full_cases": sum(i["cases"] for i in items),
        }
    )


class RunRequest(BaseModel):
    """``POST /api/bench/runs``: what to run; the endpoints and judge are checked by the hub."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
    mode: Literal["quick", "full"] = "quick"
    endpoints: list[str] | None = Field(None, description="endpoint ids; null: every endpoint")
    judge: str | None = Field(
        None,
        description="the judge's endpoint id; null: no judge (graders only); absent: the default",
    )
    adaptive: bool | None = Field(
        None, description="answer only the cases the ranking needs; null: for quick runs"
    )
    max_cases: int | None = Field(None, ge=1, description="an adaptive run's cases per endpoint")
    precision: float | None = Field(
        None, gt=0, lt=1, description="adaptive: also answer until the 95% interval is ±this"
    )


async def start_run(request: Request) -> Response:
    run = parse_body(RunRequest, await request.body())
    mode, endpoints, judge = run.mode, run.endpoints, run.judge
    hub = _hub(request)
    try:
        # absent picks the default judge (docs/protocol.md §Judge and benchmark evidence); an
        # explicit null is the console's "no judge (graders only)" and must stay no judge
        if "judge" not in run.model_fields_set:
            judge = hub.default_judge()
        plan = await hub.plan_off_loop(
            mode,
            endpoints,
            judge,
            adaptive=run.adaptive,
            max_cases=run.max_cases,
            precision=run.precision,
        )
        run_id = await hub.start(plan)
    except (BenchError, SuiteError) as exc:
        raise _wire(exc) from None
    return _ok({"run_id": run_id}, 202)


async def list_runs(request: Request) -> Response:
    runs = await asyncio.to_thread(_hub(request).list_runs)
    return _ok({"runs": runs})


async def _call(fn: Callable[..., Any], *args: Any) -> Any:
    try:
        return await asyncio.to_thread(fn, *args)
    except BenchError as exc:
        raise _wire(exc) from None


async def show_run(request: Request) -> Response:
    return _ok(await _call(_hub(request).report, request.path_params["run_id"]))


async def progress(request: Request) -> Response:
    return _ok(await _call(_hub(request).progress_of, request.path_params["run_id"]))


async def cancel(request: Request) -> Response:
    run_id = request.path_params["run_id"]
    await _call(_hub(request).cancel, run_id)
    return _ok({"run_id": run_id, "status": "cancelling"}, 202)


async def summary(request: Request) -> Response:
    return _ok(await _call(_hub(request).summary))


async def compare(request: Request) -> Response:
    a, b = request.query_params.get("a"), request.query_params.get("b")
    for name, value in (("a", a), ("b", b)):
        if not value:
            raise WireError(400, f"query parameter '{name}' (a run id) is required", param=name)
    return _ok(await _call(_hub(request).compare, a, b))


async def clear_data(request: Request) -> Response:
    deleted = await _call(_hub(request).clear, request.query_params.get("endpoint") or None)
    return _ok({"deleted_samples": deleted})


Handler = Callable[[Request], Awaitable[Response]]
routes: list[tuple[str, Handler, list[str]]] = [
    ("/api/bench/suites", suites, ["GET"]),
    ("/api/bench/runs", start_run, ["POST"]),
    ("/api/bench/runs", list_runs, ["GET"]),
    ("/api/bench/runs/{run_id}", show_run, ["GET"]),
    ("/api/bench/runs/{run_id}/progress", progress, ["GET"]),
    ("/api/bench/runs/{run_id}/cancel", cancel, ["POST"]),
    ("/api/bench/summary", summary, ["GET"]),
    ("/api/bench/compare", compare, ["GET"]),
    ("/api/bench/data", clear_data, ["DELETE"]),
]

RUN_ID = {"type": "string"}
OPERATIONS = [
    Operation(
        "get",
        "/api/bench/suites",
        "The built-in benchmark suites and their case counts",
        "admin_token",
        obj("suites", "quick_cases", "full_cases", suites=array(obj("name", "cases"))),
    ),
    Operation(
        "post",
        "/api/bench/runs",
        "Start a benchmark run in the background",
        "admin_token",
        obj("run_id", run_id=RUN_ID),
        status=202,
        body=RunRequest,
        errors=(400, 404, 409),
    ),
    Operation(
        "get",
        "/api/bench/runs",
        "Benchmark runs, newest first",
        "admin_token",
        obj("runs", runs=array(obj("run_id", "mode", "status"))),
    ),
    Operation(
        "get",
        "/api/bench/runs/{run_id}",
        "A run's report",
        "admin_token",
        {"type": "object"},
        errors=(404,),
    ),
    Operation(
        "get",
        "/api/bench/runs/{run_id}/progress",
        "A run's phase and counts",
        "admin_token",
        obj("run_id", "phase", run_id=RUN_ID),
        errors=(404,),
    ),
    Operation(
        "post",
        "/api/bench/runs/{run_id}/cancel",
        "Cancel a running benchmark; cases committed so far are kept",
        "admin_token",
        obj("run_id", "status", run_id=RUN_ID),
        status=202,
        errors=(404, 409),
    ),
    Operation(
        "get",
        "/api/bench/summary",
        "Each endpoint from its latest benchmark evidence across runs; advice over the pool",
        "admin_token",
        obj("endpoints", "recommendation", endpoints=array({"type": "object"})),
    ),
    Operation(
        "get",
        "/api/bench/compare",
        "Per-endpoint paired comparison of two runs",
        "admin_token",
        {"type": "object"},
        params=[
            {**query("a", {"type": "string", "minLength": 1}, "a run id"), "required": True},
            {**query("b", {"type": "string", "minLength": 1}, "a run id"), "required": True},
        ],
        errors=(400, 404),
    ),
    Operation(
        "delete",
        "/api/bench/data",
        "Delete benchmark samples (of one endpoint, or all) and re-aggregate profiles",
        "admin_token",
        obj("deleted_samples", deleted_samples={"type": "integer"}),
        params=[query("endpoint", {"type": "string"}, "an endpoint id; absent: all")],
        errors=(404, 409),
    ),
]
