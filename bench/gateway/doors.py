"""The front-door rows of `gateway_overhead.py`: the same rolecall process answering the same
one-word prompt through chat completions, the Responses API and the Anthropic Messages API.

What a translating door costs is small next to the scheduling noise of a VM, so the three are
measured interleaved: each round runs the direct path, then chat, then each other door, and a
door's figure is its added p50 minus chat's in the same round (the median round is reported).
Requests/s at c=64 follow, one door after the other.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from typing import Any

from gateway import paths
from gateway.loadgen import Generator, Load
from gateway.procs import LOOPBACK, Deadline

# path, request body (non-streaming, the same prompt as the chat row's)
DOORS: dict[str, tuple[str, dict[str, Any]]] = {
    "chat": ("/v1/chat/completions", paths.chat_body("default")),
    "responses": ("/v1/responses", {"model": "default", "input": "hi"}),
    "messages": (
        "/v1/messages",
        {"model": "default", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]},
    ),
}
TARGET_DOOR_P50_MS = 0.1  # a door's added p50 at c=1 over the chat row's


@dataclass
class DoorRounds:
    """Per round: the direct path's load and each door's."""

    rounds: list[dict[str, Load]] = field(default_factory=list)
    rps: dict[str, Load] = field(default_factory=dict)

    def added_p50(self, door: str) -> list[float]:
        return [r[door].p50_ms - r["direct"].p50_ms for r in self.rounds]

    def over_chat_p50(self, door: str) -> list[float]:
        return [r[door].p50_ms - r["chat"].p50_ms for r in self.rounds]

    def as_dict(self) -> dict[str, Any]:
        return {
            door: {
                "added_p50_ms_rounds": self.added_p50(door),
                "over_chat_p50_ms_rounds": self.over_chat_p50(door),
                "errors": sum(r[door].errors for r in self.rounds),
                "rps_c64": self.rps[door].rps if door in self.rps else None,
            }
            for door in DOORS
        }


def measure_doors(
    out: DoorRounds, gen: Generator, port: int, up_port: int, args: Any, deadline: Deadline
) -> None:
    """Fill ``out``: interleaved c=1 rounds over every door of the gateway on ``port``, then
    c=64 per door."""
    direct_url = paths.chat_url(up_port)
    direct_body = json.dumps(paths.chat_body(paths.BENCH_MODEL)).encode()
    bodies = {
        door: (f"http://{LOOPBACK}:{port}{path}", json.dumps(body).encode())
        for door, (path, body) in DOORS.items()
    }
    rest = len(DOORS) * (args.warmup + args.seconds) + 5
    deadline.require(rest + 5, "measuring the front doors")
    print(f"[front doors] c=1: {args.rounds} interleaved rounds", flush=True)
    for done in range(args.rounds):
        per = (len(DOORS) + 1) * (args.rounds - done)
        max_s = max(1.0, (deadline.left() - rest) / per)
        loads = {"direct": gen.latency(direct_url, direct_body, args.requests, args.warmup, max_s)}
        for door, (url, body) in bodies.items():
            loads[door] = gen.latency(url, body, args.requests, args.warmup, max_s)
        out.rounds.append(loads)
    for door, (url, body) in bodies.items():
        print(f"[front doors] {door} c={args.concurrency}: {args.seconds:g} s", flush=True)
        gen.timed(url, body, args.concurrency, args.warmup)
        out.rps[door] = gen.timed(url, body, args.concurrency, args.seconds)


def print_doors(doors: DoorRounds, concurrency: int) -> None:
    print("front doors (same rolecall process, interleaved rounds):")
    for door, (path, _) in DOORS.items():
        added = statistics.median(doors.added_p50(door))
        over = statistics.median(doors.over_chat_p50(door))
        errors = sum(r[door].errors for r in doors.rounds)
        rps = doors.rps.get(door)
        line = f"  {path:<22} added p50 @c=1 {added:+.3f} ms"
        if door != "chat":
            line += f", over chat {over:+.3f} ms (target ≤ {TARGET_DOOR_P50_MS:g})"
        if rps is not None:
            line += f", req/s @c={concurrency} {rps.rps:,.0f}"
            errors += rps.errors
        print(f"{line}, errors {errors}")
