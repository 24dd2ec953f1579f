"""Starting what is measured: the scripted pool (one scripted upstream playing three models, its
benchmark evidence, a `rolecall serve` over it) or the local llama.cpp pool (`rolecall run`).

Each mode is requested through an alias of the generated rolecall.yaml (``modes-<name>``: its
routing mode, strategy and, on the scripted pool, the endpoint subset, so the controller's own
endpoint is never a candidate). Processes run in sessions of their own and are stopped by pid.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from gateway.procs import LOOPBACK, BenchError, Proc, free_port, http, start
from modes.cases import POOL, Case, script

ROLECALL = [sys.executable, "-m", "rolecall"]
CONTROLLER = "ep-controller"


@dataclass(frozen=True)
class ModeSpec:
    name: str  # the row's label
    mode: str  # routing mode
    strategy: str

    @property
    def alias(self) -> str:
        return f"modes-{self.name}"


@dataclass
class Gateway:
    proc: Proc
    port: int
    admin_token: str

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"


def aliases(specs: list[ModeSpec], endpoints: list[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for spec in specs:
        alias: dict[str, Any] = {"mode": spec.mode, "strategy": spec.strategy}
        if endpoints is not None:
            alias["endpoints"] = endpoints
        out[spec.alias] = alias
    return out


def scripted_inventory(
    upstream_url: str, specs: list[ModeSpec], *, declared: bool, controller: bool
) -> dict[str, Any]:
    """rolecall.yaml of the scripted pool: the models as endpoints (``declared``: each with its
    ``max_difficulty`` from the skill table; else the gateway derives ceilings from the
    benchmark evidence) and, with ``controller``, the routing-controller endpoint."""
    providers = {
        "local": {"kind": "openai_compatible", "base_url": upstream_url, "local": True},
        "remote": {"kind": "openai_compatible", "base_url": upstream_url, "local": False},
    }
    endpoints: list[dict[str, Any]] = []
    for model in POOL:
        entry: dict[str, Any] = {
            "provider": "local" if model.local else "remote",
            "model": model.name,
            "id": f"ep-{model.name}",
            "tools": True,
        }
        if model.price_in or model.price_out:
            entry["price"] = {"input_per_1m": model.price_in, "output_per_1m": model.price_out}
        if declared:
            entry["max_difficulty"] = model.ceiling
        endpoints.append(entry)
    inventory: dict[str, Any] = {"providers": providers, "endpoints": endpoints}
    if controller:
        endpoints.append({"provider": "local", "model": "controller", "id": CONTROLLER})
        inventory["routing"] = {"controller": {"endpoint_id": CONTROLLER}}
    inventory["aliases"] = aliases(specs, pool_endpoints())
    return inventory


def pool_endpoints() -> list[str]:
    return [f"ep-{m.name}" for m in POOL]


def base_env(config: Path, data_dir: Path, admin_token: str) -> dict[str, str]:
    env = {
        **os.environ,
        "ROLECALL_CONFIG": str(config),
        "ROLECALL_DATA_DIR": str(data_dir),
        "ROLECALL_HOST": LOOPBACK,
        "ROLECALL_ADMIN_TOKEN": admin_token,
        "ROLECALL_REQUIRE_API_KEY": "false",
        "ROLECALL_LOG_LEVEL": "warning",
    }
    for name in ("ROLECALL_DATABASE_URL", "ROLECALL_WORKERS", "ROLECALL_REDIS_URL"):
        env.pop(name, None)
    return env


def start_upstream(cases: list[Case], workdir: Path, procs: list[Proc]) -> str:
    """The scripted upstream (`rolecall upstream serve`) playing `cases.script`."""
    path = workdir / "upstream-script.json"
    path.write_text(json.dumps(script(cases)))
    port = free_port()
    argv = [*ROLECALL, "upstream", "serve", "--script", str(path), "--port", str(port)]
    proc = start("upstream", argv, workdir)
    procs.append(proc)
    _wait(proc, f"http://{LOOPBACK}:{port}/health", 30)
    return f"http://{LOOPBACK}:{port}/v1"


def seed_evidence(config: Path, data_dir: Path, cases: list[Case], workdir: Path) -> None:
    """`rolecall bench run --full --no-judge` of the replayed cases on the pool's models: the
    graded quality per bucket, latency and cost the router (and derived ceilings) work from."""
    argv = [*ROLECALL, "bench", "run", "--full", "--no-judge", "--json", "--concurrency", "4"]
    argv += ["--endpoints", ",".join(pool_endpoints())]
    argv += ["--config", str(config), "--data-dir", str(data_dir)]
    for case in cases:
        argv += ["--case", case.key]
    env = base_env(config, data_dir, "unused")
    with (workdir / "seed.log").open("wb") as log:
        done = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, env=env, check=False)
    if done.returncode != 0:
        tail = (workdir / "seed.log").read_text(errors="replace")[-2000:]
        raise BenchError(f"the seeding benchmark failed (exit {done.returncode}):\n{tail}")


def start_gateway(config: Path, data_dir: Path, workdir: Path, name: str) -> Gateway:
    """`rolecall serve` (not yet ready: see `ready`)."""
    token = secrets.token_hex(16)
    port = free_port()
    env = base_env(config, data_dir, token) | {"ROLECALL_PORT": str(port)}
    proc = start(name, [*ROLECALL, "serve"], workdir, env)
    return Gateway(proc, port, token)


def ready(gateway: Gateway, timeout: float = 90) -> Gateway:
    _wait(gateway.proc, f"{gateway.url}/healthz", timeout)
    return gateway


def scripted_gateways(
    cases: list[Case], specs: list[ModeSpec], workdir: Path, procs: list[Proc], *, derived: bool
) -> tuple[Gateway, Gateway | None]:
    """(The gateway with declared ceilings, the one deriving them or None); every process
    started is appended to ``procs`` at once, for the caller to stop whatever happens."""
    url = start_upstream(cases, workdir, procs)
    controller = any(s.mode in ("controller", "hybrid") for s in specs)
    variants = [("declared", True)] + ([("derived", False)] if derived else [])
    folders = []
    for label, declared in variants:
        folder = workdir / label
        folder.mkdir()
        config = folder / "rolecall.yaml"
        inventory = scripted_inventory(url, specs, declared=declared, controller=controller)
        config.write_text(yaml.safe_dump(inventory, sort_keys=False))
        folders.append((label, config, folder / "data"))
    _, first_config, first_data = folders[0]
    seed_evidence(first_config, first_data, cases, workdir)
    for _, _, data in folders[1:]:  # the same evidence, copied before any gateway opens it
        shutil.copytree(first_data, data)
    gateways = []
    for label, config, data in folders:  # started side by side, then awaited
        gateways.append(start_gateway(config, data, workdir, f"gateway-{label}"))
        procs.append(gateways[-1].proc)
    for gateway in gateways:
        ready(gateway)
    return gateways[0], gateways[1] if derived else None


def local_gateway(
    specs: list[ModeSpec], workdir: Path, data_dir: Path, models: str, procs: list[Proc]
) -> Gateway:
    """`rolecall run` (the local llama.cpp pool; weights and evidence kept in ``data_dir`` across
    runs), once its first benchmark run has finished."""
    data_dir.mkdir(parents=True, exist_ok=True)
    config = workdir / "rolecall.yaml"
    config.write_text(yaml.safe_dump({"aliases": aliases(specs, None)}, sort_keys=False))
    token = secrets.token_hex(16)
    port = free_port()
    env = base_env(config, data_dir, token) | {"ROLECALL_PORT": str(port)}
    proc = start("rolecall-run", [*ROLECALL, "run", "--models", models], workdir, env)
    procs.append(proc)
    gateway = Gateway(proc, port, token)
    _wait(proc, f"{gateway.url}/healthz", 3600)
    wait_benchmark(gateway, 3600)
    return gateway


def wait_benchmark(gateway: Gateway, timeout: float) -> None:
    """Until no benchmark run is running (`rolecall run` starts one when it has no evidence)."""
    ends = time.monotonic() + timeout
    while time.monotonic() < ends:
        runs = admin_get(gateway, "/api/bench/runs").get("runs", [])
        if not any(r.get("status") == "running" for r in runs):
            return
        time.sleep(5)
    raise BenchError(f"the local pool's first benchmark did not finish in {timeout:.0f} s")


def admin_get(gateway: Gateway, path: str) -> Any:
    import urllib.request

    request = urllib.request.Request(
        gateway.url + path, headers={"authorization": f"Bearer {gateway.admin_token}"}
    )
    with urllib.request.urlopen(request, timeout=30) as reply:
        return json.loads(reply.read())


def _wait(proc: Proc, url: str, timeout: float) -> None:
    ends = time.monotonic() + timeout
    while time.monotonic() < ends:
        if not proc.alive():
            raise BenchError(f"{proc.name} exited ({proc.popen.returncode}):\n{proc.tail()}")
        try:
            if http(url, timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise BenchError(f"{proc.name} not ready after {timeout:.0f} s:\n{proc.tail()}")
