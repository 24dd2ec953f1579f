"""Learned routing at scale: ingest + train on a generated 10M-record file, then per-prompt inference.

The record file is SYNTHETIC (generated here, labelled so in every prompt and in the file name): it
measures speed and memory only, never routing quality. Default shape: 100,000 prompts × 100 models =
10,000,000 records over 20 synthetic tasks (RouterEval-like: many models per prompt).

Prints records/s for ingest (DuckDB pivot of the long file) and for ingest + train (encoding with
WordLlama + TF-IDF, fitting the default ``rolecall`` router), peak RSS of this process, and the p50 /
p99 latency of one ``LearnedQuality.estimates`` call (encoder + predictor). Targets: 10M records
ingested and trained in ≤ 60 s, peak memory ≤ 4 GiB, inference p50 ≤ 5 ms.

Wall-clock figures depend on what else runs on the machine, so CPU seconds are printed too.

Run: .venv/bin/python bench/learned.py [--prompts 100000] [--models 100] [--router rolecall]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

WORDS = [
    *[
        "alpha",
        "beta",
        "gamma",
        "delta",
        "orbit",
        "matrix",
        "vector",
        "tensor",
        "sum",
        "product",
        "river",
        "mountain",
    ],
    *[
        "history",
        "empire",
        "protein",
        "enzyme",
        "cell",
        "market",
        "price",
        "budget",
        "verse",
        "rhyme",
        "poem",
        "code",
    ],
    *["function", "loop", "array", "graph", "node"],
]


def generate(path: Path, prompts: int, models: int, seed: int = 0) -> None:
    """Write the synthetic long-format record file in batches (runs in a child process)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from rolecall.learned.records import record_schema

    rng = np.random.default_rng(seed)
    tasks = 20
    skill = rng.normal(0, 1, models)
    affinity = rng.normal(0, 1, (tasks, models))  # each task has its own best models
    names = np.array([f"synthetic-model-{j:03d}" for j in range(models)])
    partial = path.with_name(path.name + ".partial")
    with pq.ParquetWriter(partial, record_schema()) as writer:
        for start in range(0, prompts, 10_000):
            ids = np.arange(start, min(start + 10_000, prompts))
            task = rng.integers(0, tasks, len(ids))
            words = rng.choice(WORDS, (len(ids), 8))
            text = [
                f"[synthetic] task {t}: {' '.join(w)} #{i}"
                for i, t, w in zip(ids, task, words, strict=True)
            ]
            logits = skill[None, :] + affinity[task] + rng.normal(0, 1, (len(ids), models))
            scores = (rng.random((len(ids), models)) < 1 / (1 + np.exp(-logits))).astype(float)
            n = len(ids) * models
            batch = {
                "prompt_id": np.repeat([f"s{i}" for i in ids], models),
                "prompt": np.repeat(text, models),
                "model": np.tile(names, len(ids)),
                "score": scores.ravel(),
                "cost_usd": np.tile(np.linspace(1e-5, 1e-3, models), len(ids)),
                "task": np.repeat([f"synthetic-{t}" for t in task], models),
                "split": np.full(n, "train"),
            }
            writer.write_table(pa.table(batch, schema=record_schema()))
    partial.replace(path)


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # Linux reports KiB


def inference_latency(artifact: Path, models: list[str]) -> tuple[float, float, float]:
    from rolecall.learned.deploy import LearnedQuality

    quality = LearnedQuality.load(artifact)
    mapping = {f"endpoint-{j}": m for j, m in enumerate(models)}
    quality.estimates("warm up", mapping)
    timings, cpu = [], []
    for i in range(300):
        prompt = f"[synthetic] task {i % 20}: orbit vector protein market #{i}"
        start, cpu_start = time.perf_counter(), time.thread_time()
        quality.estimates(prompt, mapping)
        timings.append(time.perf_counter() - start)
        cpu.append(time.thread_time() - cpu_start)
    p50, p99 = np.percentile(timings, [50, 99]) * 1e3
    return float(p50), float(p99), float(np.percentile(cpu, 50)) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prompts", type=int, default=100_000)
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--router", default="rolecall")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "rolecall-bench")
    parser.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    records = args.dir / f"synthetic-{args.prompts}x{args.models}.parquet"
    if args.generate_only:
        generate(records, args.prompts, args.models)
        return
    args.dir.mkdir(parents=True, exist_ok=True)
    if not records.is_file():  # generated in a child so that its memory is not counted here
        print(
            f"generating {args.prompts * args.models:,} SYNTHETIC records -> {records}", flush=True
        )
        cmd = [
            sys.executable,
            __file__,
            "--prompts",
            str(args.prompts),
            "--models",
            str(args.models),
        ]
        subprocess.run([*cmd, "--dir", str(args.dir), "--generate-only"], check=True)

    from rolecall.learned.deploy import save_artifact
    from rolecall.learned.evaluate import to_dataset
    from rolecall.learned.features import FeatureSpace
    from rolecall.learned.matrix import load_matrix
    from rolecall.learned.predictors.base import create

    start, cpu_start = time.perf_counter(), time.process_time()
    matrix = load_matrix(records)
    ingest = time.perf_counter() - start
    n_records = int(np.isfinite(matrix.scores).sum())
    space = FeatureSpace(cached=False).fit(matrix.prompts)
    train = to_dataset(matrix, space)
    encoded = time.perf_counter() - start
    predictor = create(args.router).fit(train)
    total = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    artifact = args.dir / "synthetic-router.npz"
    save_artifact(predictor, space, artifact, {"records": str(records), "synthetic": True})
    p50, p99, cpu50 = inference_latency(artifact, matrix.models)
    result = {
        "synthetic": True,
        "records": n_records,
        "prompts": matrix.n,
        "models": len(matrix.models),
        "router": args.router,
        "ingest_s": round(ingest, 2),
        "encode_s": round(encoded - ingest, 2),
        "fit_s": round(total - encoded, 2),
        "ingest_and_train_s": round(total, 2),
        "ingest_and_train_cpu_s": round(cpu, 2),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "ingest_records_per_s": round(n_records / ingest),
        "ingest_and_train_records_per_s": round(n_records / total),
        "peak_rss_gib": round(peak_rss_gib(), 2),
        "inference_p50_ms": round(p50, 3),
        "inference_p99_ms": round(p99, 3),
        "inference_cpu_p50_ms": round(cpu50, 3),
    }
    print(
        f"SYNTHETIC data (speed only): {n_records:,} records, "
        f"{matrix.n:,} prompts × {len(matrix.models)} models"
    )
    print(f"  ingest {ingest:.1f} s ({n_records / ingest:,.0f} records/s)")
    print(
        f"  ingest + encode + train {total:.1f} s ({n_records / total:,.0f} records/s)  [target ≤ 60 s]"
    )
    print(
        f"  CPU time {cpu:.1f} s over {os.cpu_count()} cores; 1-min load average {os.getloadavg()[0]:.1f}"
    )
    print(f"  peak RSS {peak_rss_gib():.2f} GiB  [target ≤ 4 GiB]")
    print(
        f"  inference p50 {p50:.2f} ms (CPU {cpu50:.2f} ms), p99 {p99:.2f} ms  [target p50 ≤ 5 ms]"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
