"""LiteLLM proxy configs → rolecall.yaml: providers, endpoints, an alias per model_name, and a
note for everything that does not carry over. Realistic configs, checked as rolecall reads them."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from rolecall.errors import ConfigError
from rolecall.inventory.config import parse_inventory
from rolecall.inventory.inventory import build_inventory
from rolecall.inventory.litellm import LiteLLMImport, import_litellm
from rolecall.inventory.litellm_merge import check_imported, merge_imported

AZURE_AND_OPENAI = """
model_list:
  - model_name: gpt-4o
    litellm_params:
      model: azure/gpt-4o-eu
      api_base: https://my-eu.openai.azure.com/
      api_key: os.environ/AZURE_API_KEY_EU
      api_version: "2024-02-15-preview"
      rpm: 60
    model_info:
      base_model: azure/gpt-4o
  - model_name: gpt-4o
    litellm_params:
      model: azure/gpt-4o-ca
      api_base: os.environ/AZURE_API_BASE_CA
      api_key: os.environ/AZURE_API_KEY_CA
      tpm: 100000
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_key: os.environ/OPENAI_API_KEY
      input_cost_per_token: 2.5e-06
      output_cost_per_token: 1e-5
  - model_name: gpt-4o-mini
    litellm_params:
      model: gpt-4o-mini
      api_key: os.environ/OPENAI_API_KEY
router_settings:
  routing_strategy: latency-based-routing
  num_retries: 3
  fallbacks: [{gpt-4o: [gpt-4o-mini]}]
  model_group_alias: {gpt-4: gpt-4o}
general_settings:
  master_key: sk-1234-master
"""

LOCAL_AND_ANTHROPIC = """
model_list:
  - model_name: llama3
    litellm_params:
      model: ollama/llama3
      api_base: http://localhost:11434
    model_info:
      max_input_tokens: 8192
      max_output_tokens: 2048
      supports_function_calling: false
  - model_name: qwen-coder
    litellm_params:
      model: hosted_vllm/Qwen/Qwen2.5-Coder-32B-Instruct
      api_base: http://gpu-box:8000
      max_tokens: 4096
  - model_name: claude
    litellm_params:
      model: anthropic/claude-3-5-sonnet-20241022
      api_key: os.environ/ANTHROPIC_API_KEY
      temperature: 0.2
    model_info:
      supports_vision: true
  - model_name: embed
    litellm_params:
      model: openai/nomic-embed-text
      api_base: http://127.0.0.1:11434/v1
    model_info: {mode: embedding}
  - model_name: titan
    litellm_params:
      model: bedrock/amazon.titan-text-express-v1
      aws_secret_access_key: os.environ/AWS_SECRET_ACCESS_KEY
  - model_name: dall-e
    litellm_params: {model: openai/dall-e-3, api_key: os.environ/OPENAI_API_KEY}
    model_info: {mode: image_generation}
litellm_settings:
  drop_params: true
  success_callback: [langfuse]
  context_window_fallbacks: [{llama3: [claude]}]
environment_variables:
  LANGFUSE_SECRET_KEY: sk-lf-very-secret
"""


def _import(text: str) -> LiteLLMImport:
    return import_litellm(yaml.safe_load(text), "config.yaml")


def _notes(result: LiteLLMImport) -> dict[str, str]:
    return {note.path: note.message for note in result.notes}


def _checked(result: LiteLLMImport) -> None:
    """The output reads as rolecall.yaml (aliases kept as plain data until the parser lands)."""
    check_imported(result.data, "rolecall.yaml")
    document = {k: v for k, v in result.data.items() if k != "aliases"}
    environ = {"AZURE_API_BASE_CA": "https://ca.openai.azure.com"}
    build_inventory(parse_inventory(document, environ=environ))


def test_azure_and_openai_deployments_under_one_model_name_make_one_alias() -> None:
    result = _import(AZURE_AND_OPENAI)
    _checked(result)
    data = result.data
    assert data["providers"]["azure"] == {
        "kind": "openai_compatible",
        "base_url": "https://my-eu.openai.azure.com/openai/v1",
        "api_key": "${AZURE_API_KEY_EU}",
    }
    assert data["providers"]["azure-2"]["base_url"] == "${AZURE_API_BASE_CA}/openai/v1"
    assert data["providers"]["openai"]["base_url"] == "https://api.openai.com/v1"
    by_id = {e["id"]: e for e in data["endpoints"]}
    assert by_id["azure.gpt-4o-eu"]["catalog"] == "openai/gpt-4o"  # from model_info.base_model
    assert "catalog" not in by_id["azure-2.gpt-4o-ca"]  # a deployment name says nothing
    assert by_id["openai.gpt-4o"]["price"] == {"input_per_1m": 2.5, "output_per_1m": 10.0}
    assert by_id["openai.gpt-4o-mini"]["provider"] == "openai"  # a bare name: LiteLLM's openai
    assert data["aliases"]["gpt-4o"] == {
        "endpoints": ["azure.gpt-4o-eu", "azure-2.gpt-4o-ca", "openai.gpt-4o"],
        "strategy": "latency",
        "description": "imported from LiteLLM model_name gpt-4o",
    }
    assert data["aliases"]["gpt-4"]["endpoints"] == data["aliases"]["gpt-4o"]["endpoints"]
    assert data["aliases"]["gpt-4o-mini"]["endpoints"] == ["openai.gpt-4o-mini"]


def test_what_does_not_carry_over_is_named_per_field_path() -> None:
    notes = _notes(_import(AZURE_AND_OPENAI))
    assert "limits: {global: {rpm: 60}}" in notes["model_list[0].litellm_params.rpm"]
    assert "--tpm 100000" in notes["model_list[1].litellm_params.tpm"]
    assert "v1 API" in notes["model_list[0].litellm_params.api_version"]
    assert "one quick retry" in notes["router_settings.num_retries"]
    fallback = notes["router_settings.fallbacks[0].gpt-4o"]
    assert "aliases.gpt-4o.endpoints" in fallback
    assert "gpt-4o-mini" in fallback
    master = notes["general_settings.master_key"]
    assert "rolecall keys create" in master
    assert "sk-1234-master" not in master


def test_local_servers_anthropic_embeddings_and_unknown_providers() -> None:
    result = _import(LOCAL_AND_ANTHROPIC)
    _checked(result)
    providers = result.data["providers"]
    assert providers["ollama"] == {"kind": "ollama", "base_url": "http://localhost:11434/v1"}
    assert providers["hosted-vllm"] == {
        "kind": "openai_compatible",
        "base_url": "http://gpu-box:8000/v1",
    }  # no key written: a self-hosted server may need none
    assert providers["anthropic"]["base_url"] == "https://api.anthropic.com/v1"
    assert providers["openai"]["base_url"] == "http://127.0.0.1:11434/v1"  # /v1 not doubled
    by_id = {e["id"]: e for e in result.data["endpoints"]}
    llama = by_id["ollama.llama3"]
    assert (llama["context_window"], llama["max_output_tokens"], llama["tools"]) == (
        8192,
        2048,
        False,
    )
    assert by_id["hosted-vllm.Qwen/Qwen2.5-Coder-32B-Instruct"]["max_output_tokens"] == 4096
    claude = by_id["anthropic.claude-3-5-sonnet-20241022"]
    assert claude["modalities"] == ["text", "image"]
    assert claude["catalog"] == "anthropic/claude-3-5-sonnet-20241022"
    assert by_id["openai.nomic-embed-text"]["capabilities"] == ["embeddings.text"]
    assert set(result.data["aliases"]) == {"llama3", "qwen-coder", "claude", "embed"}
    assert result.data["aliases"]["llama3"]["strategy"] == "balanced"  # simple-shuffle
    notes = _notes(result)
    assert "'bedrock'" in notes["model_list[4].litellm_params.model"]
    assert "image_generation" in notes["model_list[5].model_info.mode"]
    assert "forwards what the client sends" in notes["model_list[2].litellm_params.temperature"]
    assert (
        "aliases.llama3.endpoints" in notes["litellm_settings.context_window_fallbacks[0].llama3"]
    )
    assert "OpenTelemetry" in notes["litellm_settings.success_callback"]
    assert "shuffles" in notes["router_settings.routing_strategy"]
    assert "LANGFUSE_SECRET_KEY" in str(result.notes)
    assert "sk-lf-very-secret" not in str(result.notes) + yaml.safe_dump(result.data)


def test_an_inline_key_is_refused_never_written_and_named() -> None:
    text = """
model_list:
  - model_name: gpt-4o
    litellm_params: {model: openai/gpt-4o, api_key: sk-proj-abcdef0123456789}
  - model_name: mixtral
    litellm_params:
      model: groq/mixtral-8x7b-32768
      api_key: gsk_0123456789
"""
    result = _import(text)
    _checked(result)
    output = yaml.safe_dump(result.data)
    assert "sk-proj" not in output
    assert "gsk_" not in output
    assert "sk-proj" not in str(result.notes)
    assert "gsk_" not in str(result.notes)
    assert result.data["providers"]["openai"]["api_key"] == "${OPENAI_API_KEY}"
    assert result.data["providers"]["groq"]["api_key"] == "${GROQ_API_KEY}"
    notes = _notes(result)
    assert "refused" in notes["model_list[0].litellm_params.api_key"]
    assert "export it as GROQ_API_KEY" in notes["model_list[1].litellm_params.api_key"]


def test_duplicate_deployments_share_one_endpoint_and_equal_ones_one_provider() -> None:
    text = """
model_list:
  - model_name: gpt-4o
    litellm_params: {model: openai/gpt-4o, api_key: os.environ/OPENAI_API_KEY}
  - model_name: default
    litellm_params: {model: openai/gpt-4o, api_key: os.environ/OPENAI_API_KEY}
  - model_name: default
    litellm_params: {model: openai/gpt-4o-mini, api_key: os.environ/OPENAI_API_KEY}
  - model_name: gpt-4o
    litellm_params: {model: openai/gpt-4o, api_key: os.environ/OPENAI_API_KEY}
  - model_name: gpt-4o-big
    litellm_params:
      model: openai/gpt-4o
      api_key: os.environ/OPENAI_API_KEY
      max_tokens: 16384
  - model_name: other-account
    litellm_params: {model: openai/gpt-4o, api_key: os.environ/OPENAI_KEY_2}
"""
    result = _import(text)
    _checked(result)
    assert list(result.data["providers"]) == ["openai", "openai-2"]
    ids = [e["id"] for e in result.data["endpoints"]]
    assert ids == ["openai.gpt-4o", "openai.gpt-4o-mini", "openai.gpt-4o-2", "openai-2.gpt-4o"]
    aliases = {name: a["endpoints"] for name, a in result.data["aliases"].items()}
    assert aliases == {
        "gpt-4o": ["openai.gpt-4o"],
        "litellm-default": ["openai.gpt-4o", "openai.gpt-4o-mini"],
        "gpt-4o-big": ["openai.gpt-4o-2"],
        "other-account": ["openai-2.gpt-4o"],
    }
    assert any("'default' is a rolecall posture id" in n.message for n in result.notes)


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("- just a list", "$"),
        ("general_settings: {}", "model_list"),
        ("model_list: []", "model_list"),
        ("model_list: [gpt-4o]", "model_list[0]"),
        ("model_list: [{litellm_params: {model: openai/x}}]", "model_list[0].model_name"),
        ("model_list: [{model_name: x}]", "model_list[0].litellm_params"),
        (
            "model_list: [{model_name: x, litellm_params: {api_base: x}}]",
            "model_list[0].litellm_params.model",
        ),
        (
            "model_list: [{model_name: x, litellm_params: {model: openai/x, api_base: ftp://h}}]",
            "model_list[0].litellm_params.api_base",
        ),
        (
            "model_list: [{model_name: x, litellm_params: {model: openai/x, api_key: 5}}]",
            "model_list[0].litellm_params.api_key",
        ),
        (
            "model_list: [{model_name: x, litellm_params: {model: openai/x, "
            "input_cost_per_token: cheap}}]",
            "model_list[0].litellm_params.input_cost_per_token",
        ),
        (
            "model_list: [{model_name: x, litellm_params: {model: openai/x}, "
            "model_info: {max_input_tokens: 0.5}}]",
            "model_list[0].model_info.max_input_tokens",
        ),
        (
            "model_list: [{model_name: x, litellm_params: {model: openai/x, "
            "api_key: os.environ/1BAD}}]",
            "model_list[0].litellm_params.api_key",
        ),
        (
            "model_list: [{model_name: x, litellm_params: {model: openai/x}}]\n"
            "router_settings: {fallbacks: {x: y}}",
            "router_settings.fallbacks",
        ),
        (
            "model_list: [{model_name: x, litellm_params: {model: openai/x}}]\nrouter_settings: 3",
            "router_settings",
        ),
    ],
)
def test_malformed_input_names_the_key_path(text: str, path: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _import(text)
    assert caught.value.path == path
    assert str(caught.value).startswith(f"config.yaml: {path}: ")
    assert "\n" not in str(caught.value)


def test_wildcards_are_left_out_with_a_note() -> None:
    result = _import(
        "model_list:\n"
        "  - {model_name: '*', litellm_params: {model: 'openai/*'}}\n"
        "  - {model_name: gpt-4o, litellm_params: {model: openai/gpt-4o}}\n"
    )
    assert "wildcard" in _notes(result)["model_list[0]"]
    assert list(result.data["aliases"]) == ["gpt-4o"]


def test_merge_keeps_the_existing_file_and_renames_what_clashes() -> None:
    existing: dict[str, Any] = {
        "providers": {
            "openai": {"kind": "openai_compatible", "base_url": "https://proxy.example/v1"},
        },
        "endpoints": [{"provider": "openai", "model": "gpt-4o"}],
        "routing": {"strategy": "cost"},
        "aliases": {"gpt-4o": {"endpoints": ["openai.gpt-4o"]}},
    }
    imported = _import(AZURE_AND_OPENAI)
    merged, notes = merge_imported(existing, imported.data)
    check_imported(merged, "rolecall.yaml")
    assert merged["routing"] == {"strategy": "cost"}
    assert merged["providers"]["openai"]["base_url"] == "https://proxy.example/v1"
    assert merged["providers"]["openai-2"]["base_url"] == "https://api.openai.com/v1"
    assert merged["aliases"]["gpt-4o"] == {"endpoints": ["openai.gpt-4o"]}  # the file's
    assert merged["aliases"]["gpt-4"]["endpoints"][-1] == "openai-2.gpt-4o"
    assert [n.path for n in notes] == ["aliases.gpt-4o"]
    # merging the same import twice adds nothing
    again, _ = merge_imported(merged, imported.data)
    assert again["providers"] == merged["providers"]
    assert again["endpoints"] == merged["endpoints"]
