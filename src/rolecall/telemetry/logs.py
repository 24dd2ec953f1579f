"""Structured logs: one JSON object a line (or readable text) on stderr, written off the event loop.

`configure_logging` runs once at the start of each process the CLI starts (`rolecall serve` and
`rolecall run`, each worker, the record writer) and is the only place handlers are installed:
the root logger gets a `QueueHandler` whose queue a `QueueListener` thread drains into stderr, so
a slow or blocked stderr (a full pipe, a stalled log shipper) never blocks the event loop; past
`QUEUE_LINES` waiting lines new ones are dropped and the count is said once stderr moves again.
Records are formatted on that thread too, and written in batches. uvicorn's loggers propagate to
the same handler.

Formats (``ROLECALL_LOG_FORMAT``): ``json`` — ``ts``, ``level``, ``logger``, ``message``, then the
record's ``fields`` (the access line's request facts) and ``exc`` for a traceback; ``text`` — the
same on one readable line; ``auto`` — JSON unless stderr is a terminal.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Mapping
from logging.handlers import QueueHandler, QueueListener
from typing import Any, Final, TextIO

import orjson

__all__ = [
    "LEVELS",
    "LOG_FORMATS",
    "JsonFormatter",
    "LogSetup",
    "TextFormatter",
    "configure_from_environment",
    "configure_logging",
    "write_before_sigterm",
]

LOG_FORMATS: Final = ("auto", "json", "text")
LEVELS: Final = {
    "critical": logging.CRITICAL,
    "error": logging.ERROR,
    "warning": logging.WARNING,
    "info": logging.INFO,
    "debug": logging.DEBUG,
    "trace": 5,  # uvicorn's
}
QUEUE_LINES: Final = 10_000
STOP_WAIT_S: Final = 5.0  # at exit, for the queued lines to be written
WRITE_EVERY_S: Final = 0.01  # stderr is written at most this often (what came meanwhile at once)


_last_second: tuple[int, str] = (-1, "")  # the last second formatted, and its text


def _timestamp(created: float) -> str:
    """ISO 8601 in UTC with milliseconds."""
    global _last_second
    second, text = _last_second
    if int(created) != second:
        second = int(created)
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        _last_second = (second, text)
    return f"{text}.{int(created * 1000) % 1000:03d}Z"


def _fields(record: logging.LogRecord) -> Mapping[str, Any]:
    fields = getattr(record, "fields", None)
    return fields if isinstance(fields, Mapping) else {}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": _timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(_fields(record))
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = record.stack_info
        return orjson.dumps(line, default=str).decode()


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        parts = [_timestamp(record.created), record.levelname, f"{record.name}:"]
        parts.append(record.getMessage())
        parts += [f"{k}={v}" for k, v in _fields(record).items() if v is not None]
        text = " ".join(parts)
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


class _Handoff(QueueHandler):
    """Puts records on the queue as they are, without the handler's lock (the queue is
    thread-safe): the listener's thread formats them (a record's arguments are plain values,
    never changed after logging). Past `QUEUE_LINES` waiting, a line is dropped and counted."""

    def __init__(self, lines: queue.SimpleQueue[logging.LogRecord | None]) -> None:
        super().__init__(lines)
        self.lines = lines
        self.dropped = 0

    def handle(self, record: logging.LogRecord) -> bool:
        if not self.filter(record):
            return False
        self.enqueue(record)
        return True

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        return record

    def enqueue(self, record: logging.LogRecord) -> None:
        if self.lines.qsize() < QUEUE_LINES:
            self.lines.put_nowait(record)
        else:
            self.dropped += 1


class _Writer(logging.StreamHandler):  # type: ignore[type-arg]
    """stderr, on the listener's thread: flushed once the queue is empty, then rests
    `WRITE_EVERY_S` (a burst of lines is one write), and says how many lines were dropped
    meanwhile."""

    def __init__(self, stream: TextIO, handoff: _Handoff) -> None:
        super().__init__(stream)
        self._handoff = handoff
        self._said = 0

    def emit(self, record: logging.LogRecord) -> None:
        dropped = self._handoff.dropped
        if dropped != self._said:
            note = logging.makeLogRecord(
                {
                    "name": "rolecall",
                    "levelno": logging.WARNING,
                    "levelname": "WARNING",
                    "msg": "%d log lines dropped: stderr did not keep up",
                    "args": (dropped - self._said,),
                }
            )
            self._said = dropped
            self._write(note)
        self._write(record)
        if self._handoff.lines.empty():
            self.flush()
            # lines come in batches: a thread woken (and a write made) per line would cost
            # the event loop a context switch per request
            time.sleep(WRITE_EVERY_S)

    def _write(self, record: logging.LogRecord) -> None:
        try:
            self.stream.write(self.format(record) + self.terminator)
        except Exception:
            self.handleError(record)


class _Listener(QueueListener):
    """Stops without hanging the process on a stuck stderr: the lines queued get `STOP_WAIT_S`
    to be written, then the (daemon) thread is left behind."""

    def stop(self) -> None:
        self.enqueue_sentinel()
        if self._thread is not None:
            self._thread.join(STOP_WAIT_S)
            self._thread = None


class LogSetup:
    """The installed handler and its writer thread; `stop` writes what is queued."""

    def __init__(self, handoff: _Handoff, listener: _Listener) -> None:
        self.handoff = handoff
        self.listener = listener
        self._running = True

    def stop(self) -> None:
        root = logging.getLogger()
        if self.handoff in root.handlers:
            root.removeHandler(self.handoff)
        if self._running:
            self._running = False
            self.listener.stop()


_installed: list[LogSetup] = []  # the process's one setup (replaced if configured again)


def configure_logging(level: str, log_format: str, stream: TextIO | None = None) -> LogSetup:
    """Log at ``level`` (a `LEVELS` name) and above to ``stream`` (stderr) in ``log_format``."""
    out = stream if stream is not None else sys.stderr
    use_json = log_format == "json" or (log_format == "auto" and not _is_terminal(out))
    formatter = JsonFormatter() if use_json else TextFormatter()
    for previous in _installed:
        previous.stop()
    _installed.clear()
    handoff = _Handoff(queue.SimpleQueue())
    writer = _Writer(out, handoff)
    writer.setFormatter(formatter)
    listener = _Listener(handoff.queue, writer)
    listener.start()
    root = logging.getLogger()
    root.addHandler(handoff)
    root.setLevel(LEVELS.get(level.lower(), logging.WARNING))
    setup = LogSetup(handoff, listener)
    _installed.append(setup)
    atexit.register(setup.stop)
    return setup


def write_before_sigterm(setup: LogSetup) -> None:
    """At SIGTERM, write the queued lines before the process ends as SIGTERM ends it.

    uvicorn shuts down on SIGTERM and then raises it again under the handler it found, which by
    default ends the process at once: without this, the lines of the shutdown itself (and
    anything queued) would be lost. A handler someone else installed is left alone."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return

    def written_then_ended(signum: int, frame: object) -> None:
        setup.stop()
        signal.signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)

    signal.signal(signal.SIGTERM, written_then_ended)


def configure_from_environment() -> LogSetup:
    """As the gateway that started this process (the record writer): ``ROLECALL_LOG_LEVEL``
    and ``ROLECALL_LOG_FORMAT`` from the environment it inherited."""
    level = os.environ.get("ROLECALL_LOG_LEVEL", "warning")
    log_format = os.environ.get("ROLECALL_LOG_FORMAT", "auto").lower()
    return configure_logging(level, log_format if log_format in LOG_FORMATS else "auto")


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or not a file
        return False
