"""Live progress of a benchmark run, read by the CLI's progress bar and the console's progress API.

`RunProgress` is updated by the runner on its event loop and read anywhere (plain attributes; a
torn read can at worst show one case's lag). A run is ``stalled`` when it is running and nothing
finished for ``stall_after_s`` (default 90 s: longer than any sane single completion).

``eta_s`` extrapolates the pace of the cases finished in this process (a resumed run's stored
cases took no time here) over the cases left; it is None until one case has finished, and does not
include the closing pairwise comparisons.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["RunProgress"]


@dataclass
class RunProgress:
    run_id: str
    total: int
    phase: str = "starting"  # starting → preflight → execution → compare → done
    status: str = "running"
    done: int = 0
    failed: int = 0
    skipped: int = 0
    current_endpoint: str | None = None
    current_case: str | None = None
    stall_after_s: float = 90.0
    spent_usd: float = 0.0
    error: str | None = None
    last_change: float = field(default_factory=time.monotonic)
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None
    resumed_at: int = 0  # cases already stored when this process took the run up

    @property
    def elapsed_s(self) -> float:
        return (self.ended or time.monotonic()) - self.started

    @property
    def eta_s(self) -> float | None:
        if self.status != "running":
            return None
        fresh = self.done - self.resumed_at
        if fresh <= 0:
            return None
        return self.elapsed_s / fresh * max(0, self.total - self.done)

    def touch(self) -> None:
        self.last_change = time.monotonic()

    def advance(self, *, endpoint_id: str, case_key: str, status: str) -> None:
        self.done += 1
        self.failed += status == "failed"
        self.skipped += status == "skipped"
        self.current_endpoint, self.current_case = endpoint_id, case_key
        self.touch()

    def set_phase(self, phase: str) -> None:
        self.phase = phase
        self.touch()

    @property
    def stalled(self) -> bool:
        return self.status == "running" and time.monotonic() - self.last_change > self.stall_after_s

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "phase": self.phase,
            "total": self.total,
            "done": self.done,
            "failed": self.failed,
            "current_endpoint": self.current_endpoint,
            "current_case": self.current_case,
            "stalled": self.stalled,
            "status": self.status,
            "elapsed_s": round(self.elapsed_s, 1),
            "eta_s": None if (eta := self.eta_s) is None else round(eta, 1),
        }
