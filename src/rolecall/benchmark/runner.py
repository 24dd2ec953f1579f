"""The benchmark runner: every selected case on every selected endpoint, graded and committed.

Phases: ``preflight`` (a tiny request per endpoint and to the judge, overlapping the start of
execution; an endpoint that fails it gets its remaining cases recorded as failures, a judge that
fails it is replaced by the heuristic grader), ``execution`` (asyncio over endpoints × cases, each
endpoint within its concurrency limit, retries in the caller, a case graded as soon as it is
answered and committed through ``commit`` before it counts as done) and ``compare`` (pairwise
head-to-head on judge-graded cases). When the judge endpoint is also being graded (judge-subject
overlap) its own cases run after everyone else's and their grades are flagged ``self_graded``; its
pairs come last too.

Resumable: the runner skips every (endpoint, case) already stored for the run, so a run killed
mid-way finishes without redoing or losing a graded case.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

from rolecall.benchmark.cases import BenchCase
from rolecall.benchmark.client import EndpointCaller, NotAdmitted, case_body
from rolecall.benchmark.graders import grade_case
from rolecall.benchmark.graders.judge import CircuitBreaker, LlmJudge
from rolecall.benchmark.graders.pairwise import compare_pair
from rolecall.benchmark.plan import RunPlan
from rolecall.benchmark.ports import BenchmarkStore
from rolecall.benchmark.progress import RunProgress
from rolecall.benchmark.reply import Reply
from rolecall.benchmark.results import BenchPairRecord, BenchResultRecord
from rolecall.benchmark.samples import sample_for
from rolecall.execution.failures import UpstreamFailure
from rolecall.execution.ports import AdapterFactory
from rolecall.inventory.inventory import Inventory, endpoint_version, membership_revision_for
from rolecall.profiles import Sample

if TYPE_CHECKING:
    from rolecall.benchmark.sampler import AdaptiveSampler

__all__ = ["BenchRunner", "Commit"]

Commit = Callable[[BenchResultRecord, Sample | None], Awaitable[bool]]
# pairwise comparisons per run (each costs two judge calls); a quick run is a regression signal
# that must finish in minutes on CPU, so it only samples a few
MAX_PAIRS: Final = {"quick": 3, "full": 60, "canary": 0}  # a canary compares with history
# a judge that disagrees with itself on every one of this many swapped pairs is position-biased:
# asking it more only burns time, so the remaining pairs are decided by the graded scores
BIAS_EVIDENCE_PAIRS: Final = 4
TEXT_LIMIT: Final = 4000  # characters of an answer kept with its result


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class BenchRunner:
    def __init__(
        self,
        plan: RunPlan,
        inventory: Inventory,
        store: BenchmarkStore,
        commit: Commit,
        progress: RunProgress,
        *,
        adapters: AdapterFactory,
        timeout_s: float = 120.0,
    ) -> None:
        self.plan = plan
        self.outcome: dict[str, Any] | None = None  # an adaptive run's, once it ended
        self.inventory = inventory
        self.store = store
        self.commit = commit
        self.progress = progress
        self.timeout_s = timeout_s
        self.adapters = adapters
        self.judge: LlmJudge | None = None
        self._probes: dict[str, asyncio.Task[str | None]] = {}
        self._meta = {
            eid: (
                endpoint_version(inventory.endpoints[eid].identity),
                membership_revision_for(inventory, eid),
            )
            for eid in plan.endpoint_ids
        }

    async def run(self) -> str:
        """Run (or finish) the plan; returns the final status."""
        stored = await asyncio.to_thread(self.store.results, self.plan.run_id)
        done = {(r.endpoint_id, r.case_key) for r in stored}
        self.progress.done = self.progress.resumed_at = len(done)
        self.progress.failed = sum(r.status == "failed" for r in stored)
        self.progress.spent_usd = sum(r.cost_usd or 0.0 for r in stored)
        caller = EndpointCaller(
            self.inventory.endpoints,
            adapters=self.adapters,
            timeout_s=self.timeout_s,
            concurrency=self.plan.concurrency,
        )
        async with caller:
            self._start_preflight(caller)
            self.progress.set_phase("execution")
            if self.plan.adaptive is None:
                await self._fixed(caller, done)
            else:
                await self._adaptive(caller, stored)
            await asyncio.gather(*self._probes.values())
            self.progress.set_phase("compare")
            await self._compare()
        self.progress.set_phase("done")
        self.progress.status = "completed"
        return "completed"

    async def _fixed(self, caller: EndpointCaller, done: set[tuple[str, str]]) -> None:
        """Every case on every endpoint, but those already stored."""
        for wave in self._waves():
            todo = [
                (e, s, c)
                for e in wave
                for s, c in self.plan.items
                if (e, f"{s}/{c.id}") not in done
            ]
            await asyncio.gather(*(self._case(caller, e, s, c) for e, s, c in todo))

    async def _adaptive(self, caller: EndpointCaller, stored: list[BenchResultRecord]) -> None:
        """Each endpoint answers the cases its sampler picks until it stops; the stored results
        are replayed first, so a resumed run goes on where it was killed."""
        from rolecall.benchmark.item_report import endpoint_scores  # numpy: only when adaptive
        from rolecall.benchmark.sampler import AdaptiveSampler, history_of

        assert self.plan.adaptive is not None
        settings = self.plan.adaptive
        if settings.against == "history":  # each endpoint against its own earlier scores
            own = await asyncio.to_thread(
                endpoint_scores, self.store, list(self.plan.endpoint_ids), baseline=True
            )
            anchors = {history_of(e): scores for e, scores in own.items()}
        else:  # the anchors' stored scores (by case key): endpoints compared with, not run
            anchors = await asyncio.to_thread(endpoint_scores, self.store, list(self.plan.anchors))
        sampler = AdaptiveSampler(self.plan.slots(), settings, self.plan.endpoint_ids, anchors)
        for result in stored:
            sampler.record(result.endpoint_id, result.case_key, result.measured)
        cases = {f"{s}/{c.id}": (s, c) for s, c in self.plan.items}
        try:
            for wave in self._waves():
                await asyncio.gather(*(self._walk(caller, sampler, e, cases) for e in wave))
        finally:
            self.outcome = sampler.outcome()

    async def _walk(
        self,
        caller: EndpointCaller,
        sampler: AdaptiveSampler,
        endpoint_id: str,
        cases: Mapping[str, tuple[str, BenchCase]],
    ) -> None:
        """One endpoint's adaptive walk, ``concurrency`` cases in flight."""
        flying: set[asyncio.Future[BenchResultRecord]] = set()
        try:
            while True:
                while len(flying) < self.plan.concurrency:
                    key = sampler.next_case(endpoint_id)
                    if key is None:
                        break
                    flying.add(asyncio.ensure_future(self._case(caller, endpoint_id, *cases[key])))
                if not flying:
                    return
                finished, flying = await asyncio.wait(flying, return_when=asyncio.FIRST_COMPLETED)
                for task in finished:
                    result = task.result()
                    sampler.record(endpoint_id, result.case_key, result.measured)
                    if self._down(endpoint_id) is not None:
                        sampler.stop(endpoint_id, "preflight")
                    elif self._admit() is not None:
                        for other in self.plan.endpoint_ids:
                            sampler.stop(other, "spend_cap")
        finally:
            for task in flying:
                task.cancel()

    def _waves(self) -> list[list[str]]:
        """Everyone else first; the judge's own cases last when it is also graded."""
        others = [e for e in self.plan.endpoint_ids if e != self.plan.judge_id]
        return (
            [others, [self.plan.judge_id]] if self.plan.overlap and self.plan.judge_id else [others]
        )

    def _start_preflight(self, caller: EndpointCaller) -> None:
        """Probe every endpoint and the judge with a tiny request.

        The probes are not awaited before execution starts: each one takes its endpoint's first
        slot (the semaphore is first come, first served), the other slots start on cases, and once
        a probe has failed the endpoint's remaining cases are recorded as failures without being
        sent. The judge is used only after its probe succeeded.
        """
        self.progress.set_phase("preflight")
        targets = dict.fromkeys([*self.plan.endpoint_ids, *filter(None, [self.plan.judge_id])])
        self._probes = {e: asyncio.ensure_future(caller.preflight(e)) for e in targets}
        judge_id = self.plan.judge_id
        if judge_id is not None:
            self.judge = LlmJudge(
                endpoint_id=judge_id,
                call=lambda body: caller.complete(judge_id, body),
                provider_kind=self.inventory.endpoints[judge_id].provider.kind,
                breaker=CircuitBreaker(threshold=3, cooldown_s=30.0),
            )

    def _down(self, endpoint_id: str) -> str | None:
        """Why the endpoint failed its probe; None while it runs or after it passed."""
        probe = self._probes.get(endpoint_id)
        return probe.result() if probe is not None and probe.done() else None

    async def _ready_judge(self) -> LlmJudge | None:
        """The judge once its probe passed; None without a judge or when it failed its probe."""
        judge_id = self.plan.judge_id
        if judge_id is None or await self._probes[judge_id] is not None:
            return None
        return self.judge

    async def _case(
        self, caller: EndpointCaller, endpoint_id: str, suite: str, case: BenchCase
    ) -> BenchResultRecord:
        key = f"{suite}/{case.id}"
        endpoint = self.inventory.endpoints[endpoint_id]
        detail: dict[str, Any] = {"grader": case.grader}
        status, score, reply = "failed", None, Reply("")
        if (why := self._down(endpoint_id)) is not None:
            detail["error"] = f"preflight failed: {why}"
        elif case.needs_tools and not endpoint.declared.tool_calling.supported:
            status, detail["error"] = "skipped", "the endpoint declares no tool calling"
        else:
            self.progress.current_endpoint, self.progress.current_case = endpoint_id, key
            try:
                reply = await caller.complete(endpoint_id, case_body(case, endpoint), self._admit)
            except NotAdmitted as refusal:
                status, detail["error"] = "skipped", str(refusal)
            except UpstreamFailure as failure:
                detail["error"] = f"{failure.failure}: {failure.message}"
            else:
                # counted before the next await: the request waiting for this slot must see it
                self.progress.spent_usd += (
                    endpoint.request_cost(reply.tokens_in, reply.tokens_out) or 0
                )

                status, score = "graded", await self._grade(case, reply, endpoint_id, detail)
        return await self._commit(endpoint_id, suite, case, status, score, reply, detail)

    def _admit(self) -> str | None:
        """The spend cap, checked when a request has its slot; requests already in flight may
        overshoot it by their own cost."""
        cap = self.plan.spend_cap_usd
        if cap is not None and self.progress.spent_usd >= cap:
            return f"spend cap of ${cap:g} reached"
        return None

    async def _grade(
        self, case: BenchCase, reply: Reply, endpoint_id: str, detail: dict[str, Any]
    ) -> float:
        judge = await self._ready_judge() if case.grader == "judge" else None
        grade = await grade_case(case, reply, judge)
        detail.update(
            judge_score=grade.score.to_artifact(),
            method=grade.method,
            heuristic_score=grade.heuristic_score,
            self_graded=grade.method == "judge" and endpoint_id == self.plan.judge_id,
        )
        return grade.score.score

    async def _commit(
        self,
        endpoint_id: str,
        suite: str,
        case: BenchCase,
        status: str,
        score: float | None,
        reply: Reply,
        detail: dict[str, Any],
    ) -> BenchResultRecord:
        endpoint = self.inventory.endpoints[endpoint_id]
        cost = (
            endpoint.request_cost(reply.tokens_in, reply.tokens_out) if status == "graded" else None
        )
        answer = {**reply.to_dict(), "text": reply.text[:TEXT_LIMIT]}
        detail.update(reply=answer, tokens_in=reply.tokens_in, tokens_per_sec=reply.tokens_per_sec)
        result = BenchResultRecord(
            run_id=self.plan.run_id,
            endpoint_id=endpoint_id,
            case_key=f"{suite}/{case.id}",
            suite=suite,
            case_id=case.id,
            bucket=case.bucket,
            task=case.task,
            status=status,
            score=score,
            latency_ms=reply.latency_ms if status != "skipped" and reply.latency_ms else None,
            tokens_out=reply.tokens_out,
            cost_usd=cost,
            created_ms=_now_ms(),
            detail=detail,
        )
        version, revision = self._meta[endpoint_id]
        # an adaptive run's cases are a miniature of the whole suite, not the quick hard subset
        mode = "full" if self.plan.adaptive and self.plan.mode == "quick" else self.plan.mode
        sample = sample_for(result, version=version, revision=revision, mode=mode)
        await self.commit(result, sample)
        self.progress.advance(endpoint_id=endpoint_id, case_key=result.case_key, status=status)
        return result

    async def _compare(self) -> None:
        """Pairwise head-to-head on judge-graded cases answered by two or more endpoints."""
        if len(self.plan.endpoint_ids) < 2:
            return
        results = await asyncio.to_thread(self.store.results, self.plan.run_id)
        stored = await asyncio.to_thread(self.store.pairs, self.plan.run_id)
        seen = {(p.case_key, p.endpoint_a, p.endpoint_b) for p in stored}
        cases = {f"{s}/{c.id}": c for s, c in self.plan.items if c.grader == "judge"}
        graded: dict[str, list[BenchResultRecord]] = {}
        for r in results:
            if r.case_key in cases and r.status == "graded":
                graded.setdefault(r.case_key, []).append(r)
        pairs = [
            (key, a, b)
            for key, rs in graded.items()
            for a, b in itertools.combinations(sorted(rs, key=lambda r: r.endpoint_id), 2)
            if (key, a.endpoint_id, b.endpoint_id) not in seen
        ]
        judge_id, judge = self.plan.judge_id, await self._ready_judge()
        pairs.sort(key=lambda p: judge_id in (p[1].endpoint_id, p[2].endpoint_id))  # own pairs last
        asked = inconsistent = 0
        for key, a, b in pairs[: max(0, MAX_PAIRS[self.plan.mode] - len(seen))]:
            biased = asked >= BIAS_EVIDENCE_PAIRS and inconsistent == asked
            outcome = await compare_pair(cases[key], _side(a), _side(b), None if biased else judge)
            if outcome.judge_id.startswith("judge:"):
                asked += 1
                inconsistent += not outcome.consistent
            record = BenchPairRecord(
                self.plan.run_id,
                key,
                a.endpoint_id,
                b.endpoint_id,
                outcome.winner,
                outcome.to_dict(),
            )
            await asyncio.to_thread(self.store.put_pair, record)
            self.progress.touch()


def _side(result: BenchResultRecord) -> tuple[str, str, float]:
    text = str((result.detail.get("reply") or {}).get("text", ""))
    return result.endpoint_id, text, result.score or 0.0
