"""`ServiceDrift` over a real `DriftWatch` and an in-memory alarms document: one endpoint's
unreadable evidence does not stop the sweep, warnings demote nothing, an endpoint that leaves the
inventory or loses its benchmark takes its warnings with it, and old alarms (without a key or a
demotes flag) still read."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from rolecall.judging.drift_watch import DriftWatch
from rolecall.judging.service_drift import ServiceDrift
from rolecall.profiles import Sample

NOW = 10_000_000_000


class Doc:
    def __init__(self, data: dict[str, Any] | None = None) -> None:
        self.data = data or {}

    def load(self) -> dict[str, Any]:
        return dict(self.data)

    def change(
        self, edit: Callable[[dict[str, Any]], dict[str, Any] | None]
    ) -> dict[str, Any] | None:
        edited = edit(dict(self.data))
        if edited is not None:
            self.data = edited
        return edited


def _bench(endpoint_id: str) -> list[Sample]:
    return [
        Sample(endpoint_id, "v1", "benchmark", NOW - 1000 + i, 40.0, tokens_per_sec=50.0)
        for i in range(20)
    ]


def _live(endpoint_id: str, failed: bool, n: int = 40) -> list[Sample]:
    error = "upstream_5xx" if failed else None
    return [
        Sample(endpoint_id, "v1", "live_request", NOW + i, 40.0, error_class=error)
        for i in range(n)
    ]


class World:
    def __init__(self, doc: Doc | None = None) -> None:
        self.endpoints = {"ep-a": "v1", "ep-b": "v1", "ep-c": "v1"}
        self.samples: dict[str, list[Sample]] = {
            e: _bench(e) + _live(e, failed=True) for e in self.endpoints
        }
        self.broken: set[str] = set()
        self.demoted: Mapping[str, str] = {}
        self.watch = DriftWatch(
            lambda e: self.samples[e],
            doc or Doc(),
            version=self.endpoints.get,
            demote=self._demote,
            clock_ms=lambda: NOW + 500,
        )
        self.watch.apply()
        self.sweeper = ServiceDrift(
            self.watch,
            self._read,
            endpoints=lambda: list(self.endpoints),
            version=self.endpoints.get,
            clock_ms=lambda: NOW + 500,
        )

    def _demote(self, demoted: Mapping[str, str]) -> None:
        self.demoted = demoted

    def _read(
        self, endpoint_id: str, *, since_ms: int | None = None, source: str | None = None
    ) -> list[Sample]:
        if endpoint_id in self.broken:
            raise RuntimeError("unreadable")
        return [
            s
            for s in self.samples[endpoint_id]
            if (source is None or s.source == source)
            and (since_ms is None or s.timestamp_ms >= since_ms)
        ]


def test_one_broken_endpoint_does_not_stop_the_sweep_and_warnings_demote_nothing() -> None:
    world = World()
    world.broken.add("ep-a")  # sorted first
    raised = world.sweeper.sweep()
    assert sorted(a["key"] for a in raised) == ["ep-b/failure_rate", "ep-c/failure_rate"]
    assert all(a["demotes"] is False for a in raised)
    assert world.demoted == {}


def test_warnings_close_when_the_endpoint_leaves_or_loses_its_benchmark() -> None:
    world = World()
    world.sweeper.sweep()
    assert set(world.watch.open_alarms) == {f"ep-{x}/failure_rate" for x in "abc"}
    del world.endpoints["ep-a"]
    world.samples["ep-b"] = _live("ep-b", failed=True)  # its benchmark cleared
    world.sweeper.sweep()
    assert set(world.watch.open_alarms) == {"ep-c/failure_rate"}
    reasons = {a["key"]: a["cleared_by"] for a in world.watch.alarms()["cleared"]}
    assert reasons["ep-a/failure_rate"] == "the endpoint is no longer configured"
    assert reasons["ep-b/failure_rate"] == "no benchmark of the endpoint's current version"


def test_an_old_alarm_without_key_or_flag_still_demotes_and_is_left_alone() -> None:
    old = {"endpoint_id": "ep-a", "metric": "quality", "opened_ms": 1, "summary": "old"}
    world = World(Doc({"open": {"ep-a": old}, "cleared": []}))
    assert world.demoted == {"ep-a": "old"}
    world.sweeper.sweep()
    assert world.watch.open_alarms["ep-a"] == old
    assert world.demoted == {"ep-a": "old"}
