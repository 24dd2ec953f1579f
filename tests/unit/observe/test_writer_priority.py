"""The record writer's priority: idle when caught up, but once it runs at normal priority (hurried
by its gateway, or behind) it stays there through the burst before going back to idle."""

from __future__ import annotations

import pytest

from rolecall.observe import priority
from rolecall.storage import writer_process
from rolecall.storage.writer_process import HOLD_NORMAL_S, _Writer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def scheduled(monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, bool], Clock]:
    state = {"idle": True}
    clock = Clock()

    def normal(pid: int = 0) -> bool:
        state["idle"] = False
        return True

    monkeypatch.setattr(priority, "in_background", lambda: state["idle"])
    monkeypatch.setattr(priority, "background", lambda: state.update(idle=True))
    monkeypatch.setattr(priority, "normal", normal)
    monkeypatch.setattr(writer_process.time, "monotonic", clock)
    return state, clock


def _writer() -> _Writer:
    writer = object.__new__(_Writer)
    writer.spool = None
    writer.failing = False
    writer.normal_since = None
    return writer


def test_a_hurried_writer_stays_at_normal_priority_through_the_burst(
    scheduled: tuple[dict[str, bool], Clock],
) -> None:
    state, clock = scheduled
    writer = _writer()
    writer._stored()
    assert state["idle"]  # caught up and never hurried: idle
    state["idle"] = False  # the gateway hurries the writer (from its own process)
    for _ in range(4):  # the next messages of the burst: still normal
        writer._stored()
        assert not state["idle"]
        clock.now += HOLD_NORMAL_S / 5
    clock.now += HOLD_NORMAL_S
    writer._stored()
    assert state["idle"]  # caught up for long enough: back to idle
    assert writer.normal_since is None
