"""Stores what each request produced, off the request path, in batches.

Requests append their record to a queue; right after the response is sent the event loop reduces
it to an `Observation` and encodes it, and every `HANDOFF_INTERVAL_S` what was encoded goes to the
`Sink` as a `WriterMessage` (at most `MESSAGE_REQUESTS` requests each); the sink builds the rows
and stores each message in one transaction. Once `start`ed on the gateway's loop, the loop sends
every message over the sink's channel, those of the `TaskQueue`'s thread (samples stored
elsewhere, profile refreshes) included; before and after (scripts, tests, the final drain) the
thread hands them to the sink itself. The profiles that come due are handed to ``on_profile``.
Why these choices, with the measurements behind them: docs/performance.md.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Final

from rolecall.observe.listeners import Listeners, RequestListener, TurnedAway
from rolecall.observe.loop_channel import LoopChannel
from rolecall.observe.message import WriterMessage, reply_from_bytes
from rolecall.observe.observation import RequestRecord, encode_observations, observe
from rolecall.observe.ports import Journal, Sink, TaskQueue
from rolecall.observe.profile_refresh import RefreshResult
from rolecall.profiles import Sample
from rolecall.protocol import ObservedPerformanceProfile

__all__ = ["HANDOFF_INTERVAL_S", "MESSAGE_REQUESTS", "Recorder"]

log = logging.getLogger("rolecall.observe")

# How long a reader (admin API, console) waits for the requests recorded before it to be stored.
READ_WAIT_S = 10.0
# How often the event loop hands on what it observed (one transaction in the writer each).
HANDOFF_INTERVAL_S: Final = 0.25
# At most this many requests per message from the loop, so each step of a backlog stays short.
MESSAGE_REQUESTS: Final = 512
RETRY_DELAY_S: Final = 0.05  # before sending again a message the writer could not store
# A writer that has not answered within this long is behind (idle priority starved on busy
# cores): it is asked to store at normal priority until it catches up.
HURRY_AFTER_S: Final = 1.0


class Recorder:
    """The request path's one way to records: observe, encode, hand over to the sink.

    ``endpoint_facts`` gives what aggregation needs to know about every endpoint (the same
    mapping object until the inventory changes; without it, live samples are stored but feed no
    profile); ``on_profile`` gets every profile that comes due. With a ``journal`` each
    observation is written there as soon as it is encoded (one write) and messages only tell
    the sink to store what the journal holds; a part the journal refuses travels in a message.
    Each of ``listeners`` hears of every request (`rolecall.observe.listeners`).
    """

    def __init__(
        self,
        writer: TaskQueue,
        sink: Sink,
        *,
        journal: Journal | None = None,
        endpoint_facts: Callable[[], Mapping[str, tuple[str, str | None]]] = dict,
        on_profile: Callable[[ObservedPerformanceProfile], object] | None = None,
        listeners: Sequence[RequestListener] = (),
    ) -> None:
        self._sink = sink
        self._listeners = Listeners(listeners) if listeners else None
        self._writer = writer
        self._journal = journal
        self._journaled = False  # parts written to the journal since the last message
        self._pending: deque[RequestRecord] = deque()
        self._scheduled = threading.Event()
        self._store_due = threading.Event()  # `_store_observed` is queued on the task queue
        # observations encoded on the event loop, not yet stored (swapped out whole by the
        # writer thread)
        self._observed: list[bytes] = []
        # while the loop holds the writer's channel: samples and a profile refresh the task
        # queue's thread asked for, sent with the loop's next message
        self._samples: list[Sample] = []
        self._reload: list[str] = []  # endpoints whose sample windows others changed
        self._refresh_asked = False
        self._facts_sent: Mapping[str, tuple[str, str | None]] | None = None
        self._handoff_due = False  # a hand-off is scheduled on the event loop
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        # the event loop's channel to the writer process while `start`ed on a loop
        self._channel: LoopChannel | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sending: asyncio.Task[None] | None = None
        self._closed = False
        self.endpoint_facts = endpoint_facts
        self.on_profile = on_profile

    def record(self, record: RequestRecord) -> None:
        """Queue one request's records; never blocks on the database.

        With a journal the request is observed and written to it right here, before the
        response is sent, so that no answered request is lost with the process (tens of
        microseconds: docs/performance.md). Without one, in the gateway's event loop the request
        is observed by a callback that runs after the current response has been written (the
        handler's task does not yield before sending it). Either way no thread competes with
        the request path for the GIL; the writer only hands the encoded observations over.
        """
        if self._listeners is not None:
            self._listeners.recorded(record)
        if self._journal is not None and self._journal_now(self._journal, record):
            return
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

    def turned_away(self, request: TurnedAway) -> None:
        """A request answered before it was routed: nothing is stored, the listeners hear of it."""
        if self._listeners is not None:
            self._listeners.turned_away(request)

    def _journal_now(self, journal: Journal, record: RequestRecord) -> bool:
        """Observe ``record`` and write it to ``journal`` now; False when the journal refused it
        (it then takes the in-memory path)."""
        if not journal.append(encode_observations([observe(record)])):
            return False
        self._journaled = True
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # a script or test thread: the task queue tells the sink
            if not self._store_due.is_set():
                self._store_due.set()
                self._writer.submit(self._store_observed)
            return True
        if not self._handoff_due:
            self._handoff_due = True
            loop.call_later(HANDOFF_INTERVAL_S, self._hand_off)
        return True

    def observe_stored(self, samples: Iterable[Sample]) -> None:
        """Feed samples stored elsewhere (benchmarks, `rolecall.observe.evidence`) to the live
        profiles, once the task queue gets to them: after the transaction that stores them, which
        the record writer process must not wait on. Once closed there are no live profiles to
        feed (the samples are stored; the next start aggregates them)."""
        if not self._closed:
            self._writer.submit(self._store, [], list(samples))

    def reload_samples(self, endpoint_ids: Iterable[str]) -> None:
        """Another process stored samples of these endpoints (a benchmark run from the CLI, say):
        their live profiles re-read them from storage, once the task queue gets to it."""
        if not self._closed:
            self._writer.submit(self._store, [], [], list(endpoint_ids))

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

    async def flushed(self, timeout: float | None = READ_WAIT_S) -> bool:
        """`flush` from the event loop without blocking it (readers about to show records).

        Returns as soon as what was recorded before the call is stored; the timeout only bites
        when the writer is behind (idle priority on a busy host), so it is generous."""
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
        self._keep(part)
        if not self._handoff_due:
            self._handoff_due = True
            asyncio.get_running_loop().call_later(HANDOFF_INTERVAL_S, self._hand_off)

    def _keep(self, part: bytes) -> None:
        """Into the journal (one write), or with the next message when there is none."""
        if self._journal is not None and self._journal.append(part):
            self._journaled = True
        else:
            self._observed.append(part)

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
        self._channel = await self._sink.open_loop_channel()
        if self._channel is not None:
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
            while self._channel is not None and (
                self._observed
                or self._samples
                or self._reload
                or self._refresh_asked
                or self._journaled
            ):
                message = self._next_message()
                try:
                    result = await self._exchange(self._channel, message)
                except ConnectionError as exc:
                    await self._leave_channel(exc, message)
                else:
                    self._apply(result)
        finally:
            self._sending = None

    def _next_message(self) -> WriterMessage:
        parts = self._observed[:MESSAGE_REQUESTS]
        del self._observed[:MESSAGE_REQUESTS]
        samples, self._samples = self._samples, []
        reload, self._reload = self._reload, []
        self._refresh_asked = self._journaled = False
        message = WriterMessage(parts, observed=samples, reload=reload, backlog=len(self._observed))
        self._with_facts(message)
        return message

    async def _exchange(self, channel: LoopChannel, message: WriterMessage) -> RefreshResult:
        """Store one message over the channel; one the writer could not store is sent once more,
        then given up (logged)."""
        data = message.to_bytes()
        try:
            return reply_from_bytes(await self._timed_exchange(channel, data))
        except RuntimeError as exc:
            if not message.parts:  # journaled: the writer stores them once it can
                log.debug("storing records failed (%s); they wait in the spool", exc)
                return RefreshResult([], None)
            log.warning("storing records failed (%s); retrying", exc)
        await asyncio.sleep(RETRY_DELAY_S)
        try:
            return reply_from_bytes(await self._timed_exchange(channel, data))
        except RuntimeError as exc:
            log.error("storing records failed after a retry, records lost: %s", exc)
            return RefreshResult([], None)

    async def _timed_exchange(self, channel: LoopChannel, data: bytes) -> bytes:
        """One exchange; a writer slow to answer is asked to hurry (a timer, not a wait)."""
        hurry = asyncio.get_running_loop().call_later(HURRY_AFTER_S, self._sink.hurry)
        try:
            return await channel.exchange(data)
        finally:
            hurry.cancel()

    async def _leave_channel(self, exc: ConnectionError, message: WriterMessage) -> None:
        """The writer process is gone: give its socket back to the sink, and hand what the loop
        holds to the task queue's thread (the sink then stores it in this process)."""
        log.warning("%s; records go through the writer thread", exc)
        channel, self._channel = self._channel, None
        self._facts_sent = None  # the thread's sink has not seen them
        if channel is not None:
            await channel.close()
        samples, self._samples = self._samples, []
        reload, self._reload = self._reload, []
        self._writer.submit(
            self._store, message.parts, [*message.observed, *samples], [*message.reload, *reload]
        )

    def _send_on_loop(self, parts: list[bytes], samples: list[Sample], reload: list[str]) -> None:
        """(On the loop.) What the task queue's thread had to store: with the next message."""
        if self._channel is None:  # the loop left the channel meanwhile: the thread stores it
            self._writer.submit(self._store, parts, samples, reload)
            return
        self._observed.extend(parts)
        self._samples.extend(samples)
        self._reload.extend(reload)
        self._refresh_asked = True  # a message even with nothing in it: profiles may be due
        if self._sending is None:
            self._sending = asyncio.get_running_loop().create_task(self._send_observed())

    async def _flush_on_loop(self) -> None:
        if self._pending:
            self._observe_then_store()
        while self._sending is not None:
            await asyncio.shield(self._sending)
        if (self._observed or self._samples or self._journaled) and self._channel is not None:
            self._sending = asyncio.get_running_loop().create_task(self._send_observed())
            await asyncio.shield(self._sending)

    def _store_observed(self) -> None:
        """Store every request observed so far in one transaction: when the database is slower than
        the traffic, batches grow instead of a queue of small writes (and of live objects)."""
        # one swap, no loop: this thread holds the GIL as briefly as it can
        self._store_due.clear()
        parts, self._observed = self._observed, []
        if parts or self._journal is not None:  # the sink stores what the journal holds too
            self._journaled = False
            self._store(parts)

    def _drain(self) -> None:
        """Observe and store on the writer thread (records queued outside an event loop)."""
        part = self._observe()
        if part is not None:
            self._keep(part)
        self._store_observed()

    def _observe(self) -> bytes | None:
        """Every queued request observed and encoded (None when the queue is empty); the sink
        builds their rows."""
        self._scheduled.clear()
        observed = []
        while self._pending:
            observed.append(observe(self._pending.popleft()))
        return encode_observations(observed) if observed else None

    def _store(
        self, parts: list[bytes], samples: Sequence[Sample] = (), reload: Sequence[str] = ()
    ) -> None:
        """(On the task queue.) One transaction for every part, however many requests they hold;
        then route on the profiles that came due and ask again when the next one will be.
        Endpoint facts travel only when they changed (the sink keeps the last ones). While the
        event loop holds the writer's channel, the loop sends them."""
        loop = self._loop
        if self._channel is not None and loop is not None:
            try:
                loop.call_soon_threadsafe(self._send_on_loop, parts, list(samples), list(reload))
            except RuntimeError:  # the loop is closed: this thread stores them
                pass
            else:
                return
        message = WriterMessage(parts, observed=list(samples), reload=list(reload))
        self._with_facts(message)
        self._apply(self._sink.write(message))

    def _with_facts(self, message: WriterMessage) -> None:
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
            self._timer = threading.Timer(delay, self._refresh_later)
            self._timer.daemon = True
            self._timer.start()

    def _refresh_later(self) -> None:
        """(The timer's thread.) A timer that fired as the recorder closed has nothing to do."""
        if not self._closed:
            self._writer.submit(self.refresh_due)

    def close(self) -> None:
        """Hand over everything recorded and stop the refresh timer (the caller then closes the
        writer, which stores what it was handed, then the sink)."""
        self._closed = True
        self._channel = None  # left already, unless `stop` timed out: then the thread stores
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
