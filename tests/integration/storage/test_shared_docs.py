"""A shared document's read-edit-save on each backend: an edit made while another process saved
is made again on what that process saved, so neither change is lost; and two processes creating
the same document at once leave one, with both edits."""

from __future__ import annotations

from typing import Any

import pytest

from rolecall.storage.sql import SqlStorage, open_storage


def test_an_edit_raced_by_another_save_is_made_again_on_it(storage: SqlStorage) -> None:
    docs = storage.shared_docs
    docs.put("alarms", {"open": {"a": 1}})
    calls = []

    def add_b(doc: dict[str, Any]) -> dict[str, Any]:
        calls.append(dict(doc))
        if len(calls) == 1:  # another process saves between our read and our write
            docs.put("alarms", {"open": {"a": 1, "c": 3}})
        return {"open": {**doc["open"], "b": 2}}

    saved = docs.change("alarms", add_b)
    assert saved == {"open": {"a": 1, "b": 2, "c": 3}}
    assert calls == [{"open": {"a": 1}}, {"open": {"a": 1, "c": 3}}]
    found = docs.get("alarms")
    assert found is not None
    assert found[0] == saved


def test_an_edit_that_changes_nothing_saves_nothing(storage: SqlStorage) -> None:
    docs = storage.shared_docs
    revision = docs.put("alarms", {"open": {}})
    assert docs.change("alarms", lambda doc: None) is None
    assert docs.get("alarms") == ({"open": {}}, revision)


def test_two_processes_creating_the_document_keep_both_edits(db_url: str) -> None:
    first, second = open_storage(db_url), open_storage(db_url)
    try:

        def from_first(doc: dict[str, Any]) -> dict[str, Any]:
            if not doc:  # the other one creates it between our read and our insert
                second.shared_docs.change("new-doc", lambda d: {**d, "second": True})
            return {**doc, "first": True}

        assert first.shared_docs.change("new-doc", from_first) == {"second": True, "first": True}
    finally:
        first.close()
        second.close()


def test_an_edit_that_never_gets_its_turn_is_refused(storage: SqlStorage) -> None:
    docs = storage.shared_docs
    docs.put("busy", {"n": 0})

    def always_raced(doc: dict[str, Any]) -> dict[str, Any]:
        docs.put("busy", {"n": doc["n"] + 1})
        return {"n": -1}

    with pytest.raises(RuntimeError, match="kept changing"):
        docs.change("busy", always_raced)
