"""Where the record writer runs: off the gateway's CPUs when its affinity leaves any out, on a
given list, or beside it when asked; at the lowest best-effort disk priority in the background
and the default one when it catches up. Run in child processes: these calls change the caller."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from rolecall.errors import SettingError
from rolecall.settings import load_settings, parse_cpus

CPUS = sorted(os.sched_getaffinity(0))


def _in_child(code: str) -> dict[str, object]:
    """Run ``code`` in a fresh interpreter; it prints one JSON object."""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert isinstance(loaded, dict)
    return loaded


def _placed(gateway: list[int], placement: str) -> dict[str, object]:
    return _in_child(
        "import json, os\n"
        "from rolecall.observe import priority\n"
        "from rolecall.settings import parse_cpus\n"
        f"os.sched_setaffinity(0, {gateway!r})\n"
        f"cpus = priority.run_apart(parse_cpus({placement!r}))\n"
        "print(json.dumps({'returned': None if cpus is None else sorted(cpus),"
        " 'now': sorted(os.sched_getaffinity(0))}))"
    )


def test_placements_parse_and_a_bad_one_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert parse_cpus(" Auto ") == "auto"
    assert parse_cpus("shared") == "shared"
    assert parse_cpus("3") == frozenset({3})
    assert parse_cpus("2-3,6") == frozenset({2, 3, 6})
    for bad in ("", "x", "3-1", "-1", "1,,2", "0-99999"):
        with pytest.raises(ValueError, match="auto, shared or a CPU list"):
            parse_cpus(bad)
    monkeypatch.setenv("ROLECALL_WRITER_CPUS", "first")
    with pytest.raises(SettingError, match="ROLECALL_WRITER_CPUS"):
        load_settings()
    monkeypatch.setenv("ROLECALL_WRITER_CPUS", "1-2")
    assert load_settings().writer_placement == frozenset({1, 2})


@pytest.mark.skipif(len(CPUS) < 2, reason="needs two CPUs")
def test_auto_takes_the_cpus_a_pinned_gateway_leaves_out() -> None:
    placed = _placed([CPUS[-1]], "auto")
    assert placed["returned"] == placed["now"] == CPUS[:-1]


def test_auto_beside_a_gateway_free_to_run_anywhere_and_shared_stay_put() -> None:
    assert _placed(CPUS, "auto") == {"returned": None, "now": CPUS}
    assert _placed([CPUS[0]], "shared") == {"returned": None, "now": [CPUS[0]]}


@pytest.mark.skipif(len(CPUS) < 2, reason="needs two CPUs")
def test_a_cpu_list_is_taken_and_one_not_allowed_leaves_the_writer_where_it_was() -> None:
    assert _placed([CPUS[0]], str(CPUS[1]))["now"] == [CPUS[1]]
    assert _placed([CPUS[0]], "4095") == {"returned": None, "now": [CPUS[0]]}


@pytest.mark.skipif(sys.platform != "linux", reason="Linux scheduling and ioprio")
def test_background_lowers_the_disk_priority_and_normal_restores_it() -> None:
    got = _in_child(
        "import json\n"
        "from rolecall.observe import priority\n"
        "priority.background()\n"
        "idle = (priority.io_priority(), priority.in_background())\n"
        "priority.normal()\n"
        "print(json.dumps({'idle': idle, 'normal': (priority.io_priority(),"
        " priority.in_background())}))"
    )
    best_effort = 2 << 13
    assert got == {"idle": [best_effort | 7, True], "normal": [best_effort | 4, False]}
