"""`ResponseBook`: the Responses door's stored responses, kept in memory and read through.

The request path never waits for the database to store a response: the door hands the row to
the recorder with the request's records (`rolecall.observe.observation.RequestRecord`), so it
is spooled before the answer's last bytes and stored in the records' transaction by the record
writer — through a database outage or a killed gateway, as they are — and `remember` puts it
in a small in-memory cache of recent responses. Continuing a conversation
(``previous_response_id``) is most often a continuation of a response this process just
answered, so it is found in the cache without a read (even while the database is down);
otherwise it is read off the event loop.

A miss is not yet a 404. Another worker or replica may have answered the previous turn a moment
ago, and its record writer may not have stored the row yet (records are handed to it every
quarter second): a client that continues at once would get a 404 for a response it was just
sent. So a miss on an id this gateway could have minted is read again a few times over
``MISS_WAITS_S`` (about a second in all) before it is reported missing. Only a request for a
response that does not exist pays that wait, which is an error anyway; an id of any other
shape misses at once, without a read.

A delete first lets what was recorded before it be stored (``settled``), then deletes the row
off the event loop. A response known here whose row is not stored yet (the database is down,
or the row is still on its way) is not reported deleted: `NotStoredYetError`, and the client
retries.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Final

import orjson

from rolecall.storage.responses import SqlResponses, StoredResponse

__all__ = [
    "CACHE_BYTES",
    "DELETED",
    "MISS_WAITS_S",
    "NotStoredYetError",
    "ResponseBook",
    "response_id_shape",
]

CACHE_BYTES: Final = 32 * 1024 * 1024  # recent conversations kept in memory, by encoded size
# re-reads of a missing id, in all 1 s: a hand-off interval of the recorder (0.25 s), the
# writer's transaction, and room for a writer that is behind
MISS_WAITS_S: Final = (0.05, 0.1, 0.2, 0.3, 0.35)
DELETE_WAIT_S: Final = 10.0  # how long a DELETE waits for the records and the database
ID_SHAPE: Final = re.compile(r"resp_[0-9a-f]{32}")
DELETED: Final = "response-deleted"  # the change feed's notice: forget this cached response


def response_id_shape(response_id: str) -> bool:
    """Whether ``response_id`` has the shape of an id this gateway mints."""
    return ID_SHAPE.fullmatch(response_id) is not None


class NotStoredYetError(Exception):
    """A response this process knows has no row yet: its records wait to be stored."""


class ResponseBook:
    """Stored responses: ``store`` is the table; ``publish(id)`` tells the other processes a
    response was deleted (they `forget` it); ``settled()`` waits until what was recorded so far
    is stored (`rolecall.observe.recorder.Recorder.flushed`)."""

    def __init__(
        self,
        store: SqlResponses,
        *,
        cache_bytes: int = CACHE_BYTES,
        publish: Callable[[str], None] | None = None,
        settled: Callable[[], Awaitable[object]] | None = None,
        miss_waits_s: tuple[float, ...] = MISS_WAITS_S,
    ) -> None:
        self._store = store
        self._publish = publish
        self._settled = settled
        self._cache_bytes = cache_bytes
        self._miss_waits_s = miss_waits_s
        self._cache: OrderedDict[str, StoredResponse] = OrderedDict()
        self._cached_bytes = 0
        self._lock = threading.Lock()  # the change feed's thread calls `forget`

    def remember(self, response: StoredResponse) -> None:
        """Keep ``response`` in the cache (its row travels with the request's records)."""
        if response.size > self._cache_bytes // 4:
            return  # one huge conversation would push out every other
        with self._lock:
            previous = self._cache.pop(response.response_id, None)
            if previous is not None:
                self._cached_bytes -= previous.size
            self._cache[response.response_id] = response
            self._cached_bytes += response.size
            while self._cached_bytes > self._cache_bytes:
                _, oldest = self._cache.popitem(last=False)
                self._cached_bytes -= oldest.size

    async def find(self, response_id: str, app_id: str) -> StoredResponse | None:
        """``app_id``'s response ``response_id``, or None (after the short wait above)."""
        if not response_id_shape(response_id):
            return None  # never minted here: no read (and no client text in a query)
        found = self._cached(response_id)
        if found is None:
            found = await asyncio.to_thread(self._read, response_id)
            waits = iter(self._miss_waits_s)
            while found is None and (pause := next(waits, None)) is not None:
                await asyncio.sleep(pause)
                found = self._cached(response_id) or await asyncio.to_thread(
                    self._read, response_id
                )
            if found is not None:
                self.remember(found)
        # another key's response is as good as missing: its existence is not revealed
        return found if found is not None and found.app_id == app_id else None

    async def delete(self, response_id: str, app_id: str) -> bool:
        """Delete ``app_id``'s response ``response_id``; whether there was one. Raises
        `NotStoredYetError` (see above), `TimeoutError`, or the database's error."""
        found = await self.find(response_id, app_id)
        if found is None:
            return False
        if self._settled is not None:  # its records, and its row, stored first if they can be
            await asyncio.wait_for(self._settled(), DELETE_WAIT_S)
        deleted = await asyncio.wait_for(
            asyncio.to_thread(self._store.delete, response_id, app_id), DELETE_WAIT_S
        )
        if not deleted:
            raise NotStoredYetError(response_id)
        self.forget([response_id])
        if self._publish is not None:
            self._publish(response_id)
        return True

    def forget(self, response_ids: list[str]) -> None:
        """Drop these responses from the cache (deleted, here or by another process)."""
        with self._lock:
            for response_id in response_ids:
                gone = self._cache.pop(response_id, None)
                if gone is not None:
                    self._cached_bytes -= gone.size

    def _read(self, response_id: str) -> StoredResponse | None:
        """The stored row, sized for the cache (off the event loop)."""
        found = self._store.get(response_id)
        if found is None:
            return None
        size = len(orjson.dumps(found.response)) + len(orjson.dumps(found.conversation))
        return replace(found, size=size)

    def _cached(self, response_id: str) -> StoredResponse | None:
        with self._lock:
            found = self._cache.get(response_id)
            if found is not None:
                self._cache.move_to_end(response_id)
            return found
