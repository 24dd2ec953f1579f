"""Starting the things measured: the fake upstream, `rolecall serve`, the lean pass-through and the
LiteLLM proxy.

Each starter returns a running `Proc` whose chat endpoint has already answered "ok" once; the caller
stops it. LiteLLM lives in its own venv (installed with pip on first use, then reused) so that its
dependencies never touch rolecall's.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

from gateway.procs import LOOPBACK, BenchError, Proc, free_port, pin, start, wait_ready

BENCH_MODEL = "fake-model"
FAST_UPSTREAM = Path(__file__).with_name("fast_upstream.py")
LEAN_PASSTHROUGH = Path(__file__).with_name("lean_passthrough.py")
LITELLM_VENV = Path.home() / ".cache" / "rolecall-bench" / "litellm-venv"


def chat_body(model: str, stream: bool = False) -> dict[str, object]:
    body: dict[str, object] = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    if stream:
        body["stream"] = True
    return body


def chat_url(port: int) -> str:
    return f"http://{LOOPBACK}:{port}/v1/chat/completions"


def _scripted_available() -> bool:
    try:
        return importlib.util.find_spec("rolecall.providers.scripted") is not None
    except ModuleNotFoundError:
        return False


def start_upstream(
    kind: str, rolecall_bin: Path, core: int | None, workdir: Path
) -> tuple[Proc, int, str]:
    """The fake upstream: ``fast`` (bench/gateway/fast_upstream.py) or rolecall's ``scripted`` one."""
    port = free_port()
    if kind == "scripted" and not _scripted_available():
        print("note: rolecall's scripted upstream is not importable; using the fast built-in one")
        kind = "fast"
    if kind == "scripted":
        script = workdir / "upstream-script.json"
        script.write_text(json.dumps({"models": {BENCH_MODEL: {"answer": "ok", "latency_ms": 0}}}))
        argv = [
            str(rolecall_bin),
            "upstream",
            "serve",
            "--script",
            str(script),
            "--port",
            str(port),
        ]
        label = "rolecall scripted upstream (rolecall upstream serve)"
    else:
        argv = [sys.executable, str(FAST_UPSTREAM), "--port", str(port)]
        label = "fast built-in aiohttp upstream (bench/gateway/fast_upstream.py)"
    proc = start("upstream", [*pin(core), *argv], workdir)
    wait_ready(proc, chat_url(port), chat_body(BENCH_MODEL), timeout=30)
    return proc, port, label


def start_rolecall(
    rolecall_bin: Path,
    upstream_port: int,
    core: int | None,
    workdir: Path,
    *,
    name: str = "rolecall",
    env: dict[str, str] | None = None,
    data_parent: Path | None = None,
) -> tuple[Proc, int, dict[str, str]]:
    """`rolecall serve` with keys disabled, a fresh data dir (under ``data_parent``, else
    ``workdir``) and one endpoint on the fake upstream (``env`` adds settings: workers, a
    database URL)."""
    port = free_port()
    config = workdir / "rolecall.yaml"
    config.write_text(
        "providers:\n"
        f'  up: {{kind: openai_compatible, base_url: "http://{LOOPBACK}:{upstream_port}/v1", '
        "local: false}\n"
        "endpoints:\n"
        f"  - {{provider: up, model: {BENCH_MODEL}, id: ep-up, "
        "price: {input_per_1m: 1.0, output_per_1m: 2.0}}\n"
    )
    data_dir = rolecall_data_dir(workdir, name, data_parent)
    data_dir.mkdir()
    environment = {
        **os.environ,
        "ROLECALL_CONFIG": str(config),
        "ROLECALL_DATA_DIR": str(data_dir),
        "ROLECALL_HOST": LOOPBACK,
        "ROLECALL_PORT": str(port),
        "ROLECALL_ADMIN_TOKEN": secrets.token_hex(16),
        "ROLECALL_REQUIRE_API_KEY": "false",
        "ROLECALL_LOG_LEVEL": "warning",
    }
    environment.pop("ROLECALL_DATABASE_URL", None)
    environment.pop("ROLECALL_WORKERS", None)
    environment.update(env or {})
    argv = [*pin(core), str(rolecall_bin), "serve"]
    proc = start(name.replace(" ", "-"), argv, workdir, environment)
    headers = wait_ready(proc, chat_url(port), chat_body("default"), timeout=60)
    return proc, port, headers


def rolecall_data_dir(workdir: Path, name: str, data_parent: Path | None = None) -> Path:
    """The data directory `start_rolecall` gives the gateway called ``name``."""
    return (data_parent or workdir) / f"{name}-data".replace(" ", "-")


def start_lean(upstream_port: int, core: int | None, workdir: Path) -> tuple[Proc, int]:
    """The lean pass-through (uvicorn + aiohttp, no gateway logic) in front of the upstream."""
    port = free_port()
    upstream = f"http://{LOOPBACK}:{upstream_port}"
    argv = [sys.executable, str(LEAN_PASSTHROUGH), "--port", str(port), "--upstream", upstream]
    proc = start("lean", [*pin(core), *argv], workdir)
    wait_ready(proc, chat_url(port), chat_body(BENCH_MODEL), timeout=30)
    return proc, port


def ensure_litellm(venv: Path, timeout_s: float) -> str:
    """Create the LiteLLM venv and ``pip install 'litellm[proxy]'`` unless already there; its version."""
    litellm = venv / "bin" / "litellm"
    if not litellm.exists():
        print(
            f"installing litellm[proxy] into {venv} (first run; may take minutes) ...", flush=True
        )
        venv.parent.mkdir(parents=True, exist_ok=True)
        log = venv.parent / "litellm-install.log"
        with log.open("wb") as out:
            for argv in (
                [sys.executable, "-m", "venv", str(venv)],
                [str(venv / "bin" / "pip"), "install", "litellm[proxy]"],
            ):
                try:
                    subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, timeout=timeout_s)
                except subprocess.TimeoutExpired:
                    raise BenchError(f"LiteLLM install timed out after {timeout_s:.0f} s") from None
        if not litellm.exists():
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
            raise BenchError(f"LiteLLM install failed; the end of {log}:\n{tail}")
    code = "import importlib.metadata as m; print(m.version('litellm'))"
    found = subprocess.run(
        [str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True, check=False
    )
    return found.stdout.strip() or "unknown version"


def start_litellm(
    venv: Path, upstream_port: int, core: int | None, workdir: Path
) -> tuple[Proc, int]:
    """The LiteLLM proxy, one worker, no database, mapping the bench model to the fake upstream."""
    port = free_port()
    config = workdir / "litellm.yaml"
    config.write_text(
        "model_list:\n"
        f"  - model_name: {BENCH_MODEL}\n"
        "    litellm_params:\n"
        f"      model: openai/{BENCH_MODEL}\n"
        f"      api_base: http://{LOOPBACK}:{upstream_port}/v1\n"
        "      api_key: sk-bench-dummy\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "LITELLM_MASTER_KEY")}
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"  # no fetch of the cost map at start
    # Recent LiteLLM refuses to start without a master key; rolecall runs with keys off, so run
    # LiteLLM without auth too (as in the anchor) rather than add a key check to one side only.
    env["LITELLM_DANGEROUSLY_PERMIT_WEAK_OR_UNSET_MASTER_KEY"] = "true"
    argv = [str(venv / "bin" / "litellm"), "--config", str(config), "--host", LOOPBACK]
    argv += ["--port", str(port), "--num_workers", "1", "--telemetry", "False"]
    proc = start("litellm", [*pin(core), *argv], workdir, env)
    wait_ready(proc, chat_url(port), chat_body(BENCH_MODEL), timeout=180)
    return proc, port
