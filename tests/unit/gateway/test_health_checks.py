"""The readiness checks' own logic: the records check's thresholds, and a probe that answers
late, fails or answers again (run on a real event loop and thread, no database needed)."""

from __future__ import annotations

import asyncio
import threading
import time

from rolecall.gateway.health import (
    RECORD_LAG_DEGRADED_S,
    RECORD_LAG_UNREADY_S,
    Check,
    Probe,
    records_check,
)

NOW_S = 1_800_000_000.0


def _appended(seconds_ago: float) -> int:
    return int((NOW_S - seconds_ago) * 1000)


def test_records_are_ready_degraded_then_unready_as_they_wait_longer() -> None:
    assert records_check(0, None, 0, NOW_S).ok
    assert records_check(120, _appended(1), 0, NOW_S).ok
    late = records_check(120, _appended(RECORD_LAG_DEGRADED_S + 1), 0, NOW_S)
    assert (late.ok, late.severity) == (False, "degraded")
    stuck = records_check(9000, _appended(RECORD_LAG_UNREADY_S + 1), 3, NOW_S)
    assert (stuck.ok, stuck.severity) == (False, "unready")
    assert "3 records dropped" in stuck.detail
    assert "DATA_DIR/spool" in stuck.fix
    # records dropped once, while the spool was full, do not keep the process unready
    assert records_check(0, None, 3, NOW_S).ok


def test_a_probe_answers_once_per_ttl_fails_slow_runs_and_names_errors() -> None:
    runs: list[float] = []
    release = threading.Event()

    def run() -> Check:
        runs.append(time.monotonic())
        if len(runs) == 2:
            release.wait(5)  # the second run hangs until released
        if len(runs) == 3:
            raise ConnectionRefusedError("connection to db.internal:5432 refused")
        return Check("db", True, "fine")

    probe = Probe(
        "db", run, failure="the db does not answer", fix="start it", ttl_s=0.2, timeout_s=0.3
    )

    async def scenario() -> list[Check]:
        seen = list(await asyncio.gather(*(probe.check() for _ in range(20))))
        assert len(runs) == 1  # a storm of checks ran the probe once
        await asyncio.sleep(0.25)
        stale = await probe.check()  # the second run starts and hangs; the answer stands
        await asyncio.sleep(0.05)
        assert stale is seen[0]
        assert len(runs) == 2
        await asyncio.sleep(0.3)
        slow = await probe.check()  # the second run has not answered within the timeout
        again = await probe.check()  # within the ttl: the same answer, no new run
        release.set()
        await asyncio.sleep(0.1)
        late = await probe.check()  # the hung run's answer, as it came at last
        await asyncio.sleep(0.25)
        refreshing = await probe.check()  # the third run starts; the late answer stands
        await asyncio.sleep(0.1)
        failed = await probe.check()
        assert refreshing is late
        return [*seen[:1], slow, again, late, failed]

    first, slow, again, late, failed = asyncio.run(scenario())
    assert first.ok
    assert late.ok
    assert late is not first
    assert (slow.ok, slow.detail) == (False, "the db does not answer: no answer within 0.3 s")
    assert again is slow
    assert len(runs) == 3
    assert (failed.ok, failed.detail, failed.fix) == (
        False,
        "the db does not answer (ConnectionRefusedError)",
        "start it",
    )
    assert failed.private == "connection to db.internal:5432 refused"
    assert failed.problem(full=False)["detail"] == failed.detail
    assert failed.problem(full=True)["detail"].endswith(": connection to db.internal:5432 refused")
