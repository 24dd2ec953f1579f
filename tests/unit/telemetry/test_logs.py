"""Structured logs: the JSON and text lines, and a stderr that stops reading never blocks a caller."""

from __future__ import annotations

import io
import json
import logging
import os
import threading
import time
from collections.abc import Iterator

import pytest

from rolecall.telemetry.access_log import emit
from rolecall.telemetry.logs import QUEUE_LINES, configure_logging


@pytest.fixture
def root_level() -> Iterator[None]:
    """Whatever a test configures, the root logger's level is put back."""
    level = logging.getLogger().level
    yield
    logging.getLogger().setLevel(level)


def test_json_lines_carry_the_fields_and_tracebacks(root_level: None) -> None:
    out = io.StringIO()
    setup = configure_logging("info", "json", out)
    log = logging.getLogger("rolecall.test")
    emit(log, logging.INFO, "request", {"request_id": "req-1", "status": 200, "cost_usd": None})
    log.debug("not at info")
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("failed %s", "here")
    setup.stop()
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first["ts"].endswith("Z")
    assert {k: first[k] for k in ("level", "logger", "message", "request_id", "status")} == {
        "level": "info",
        "logger": "rolecall.test",
        "message": "request",
        "request_id": "req-1",
        "status": 200,
    }
    assert first["cost_usd"] is None
    assert (second["level"], second["message"]) == ("error", "failed here")
    assert "ValueError: boom" in second["exc"]


def test_text_lines_and_auto(root_level: None) -> None:
    out = io.StringIO()  # not a terminal: auto means JSON
    setup = configure_logging("warning", "auto", out)
    logging.getLogger("rolecall.test").warning("plain %d", 1)
    setup.stop()
    assert json.loads(out.getvalue())["message"] == "plain 1"
    out = io.StringIO()
    setup = configure_logging("WARNING", "text", out)
    emit(logging.getLogger("rolecall.test"), logging.WARNING, "refused", {"key_id": "k1"})
    setup.stop()
    line = out.getvalue().strip()
    assert line.endswith("WARNING rolecall.test: refused key_id=k1")


def test_a_stderr_that_stops_reading_never_blocks_the_caller(root_level: None) -> None:
    read_end, write_end = os.pipe()
    stream = os.fdopen(write_end, "w")
    setup = configure_logging("info", "json", stream)
    log = logging.getLogger("rolecall.test")
    started = time.monotonic()
    for i in range(QUEUE_LINES + 5_000):  # the pipe fills at 64 KiB, then the queue
        log.info("line %d of a flood that nobody reads", i)
    elapsed = time.monotonic() - started
    assert elapsed < 10  # it returned: a blocked write would never have
    assert setup.handoff.dropped > 0
    chunks: list[bytes] = []
    reader = threading.Thread(target=_read_all, args=(read_end, chunks))
    reader.start()
    deadline = time.monotonic() + 30
    while setup.handoff.lines.qsize() and time.monotonic() < deadline:
        time.sleep(0.01)  # stderr reads again: the queue drains
    log.warning("after the flood")
    setup.stop()  # writes what is queued, then the writer thread ends
    stream.close()
    reader.join(timeout=30)
    lines = [json.loads(x) for x in b"".join(chunks).decode().splitlines()]
    notes = [x for x in lines if "log lines dropped" in x["message"]]
    assert notes
    assert (
        notes[0]["message"] == f"{setup.handoff.dropped} log lines dropped: stderr did not keep up"
    )
    assert lines[-1]["message"] == "after the flood"


def _read_all(fd: int, into: list[bytes]) -> None:
    with os.fdopen(fd, "rb") as pipe:
        while chunk := pipe.read(65536):
            into.append(chunk)


def test_the_log_level_setting_is_checked() -> None:
    from pydantic import ValidationError

    from rolecall.settings import Settings

    assert Settings(log_level=" INFO ").log_level == "info"
    with pytest.raises(ValidationError, match="log_level") as raised:
        Settings(log_level="loud")
    assert "expected one of critical, error, warning, info, debug, trace" in str(raised.value)
