"""A TCP proxy a test can cut: listens on 127.0.0.1:<free port>, forwards to a target (PostgreSQL
at 127.0.0.1:5432 by default), and runs its own event loop in a thread.

``cut()`` closes every forwarded connection and refuses new ones (a database outage as the
gateway sees it); ``restore()`` accepts again. Use it as a context manager or ``start``/``stop``:

    with TcpProxy() as proxy:
        url = pg_url.replace(":5432/", f":{proxy.port}/")
        proxy.cut(); ...; proxy.restore()
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from typing import Self

__all__ = ["TcpProxy"]


class TcpProxy:
    def __init__(self, target_host: str = "127.0.0.1", target_port: int = 5432) -> None:
        self.target = (target_host, target_port)
        self.port = _free_port()
        self.accepted = 0  # client connections forwarded, since start
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def start(self) -> Self:
        self._thread.start()
        self.restore()
        return self

    def stop(self) -> None:
        self.cut()
        self._call(self._settle())  # every forwarding task ends, every socket is closed
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def cut(self) -> None:
        """Refuse new connections and close every open one (both directions)."""
        self._call(self._cut())

    def restore(self) -> None:
        """Accept and forward connections again."""
        self._call(self._listen())

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _call(self, coro: object) -> None:
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)  # type: ignore[arg-type]

    async def _listen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(
                self._forward, "127.0.0.1", self.port, reuse_address=True
            )

    async def _cut(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        if server is not None:
            await server.wait_closed()

    async def _settle(self) -> None:
        """Cancel what still forwards and let the aborted transports close (an abort closes its
        socket on the loop's next turn: stopping the loop first would leak it)."""
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.sleep(0)

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)  # a cut while connecting upstream closes it too
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            self._writers.discard(writer)
            writer.transport.abort()
            return
        if writer.transport.is_closing():  # cut meanwhile
            up_writer.transport.abort()
            return
        self.accepted += 1
        self._writers.update((writer, up_writer))
        await asyncio.gather(
            _pipe(reader, up_writer), _pipe(up_reader, writer), return_exceptions=True
        )
        for side in (writer, up_writer):
            self._writers.discard(side)
            side.transport.abort()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.transport.abort()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
