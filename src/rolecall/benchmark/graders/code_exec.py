"""The code-execution grader: run the answer's code against the case's tests in a sandbox.

The program (prefix if needed, the answer's code, the tests, ``check(entry_point)`` for HumanEval
style tests) runs in a separate ``python -I`` process in an empty temporary folder with a clean
environment and `resource.setrlimit` limits: address space (``memory_mb``), CPU seconds, file size
and open files; a wall-clock timeout kills it. Exit status 0 is a pass. Model code never runs in
the rolecall process.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Final

from rolecall.benchmark.cases import BenchCase
from rolecall.benchmark.reply import Reply, Verdict

__all__ = ["build_program", "extract_code", "grade_code", "run_sandboxed"]

_BLOCK: Final = re.compile(r"```(?:python|py|Python)?[ \t]*\n(.*?)```", re.S)
_FILE_LIMIT_BYTES: Final = 1 << 20


def extract_code(text: str, entry_point: str | None) -> str:
    """The code in an answer: the fenced block defining ``entry_point``, else the first block,
    else the whole text (models often answer with bare code)."""
    blocks = _BLOCK.findall(text)
    if entry_point:
        for block in blocks:
            if re.search(rf"\bdef\s+{re.escape(entry_point)}\s*\(", block):
                return str(block)
    if blocks:
        return str(blocks[0])
    return text


def build_program(case: BenchCase, answer: str) -> str:
    args = case.parsed_args()
    code = extract_code(answer, args.entry_point)
    defines = args.entry_point and re.search(rf"\bdef\s+{re.escape(args.entry_point)}\s*\(", code)
    if args.prefix and not defines:
        code = args.prefix + code  # a completion of the given signature
    program = f"{code}\n\n{args.tests}\n"
    if args.entry_point and re.search(r"\bdef\s+check\s*\(", args.tests):
        program += f"\ncheck({args.entry_point})\n"
    return program


# The child limits itself before any candidate code runs. Doing it in the child's own first lines
# (not a preexec_fn) lets the parent spawn with vfork, which neither blocks the event loop while
# the child starts nor risks a fork-time deadlock with the parent's threads.
_LAUNCHER: Final = """
import resource, runpy, sys
memory, cpu, fsize = (int(x) for x in sys.argv[1:4])
for limit, value in ((resource.RLIMIT_AS, memory), (resource.RLIMIT_CPU, cpu),
                     (resource.RLIMIT_FSIZE, fsize), (resource.RLIMIT_NOFILE, 64),
                     (resource.RLIMIT_CORE, 0)):
    resource.setrlimit(limit, (value, value))
sys.argv = sys.argv[4:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


async def run_sandboxed(
    program: str, *, timeout_s: float, memory_mb: int
) -> tuple[int | None, str]:
    """Run ``program``; (exit code or None on timeout, the tail of its stderr).

    The whole life of the child (spawn, wait, clean-up) runs on a worker thread: starting a
    process holds the GIL for milliseconds, and on the event loop that would delay every request
    in flight.
    """
    return await asyncio.to_thread(_run_blocking, program, timeout_s, memory_mb)


def _run_blocking(program: str, timeout_s: float, memory_mb: int) -> tuple[int | None, str]:
    cpu_s = max(1, math.ceil(timeout_s))
    with tempfile.TemporaryDirectory(prefix="rolecall-sandbox-") as folder:
        script = Path(folder) / "candidate.py"
        script.write_text(program, encoding="utf-8")
        limits = (str(memory_mb * 1024 * 1024), str(cpu_s), str(_FILE_LIMIT_BYTES))
        process = subprocess.Popen(
            [sys.executable, "-I", "-c", _LAUNCHER, *limits, str(script)],
            cwd=folder,
            env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0"},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            _, stderr = process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # its own session: children die too
            process.communicate()
            return None, "timed out"
    return process.returncode, stderr.decode("utf-8", "replace")[-400:]


async def grade_code(case: BenchCase, reply: Reply) -> Verdict:
    args = case.parsed_args()
    program = build_program(case, reply.text)
    code, stderr = await run_sandboxed(program, timeout_s=args.timeout_s, memory_mb=args.memory_mb)
    if code == 0:
        return Verdict(1.0, "code: every test passed")
    if code is None:
        return Verdict(0.0, f"code: killed after {args.timeout_s:g}s (time limit)")
    last = stderr.strip().splitlines()[-1] if stderr.strip() else f"exit status {code}"
    return Verdict(0.0, f"code: tests failed: {last[:200]}")
