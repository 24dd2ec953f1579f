"""Stores what each request produced, off the request path, in batches.

Requests append their record to a queue; right after the response is sent the event loop reduces
it to an `Observation` (`rolecall.observe.observation`) and encodes it, and every
`HANDOFF_INTERVAL_S` what was encoded goes to the sink, which builds the rows (decisions, traces,
usage, samples) and stores each message in one transaction; `flush` hands it over at once. Once
`start`ed on the gateway's loop, the loop itself sends the messages to the writer process over its
own channel (`rolecall.observe.loop_channel`); otherwise (scripts, tests, the final drain) a job
on the background writer thread does. The sink — normally a separate writer process — also keeps
each endpoint's recent samples and re-aggregates its observed profile at most once per interval
(`ProfileRefresher`); the profiles that come due are handed to ``on_profile`` so live traffic
keeps routing evidence current without re-reading the database.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Final

from rolecall.observe.loop_channel import LoopChannel
from rolecall.observe.observation import RequestRecord, encode_observations, observe
from rolecall.observe.profile_refresh import RefreshResult
from rolecall.observe.sink import InProcessSink, Message, Sink, reply_from_bytes
from rolecall.profiles import Sample
from rolecall.protocol import ObservedPerformanceProfile
from rolecall.storage.sql import SqlStorage
from rolecall.storage.writer import BackgroundWriter

log = logging.getLogger("rolecall.observe")
# How often the event loop hands on what it observed: each hand-off is one transaction in the
# writer process, and SQLite rewrites the tail page of every table and index it touches per
# commit. Stored the same 4,000 gateway requests, 40 to a transaction (20 ms of c=1 traffic) wrote
# 25.6 KB to disk per request and cost 26 µs of kernel time; 512 to one (250 ms), 11.2 KB and 13
# µs. That file I/O, on the gateway's own core, is what its tail waits for: wrk's p99 at c=1 (median
# of six fresh gateways, interleaved) was 1.19 ms with 20 ms hand-offs vs 0.92 with 100 ms, and
# in a second run 0.97 (100 ms) vs 0.87 (250 ms). Records reach storage (and live profiles) at
# most this much later; `flush` hands over at once.
HANDOFF_INTERVAL_S: Final = 0.25
# At most this many requests per message from the loop (~1.3 MB): when the writer process falls
# behind, what waits for it grows, and joining and writing all of it at once stalled the event
# loop for milliseconds (a p99 of 2–4 ms at c=1). Bounded messages keep each step short.
MESSAGE_REQUESTS: Final = 512


class Recorder:
    def __init__(
        self,
        storage: SqlStorage,
        writer: BackgroundWriter,
        *,
        sink: Sink | None = None,
    ) -> None:
        self._storage = storage
        self._sink = sink or InProcessSink(storage)
        self._writer = writer
        self._pending: deque[RequestRecord] = deque()
        self._scheduled = threading.Event()
        # observations encoded on the event loop, not yet stored (swapped out whole by the
        # writer thread)
        self._observed: list[bytes] = []
        self._facts_sent: Mapping[str, tuple[str, str | None]] | None = None
        self._handoff_due = False  # a hand-off is scheduled on the event loop
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        # the event loop's channel to the writer process while `start`ed on a loop
        self._channel: LoopChannel | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sending: asyncio.Task[None] | None = None
        self._closed = False
        # set by the composition root: what aggregation needs to know about every endpoint (the
        # same mapping object until the inventory changes; without it, live samples are stored
        # but feed no profile), and where a new profile goes
        self.endpoint_facts: Callable[[], Mapping[str, tuple[str, str | None]]] = dict
        self.on_profile: Callable[[ObservedPerformanceProfile], object] | None = None

    def record(self, record: RequestRecord) -> None:
        """Queue one request's records; never blocks on the database.

        In the gateway's event loop the request is observed by a callback that runs after the
        current response has been written (the handler's task does not yield before sending it),
        so no thread competes with the request path for the GIL; the writer only hands the
        encoded observations over.
        """
        self._pending.append(record)
        if self._scheduled.is_set():
            return
        self._scheduled.set()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._writer.submit(self._drain)
        else:
            loop.call_soon(self._observe_then_store)

    def add_samples(self, samples: Iterable[Sample]) -> None:
        """Store samples from elsewhere (benchmarks) in the caller's transaction, if one is open
        on this thread; they feed the same live profiles once the writer gets to them (the record
        writer process must not wait on a transaction that waits on it)."""
        items = list(samples)
        self._storage.add_samples(items)
        self._writer.submit(self._observe_stored, items)

    def _observe_stored(self, samples: list[Sample]) -> None:
        message = Message(observed=samples)
        self._with_facts(message)
        self._apply(self._sink.write(message))

    def flush(self, timeout: float | None = None) -> bool:
        """Store everything recorded so far now (not at the next hand-off); False on timeout.
        From a thread other than the event loop's (the loop itself awaits `flushed`)."""
        loop = self._loop
        if self._channel is not None and loop is not None and not _running_on(loop):
            done = asyncio.run_coroutine_threadsafe(self._flush_on_loop(), loop)
            try:
                done.result(timeout)
            except TimeoutError:
                return False
        return self._flush_thread(timeout)

    async def flushed(self, timeout: float | None = None) -> bool:
        """`flush` from the event loop without blocking it (readers about to show records)."""
        if self._channel is not None:
            try:
                await asyncio.wait_for(self._flush_on_loop(), timeout)
            except TimeoutError:
                return False
        return await asyncio.to_thread(self._flush_thread, timeout)

    def _flush_thread(self, timeout: float | None = None) -> bool:
        """Store what the writer thread holds (requests observed outside the loop, samples)."""
        self._writer.submit(self._store_observed)
        return self._writer.flush(timeout)

    def _observe_then_store(self) -> None:
        part = self._observe()
        if part is None:
            return
        self._observed.append(part)
        if not self._handoff_due:
            self._handoff_due = True
            asyncio.get_running_loop().call_later(HANDOFF_INTERVAL_S, self._hand_off)

    def _hand_off(self) -> None:
        self._handoff_due = False
        if self._closed:  # `close` handed everything over already
            return
        if self._channel is None:
            self._writer.submit(self._store_observed)
        elif self._sending is None:
            self._sending = asyncio.get_running_loop().create_task(self._send_observed())

    @property
    def on_loop_channel(self) -> bool:
        """Whether batches currently go to the writer process over the event loop's channel."""
        return self._channel is not None

    async def start(self) -> None:
        """Hand batches to the writer process from the running event loop, over its own channel,
        instead of from the writer thread (whose GIL turns stalled requests mid-flight)."""
        open_channel = getattr(self._sink, "open_loop_channel", None)
        if open_channel is not None:
            self._channel = await open_channel()
            self._loop = asyncio.get_running_loop()

    async def stop(self) -> None:
        """Store what the loop holds and leave the loop's channel (`close` follows)."""
        channel = self._channel
        if channel is None:
            return
        await self._flush_on_loop()
        self._channel = None
        await channel.close()

    async def _send_observed(self) -> None:
        """Send what was observed, one message at a time, until nothing is left (what is observed
        while a message is in flight goes in the next one)."""
        try:
            while self._observed and self._channel is not None:
                parts = self._observed[:MESSAGE_REQUESTS]
                del self._observed[:MESSAGE_REQUESTS]
                message = Message(parts, backlog=len(self._observed))
                self._with_facts(message)
                try:
                    reply = await self._channel.exchange(message.to_bytes())
                    result = reply_from_bytes(reply)
                except ConnectionError as exc:
                    log.warning("%s; records go through the writer thread", exc)
                    self._channel = None
                    self._facts_sent = None  # the thread's sink has not seen them
                    self._writer.submit(self._store, parts)
                except RuntimeError as exc:  # the process could not store it: the thread retries
                    log.warning("storing records failed (%s); retrying", exc)
                    self._writer.submit(self._store, parts)
                else:
                    self._apply(result)
        finally:
            self._sending = None

    async def _flush_on_loop(self) -> None:
        if self._pending:
            self._observe_then_store()
        while self._sending is not None:
            await asyncio.shield(self._sending)
        if self._observed and self._channel is not None:
            self._sending = asyncio.get_running_loop().create_task(self._send_observed())
            await asyncio.shield(self._sending)

    def _store_observed(self) -> None:
        """Store every request observed so far in one transaction: when the database is slower than
        the traffic, batches grow instead of a queue of small writes (and of live objects)."""
        # one swap, no loop: this thread holds the GIL as briefly as it can
        parts, self._observed = self._observed, []
        if parts:
            self._store(parts)

    def _drain(self) -> None:
        """Observe and store on the writer thread (records queued outside an event loop)."""
        part = self._observe()
        if part is not None:
            self._observed.append(part)
        self._store_observed()

    def _observe(self) -> bytes | None:
        """Every queued request observed and encoded (None when the queue is empty); the sink
        builds their rows."""
        self._scheduled.clear()
        observed = []
        while self._pending:
            observed.append(observe(self._pending.popleft()))
        return encode_observations(observed) if observed else None

    def _store(self, parts: list[bytes]) -> None:
        """One transaction for every part, however many requests they hold; then route on the
        profiles that came due and ask again when the next one will be. Endpoint facts travel
        only when they changed (the sink keeps the last ones)."""
        message = Message(parts)
        self._with_facts(message)
        self._apply(self._sink.write(message))

    def _with_facts(self, message: Message) -> None:
        facts = self.endpoint_facts()
        if facts is not self._facts_sent:
            message.facts = dict(facts)
            self._facts_sent = facts

    def refresh_due(self) -> None:
        """Ask the sink for the profiles due now (the timer's job; no parts, nothing stored)."""
        self._store([])

    def _apply(self, result: RefreshResult) -> None:
        if self.on_profile is not None:
            for profile in result.profiles:
                self.on_profile(profile)
        if result.next_due_s is not None:
            self._schedule(result.next_due_s)

    def _schedule(self, delay: float) -> None:
        with self._lock:
            if self._timer is not None and self._timer.is_alive():
                return
            self._timer = threading.Timer(delay, lambda: self._writer.submit(self.refresh_due))
            self._timer.daemon = True
            self._timer.start()

    def close(self) -> None:
        """Hand over everything recorded and stop the refresh timer (the caller then closes the
        writer, which stores what it was handed, then the sink)."""
        self._closed = True
        self._writer.submit(self._drain)
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()


def _running_on(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether this thread is running ``loop`` (which must then not be waited for)."""
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
