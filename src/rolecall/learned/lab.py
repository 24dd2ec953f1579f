"""Lab use cases behind ``rolecall lab``: import, train, evaluate, scale (and saving their results)."""

from __future__ import annotations

import itertools
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rolecall.learned import importers
from rolecall.learned.deploy import save_artifact
from rolecall.learned.errors import LabError
from rolecall.learned.evaluate import Prepared, evaluate, prepare
from rolecall.learned.features import DEFAULT_ENCODER, FeatureSpace
from rolecall.learned.matrix import ScoreMatrix, load_matrix, normalise_prompt
from rolecall.learned.predictors.base import create
from rolecall.learned.records import validate, write_records
from rolecall.learned.scaling import plot, scale

if TYPE_CHECKING:
    from rolecall.benchmark.results import BenchRunRecord

Progress = Callable[[str], None] | None


def source_rows(source: Path, fmt: str = "auto") -> tuple[str, Iterator[dict[str, Any]]]:
    """The format of ``source`` (a source folder or a canonical record file) and its records."""
    kind = importers.detect(source) if fmt == "auto" else fmt
    if kind == "canonical":
        return kind, _canonical_rows(source)
    if kind in importers.IMPORTERS:
        return kind, importers.IMPORTERS[kind](source)
    raise LabError(
        f"unknown format {fmt!r}; choose auto, canonical, {', '.join(importers.IMPORTERS)}"
    )


def import_records(
    source: Path, out: Path, fmt: str = "auto", test_fraction: float = 0.2, seed: int = 0
) -> dict[str, Any]:
    """Convert a source folder (or canonical file) into canonical records at ``out``.

    Prompts without a split get one by hashing their text; the train and test parts are also written
    beside ``out`` as ``<stem>.train<suffix>`` and ``<stem>.test<suffix>``.
    """
    kind, records = source_rows(source, fmt)
    total = write_records(importers.with_splits(records, test_fraction, seed), out)
    counts = {}
    for split in ("train", "test"):
        part = out.with_name(f"{out.stem}.{split}{out.suffix}")
        counts[split] = _write_split(out, part, split)
    return {"format": kind, "records": total, "out": str(out), "splits": counts}


def _canonical_rows(path: Path) -> Iterator[dict[str, Any]]:
    from rolecall.learned.records import connect

    with connect() as con:
        view = validate(con, path)
        cursor = con.execute(f"SELECT * FROM {view}")
        names = [d[0] for d in cursor.description]
        while batch := cursor.fetchmany(10_000):
            for row in batch:
                yield dict(zip(names, row, strict=True))


def _write_split(src: Path, dst: Path, split: str) -> int:
    from rolecall.learned.records import connect

    with connect() as con:
        view = validate(con, src)
        cursor = con.execute(f"SELECT * FROM {view} WHERE split = ?", [split])
        names = [d[0] for d in cursor.description]

        def rows() -> Iterator[dict[str, Any]]:
            while batch := cursor.fetchmany(10_000):
                for row in batch:
                    yield dict(zip(names, row, strict=True))

        return write_records(rows(), dst)


def load_pair(train: Path, test: Path) -> tuple[ScoreMatrix, ScoreMatrix]:
    """Train and test matrices; the same file twice means "use its split column"."""
    if train.resolve() == test.resolve():
        return load_matrix(train, "train"), load_matrix(test, "test")
    return load_matrix(train), load_matrix(test)


def train_artifact(
    records: Path,
    predictor: str,
    out: Path,
    encoder: str = DEFAULT_ENCODER,
    cache_dir: Path | None = None,
    params: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Fit the predictor named ``predictor`` on every complete training prompt of ``records``; save it."""
    matrix = load_matrix(records)
    if any(s is not None for s in matrix.splits):
        matrix = matrix.rows([i for i, s in enumerate(matrix.splits) if s in (None, "train")])
    matrix = matrix.complete()
    if matrix.n < 2:
        raise LabError(f"{records}: need at least 2 prompts scored for every model")
    space = FeatureSpace(encoder, cache_dir).fit(matrix.prompts)
    from rolecall.learned.evaluate import to_dataset

    fitted = create(predictor, **(params or {}))
    if not fitted.deployable:
        raise LabError(f"router {predictor!r} reads test labels and cannot be deployed")
    fitted.fit(to_dataset(matrix, space))
    info = {"records": str(records), "n_prompts": matrix.n, "params": params or {}}
    artifact_id = save_artifact(fitted, space, out, info)
    return {
        "artifact_id": artifact_id,
        "router": predictor,
        "models": matrix.models,
        "out": str(out),
    }


def train_from_store(
    rows: list[dict[str, Any]],
    predictor: str,
    out: Path,
    work: Path,
    encoder: str = DEFAULT_ENCODER,
    cache_dir: Path | None = None,
    test_fraction: float = 0.25,
    seed: int = 0,
    *,
    public: Sequence[Path] = (),
    endpoint_models: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Train ``predictor`` on the store's records (`rolecall.learned.store_records`), evaluate it
    against the best single endpoint on a held-out part (hashed per prompt), and write the
    artifact to ``out`` only if it does no harm there: its held-out quality is at least the best
    single endpoint's, which is what routing on average quality gives.

    ``public``: record files or source folders (`source_rows`) whose records join the training
    part only, their models mapped to the store's endpoints through ``endpoint_models``
    (endpoint id → upstream model name, compared by `model_key`); the held-out part stays the
    store's own cases, so "no harm" is judged on this deployment's traffic."""
    if not rows:
        raise LabError("the store has no graded benchmark cases: run 'rolecall bench run' first")
    rows = list(importers.with_splits(iter(rows), test_fraction, seed))
    tally = PublicTally()
    joining: Iterable[dict[str, Any]] = ()
    if public:
        by_model = _endpoints_by_model(endpoint_models or {}, {r["model"] for r in rows})
        held_out = {normalise_prompt(r["prompt"]) for r in rows if r["split"] == "test"}
        joining = _public_rows(public, by_model, held_out, tally)  # streamed: files may be large
    records = work / "store-records.parquet"
    total = write_records(itertools.chain(rows, joining), records)
    train, test = load_matrix(records, "train"), load_matrix(records, "test")
    if train.complete().n < 2 or test.complete().n < 1:
        raise LabError(
            f"{total} records are too few to hold some out: need prompts graded on every "
            "endpoint in both parts (benchmark more cases, or every endpoint on the same cases)"
        )
    prepared = prepare(train, test, encoder, cache_dir)
    summary = _held_out_verdict(prepared, predictor, total)
    if public:
        summary["public"] = tally.summary(public, train, prepared.train_matrix)
    if summary["deployed"]:
        summary |= train_artifact(records, predictor, out, encoder, cache_dir)
        summary["models"] = {endpoint: endpoint for endpoint in prepared.train.models}
    return summary


def _held_out_verdict(prepared: Prepared, predictor: str, total: int) -> dict[str, Any]:
    """The predictor against the best single endpoint on the held-out cases, and the verdict."""
    results = evaluate(prepared, [predictor, "best_single"])
    candidate, baseline = results[0]["mu_o"], results[1]["mu_o"]
    summary: dict[str, Any] = {
        "records": total,
        "endpoints": prepared.train.models,
        "n_train": prepared.train.n,
        "n_test": prepared.test.n,
        "router": predictor,
        "held_out": {predictor: candidate, "best_single": baseline},
        "best_single_endpoint": results[1]["best_single_model"],
        "deployed": candidate >= baseline,
    }
    if not summary["deployed"]:
        summary["reason"] = (
            f"{predictor} scored {candidate:.3f} on the held-out cases against {baseline:.3f} for "
            f"the best single endpoint: not deployed"
        )
    return summary


# --- public records joining the store's training part ----------------------------------------

PUBLIC_ID = "public/"  # prefix of a public record's prompt id: never a store case key
IGNORED_MODELS_SHOWN = 20


@dataclass
class PublicTally:
    """What became of the public records on their way into the training part."""

    read: int = 0
    unmatched: int = 0  # their model is no endpoint's
    unmatched_models: set[str] = field(default_factory=set)
    held_out_text: int = 0  # their prompt is one of the held-out store cases: dropped (leakage)
    per_prompt: Counter[str] = field(default_factory=Counter)  # records kept, per prompt id

    def summary(
        self, sources: Sequence[Path], train: ScoreMatrix, used: ScoreMatrix
    ) -> dict[str, Any]:
        """Counts for the training summary; ``train`` is the training part as written, ``used``
        its prompts every endpoint was scored on (the only ones a predictor trains on)."""
        written = [p for p in train.prompt_ids if p.startswith(PUBLIC_ID)]
        joined = [p for p in used.prompt_ids if p.startswith(PUBLIC_ID)]
        return {
            "sources": [str(s) for s in sources],
            "records_read": self.read,
            "records_joined": sum(self.per_prompt[p] for p in joined),
            "prompts_joined": len(joined),
            # a prompt some endpoint has no score for cannot train a full-matrix predictor
            "prompts_incomplete": len(written) - len(joined),
            "ignored_records": self.unmatched,
            "ignored_models": sorted(self.unmatched_models)[:IGNORED_MODELS_SHOWN],
            "dropped_held_out_overlap": self.held_out_text,
        }


def model_key(name: str) -> str:
    """A model name as compared across sources: letter case and provider prefixes ignored
    (``mistralai/Mixtral-8x7B`` is ``mixtral-8x7b``)."""
    return name.strip().lower().rsplit("/", 1)[-1]


def _endpoints_by_model(
    endpoint_models: Mapping[str, str], endpoints: Iterable[str]
) -> dict[str, list[str]]:
    """Model key → the store's endpoints serving that model (several may serve one)."""
    out: dict[str, list[str]] = {}
    for endpoint_id in sorted(endpoints):
        model = endpoint_models.get(endpoint_id)
        if model:
            out.setdefault(model_key(model), []).append(endpoint_id)
    return out


def _public_rows(
    sources: Sequence[Path],
    by_model: Mapping[str, list[str]],
    held_out: set[str],
    tally: PublicTally,
) -> Iterator[dict[str, Any]]:
    """Training records from public sources, one per (record, endpoint serving its model).

    Public costs are left out: they are another deployment's prices, and the store's measured
    costs are what this deployment pays."""
    for index, source in enumerate(sources):
        for rec in source_rows(source)[1]:
            tally.read += 1
            endpoints = by_model.get(model_key(str(rec["model"])))
            if not endpoints:
                tally.unmatched += 1
                tally.unmatched_models.add(str(rec["model"]))
                continue
            if normalise_prompt(str(rec["prompt"])) in held_out:
                tally.held_out_text += 1
                continue
            # numbered by source: two sources that both number their prompts 0, 1, ... are
            # different prompts
            prompt_id = f"{PUBLIC_ID}{index}/{rec['prompt_id']}"
            tally.per_prompt[prompt_id] += 1
            for endpoint_id in endpoints:
                yield {
                    "prompt_id": prompt_id,
                    "prompt": rec["prompt"],
                    "model": endpoint_id,
                    "score": rec["score"],
                    "cost_usd": None,
                    "task": rec.get("task"),
                    "split": "train",
                    "source": "public",
                }


def run_models(runs: Iterable[BenchRunRecord]) -> dict[str, str]:
    """Each endpoint's upstream model name as the benchmark runs recorded it (their config's
    ``endpoint_meta``; the newest run wins): what public records' model names are matched to."""
    out: dict[str, str] = {}
    for run in sorted(runs, key=lambda r: r.started_ms):
        for endpoint_id, meta in (run.config.get("endpoint_meta") or {}).items():
            if isinstance(meta, dict) and meta.get("model"):
                out[endpoint_id] = str(meta["model"])
    return out


def run_evaluate(
    train: Path,
    test: Path,
    predictors: list[str],
    encoder: str = DEFAULT_ENCODER,
    cache_dir: Path | None = None,
    drop_overlap: bool = False,
    reference_accuracy: float | None = None,
    progress: Progress = None,
) -> tuple[Prepared, list[dict[str, Any]]]:
    prepared = prepare(*load_pair(train, test), encoder, cache_dir, drop_overlap)
    return prepared, evaluate(prepared, predictors, reference_accuracy, progress)


def run_scale(
    train: Path,
    test: Path,
    predictors: list[str],
    encoder: str = DEFAULT_ENCODER,
    cache_dir: Path | None = None,
    max_m: int | None = None,
    progress: Progress = None,
    newcomer: Sequence[int] = (),
) -> list[dict[str, Any]]:
    """The pool-scaling rows; with ``newcomer`` record counts, also `newcomer.newcomer_rows` (one
    per model of the pool and count, group ``newcomer_<k>``) for the first predictor."""
    prepared = prepare(*load_pair(train, test), encoder, cache_dir)
    top = len(prepared.train.models) if max_m is None else min(max_m, len(prepared.train.models))
    rows = scale(prepared, predictors, range(2, top + 1), progress=progress)
    if newcomer:
        from rolecall.learned.newcomer import newcomer_rows

        rows += newcomer_rows(prepared, predictors[0], newcomer, progress=progress)
    return rows


def lab_dir(data_dir: Path) -> Path:
    out = data_dir / "lab"
    out.mkdir(parents=True, exist_ok=True)
    return out


def save_evaluation(data_dir: Path, train: Path, test: Path, results: list[dict[str, Any]]) -> Path:
    created = int(time.time() * 1000)
    doc = {
        "kind": "evaluate",
        "train": str(train),
        "test": str(test),
        "created_ms": created,
        "results": results,
    }
    return _write_json(lab_dir(data_dir) / f"evaluate-{created}.json", doc)


def retrain_from_store(
    data_dir: Path,
    rows: list[dict[str, Any]],
    predictor: str,
    test_fraction: float = 0.25,
) -> dict[str, Any]:
    """`train_from_store` into the lab folder: the artifact as ``router-<ms>.npz`` (when it does
    no harm) and the summary as ``retrain-<ms>.json``, which the console's Lab page lists."""
    created = int(time.time() * 1000)
    folder = lab_dir(data_dir)
    out = folder / f"router-{created}.npz"
    summary = train_from_store(
        rows, predictor, out, folder, cache_dir=folder / "cache", test_fraction=test_fraction
    )
    doc = {"kind": "retrain", "created_ms": created, **summary}
    _write_json(folder / f"retrain-{created}.json", doc)
    return doc


def save_scale(data_dir: Path, rows: list[dict[str, Any]]) -> Path:
    created = int(time.time() * 1000)
    folder = lab_dir(data_dir)
    image = f"scale-{created}.png"
    plot(rows, folder / image)
    doc = {"kind": "scale", "created_ms": created, "rows": rows, "plot": image}
    return _write_json(folder / f"scale-{created}.json", doc)


def _write_json(path: Path, doc: dict[str, Any]) -> Path:
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(json.dumps(doc, indent=2))
    tmp.replace(path)
    return path
