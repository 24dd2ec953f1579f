"""Routing modes: the benchmark's cases replayed through the gateway under each mode (issue #18).

Modes: baseline with the quality strategy, baseline with the latency strategy, difficulty (the
request classified easy|medium|hard, endpoints whose ceiling is below it excluded, the rest ranked
with ``--difficulty-strategy``) and hybrid (difficulty plus a routing controller). Per mode it
prints the graded quality (mean score of the cases' deterministic graders; judge-graded cases are
left out), mean and p95 latency (the client's wall time, one request at a time) and total cost,
then whether difficulty mode's (latency, quality) point lies beyond the straight line between the
quality and latency strategies' points (it beats every random mix of the two), and the difficulty
classifier's agreement with the cases' labelled buckets. Targets: beyond the line, agreement
>= 70%. Prints figures; a mode the gateway refuses is reported, not fatal.

Pools:
- ``scripted`` (default): one scripted upstream playing three models of known per-bucket quality
  (bench/modes/cases.py: a fast weak local model, a mid local one, a slow strong priced remote
  one), benchmarked first (``rolecall bench run`` of the replayed cases: the router's evidence),
  then ``rolecall serve`` over them with each model's ``max_difficulty`` declared; ``--derived``
  adds a second gateway on a copy of the evidence without declared ceilings (derived instead).
  Hybrid's controller is a fourth scripted model answering ``{}`` (no directives).
- ``local``: ``rolecall run``'s llama.cpp pool (slow on 2 cores: use ``--cases``); its first-start
  benchmark is awaited; hybrid is skipped (no controller endpoint).

Run: .venv/bin/python bench/routing_modes.py [--pool scripted|local] [--cases N]
     [--modes baseline-quality,baseline-latency,difficulty,hybrid] [--difficulty-strategy latency]
     [--derived] [--json] [--local-models M,M] [--local-data-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ (gateway, modes) when imported

from gateway.procs import BenchError, Proc
from modes import figures
from modes.cases import POOL, Case, expected_quality, gradable_cases, ideal_difficulty
from modes.classifier import SOURCE, every_case, verdict
from modes.pool import Gateway, ModeSpec, local_gateway, scripted_gateways
from modes.replay import ModeRun, replay

MODES = ("baseline-quality", "baseline-latency", "difficulty", "hybrid")
DIFFICULTY_MODES = ("difficulty", "hybrid")
LOCAL_MODELS = "smollm2-135m,qwen2.5-coder-0.5b,qwen2.5-coder-1.5b"
LOCAL_DATA = Path.home() / ".cache" / "rolecall-bench" / "routing-modes-local"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pool", choices=["scripted", "local"], default="scripted")
    parser.add_argument("--cases", type=int, default=None, help="at most N cases (all buckets)")
    parser.add_argument(
        "--modes", default=",".join(MODES), help="comma-separated, of " + ", ".join(MODES)
    )
    parser.add_argument(
        "--difficulty-strategy", choices=["latency", "balanced"], default="balanced"
    )
    parser.add_argument("--derived", action="store_true", help="scripted: also derived ceilings")
    parser.add_argument(
        "--task-hints",
        action="store_true",
        help="requests name the case's task (rolecall.task); else the gateway's default task",
    )
    parser.add_argument("--json", action="store_true", help="also print a JSON summary")
    parser.add_argument("--local-models", default=LOCAL_MODELS)
    parser.add_argument("--local-data-dir", type=Path, default=LOCAL_DATA)
    args = parser.parse_args(argv)
    unknown = sorted(set(args.modes.split(",")) - set(MODES))
    if unknown:
        parser.error(f"--modes: unknown mode(s) {unknown} (known: {', '.join(MODES)})")
    if args.cases is not None and args.cases < 3:
        parser.error("--cases: at least 3 (one per bucket)")
    return args


def specs_of(args: argparse.Namespace) -> list[ModeSpec]:
    strategies = {
        "baseline-quality": ("baseline", "quality"),
        "baseline-latency": ("baseline", "latency"),
        "difficulty": ("difficulty", args.difficulty_strategy),
        "hybrid": ("hybrid", args.difficulty_strategy),
    }
    chosen = [m for m in MODES if m in args.modes.split(",")]
    if args.pool == "local" and "hybrid" in chosen:
        print("mode hybrid skipped on the local pool: it has no routing-controller endpoint")
        chosen.remove("hybrid")
    return [ModeSpec(name, *strategies[name]) for name in chosen]


def print_header(args: argparse.Namespace, cases: list[Case], notes: list[str]) -> None:
    buckets = {b: sum(1 for c in cases if c.case.bucket == b) for b in ("easy", "medium", "hard")}
    print(f"pool: {args.pool}; {len(cases)} cases replayed ({buckets})")
    print(f"left out: {notes[0]}; {len(notes) - 1} more:")
    for note in notes[1:]:
        print(f"  {note}")
    print(f"difficulty and hybrid rank with the {args.difficulty_strategy} strategy")
    if args.pool == "scripted":
        print("scripted models (skill per bucket; realised on these cases; declared ceiling):")
        realised = expected_quality(cases)
        for model in POOL:
            skill = " ".join(f"{b} {model.skill[b]:.2f}" for b in model.skill)
            got = " ".join(f"{b} {v:.2f}" for b, v in realised[model.name].items() if v is not None)
            where = "local" if model.local else "remote, priced"
            print(
                f"  {model.name:<7} {model.latency_ms:>4g} ms {where:<15} skill [{skill}] "
                f"realised [{got}] max_difficulty {model.ceiling}"
            )
        quality, latency = ideal_difficulty(cases)
        print(
            f"ideal difficulty point (classifier = labels, latency strategy): quality "
            f"{quality:.3f} at {latency:.0f} ms of upstream latency (plus the gateway's time)"
        )


def run_modes(
    gateway: Gateway, specs: list[ModeSpec], cases: list[Case], hints: bool, suffix: str = ""
) -> list[ModeRun]:
    runs = []
    for spec in specs:
        run = replay(gateway, spec, cases, spec.name + suffix, hints)
        if run.unavailable:
            print(f"mode {run.label} not available on this gateway: {run.unavailable}")
        runs.append(run)
    return runs


def report(runs: list[ModeRun], cases: list[Case], args: argparse.Namespace) -> dict[str, Any]:
    measured = [r for r in runs if not r.unavailable and r.answers]
    rows = {r.label: figures.row(r) for r in measured}
    print()
    figures.print_rows(list(rows.values()))
    summary: dict[str, Any] = {"rows": [r.to_dict() for r in rows.values()], "beyond_line": {}}
    for run in measured:
        if run.spec.mode in DIFFICULTY_MODES:
            print_evidence(run)
    for run in measured:
        failed = [a.error for a in run.answers if a.error]
        if failed:
            print(
                f"note: {run.label}: {len(failed)} requests failed (scored 0), first: {failed[0]}"
            )
    quality, latency = rows.get("baseline-quality"), rows.get("baseline-latency")
    print()
    for label, candidate in rows.items():
        if not label.startswith(DIFFICULTY_MODES):
            continue
        if quality is None or latency is None:
            print(f"beyond the line: {label}: needs both baseline rows")
            continue
        margin, ok = figures.beyond_line(quality, latency, candidate)
        line = figures.line_quality(quality, latency, candidate.latency_mean_ms)
        print(
            f"beyond the line: {label} quality {candidate.quality:.3f} at "
            f"{candidate.latency_mean_ms:.1f} ms vs the quality/latency mix's {line:.3f}: "
            f"margin {margin:+.3f} {'PASS' if ok else 'FAIL'}"
        )
        summary["beyond_line"][label] = {"margin": margin, "pass": ok}
    if args.pool == "scripted" and quality is not None and latency is not None:
        print_ideal(cases, quality, latency)
    summary["agreement"] = classifier_agreement(cases, args.task_hints)
    return summary


def print_evidence(run: ModeRun) -> None:
    """What the stored decisions show of a difficulty-ranked run."""
    classified = sum(1 for a in run.answers if a.classified is not None)
    exclusions = sum(a.ceiling_exclusions for a in run.answers)
    print(
        f"{run.label}: {classified} of {len(run.answers)} decisions carry a classification, "
        f"{exclusions} ceiling exclusions"
    )
    if classified == 0 and exclusions == 0:
        print(f"note: {run.label}: this gateway may route the mode as baseline")


def print_ideal(cases: list[Case], quality: figures.Row, latency: figures.Row) -> None:
    """Where a perfect difficulty run would land against the measured line (the gateway's own
    time taken from the latency strategy's row: its mean less the fastest model's latency)."""
    ideal_quality, upstream_ms = ideal_difficulty(cases)
    overhead = latency.latency_mean_ms - min(m.latency_ms for m in POOL)
    at_ms = upstream_ms + overhead
    margin = ideal_quality - figures.line_quality(quality, latency, at_ms)
    print(
        f"ideal difficulty point: quality {ideal_quality:.3f} at ~{at_ms:.0f} ms, "
        f"margin {margin:+.3f} (what the mode approaches as the classifier agrees with the labels)"
    )


def classifier_agreement(cases: list[Case], hints: bool) -> dict[str, Any]:
    """The rubric's agreement with the labelled buckets on every built-in case (the headline)
    and on the cases replayed here, as the requests were sent (``hints``: their task named)."""
    how = "the labelled task named" if hints else "no task named"
    everything = every_case()
    headline = figures.print_agreement(
        f"{SOURCE}, {how}, all {len(everything)} built-in cases",
        [(c.bucket, verdict(c, hints)) for c in everything],
    )
    replayed = figures.print_agreement(
        f"{SOURCE}, {how}, the {len(cases)} replayed cases",
        [(c.case.bucket, verdict(c.case, hints)) for c in cases],
    )
    return headline | {"replayed": replayed}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    cases, notes = gradable_cases(args.cases, tools=args.pool == "scripted")
    print_header(args, cases, notes)
    specs = specs_of(args)
    procs: list[Proc] = []
    runs: list[ModeRun] = []
    with tempfile.TemporaryDirectory(prefix="rolecall-modes-") as tmp:
        try:
            if args.pool == "scripted":
                declared, derived = scripted_gateways(
                    cases, specs, Path(tmp), procs, derived=args.derived
                )
                runs = run_modes(declared, specs, cases, args.task_hints)
                if derived is not None:
                    again = [s for s in specs if s.mode in DIFFICULTY_MODES]
                    runs += run_modes(derived, again, cases, args.task_hints, " (derived ceilings)")
            else:
                gateway = local_gateway(
                    specs, Path(tmp), args.local_data_dir, args.local_models, procs
                )
                runs = run_modes(gateway, specs, cases, args.task_hints)
        except BenchError as exc:
            raise SystemExit(f"not measured: {exc}") from None
        finally:
            for proc in reversed(procs):
                proc.stop()
    summary = report(runs, cases, args)
    summary["unavailable"] = {r.label: r.unavailable for r in runs if r.unavailable}
    if args.json:
        print(json.dumps(summary, default=str))
    return summary


if __name__ == "__main__":
    main()
