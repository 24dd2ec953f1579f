"""`rolecall config import-litellm` as a real subprocess: the file it writes, its report (text and
``--json``), ``--merge``, and one error line for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from .cli_process import assert_one_error, rolecall

LITELLM = """
model_list:
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_key: sk-written-inline-0123456789
      rpm: 100
  - model_name: gpt-4o
    litellm_params:
      model: azure/gpt-4o-prod
      api_base: os.environ/AZURE_API_BASE
      api_key: os.environ/AZURE_API_KEY
  - model_name: local
    litellm_params: {model: ollama/llama3.2, api_base: "http://localhost:11434"}
general_settings:
  master_key: sk-master-0123
"""


def test_import_writes_the_inventory_and_reports_what_did_not_carry(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(LITELLM)
    result = rolecall(tmp_path, "config", "import-litellm", "config.yaml")
    assert result.returncode == 0, result.stderr
    assert "wrote rolecall.yaml: 3 providers, 3 endpoints, 2 aliases" in result.stdout
    assert "model_list[0].litellm_params.api_key: an API key written inline is refused" in (
        result.stdout
    )
    assert "model_list[0].litellm_params.rpm:" in result.stdout
    assert "general_settings.master_key:" in result.stdout
    written = (tmp_path / "rolecall.yaml").read_text()
    assert "sk-written-inline" not in written + result.stdout
    assert "sk-master" not in written + result.stdout
    data = yaml.safe_load(written)
    assert data["aliases"]["gpt-4o"]["endpoints"] == ["openai.gpt-4o", "azure.gpt-4o-prod"]
    assert data["providers"]["openai"]["api_key"] == "${OPENAI_API_KEY}"
    assert data["providers"]["azure"]["base_url"] == "${AZURE_API_BASE}/openai/v1"


def test_json_report_and_merge_into_an_existing_file(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(LITELLM)
    existing = {
        "providers": {"mine": {"kind": "openai_compatible", "base_url": "http://10.0.0.5:8000/v1"}},
        "endpoints": [{"provider": "mine", "model": "qwen", "id": "mine.qwen"}],
        "routing": {"strategy": "cost"},
    }
    (tmp_path / "rolecall.yaml").write_text(yaml.safe_dump(existing))
    result = rolecall(
        tmp_path,
        "config",
        "import-litellm",
        "config.yaml",
        "--merge",
        "rolecall.yaml",
        "--out",
        "rolecall.yaml",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["aliases"] == {
        "gpt-4o": ["openai.gpt-4o", "azure.gpt-4o-prod"],
        "local": ["ollama.llama3.2"],
    }
    paths = [w["path"] for w in report["warnings"]]
    assert "model_list[0].litellm_params.api_key" in paths
    assert "model_list[1]" not in paths
    merged = yaml.safe_load((tmp_path / "rolecall.yaml").read_text())
    assert merged["routing"] == {"strategy": "cost"}
    assert next(e["id"] for e in merged["endpoints"]) == "mine.qwen"
    assert len(merged["endpoints"]) == 4


def test_bad_input_is_one_error_line_naming_the_key(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("model_list:\n  - model_name: x\n    litellm_params: 5\n")
    result = rolecall(tmp_path, "config", "import-litellm", "config.yaml")
    assert_one_error(result, 2, "config.yaml: model_list[0].litellm_params: expected a mapping")
    (tmp_path / "config.yaml").write_text("model_list: [\n")
    assert_one_error(
        rolecall(tmp_path, "config", "import-litellm", "config.yaml"), 2, "not valid YAML"
    )
    assert_one_error(
        rolecall(tmp_path, "config", "import-litellm", "missing.yaml"),
        2,
        "missing.yaml",
        "no such file",
    )
    (tmp_path / "config.yaml").write_text(LITELLM)
    (tmp_path / "rolecall.yaml").write_text("providers: {}\n")
    assert_one_error(
        rolecall(tmp_path, "config", "import-litellm", "config.yaml"), 2, "rolecall.yaml", "--merge"
    )
    assert (tmp_path / "rolecall.yaml").read_text() == "providers: {}\n"  # not overwritten
