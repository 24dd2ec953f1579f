"""The code-execution grader: run the answer's code against the case's tests in a sandbox.

The program (prefix if needed, the answer's code, the tests, ``check(entry_point)`` for HumanEval
style tests) runs in a separate ``python -I`` process in an empty temporary folder with a clean
environment and `resource.setrlimit` limits: address space (``memory_mb``), CPU seconds, file size
and open files; a wall-clock timeout kills it. Exit status 0 is a pass. Model code never runs in
the rolecall process.
"""

from __future__ import annotations

import asyncio
import math
import re
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


def _limits(memory_mb: int, cpu_s: int) -> None:
    """Runs in the child before exec: cap memory, CPU, written file size and open files."""
    import resource

    memory = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s))
    resource.setrlimit(resource.RLIMIT_FSIZE, (_FILE_LIMIT_BYTES, _FILE_LIMIT_BYTES))
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


async def run_sandboxed(
    program: str, *, timeout_s: float, memory_mb: int
) -> tuple[int | None, str]:
    """Run ``program``; (exit code or None on timeout, the tail of its stderr)."""
    cpu_s = max(1, math.ceil(timeout_s))
    with tempfile.TemporaryDirectory(prefix="rolecall-sandbox-") as folder:
        script = Path(folder) / "candidate.py"
        script.write_text(program, encoding="utf-8")
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-I",
            str(script),
            cwd=folder,
            env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0"},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            preexec_fn=lambda: _limits(memory_mb, cpu_s),
            start_new_session=True,
        )
        try:
            _, stderr = await asyncio.wait_for(process.communicate(), timeout_s)
        except TimeoutError:
            process.kill()
            await process.wait()
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
