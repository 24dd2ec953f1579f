"""`ResponseBook` on SQLite and PostgreSQL: stored responses remembered in the cache (their rows
travel with the request's records), read through the cache or the table, a miss that waits for
another process's write in flight, keys kept apart, a delete that waits for the records and
refuses a response whose row is not stored yet."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import replace

import pytest

from rolecall.storage import SqlStorage
from rolecall.storage.response_book import NotStoredYetError, ResponseBook
from rolecall.storage.responses import StoredResponse

RID = "resp_" + "ab" * 16


def _stored(response_id: str = RID, app_id: str = "app-1") -> StoredResponse:
    answer = [{"type": "output_text", "text": "hi"}]
    conversation = [
        {"type": "message", "role": "user", "content": "a NUL \x00 and é"},
        {"id": "msg_1", "type": "message", "role": "assistant", "content": answer},
    ]
    response = {"id": response_id, "object": "response", "output": conversation[1:]}
    return StoredResponse(response_id, app_id, "req-1", 1, response, conversation, size=100)


def test_remembered_responses_are_found_from_the_cache_and_then_the_table(
    storage: SqlStorage,
) -> None:
    book = ResponseBook(storage.responses)
    book.remember(_stored())
    assert asyncio.run(book.find(RID, "app-1")) is not None  # before it is stored
    storage.responses.add_rows([_stored().row()])  # as the record writer stores it
    storage.responses.add_rows([_stored().row()])  # a replay: kept as it is, no error
    fresh = ResponseBook(storage.responses, miss_waits_s=())  # a new, empty cache
    found = asyncio.run(fresh.find(RID, "app-1"))
    assert found is not None
    assert found == replace(_stored(), size=found.size)  # the size is measured when read
    assert found.size > 0
    assert asyncio.run(fresh.find(RID, "app-2")) is None  # another key's response
    assert asyncio.run(fresh.find("resp_" + "cd" * 16, "app-1")) is None
    assert asyncio.run(fresh.find("not-an-id\x00", "app-1")) is None  # never read


def test_malformed_rows_are_skipped_not_raised(storage: SqlStorage) -> None:
    other = "resp_" + "cd" * 16
    storage.responses.add_rows([{"response_id": RID}, _stored(other).row()])
    assert storage.responses.get(RID) is None
    assert storage.responses.get(other) is not None


def test_a_miss_waits_for_a_write_in_flight(storage: SqlStorage) -> None:
    # another process's record writer stores the row a moment after this read misses
    later = threading.Timer(0.3, storage.responses.add, [[_stored()]])
    here = ResponseBook(storage.responses)
    later.start()
    try:
        started = time.monotonic()
        found = asyncio.run(here.find(RID, "app-1"))
        assert found is not None
        assert time.monotonic() - started < 1.2
        without_wait = ResponseBook(storage.responses, miss_waits_s=())
        assert asyncio.run(without_wait.find("resp_" + "ef" * 16, "app-1")) is None
    finally:
        later.join()


def test_a_delete_waits_for_the_records_and_reaches_other_caches(storage: SqlStorage) -> None:
    forgotten: list[str] = []
    settled: list[bool] = []
    stored_on_settle: list[StoredResponse] = []

    async def settle() -> bool:  # the recorder's flush: the row is stored with the records
        settled.append(True)
        storage.responses.add(stored_on_settle)
        return True

    book = ResponseBook(storage.responses, publish=forgotten.append, settled=settle)
    other = ResponseBook(storage.responses, miss_waits_s=())
    book.remember(_stored())
    with pytest.raises(NotStoredYetError):  # known here, not stored: not reported deleted
        asyncio.run(book.delete(RID, "app-1"))
    assert asyncio.run(book.find(RID, "app-1")) is not None  # still readable here
    stored_on_settle.append(_stored())

    async def delete() -> tuple[bool, bool]:
        return await book.delete(RID, "app-2"), await book.delete(RID, "app-1")

    assert asyncio.run(delete()) == (False, True)  # only its own key deletes it
    assert forgotten == [RID]
    assert len(settled) == 2
    other.forget(forgotten)
    assert asyncio.run(other.find(RID, "app-1")) is None
    assert storage.responses.get(RID) is None
    assert asyncio.run(book.delete(RID, "app-1")) is False


def test_the_cache_keeps_to_its_budget(storage: SqlStorage) -> None:
    book = ResponseBook(storage.responses, cache_bytes=1000, miss_waits_s=())
    ids = [f"resp_{i:032x}" for i in range(20)]
    for response_id in ids:
        book.remember(_stored(response_id))
        storage.responses.add([_stored(response_id)])
    storage.responses.delete(ids[0], "app-1")
    storage.responses.delete(ids[-1], "app-1")
    assert asyncio.run(book.find(ids[0], "app-1")) is None  # evicted, and gone from the table
    assert asyncio.run(book.find(ids[-1], "app-1")) is not None  # recent: still cached
