"""The live profile refresher counts every sample once, whichever batch first loads its window
(on SQLite and PostgreSQL)."""

from __future__ import annotations

import time

import pytest

from rolecall.observe.profile_refresh import EndpointFacts, ProfileRefresher
from rolecall.storage import SqlStorage
from tests.integration.storage import builders

FACTS = {"e1": EndpointFacts("1.0.0", None), "e2": EndpointFacts("1.0.0", None)}


def _sample_sizes(refresher: ProfileRefresher) -> dict[str, int]:
    """The sample size of every profile that came due."""
    return {p.endpoint_id: p.sample_size for p in refresher.due().profiles}


@pytest.mark.parametrize("stored_here", [True, False])
def test_a_batch_that_loads_the_window_counts_each_sample_once(
    storage: SqlStorage, stored_here: bool
) -> None:
    now = time.time_ns() // 1_000_000
    earlier = [builders.sample("e1", at=now - 10_000 - i) for i in range(4)]
    storage.samples.add(earlier)
    batch = [builders.sample(eid, at=now - i) for i in range(3) for eid in ("e1", "e2")]
    storage.samples.add(batch)  # committed before the refresher hears of them
    refresher = ProfileRefresher(storage.samples, storage.profiles, interval_s=0.0)
    refresher.observe(batch, FACTS, stored_here=stored_here)
    assert _sample_sizes(refresher) == {"e1": 7, "e2": 3}
    # later batches are appended to the window as they come
    more = [builders.sample("e1", at=now + 1)]
    storage.samples.add(more)
    refresher.observe(more, FACTS)
    assert _sample_sizes(refresher) == {"e1": 8}


def test_samples_not_yet_committed_are_added_to_a_window_read_without_them(
    storage: SqlStorage,
) -> None:
    now = time.time_ns() // 1_000_000
    storage.samples.add([builders.sample("e1", at=now - 1_000)])
    refresher = ProfileRefresher(storage.samples, storage.profiles, interval_s=0.0)
    pending = [builders.sample("e1", at=now - i) for i in range(2)]  # another transaction's
    refresher.observe(pending, FACTS, stored_here=False)
    assert _sample_sizes(refresher) == {"e1": 3}
