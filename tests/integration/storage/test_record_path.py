"""The one record path to the writer process: its socket, held by the event loop while the
recorder is started on it; what the task queue's thread has to send (samples stored elsewhere, a
profile refresh) goes through the loop meanwhile, and through the sink itself afterwards."""

from __future__ import annotations

import asyncio
import time

from rolecall.observe.message import WriterMessage
from rolecall.observe.profile_refresh import RefreshResult
from rolecall.observe.recorder import Recorder
from rolecall.protocol import ObservedPerformanceProfile
from rolecall.storage import BackgroundWriter
from rolecall.storage.record_writer import ProcessSink, open_sink
from rolecall.storage.sql import SqlStorage
from tests.integration.storage import builders

FACTS = {"e1": ("1.0.0", None)}


async def _published(profiles: list[ObservedPerformanceProfile], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not profiles and time.monotonic() < deadline:
        await asyncio.sleep(0.02)


def _count_writes(sink: ProcessSink) -> list[WriterMessage]:
    written: list[WriterMessage] = []
    sink_write = sink.write

    def counting_write(message: WriterMessage) -> RefreshResult:
        written.append(message)
        return sink_write(message)

    sink.write = counting_write  # type: ignore[method-assign]
    return written


def test_thread_messages_go_through_the_loops_channel(db_url: str, storage: SqlStorage) -> None:
    sink = open_sink(db_url, storage, use_process=True)
    assert isinstance(sink, ProcessSink)
    direct = _count_writes(sink)  # messages the sink got from a thread, not the loop
    published: list[ObservedPerformanceProfile] = []
    now = time.time_ns() // 1_000_000
    samples = [builders.sample("e1", at=now)]  # one graded case
    storage.samples.add(samples)  # committed elsewhere (a benchmark) before the recorder hears
    try:
        with BackgroundWriter() as writer:
            recorder = Recorder(
                writer, sink, endpoint_facts=lambda: FACTS, on_profile=published.append
            )

            async def serve() -> None:
                await recorder.start()
                assert recorder.on_loop_channel
                await asyncio.to_thread(recorder.observe_stored, samples)
                await _published(published, 10)
                await recorder.stop()
                assert not recorder.on_loop_channel

            asyncio.run(serve())
            assert direct == []  # all of it went over the loop's channel
            assert [p.endpoint_id for p in published] == ["e1"]
            assert published[0].sample_size == 1  # read from storage, not counted twice
            recorder.refresh_due()  # after `stop`: the sink's own socket again
            recorder.close()
        assert len(direct) == 1
        assert sink.pid is not None  # the process served it, no fallback
    finally:
        sink.close(timeout=10)
    assert sink._process.exitcode == 0  # it saw the socket close and stopped, not killed
    stored = storage.profiles.get("e1")
    assert stored is not None
    assert stored.sample_size == 1
