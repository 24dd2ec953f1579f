"""Shadow judging: a share of live answers graded by a judge endpoint after they were served.

Owns `ShadowJudge`. On the request path `offer` costs a hash and, for a picked request, a queue
put: the answer waits in memory (never stored) for the one worker task, which asks the judge
(`rolecall.planning.ask.ask_endpoint`, the rubric of `rolecall.judging.rubric`) and stores the
grade as a ``live_judged`` sample of the endpoint that answered, through the evidence intake
(the live profiles take it in, blended at `FEEDBACK_WEIGHT`: docs/profiles.md). The sample names
the request it graded: when prompt capture kept that request's prompt, the two make a
learned-routing record (`rolecall.learned.store_records`).

Rules, and why:

* a judge never grades its own answers, nor those of an endpoint serving the same model: such a
  grade is skipped and counted (``self``), because a model rates itself higher than it should;
* the day's spend (every ``live_judged`` sample's judge cost since 00:00 UTC, in the database,
  so every replica counts the others') plus the call's estimate must stay within
  ``budget_usd_per_day``, or the answer is skipped (``over_budget``); replicas can overshoot by
  at most one call each;
* a call that fails or answers no valid grade still spent: it is stored as a ``live_judged``
  sample without a score (its error class says why), so the budget counts it;
* a full queue drops the answer (``dropped``): grading is a sample, never a backlog;
* a streamed answer is put together from its chunks (only for a picked request) and offered
  once the stream finished; a stream that was cut is not graded.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import orjson

from rolecall.execution.ports import Upstreams
from rolecall.inventory.inventory import Endpoint
from rolecall.inventory.live_quality import ShadowJudgingConfig
from rolecall.judging.rubric import SCHEMA, SCHEMA_NAME, judge_messages, parse_grade, sampled
from rolecall.observe.observation import RequestRecord, final_endpoint_id
from rolecall.planning.ask import ask_endpoint, estimate_tokens
from rolecall.profiles import Sample

__all__ = [
    "LiveAnswer",
    "NoAnswer",
    "ShadowJudge",
    "StreamedAnswer",
    "answer_text",
    "delta_text",
]

log = logging.getLogger("rolecall.judging")
DAY_MS: Final = 86_400_000


@dataclass(frozen=True, slots=True)
class LiveAnswer:
    """An answered request picked for grading: what was asked and what was answered."""

    request_id: str
    endpoint_id: str
    conversation: tuple[Mapping[str, Any], ...]
    answer: str


def delta_text(payload: bytes) -> str:
    """The text a streamed chat chunk adds ("" for anything else)."""
    if b'"content"' not in payload:
        return ""
    try:
        chunk = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return ""
    choices = chunk.get("choices") if isinstance(chunk, dict) else None
    first = choices[0] if isinstance(choices, list) and choices else None
    delta = first.get("delta") if isinstance(first, dict) else None
    content = delta.get("content") if isinstance(delta, dict) else None
    return content if isinstance(content, str) else ""


def answer_text(response: Mapping[str, Any]) -> str:
    """The first choice's text of a chat completion ("" for a tool call or no text)."""
    choices = response.get("choices")
    first = choices[0] if isinstance(choices, list) and choices else None
    message = first.get("message") if isinstance(first, dict) else None
    content = message.get("content") if isinstance(message, dict) else None
    return content if isinstance(content, str) else ""


class ShadowJudge:
    """Grades a share of live answers off the request path (see the module docstring).

    ``endpoints`` gives the current inventory's endpoints, ``versions`` an endpoint's version
    (None when it is gone), ``store`` stores samples (blocking: run on a thread), ``spent`` the
    judge spend since a time (blocking).
    """

    def __init__(
        self,
        config: ShadowJudgingConfig,
        upstreams: Upstreams,
        *,
        endpoints: Callable[[], Mapping[str, Endpoint]],
        versions: Callable[[str], str | None],
        store: Callable[[Sequence[Sample]], object],
        spent: Callable[[int], float],
        clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        self._config = config
        self._upstreams = upstreams
        self._endpoints = endpoints
        self._versions = versions
        self._store = store
        self._spent = spent
        self._clock_ms = clock_ms
        self._queue: asyncio.Queue[LiveAnswer] = asyncio.Queue(config.queue)
        self._task: asyncio.Task[None] | None = None
        self._busy = False
        self.counts: Counter[str] = Counter()

    @property
    def active(self) -> bool:
        return self._config.share > 0 and self._config.judge_endpoint_id is not None

    def picks(self, record: RequestRecord) -> bool:
        """Whether this request is among those graded (cheap: a hash; on the event loop)."""
        if not self.active or not sampled(record.request_id, self._config.share):
            return False
        asked = record.decision.context.request
        config = self._config
        return not (
            (config.roles and asked.requested_role_id not in config.roles)
            or (config.tasks and asked.task_type not in config.tasks)
        )

    def offer(self, record: RequestRecord, response: Mapping[str, Any]) -> None:
        """Queue a non-streamed answer for grading if its request is picked."""
        if self.picks(record):
            self.offer_answer(record, answer_text(response))

    def collector(self, record: RequestRecord) -> StreamedAnswer | NoAnswer:
        """What a streamed answer's chunks go to: the picked ones are put together and offered
        once the stream finished; the others cost a no-op call per chunk."""
        return StreamedAnswer(self, record) if self.picks(record) else NO_ANSWER

    def offer_answer(self, record: RequestRecord, answer: str) -> None:
        """Queue a picked request's answer (a streamed one, put together by the caller)."""
        messages = (record.body or {}).get("messages")
        if not answer or not isinstance(messages, list):
            self.counts["no_text"] += 1
            return
        item = LiveAnswer(record.request_id, final_endpoint_id(record), tuple(messages), answer)
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self.counts["dropped"] += 1

    async def start(self) -> None:
        if self.active and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def idle(self, timeout: float = 30.0) -> bool:
        """Wait until every queued answer was graded (tests, shutdown); False on timeout."""
        deadline = time.monotonic() + timeout
        while not self._queue.empty() or self._busy:
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.02)
        return True

    async def _run(self) -> None:
        while True:
            item = await self._queue.get()
            self._busy = True
            try:
                self.counts[await self._grade(item)] += 1
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("shadow judging of %s failed", item.request_id, exc_info=True)
                self.counts["error"] += 1
            finally:
                self._busy = False

    async def _grade(self, item: LiveAnswer) -> str:
        config, endpoints = self._config, self._endpoints()
        judge = endpoints.get(config.judge_endpoint_id or "")
        version = self._versions(item.endpoint_id)
        if judge is None or version is None:
            return "no_judge" if judge is None else "endpoint_gone"
        answering = endpoints.get(item.endpoint_id)
        if judge.endpoint_id == item.endpoint_id or (
            answering is not None and answering.model == judge.model
        ):
            return "self"
        messages = judge_messages(
            item.conversation,
            item.answer,
            prompt_chars=config.prompt_chars,
            answer_chars=config.answer_chars,
        )
        now = self._clock_ms()
        estimate = judge.request_cost(estimate_tokens(messages), config.max_tokens) or 0.0
        spent = await asyncio.to_thread(self._spent, now - now % DAY_MS)
        if spent + estimate > config.budget_usd_per_day:
            return "over_budget"
        asked = await ask_endpoint(
            self._upstreams,
            judge,
            messages,
            schema_name=SCHEMA_NAME,
            schema=SCHEMA,
            max_tokens=config.max_tokens,
            timeout_ms=config.timeout_ms,
        )
        grade = parse_grade(asked.text) if asked.status == "ok" else None
        outcome = "judged" if grade is not None else "invalid" if asked.status == "ok" else "failed"
        sample = Sample(
            endpoint_id=item.endpoint_id,
            endpoint_version=version,
            source="live_judged",
            timestamp_ms=self._clock_ms(),
            latency_ms=None,
            cost_usd=judge.request_cost(asked.tokens_in, asked.tokens_out),
            judge_score=grade,
            error_class=None if grade is not None else f"judge_{outcome}",
            request_id=item.request_id,  # a captured prompt and its grade make a learned record
        )
        await asyncio.to_thread(self._store, [sample])
        return outcome


class NoAnswer:
    """The collector of a streamed answer that is not graded."""

    def add(self, payload: bytes) -> None:
        pass

    def finish(self, relayed: bool) -> None:
        pass


NO_ANSWER: Final = NoAnswer()


class StreamedAnswer:
    """A picked request's streamed answer, put together chunk by chunk."""

    def __init__(self, judge: ShadowJudge, record: RequestRecord) -> None:
        self._judge = judge
        self._record = record
        self._parts: list[str] = []

    def add(self, payload: bytes) -> None:
        self._parts.append(delta_text(payload))

    def finish(self, relayed: bool) -> None:
        """Offer the answer of a stream relayed to its end (a cut one is not graded)."""
        if relayed:
            self._judge.offer_answer(self._record, "".join(self._parts))
