"""Router decision throughput and latency for 2, 10, 100 and 1,000 candidates.

Prints decisions/second and p50/p99 microseconds per size, plus the cost per candidate, so that
linearity can be read off directly. Candidates are synthetic but realistic: mixed local/remote,
measured and unmeasured, a tenth ineligible (missing a capability or offline), and a request with a
capability, a modality, a context size and tools. The router takes its targets from the pool, as
the runtime's does (`derive_targets`, once per pool: its time is printed too). Also times rendering
the full RouterDecision JSON (`Decision.to_artifact`), which the hot path defers.

Run: .venv/bin/python bench/router_decision.py [--seconds 2]
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import time

from rolecall.protocol import DeclaredCapabilityProfile, EndpointIdentity
from rolecall.routing import Candidate, Evidence, Router, RoutingRequest
from rolecall.routing.targets import derive_targets

SIZES = (2, 10, 100, 1000)


def make_candidates(n: int, rng: random.Random) -> list[Candidate]:
    out = []
    for i in range(n):
        local = i % 3 == 0
        eid = f"endpoint-{i:04d}"
        caps = ["text.chat", "code.edit", "tools.function_calling"]
        if i % 10 == 7:
            caps = ["text.chat"]  # ineligible: lacks code.edit
        identity = EndpointIdentity(
            endpoint_id=eid,
            endpoint_kind="local_engine" if local else "remote_api",
            provider_kind="gguf" if local else "remote_openai_compat",
            serving_source="local-process" if local else "remote-service",
            model_id=f"model-{i % 17}",
            runtime_version="bench",
        )
        declared = DeclaredCapabilityProfile(
            endpoint_id=eid,
            capabilities=caps,
            modalities=["text"],
            max_context_tokens=32768,
            tool_calling={"supported": True, "style": "openai"},
            supports_embeddings=False,
        )
        evidence = None
        if i % 4 != 3:
            p50 = rng.uniform(50, 900)
            evidence = Evidence(
                judge_score=rng.uniform(0.3, 0.95),
                latency_ms_p50=p50,
                latency_ms_p95=p50 * rng.uniform(1.1, 2.0),
                tokens_per_sec=rng.uniform(5, 150),
                failure_rate=rng.uniform(0, 0.1),
                cost_per_1k_tokens_est=rng.uniform(0, 0.01),
            )
        status = "offline" if i % 20 == 11 else "active"
        out.append(
            Candidate(identity=identity, declared=declared, evidence=evidence, status=status)
        )
    return out


def measure(fn, seconds: float) -> list[float]:  # type: ignore[no-untyped-def]
    samples: list[float] = []
    deadline = time.perf_counter() + seconds
    gc.disable()
    try:
        while time.perf_counter() < deadline or len(samples) < 50:
            t0 = time.perf_counter_ns()
            fn()
            samples.append((time.perf_counter_ns() - t0) / 1000)
    finally:
        gc.enable()
    return samples


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per size")
    args = parser.parse_args()
    rng = random.Random(20261122)
    request = RoutingRequest(
        request_id="bench",
        task_type="code.edit",
        required_capabilities=("code.edit",),
        required_modalities=("text",),
        context_tokens=4096,
        needs_tools=True,
        strategy="balanced",
    )
    header = ("candidates", "decisions/s", "p50 µs", "p99 µs", "p50 µs/cand", "to_artifact p50 µs")
    print("{:>10} {:>12} {:>9} {:>9} {:>12} {:>19} {:>15}".format(*header, "targets µs"))
    for n in SIZES:
        candidates = make_candidates(n, rng)
        derive = measure(lambda c=candidates: derive_targets(c), min(args.seconds, 0.5))
        targets = derive_targets(candidates)
        router = Router(pool_targets=lambda t=targets: t)
        decision = router.decide(request, candidates)
        assert decision.chosen_endpoint_id
        samples = measure(lambda c=candidates, r=router: r.decide(request, c), args.seconds)
        render = measure(lambda d=decision: d.to_artifact(), min(args.seconds, 1.0))
        rate = len(samples) / (sum(samples) / 1e6)
        p50 = statistics.median(samples)
        p99, render_p50 = pct(samples, 0.99), statistics.median(render)
        print(
            f"{n:>10} {rate:>12.0f} {p50:>9.1f} {p99:>9.1f} {p50 / n:>12.2f} {render_p50:>19.1f}"
            f" {statistics.median(derive):>15.1f}"
        )
    print("targets: p50 ≤ 20 µs at 10 candidates, ≤ 2,000 µs at 1,000, cost linear in candidates")


if __name__ == "__main__":
    main()
