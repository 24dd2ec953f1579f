"""The one record writer of several gateway processes (`writer_process.serve_shared`) and what
keeps the other workers' routing current: channels handed over by a supervisor, each answered,
the profiles that came due sent to every channel (other processes' profiles reach a worker as
change notices: tests/integration/cluster).

A real writer process (spawned, as the supervisor does) on both backends."""

from __future__ import annotations

import multiprocessing
import socket
import time
from collections.abc import Iterator

import pytest

from rolecall.observe.loop_channel import recv_frame
from rolecall.observe.message import WriterMessage
from rolecall.storage.record_writer import READY, ProcessSink, WriterLink
from rolecall.storage.sql import SqlStorage
from rolecall.storage.writer_process import send_channel, serve_shared
from tests.integration.storage import builders

FACTS = {"e1": ("1.0.0", None)}


class SharedWriter:
    """`serve_shared` in a process of its own, and what a supervisor does with it."""

    def __init__(self, url: str) -> None:
        self.control, theirs = socket.socketpair()
        context = multiprocessing.get_context("spawn")
        self.process = context.Process(target=serve_shared, args=(url, theirs, None))
        self.process.start()
        theirs.close()
        self.control.settimeout(60)
        assert recv_frame(self.control) == READY

    def channel(self) -> WriterLink:
        ours, theirs = socket.socketpair()
        send_channel(self.control, theirs)
        theirs.close()
        assert self.process.pid is not None
        return WriterLink(ours, self.process.pid)

    def stop(self) -> int | None:
        self.control.close()
        self.process.join(30)
        return self.process.exitcode


@pytest.fixture
def writer(db_url: str, storage: SqlStorage) -> Iterator[SharedWriter]:
    shared = SharedWriter(db_url)
    yield shared
    if shared.process.is_alive():
        shared.process.kill()
        shared.process.join()


def test_every_channel_is_answered_and_gets_the_profiles_that_came_due(
    db_url: str, storage: SqlStorage, writer: SharedWriter
) -> None:
    now = time.time_ns() // 1_000_000
    first = ProcessSink(db_url, storage, link=writer.channel())
    second = ProcessSink(db_url, storage, link=writer.channel())
    assert first.pid == second.pid == writer.process.pid  # one writer, not one each

    answer = first.write(WriterMessage.of([builders.observation("r1", at=now)], FACTS))
    assert storage.decisions.get("dec-r1") is not None  # stored before the answer
    assert [p.endpoint_id for p in answer.profiles] == ["e1"]
    # the other worker, which served nothing, hears of the profile with its next answer
    assert [p.endpoint_id for p in second.write(WriterMessage()).profiles] == ["e1"]
    assert second.write(WriterMessage()).profiles == []  # once

    first.close(timeout=10)  # one worker leaving does not stop the writer
    second.write(WriterMessage.of([builders.observation("r2", at=now)]))
    assert storage.decisions.get("dec-r2") is not None
    second.close(timeout=10)
    assert writer.stop() == 0  # the supervisor and every worker closed their ends


def test_a_worker_killed_mid_message_does_not_stop_the_writer(
    db_url: str, storage: SqlStorage, writer: SharedWriter
) -> None:
    killed = writer.channel()
    killed.channel.settimeout(60)
    assert recv_frame(killed.channel) == READY
    message = WriterMessage.of([builders.observation("r3")]).to_bytes()
    killed.channel.sendall(len(message).to_bytes(8, "big") + message[:10])  # then gone
    killed.channel.close()

    survivor = ProcessSink(db_url, storage, link=writer.channel())
    survivor.write(WriterMessage.of([builders.observation("r4")]))
    assert storage.decisions.get("dec-r4") is not None
    assert storage.decisions.get("dec-r3") is None  # never wholly sent: never answered
    survivor.close(timeout=10)
    assert writer.stop() == 0
