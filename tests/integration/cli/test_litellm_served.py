"""A LiteLLM config imported and served: `rolecall config import-litellm` over a config whose
deployments point at the scripted upstream, then a real `rolecall serve` on the result, and the
openai SDK calling the LiteLLM ``model_name``s (each an ``aliases:`` entry of rolecall.yaml
whose endpoints are a candidate subset).
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
import yaml

from rolecall.providers.scripted import ScriptedUpstream, UpstreamHandle

from .cli_process import ROLECALL, environment, rolecall

SCRIPT = {
    "models": {
        "model-a": {"answer": "answer from a", "latency_ms": 1},
        "model-b": {"answer": "answer from b", "latency_ms": 1},
        "model-c": {"answer": "answer from c", "latency_ms": 1},
    }
}


@pytest.fixture(scope="module")
def upstream() -> Iterator[UpstreamHandle]:
    handle = ScriptedUpstream.start_in_thread(SCRIPT)
    yield handle
    handle.stop()


def _litellm_config(upstream: UpstreamHandle) -> dict[str, object]:
    return {
        "model_list": [
            {
                "model_name": "gpt-4o",
                "litellm_params": {
                    "model": "openai/model-a",
                    "api_base": upstream.base_url,
                    "api_key": "os.environ/SCRIPTED_UPSTREAM_KEY",
                    "input_cost_per_token": 2.5e-06,
                    "output_cost_per_token": 1e-05,
                },
            },
            {
                "model_name": "gpt-4o",
                # hosted vLLM takes the server's root: the importer adds /v1
                "litellm_params": {"model": "hosted_vllm/model-b", "api_base": upstream.root_url},
            },
            {
                "model_name": "gpt-4o-mini",
                "litellm_params": {"model": "openai/model-c", "api_base": upstream.base_url},
            },
        ],
        "router_settings": {"routing_strategy": "simple-shuffle", "num_retries": 2},
        "general_settings": {"master_key": "sk-litellm-master"},
    }


def _serve(tmp_path: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    out = tmp_path / "serve.out"
    with out.open("wb") as sink:
        child = subprocess.Popen(
            [*ROLECALL, "serve", "--config", "rolecall.yaml", "--port", "0"],
            cwd=tmp_path,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and child.poll() is None:
        match = re.search(r"gateway on http://127\.0\.0\.1:(\d+)/v1", out.read_text())
        if match is not None:
            return child, int(match.group(1))
        time.sleep(0.1)
    child.kill()
    raise AssertionError(f"rolecall serve did not start:\n{out.read_text()}")


def test_a_litellm_config_imported_and_served_by_model_name(
    tmp_path: Path, upstream: UpstreamHandle
) -> None:
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(_litellm_config(upstream)))
    env = environment(tmp_path, PYTHONUNBUFFERED="1", SCRIPTED_UPSTREAM_KEY="scripted")
    imported = rolecall(tmp_path, "config", "import-litellm", "config.yaml", env=env)
    assert imported.returncode == 0, imported.stderr
    assert "general_settings.master_key" in imported.stdout
    created = rolecall(tmp_path, "keys", "create", "migrated", env=env)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[0]
    child, port = _serve(tmp_path, env)
    try:
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=key, max_retries=0)
        answers = set()
        for _ in range(4):
            reply = client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "hello"}]
            )
            answers.add(reply.choices[0].message.content)
        # the alias routes among its own deployments only
        assert answers <= {"answer from a", "answer from b"}, answers
        reply = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hello"}]
        )
        assert reply.choices[0].message.content == "answer from c"
        assert reply.usage is not None
        assert reply.usage.total_tokens > 0
    finally:
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=30)
