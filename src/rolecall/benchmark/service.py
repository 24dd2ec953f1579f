"""Benchmark use cases: start, resume, list, show, compare, clear.

Owns `BenchHub` (one per process, built by the composition root: the active run, its task and
progress) and the use cases the CLI and the HTTP API call. Graded cases are committed on the
writer thread, result and sample in one transaction; the sample goes through
`rolecall.observe.evidence.EvidenceIntake`, which feeds the live profiles at once and, when a run
ends, re-aggregates its endpoints' profiles with stale benchmark samples set aside.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Final

from rolecall.benchmark.commit import settle, writer_commit
from rolecall.benchmark.errors import BenchError
from rolecall.benchmark.plan import RunPlan
from rolecall.benchmark.planner import chat_endpoints, plan_run
from rolecall.benchmark.pool import pool_summary
from rolecall.benchmark.ports import BenchmarkStore
from rolecall.benchmark.progress import RunProgress
from rolecall.benchmark.report import build_report, compare_runs
from rolecall.benchmark.results import BenchRunRecord
from rolecall.benchmark.runner import BenchRunner
from rolecall.execution.ports import AdapterFactory
from rolecall.execution.state import RoutingState
from rolecall.inventory.inventory import Inventory
from rolecall.observe.evidence import EvidenceIntake
from rolecall.observe.ports import SampleStore, TaskQueue
from rolecall.observe.recorder import Recorder

__all__ = [
    "BenchHub",
    "benchmark_unmeasured",
    "default_judge",
    "writer_commit",
]

MIN_LOCAL_JUDGE_BYTES: Final = 1_000_000_000  # Qwen2.5-Coder-1.5B Q4_K_M is 1.12 GB


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class BenchHub:
    """The benchmark state of one process: at most one active run at a time."""

    def __init__(
        self,
        routing: RoutingState,
        store: BenchmarkStore,
        samples: SampleStore,
        evidence: EvidenceIntake,
        writer: TaskQueue,
        recorder: Recorder,
        *,
        batch: Callable[[], AbstractContextManager[None]],
        adapters: AdapterFactory,
        timeout_s: float,
        local_model_sizes: Mapping[str, int],
        on_run: Callable[[str, str | None], object] | None = None,
    ) -> None:
        """``on_run`` hears of each run started (mode, None) and ended (mode, status)."""
        self.routing = routing
        self.store = store
        self.samples = samples
        self.evidence = evidence
        self.writer = writer
        self.recorder = recorder
        self.batch = batch
        self.adapters = adapters
        self.timeout_s = timeout_s
        # bytes of each local model's weights, by model name: whether one is big enough to judge
        self.local_model_sizes = dict(local_model_sizes)
        self.progress: dict[str, RunProgress] = {}
        self.tasks: dict[str, asyncio.Task[str]] = {}
        self.cancelling: set[str] = set()  # runs the operator cancelled (not a shutdown)
        self.on_run = on_run

    @property
    def active_run(self) -> str | None:
        """The run still executing (its closing profile refresh does not count)."""
        return next(
            (
                rid
                for rid, task in self.tasks.items()
                # a cancelled run counts until it has stopped: no second run overlaps its end
                if not task.done() and self.progress[rid].status in ("running", "cancelling")
            ),
            None,
        )

    def plan(
        self,
        mode: str,
        endpoints: Sequence[str] | None = None,
        judge: str | None = None,
        suites: Iterable[Path | str] | None = None,
        case_ids: Iterable[str] | None = None,
        spend_cap_usd: float | None = None,
        concurrency: int = 2,
        **adaptive: Any,
    ) -> RunPlan:
        """A run request checked against the current inventory (`planner.plan_run`: what
        ``adaptive``'s keywords mean); `BenchError` names the bad field."""
        inventory = self.routing.inventory
        return plan_run(
            inventory,
            self.store,
            mode,
            endpoints,
            judge,
            suites,
            case_ids,
            spend_cap_usd,
            concurrency,
            **adaptive,
        )

    async def plan_off_loop(self, mode: str, *args: Any, **kwargs: Any) -> RunPlan:
        """`plan` on a worker thread, for callers on the event loop: an adaptive plan reads every
        stored result and fits the item statistics."""
        return await asyncio.to_thread(functools.partial(self.plan, mode, *args, **kwargs))

    async def start(self, plan: RunPlan) -> str:
        """Store the run and start it on the running loop; 409 while another run is active."""
        if self.active_run is not None:
            raise BenchError(f"benchmark run {self.active_run} is still active", status=409)
        record = BenchRunRecord(
            plan.run_id,
            plan.mode,
            "running",
            _now_ms(),
            None,
            plan.judge_id,
            plan.total,
            plan.config(self.routing.inventory),
        )
        await asyncio.to_thread(self.store.create_run, record)
        self._launch(plan)
        return plan.run_id

    async def resume(self, run_id: str) -> str:
        """Finish a stored run (after a crash or kill): only the cases not yet stored are run."""
        if self.active_run is not None:
            raise BenchError(f"benchmark run {self.active_run} is still active", status=409)
        record = await asyncio.to_thread(self.store.get_run, run_id)
        if record is None:
            raise BenchError(f"no benchmark run {run_id!r}", status=404)
        plan = RunPlan.from_config(record.run_id, record.mode, record.config)
        unknown = [
            e
            for e in (*plan.endpoint_ids, plan.judge_id)
            if e and e not in self.routing.inventory.endpoints
        ]
        if unknown:
            raise BenchError(
                f"run {run_id}: endpoint(s) {unknown} are no longer in the inventory", status=409
            )
        await asyncio.to_thread(self.store.update_run, run_id, status="running")
        self._launch(plan)
        return run_id

    def _launch(self, plan: RunPlan) -> None:
        progress = RunProgress(plan.run_id, plan.total)
        runner = BenchRunner(
            plan,
            self.routing.inventory,
            self.store,
            writer_commit(self.store, self.evidence, self.writer, self.batch),
            progress,
            adapters=self.adapters,
            timeout_s=self.timeout_s,
        )
        self.progress[plan.run_id] = progress
        self.tasks[plan.run_id] = asyncio.get_running_loop().create_task(self._run(runner))
        if self.on_run is not None:
            self.on_run(plan.mode, None)

    async def _run(self, runner: BenchRunner) -> str:
        plan, store = runner.plan, self.store
        status = "failed"
        try:
            status = await runner.run()
        except asyncio.CancelledError:
            if plan.run_id not in self.cancelling:
                status = "interrupted"  # the process is stopping: `resume` can finish it
                raise
            # the operator's cancel: the cases committed so far stay (with their samples)
            status = "cancelled"
            asyncio.current_task().uncancel()  # type: ignore[union-attr]
        except Exception as exc:
            runner.progress.error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            runner.progress.status = status
            runner.progress.phase = "done"
            runner.progress.ended = time.monotonic()
            finished = _now_ms()
            config = None
            if runner.outcome is not None:  # an adaptive run: why each endpoint stopped
                stored = store.get_run(plan.run_id)
                config = {**(stored.config if stored else {}), "adaptive_outcome": runner.outcome}
            store.update_run(plan.run_id, status=status, finished_ms=finished, config=config)
            if self.on_run is not None:
                self.on_run(plan.mode, status)
        await self.refresh(plan.endpoint_ids)
        return status

    async def refresh(self, endpoint_ids: Iterable[str]) -> None:
        """Re-aggregate, store and publish profiles on the writer thread; wait until it is done."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[bool] = loop.create_future()
        ids = list(endpoint_ids)

        def work() -> None:
            try:
                self.evidence.refresh(ids)
            finally:
                loop.call_soon_threadsafe(settle, done, True, None)

        if self.writer.submit(work):
            await done

    async def stop(self) -> None:
        """Interrupt the runs still executing (they end ``interrupted``, so `resume` can finish
        them), before the upstream clients they use are closed under them."""
        running = [task for task in self.tasks.values() if not task.done()]
        for task in running:
            task.cancel()
        if running:
            await asyncio.gather(*running, return_exceptions=True)

    def default_judge(self) -> str | None:
        return default_judge(self.routing.inventory, self.local_model_sizes)

    def cancel(self, run_id: str) -> None:
        """Stop an active run; it ends as ``cancelled`` keeping every case already committed."""
        task = self.tasks.get(run_id)
        if task is None or task.done() or self.progress[run_id].status != "running":
            if self.store.get_run(run_id) is None:
                raise BenchError(f"no benchmark run {run_id!r}", status=404)
            raise BenchError(
                f"benchmark run {run_id} is not running", status=409, code="run_not_running"
            )
        self.cancelling.add(run_id)
        self.progress[run_id].status = "cancelling"
        task.get_loop().call_soon_threadsafe(task.cancel)

    def summary(self, limit: int = 100) -> dict[str, Any]:
        """Every configured chat endpoint from its latest evidence across the last ``limit``
        runs, and the advice over the whole pool (`rolecall.benchmark.pool`)."""
        inventory = self.routing.inventory
        pool = {e: inventory.endpoints[e].is_local for e in chat_endpoints(inventory)}
        runs = self.store.list_runs(limit=limit)
        results = {r.run_id: self.store.results(r.run_id) for r in runs}
        ceilings = inventory.routing.difficulty.ceilings
        return pool_summary(pool, runs, results, ceilings=ceilings)

    async def wait(self, run_id: str) -> str:
        return await self.tasks[run_id]

    def progress_of(self, run_id: str) -> dict[str, Any]:
        """Live progress of an active run, or a summary from storage for any other run."""
        live = self.progress.get(run_id)
        if live is not None:
            return live.to_dict()
        record = self.store.get_run(run_id)
        if record is None:
            raise BenchError(f"no benchmark run {run_id!r}", status=404)
        counts = self.store.count_results(run_id)
        return {
            "run_id": run_id,
            "phase": "done" if record.status == "completed" else record.status,
            "total": record.cases_total,
            "done": sum(counts.values()),
            "failed": counts.get("failed", 0),
            "current_endpoint": None,
            "current_case": None,
            "stalled": False,
            "status": record.status,
            "elapsed_s": round(((record.finished_ms or _now_ms()) - record.started_ms) / 1000, 1),
            "eta_s": None,
        }

    def report(self, run_id: str) -> dict[str, Any]:
        store = self.store
        record = store.get_run(run_id)
        if record is None:
            raise BenchError(f"no benchmark run {run_id!r}", status=404)
        ceilings = self.routing.inventory.routing.difficulty.ceilings
        return build_report(record, store.results(run_id), store.pairs(run_id), ceilings=ceilings)

    def items(self) -> list[dict[str, Any]]:
        """Every stored case's difficulty and discrimination (`item_report`)."""
        from rolecall.benchmark.item_report import item_rows  # numpy's fit: only when asked

        return item_rows(self.store)

    def list_runs(self, limit: int = 100) -> list[dict[str, Any]]:
        out = []
        for r in self.store.list_runs(limit=limit):
            done = sum(self.store.count_results(r.run_id).values())
            out.append(
                {
                    "run_id": r.run_id,
                    "mode": r.mode,
                    "status": r.status,
                    "started_ms": r.started_ms,
                    "finished_ms": r.finished_ms,
                    "endpoints": r.endpoints,
                    "cases_total": r.cases_total,
                    "cases_done": done,
                }
            )
        return out

    def compare(self, a: str, b: str) -> dict[str, Any]:
        store = self.store
        for name, run_id in (("a", a), ("b", b)):
            if store.get_run(run_id) is None:
                raise BenchError(f"{name}: no benchmark run {run_id!r}", status=404, param=name)
        return compare_runs(store.results(a), store.results(b))

    def clear(self, endpoint_id: str | None = None) -> int:
        """Delete benchmark samples and results (of one endpoint, or all); re-aggregate profiles."""
        if self.active_run is not None:
            raise BenchError(
                f"benchmark run {self.active_run} is active; wait for it to finish", status=409
            )
        if endpoint_id is not None and endpoint_id not in self.routing.inventory.endpoints:
            known = [e for e in self.routing.inventory.endpoints]
            raise BenchError(
                f"endpoint: unknown endpoint {endpoint_id!r} (known: {known})",
                status=404,
                param="endpoint",
            )
        self.recorder.flush(5.0)
        deleted: int = self.samples.delete(endpoint_id, source="benchmark")
        self.store.delete_results(endpoint_id)
        self.evidence.refresh(
            [endpoint_id] if endpoint_id else list(self.routing.inventory.endpoints)
        )
        return deleted


def default_judge(inventory: Inventory, local_model_sizes: Mapping[str, int]) -> str | None:
    """The judge when none is named (docs/protocol.md §Judge and benchmark evidence): the first
    enabled remote endpoint, else the largest local model (``local_model_sizes``: bytes of weights
    by model name) if it is big enough to judge (docs/benchmark.md §Small local judges: the 1.5B
    coder judges well against a reference, smaller models are at chance), else none (the
    heuristic grades open-ended cases)."""
    enabled = [(e, ep) for e, ep in inventory.endpoints.items() if ep.enabled]
    enabled = [(e, ep) for e, ep in enabled if not ep.embeddings_only]
    remote = [e for e, ep in enabled if not ep.is_local]
    if remote:
        return remote[0]
    local = [(local_model_sizes[ep.model], e) for e, ep in enabled if ep.model in local_model_sizes]
    big_enough = [item for item in local if item[0] >= MIN_LOCAL_JUDGE_BYTES]
    return str(max(big_enough)[1]) if big_enough else None


async def benchmark_unmeasured(hub: BenchHub) -> str | None:
    """Start an adaptive quick run, in the background, on the chat endpoints with no benchmark
    evidence yet; its run id, or None when every endpoint has some, there is none, or a run is
    already active.

    On a first start that is the whole pool. When some endpoints are measured already (an
    endpoint added to a benchmarked pool, at run time or in the file before a restart) only the
    new ones run, and the measured ones are their anchors: compared by their stored scores, not
    asked again.
    """
    endpoints = chat_endpoints(hub.routing.inventory)
    if hub.active_run is not None:
        return None
    unmeasured = [
        e
        for e in endpoints
        if not await asyncio.to_thread(hub.samples.for_endpoint, e, source="benchmark")
    ]
    if not unmeasured:
        return None
    plan = await hub.plan_off_loop("quick", unmeasured, hub.default_judge(), adaptive=True)
    return await hub.start(plan)
