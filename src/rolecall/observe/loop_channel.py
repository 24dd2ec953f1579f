"""The event loop's own connection to the record writer process: no thread between them.

The loop writes a message and awaits the answer like any other socket, between requests and while
they wait on upstreams, so no gateway thread takes the GIL to hand records over
(docs/performance.md).

Owns the framing both ends use (an 8-byte length, then the bytes) and `LoopChannel`, the loop's
end. The writer process reads its end with `recv_frame` and answers with `send_frame`.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Callable
from typing import Final

__all__ = ["LoopChannel", "recv_frame", "send_frame"]

_LENGTH: Final = struct.Struct("!Q")


def send_frame(sock: socket.socket, data: bytes) -> None:
    """Write one frame (blocking)."""
    sock.sendall(_LENGTH.pack(len(data)) + data)


def recv_frame(sock: socket.socket) -> bytes | None:
    """Read one frame (blocking); None when the other end closed."""
    head = _recv_exactly(sock, _LENGTH.size)
    if head is None:
        return None
    return _recv_exactly(sock, _LENGTH.unpack(head)[0])


def _recv_exactly(sock: socket.socket, size: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(min(size - len(chunks), 1 << 20))
        if not chunk:
            return None
        chunks += chunk
    return bytes(chunks)


class LoopChannel:
    """The loop's end: one message in flight at a time, answered in order."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._lock = asyncio.Lock()
        self._on_close = on_close

    @classmethod
    async def open(
        cls, sock: socket.socket, on_close: Callable[[], None] | None = None
    ) -> LoopChannel:
        """Wrap ``sock`` on the running loop (which owns it from now on); ``on_close`` is called
        once the channel is closed."""
        reader, writer = await asyncio.open_connection(sock=sock)
        return cls(reader, writer, on_close)

    async def exchange(self, data: bytes) -> bytes:
        """Send one encoded message and return the answer; raises `ConnectionError` if the
        writer process is gone."""
        async with self._lock:
            try:
                self._writer.write(_LENGTH.pack(len(data)) + data)
                await self._writer.drain()
                head = await self._reader.readexactly(_LENGTH.size)
                return await self._reader.readexactly(_LENGTH.unpack(head)[0])
            except (asyncio.IncompleteReadError, OSError) as exc:
                raise ConnectionError(f"record writer channel closed: {exc}") from None

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()
        on_close, self._on_close = self._on_close, None
        if on_close is not None:
            on_close()
