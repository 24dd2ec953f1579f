"""Record writer cost: CPU per request to store what the gateway records, SQLite (and PostgreSQL).

Serves real requests in this process (rolecall's gateway use case against the fast upstream of
bench/gateway on loopback), keeps the messages the recorder hands to its sink instead of storing
them, then times storing them the way the writer process does (`store_and_refresh`: build the rows
from the observed requests, one transaction per message) into a fresh database. Prints
microseconds of CPU and of wall time per stored request, and the rows each request leaves. This
is the work the idle-priority writer process must fit into the gateway core's spare time at c=1.

Run: .venv/bin/python bench/record_writer.py [--requests 3000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
from sqlalchemy import create_engine, make_url, text

from gateway import paths
from rolecall.observe.loop_channel import LoopChannel
from rolecall.observe.message import WriterMessage
from rolecall.observe.profile_refresh import ProfileRefresher, RefreshResult
from rolecall.observe.recorder import Recorder
from rolecall.storage import open_storage
from rolecall.storage.record_writer import store_and_refresh

TABLES = ("decisions", "request_traces", "usage_events", "request_facts", "samples")


class KeepingSink:
    """A sink that keeps each message (as the writer process would receive it) and stores none."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []

    def write(self, message: WriterMessage) -> RefreshResult:
        self.messages.append(message.to_bytes())
        return RefreshResult([], None)

    async def open_loop_channel(self) -> LoopChannel | None:
        return None

    def hurry(self) -> None:
        return None

    def close(self, timeout: float | None = None) -> None:
        return None


async def serve(requests: int, workdir: Path, upstream_port: int) -> list[bytes]:
    from rolecall.bootstrap import build_services
    from rolecall.gateway.chat import chat_completions

    config = workdir / "rolecall.yaml"
    config.write_text(
        "providers:\n"
        f'  up: {{kind: openai_compatible, base_url: "http://127.0.0.1:{upstream_port}/v1", '
        "local: false}\n"
        "endpoints:\n"
        f"  - {{provider: up, model: {paths.BENCH_MODEL}, id: ep-up, "
        "price: {input_per_1m: 1.0, output_per_1m: 2.0}}\n"
    )
    os.environ.update(
        ROLECALL_CONFIG=str(config),
        ROLECALL_DATA_DIR=str(workdir / "gateway-data"),
        ROLECALL_REQUIRE_API_KEY="false",
        ROLECALL_RECORD_PROCESS="false",
    )
    built = build_services()
    sink = KeepingSink()
    recorder = Recorder(built.writer, sink, endpoint_facts=built.routing.all_endpoint_facts)
    runtime = dataclasses.replace(built, recorder=recorder)
    await runtime.start()
    body = orjson.dumps({"model": "default", "messages": [{"role": "user", "content": "hi"}]})
    headers = {"content-type": "application/json"}
    try:
        for _ in range(requests):
            await chat_completions(runtime, body, headers, "default")
        await runtime.recorder.flushed(30)
    finally:
        await runtime.stop()
    return sink.messages


def store_all(url: str, messages: list[bytes]) -> tuple[float, float, int, dict[str, int]]:
    """(CPU s, wall s, requests, rows per table) for storing every message into ``url``."""
    storage = open_storage(url)
    refresher = ProfileRefresher(storage.samples, storage.profiles)
    stored = 0
    gc.disable()  # as in the writer process, which collects between batches only
    cpu, wall = time.process_time(), time.perf_counter()
    for data in messages:
        message = WriterMessage.from_bytes(data)
        store_and_refresh(storage, refresher, message)
        stored += len(message.parts)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    gc.enable()
    with storage.engine.connect() as connection:
        rows = {
            t: int(connection.execute(text(f"select count(*) from {t}")).scalar_one())
            for t in TABLES
        }
    storage.close()
    return cpu, wall, stored, rows


@contextmanager
def scratch_schema(url: str) -> Iterator[str]:
    """``url`` with a schema of its own (dropped afterwards): the database may be shared."""
    schema = f"record_bench_{secrets.token_hex(4)}"
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"create schema {schema}"))
    try:
        yield (
            make_url(url)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    finally:
        with engine.begin() as connection:
            connection.execute(text(f"drop schema {schema} cascade"))
        engine.dispose()


def report(name: str, result: tuple[float, float, int, dict[str, int]]) -> None:
    cpu, wall, stored, rows = result
    per = ", ".join(f"{t} {rows[t] / max(stored, 1):.1f}" for t in TABLES)
    print(
        f"{name:<10} {stored:>6} requests: {1e6 * cpu / stored:6.1f} µs CPU, "
        f"{1e6 * wall / stored:6.1f} µs wall per request; rows per request: {per}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument(
        "--postgres", help="also store into a scratch schema of this PostgreSQL database"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rolecall-record-bench-") as tmp:
        workdir = Path(tmp)
        upstream, port, _ = paths.start_upstream("fast", Path(sys.executable), None, workdir)
        try:
            messages = asyncio.run(serve(args.requests, workdir, port))
        finally:
            upstream.stop()
        size = sum(len(m) for m in messages)
        print(f"{len(messages)} messages, {size / max(args.requests, 1):,.0f} bytes per request")
        report("SQLite", store_all(f"sqlite:///{workdir / 'store.db'}", messages))
        if args.postgres:
            with scratch_schema(args.postgres) as url:
                report("PostgreSQL", store_all(url, messages))


if __name__ == "__main__":
    main()
