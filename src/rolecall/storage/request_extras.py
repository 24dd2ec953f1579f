"""What a request's records carry besides their rows, stored in the same transaction.

Owns `store_extras`: the Responses door's stored response (`rolecall.storage.responses`) and the
captured prompt (`rolecall.storage.prompts`) of each newly stored request. They ride with the
records (the observation, the spool, one transaction in the record writer) so that each is as
durable as the request it belongs to and is stored once, with it; a malformed one is skipped by
its store, never the records.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rolecall.observe.observation import Observation

if TYPE_CHECKING:
    from rolecall.storage.sql import SqlStorage

__all__ = ["store_extras"]


def store_extras(storage: SqlStorage, new: Sequence[Observation]) -> None:
    """Store what the newly stored requests ``new`` carry (in the open transaction)."""
    kept = [o.stored_response for o in new if o.stored_response is not None]
    if kept:
        storage.responses.add_rows(kept)
    prompts = [o.captured_prompt for o in new if o.captured_prompt is not None]
    if prompts:
        storage.prompts.add_rows(prompts)
