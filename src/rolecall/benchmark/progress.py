"""Live progress of a benchmark run, read by the CLI's progress bar and the console's progress API.

`RunProgress` is updated by the runner on its event loop and read anywhere (plain attributes; a
torn read can at worst show one case's lag). A run is ``stalled`` when it is running and nothing
finished for ``stall_after_s`` (default 90 s: longer than any sane single completion).
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
        }
