"""`rolecall demo`: send a realistic mix of requests through a running gateway and say where each
went and why — live traffic for Observe, and a first look at routing on the local pool."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Annotated, Any

import typer

from rolecall.errors import ServiceUnreachableError

MIX: list[tuple[str, dict[str, Any]]] = [
    (
        "chat",
        {
            "model": "general.chat",
            "messages": [{"role": "user", "content": "Give me two tips for a rainy day."}],
        },
    ),
    (
        "code",
        {
            "model": "coder.patch",
            "messages": [{"role": "user", "content": "Fix this Python: def add(a, b) return a+b"}],
        },
    ),
    (
        "reasoning",
        {
            "model": "default",
            "rolecall": {"strategy": "quality"},
            "messages": [
                {
                    "role": "user",
                    "content": "A train leaves at 3pm going 60 km/h. How far has it gone by 5:30pm?",
                }
            ],
        },
    ),
    (
        "fast answer",
        {
            "model": "default",
            "rolecall": {"strategy": "latency"},
            "messages": [{"role": "user", "content": "Capital of France? One word."}],
        },
    ),
    (
        "cheap bulk",
        {
            "model": "default",
            "rolecall": {"strategy": "cost"},
            "messages": [{"role": "user", "content": "Classify the sentiment: 'great service!'"}],
        },
    ),
    (
        "tool use",
        {
            "model": "tool.agent",
            "tools": [
                {
                    "type": "function",
                    "function": {
                        "name": "get_weather",
                        "parameters": {
                            "type": "object",
                            "properties": {"city": {"type": "string"}},
                        },
                    },
                }
            ],
            "messages": [{"role": "user", "content": "What's the weather in Oslo?"}],
        },
    ),
]


def _drift(runs: int) -> None:
    from rolecall.cli.drift_demo import report, run_once

    typer.echo(
        "drift scenario: ep-a, ep-b, ep-c answer well, ep-b best benchmarked; shadow judging at "
        "10% by ep-j and canaries every second (time compressed); traffic at up to 100 "
        "requests/s; after 100 requests ep-b's answers turn wrong (latency unchanged)"
    )
    results = []
    for i in range(1, runs + 1):
        for degraded in (True, False):
            result = run_once(degraded=degraded, before=100, after=1000)
            results.append(result)
            kind = "degraded" if degraded else "control "
            moved = (
                f"routed away after {result.requests_to_move} requests "
                f"({result.seconds_to_move:.1f} s)"
                if result.requests_to_move is not None
                else ("alarm raised" if result.alarmed else "no alarm")
            )
            found = "" if result.signal is None else f" by a {result.signal} alarm"
            canary = {True: "; canaries agree", False: "; canaries disagree", None: ""}[
                result.canary_agrees
            ]
            typer.echo(
                f"run {i} {kind}: {moved}{found}; {result.judged} answers judged, "
                f"{result.canary_rounds} canary rounds{canary}"
            )
    for line in report(results):
        typer.echo(line)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def _post(url: str, body: dict[str, Any], key: str) -> tuple[int, dict[str, Any], dict[str, str]]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"content-type": "application/json", "authorization": f"Bearer {key}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            return response.status, _json(response.read()), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, _json(exc.read()), dict(exc.headers)
    except (urllib.error.URLError, OSError) as exc:  # refused, unknown host, reset, timed out
        reason = getattr(exc, "reason", None) or exc
        raise ServiceUnreachableError(
            f"cannot reach the gateway at {url} ({reason}); start it with 'rolecall run' or "
            "'rolecall serve', or pass --url (ROLECALL_HOST, ROLECALL_PORT)"
        ) from None


def _json(raw: bytes) -> dict[str, Any]:
    """A reply's JSON object; a body that is not one (a proxy's HTML page) as its error message."""
    try:
        value = json.loads(raw or b"{}")
    except ValueError:
        value = None
    if isinstance(value, dict):
        return value
    return {"error": {"message": raw.decode(errors="replace")}}


QUIET_REASONS = {"BEST_TOTAL_SCORE", "DECLARED_PROFILE_USED", "FALLBACK_CHAIN_COMPUTED"}


def _why(base: str, decision_id: str, admin_token: str) -> str:
    """Strategy, the winner's telling reasons and its score lead, from the stored decision."""
    if not admin_token or not decision_id:
        return "answered"
    root = base.removesuffix("/v1")
    request = urllib.request.Request(
        f"{root}/api/decisions/{decision_id}", headers={"authorization": f"Bearer {admin_token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            decision = json.loads(response.read())
    except (urllib.error.URLError, ValueError):
        return "answered"
    reasons = [r for r in decision["selection_reasons"] if r not in QUIET_REASONS]
    scored = decision["scored_candidates"]
    lead = ""
    if len(scored) > 1:
        lead = f", +{scored[0]['total_score'] - scored[1]['total_score']:.3f} over {scored[1]['endpoint_id']}"
    strategy = decision["policy_snapshot"]["strategy"]
    return f"{strategy}: {', '.join(reasons) or 'best score'}{lead}"


def demo(
    url: Annotated[
        str | None, typer.Option(help="gateway base URL (default from settings)")
    ] = None,
    key: Annotated[str | None, typer.Option(help="API key (default: DATA_DIR/api_key)")] = None,
    rounds: Annotated[int, typer.Option(help="how many times to send the mix")] = 1,
    max_tokens: Annotated[int, typer.Option(help="max tokens per answer")] = 64,
    drift: Annotated[
        bool,
        typer.Option(
            "--drift",
            help="run the drift scenario instead, on its own scripted endpoints (no gateway "
            "needed): one endpoint silently degrades; see when it is detected and demoted",
        ),
    ] = False,
    runs: Annotated[
        int, typer.Option(help="--drift: degraded runs, and as many control runs", min=1)
    ] = 1,
) -> None:
    """Send chat, code, reasoning, latency, cost and tool-use requests; summarise the routing."""
    if drift:
        _drift(runs)
        return
    from rolecall.settings import load_settings

    settings = load_settings()
    base = (url or f"http://{settings.host}:{settings.port}/v1").rstrip("/")
    key_path = Path(settings.data_dir) / "api_key"
    api_key = key or (key_path.read_text().strip() if key_path.exists() else "")
    if not api_key:
        typer.echo(
            "error: no API key: pass --key or start the gateway with `rolecall run`", err=True
        )
        raise typer.Exit(2)
    token_path = Path(settings.data_dir) / "admin_token"
    admin_token = settings.admin_token or (
        token_path.read_text().strip() if token_path.exists() else ""
    )
    header = f"{'request':<12} {'status':>6}  {'endpoint':<28} {'ms':>7}  why"
    for _ in range(rounds):
        for kind, body in MIX:
            started = time.monotonic()
            status, payload, headers = _post(
                f"{base}/chat/completions", {**body, "max_tokens": max_tokens}, api_key
            )
            if header:  # once the gateway answered: an unreachable one is the error line alone
                typer.echo(header)
                header = ""
            elapsed_ms = (time.monotonic() - started) * 1000
            lowered = {k.lower(): v for k, v in headers.items()}
            endpoint = lowered.get("x-rolecall-endpoint", "-")
            if status == 200:
                why = _why(base, lowered.get("x-rolecall-decision-id", ""), admin_token)
            else:
                why = (payload.get("error") or {}).get("message", "")[:110]
            typer.echo(f"{kind:<12} {status:>6}  {endpoint:<28} {elapsed_ms:>7.0f}  {why}")
    typer.echo(
        "\nEvery request above is in the admin API (/api/decisions, /api/requests/<id>) "
        "with its RouterDecision, trace and usage."
    )
