"""Canonical performance records (long format) read and written out of core through DuckDB/Arrow.

One record is ``prompt_id, prompt, model, score ∈ [0, 1]`` with optional ``cost_usd, task, split``.
Files are JSONL (``.jsonl``/``.json``), CSV (``.csv``) or Parquet (``.parquet``). DuckDB scans them in
streaming fashion with a memory cap and spills to disk, so memory does not grow with the file; only the
pivoted prompt × model matrix (inherent to training) is materialised.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rolecall.learned.errors import RecordError

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa  # type: ignore[import-untyped]

REQUIRED = ("prompt_id", "prompt", "model", "score")
OPTIONAL = ("cost_usd", "task", "split")
COLUMNS = REQUIRED + OPTIONAL
SPLITS = ("train", "val", "test")
_SUFFIX_FORMAT = {".jsonl": "jsonl", ".json": "jsonl", ".csv": "csv", ".parquet": "parquet"}
DUCKDB_MEMORY_LIMIT = "1GB"


def record_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema(
        [
            ("prompt_id", pa.string()),
            ("prompt", pa.string()),
            ("model", pa.string()),
            ("score", pa.float64()),
            ("cost_usd", pa.float64()),
            ("task", pa.string()),
            ("split", pa.string()),
        ]
    )


def file_format(path: Path) -> str:
    fmt = _SUFFIX_FORMAT.get(path.suffix.lower())
    if fmt is None:
        raise RecordError(
            str(path), None, "path", "unknown file type; use .jsonl, .csv or .parquet"
        )
    return fmt


@contextmanager
def connect() -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection with a memory cap and a spill directory (out-of-core by construction)."""
    import duckdb

    with tempfile.TemporaryDirectory(prefix="rolecall-duckdb-") as spill:
        con = duckdb.connect(config={"memory_limit": DUCKDB_MEMORY_LIMIT, "temp_directory": spill})
        try:
            yield con
        finally:
            con.close()


def scan_expression(path: Path) -> str:
    """The DuckDB table function reading ``path`` (the path is quoted, never interpolated raw)."""
    if not path.is_file():
        raise RecordError(str(path), None, "path", "file not found")
    quoted = "'" + str(path).replace("'", "''") + "'"
    fmt = file_format(path)
    if fmt == "parquet":
        return f"read_parquet({quoted})"
    if fmt == "csv":
        return f"read_csv({quoted}, header = true, auto_detect = true, sample_size = -1)"
    return f"read_json({quoted}, format = 'newline_delimited', sample_size = -1)"


def validate(con: duckdb.DuckDBPyConnection, path: Path) -> str:
    """Check columns and values of ``path``; return a view name over the normalised records.

    Raises RecordError naming the file, the row (CSV: data row; JSONL: line) and the field.
    """
    source = scan_expression(path)
    try:
        columns = [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]
    except Exception as exc:  # duckdb raises its own parse errors; keep the message
        raise RecordError(str(path), None, "file", f"cannot be parsed: {exc}") from None
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise RecordError(
            str(path),
            None,
            missing[0],
            f"required column missing (found: {', '.join(columns) or 'none'}); "
            f"records need {', '.join(REQUIRED)}",
        )
    optional = {c: (c if c in columns else "NULL") for c in OPTIONAL}
    con.execute(
        f"""CREATE OR REPLACE TEMP VIEW raw_records AS SELECT
            prompt_id, prompt, model, score,
            {optional["cost_usd"]} AS cost_usd, {optional["task"]} AS task,
            {optional["split"]} AS split FROM {source}"""
    )
    _check_values(con, path)
    con.execute(
        """CREATE OR REPLACE TEMP VIEW records AS SELECT
            CAST(prompt_id AS VARCHAR) AS prompt_id, CAST(prompt AS VARCHAR) AS prompt,
            CAST(model AS VARCHAR) AS model, CAST(score AS DOUBLE) AS score,
            CAST(cost_usd AS DOUBLE) AS cost_usd, CAST(task AS VARCHAR) AS task,
            lower(CAST(split AS VARCHAR)) AS split FROM raw_records"""
    )
    return "records"


_BAD_VALUE = """CASE
    WHEN prompt_id IS NULL THEN 'prompt_id|is missing'
    WHEN prompt IS NULL THEN 'prompt|is missing'
    WHEN model IS NULL OR CAST(model AS VARCHAR) = '' THEN 'model|is missing'
    WHEN TRY_CAST(score AS DOUBLE) IS NULL THEN 'score|must be a number in [0, 1]'
    WHEN NOT isfinite(TRY_CAST(score AS DOUBLE)) OR TRY_CAST(score AS DOUBLE) < 0
      OR TRY_CAST(score AS DOUBLE) > 1 THEN 'score|must be in [0, 1] (rescale the source metric)'
    WHEN cost_usd IS NOT NULL AND (TRY_CAST(cost_usd AS DOUBLE) IS NULL
      OR TRY_CAST(cost_usd AS DOUBLE) < 0) THEN 'cost_usd|must be a number >= 0'
    WHEN split IS NOT NULL AND lower(CAST(split AS VARCHAR)) NOT IN ('train', 'val', 'test')
      THEN 'split|must be train, val or test'
    ELSE NULL END"""


def _check_values(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    bad = con.execute(
        f"SELECT count(*) FROM raw_records WHERE ({_BAD_VALUE}) IS NOT NULL"
    ).fetchone()
    if not bad or not bad[0]:
        return
    # Only on failure: a single-threaded pass so that row numbers follow the file order.
    con.execute("SET threads = 1")
    row = con.execute(
        f"""SELECT rn, problem, value FROM (
              SELECT row_number() OVER () AS rn, ({_BAD_VALUE}) AS problem,
                     CAST(score AS VARCHAR) AS value FROM raw_records)
            WHERE problem IS NOT NULL ORDER BY rn LIMIT 1"""
    ).fetchone()
    assert row is not None
    field, message = str(row[1]).split("|", 1)
    unit = "row" if file_format(path) != "jsonl" else "line"
    detail = f"{message} (got {row[2]!r})" if field == "score" else message
    raise RecordError(str(path), (unit, int(row[0])), field, f"{detail}; {bad[0]} bad row(s)")


def write_records(rows: Iterable[Mapping[str, Any]], path: Path, batch_size: int = 50_000) -> int:
    """Write canonical records (plain dicts) to ``path`` in batches; returns the number written."""
    return write_batches(_batches(rows, batch_size), path)


def _batches(rows: Iterable[Mapping[str, Any]], size: int) -> Iterator[pa.RecordBatch]:
    import pyarrow as pa

    schema = record_schema()
    chunk: dict[str, list[Any]] = {c: [] for c in COLUMNS}
    count = 0
    for row in rows:
        for c in COLUMNS:
            chunk[c].append(row.get(c))
        count += 1
        if count == size:
            yield pa.RecordBatch.from_pydict(chunk, schema=schema)
            chunk, count = {c: [] for c in COLUMNS}, 0
    if count:
        yield pa.RecordBatch.from_pydict(chunk, schema=schema)


def write_batches(batches: Iterable[pa.RecordBatch], path: Path) -> int:
    """Stream record batches into a Parquet file, or through DuckDB into CSV/JSONL."""
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = file_format(path)
    target = path if fmt == "parquet" else path.with_suffix(path.suffix + ".tmp.parquet")
    partial = target.with_name(target.name + ".partial")
    total = 0
    with pq.ParquetWriter(partial, record_schema()) as writer:
        for batch in batches:
            writer.write_batch(batch)
            total += batch.num_rows
    partial.replace(target)  # a crash never leaves a half-written file under the final name
    if fmt != "parquet":
        _convert(target, path, fmt)
        target.unlink()
    return total


def _convert(parquet: Path, out: Path, fmt: str) -> None:
    options = "FORMAT csv, HEADER true" if fmt == "csv" else "FORMAT json"
    tmp = out.with_name(out.name + ".partial")
    with connect() as con:
        src = "'" + str(parquet).replace("'", "''") + "'"
        dst = "'" + str(tmp).replace("'", "''") + "'"
        con.execute(f"COPY (SELECT * FROM read_parquet({src})) TO {dst} ({options})")
    tmp.replace(out)


def count_records(path: Path) -> int:
    with connect() as con:
        view = validate(con, path)
        row = con.execute(f"SELECT count(*) FROM {view}").fetchone()
        return int(row[0]) if row else 0
