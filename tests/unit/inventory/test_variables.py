"""``${VAR}`` and ``${VAR:-default}`` in rolecall.yaml: expanded after parsing in every string
value; an unset variable is a warning naming the key path, and an error for a remote provider's
key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rolecall.errors import ConfigError
from rolecall.inventory.config import load_inventory_file, parse_inventory
from rolecall.inventory.load import check_provider_keys, configured_inventory
from rolecall.inventory.variables import UnsetVariable, expand_variables


def _expand(data: Any, **environ: str) -> tuple[Any, tuple[UnsetVariable, ...]]:
    return expand_variables(data, environ, "rolecall.yaml")


@pytest.mark.parametrize(
    ("text", "environ", "expected"),
    [
        ("${HOST}", {"HOST": "gpu-box"}, "gpu-box"),
        ("http://${HOST}:${PORT}/v1", {"HOST": "h", "PORT": "8000"}, "http://h:8000/v1"),
        ("${PORT:-8000}", {}, "8000"),
        ("${PORT:-8000}", {"PORT": ""}, "8000"),  # empty counts as unset for a default
        ("${PORT:-8000}", {"PORT": "9"}, "9"),
        ("${A:-${B:-deep}}", {}, "deep"),
        ("${A:-${B:-deep}}", {"B": "b"}, "b"),
        ("${A:-x-${B}-y}", {"B": "b"}, "x-b-y"),
        ("${EMPTY:-}", {}, ""),
        ("price $5 and $${LITERAL}", {}, "price $5 and ${LITERAL}"),
        ("no references", {}, "no references"),
    ],
)
def test_expansion(text: str, environ: dict[str, str], expected: str) -> None:
    assert _expand({"routing": {"strategy": text}}, **environ) == (
        {"routing": {"strategy": expected}},
        (),
    )


def test_every_string_value_at_any_depth_and_nothing_else() -> None:
    data = {
        "endpoints": [{"provider": "p", "model": "${MODEL}", "context_window": 4096}],
        "catalog_overrides": {"${KEY}": {"input_per_1m": "${PRICE:-0.5}"}},
        "routing": {"policy": {"deny": ["${A}", "b"]}},
    }
    expanded, unset = _expand(data, MODEL="qwen", A="a")
    assert expanded == {
        "endpoints": [{"provider": "p", "model": "qwen", "context_window": 4096}],
        "catalog_overrides": {"${KEY}": {"input_per_1m": "0.5"}},  # keys stay as written
        "routing": {"policy": {"deny": ["a", "b"]}},
    }
    assert unset == ()


def test_unset_variables_are_reported_with_their_key_path() -> None:
    data = {"endpoints": [{"model": "${MODEL}"}, {"model": "x-${OTHER}"}]}
    expanded, unset = _expand(data)
    assert expanded == {"endpoints": [{"model": ""}, {"model": "x-"}]}
    assert unset == (
        UnsetVariable("endpoints[0].model", "MODEL"),
        UnsetVariable("endpoints[1].model", "OTHER"),
    )
    assert "endpoints[0].model: ${MODEL} is not set" in str(unset[0])
    assert "export MODEL or add it to .env" in str(unset[0])


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("${1BAD}", "expected a variable name"),
        ("${NAME", "expected '}' or ':-'"),
        ("${NAME:-default", "no closing '}'"),
        ("${}", "expected a variable name"),
    ],
)
def test_a_malformed_reference_names_the_key(text: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        _expand({"endpoints": [{"model": text}]})
    assert info.value.path == "endpoints[0].model"
    assert fragment in info.value.message
    assert "${NAME:-default}" in info.value.message  # the fix


def _inventory(provider: dict[str, Any]) -> dict[str, Any]:
    return {"providers": {"p": provider}, "endpoints": [{"provider": "p", "model": "m"}]}


REMOTE = {"kind": "openai_compatible", "base_url": "https://api.example.com/v1"}
LOCAL = {"kind": "llamacpp", "base_url": "http://127.0.0.1:8081/v1"}


def test_api_key_keeps_its_reference_and_the_key_is_never_in_the_config() -> None:
    config = parse_inventory(
        _inventory({**REMOTE, "api_key": "${P_KEY}"}), environ={"P_KEY": "sk-secret"}
    )
    assert config.providers["p"].api_key == "${P_KEY}"
    assert "sk-secret" not in config.model_dump_json()
    assert config.unset_variables == ()


def test_typed_values_come_from_variables() -> None:
    provider = {**REMOTE, "base_url": "${URL:-https://api.example.com/v1}", "timeout_s": "${T}"}
    config = parse_inventory(_inventory(provider), environ={"T": "45"})
    assert config.providers["p"].base_url == "https://api.example.com/v1"
    assert config.providers["p"].timeout_s == 45.0


def test_a_bad_value_from_an_unset_variable_says_so() -> None:
    with pytest.raises(ConfigError) as info:
        parse_inventory(_inventory({**REMOTE, "base_url": "${GPU_URL}"}), environ={})
    assert info.value.path == "providers.p.base_url"
    assert "${GPU_URL} is not set" in info.value.message


def test_unset_key_of_a_remote_provider_is_an_error_at_start() -> None:
    config = parse_inventory(_inventory({**REMOTE, "api_key": "${P_KEY}"}), environ={})
    assert config.unset_variables == (UnsetVariable("providers.p.api_key", "P_KEY"),)
    inventory = configured_inventory(config)
    with pytest.raises(ConfigError) as info:
        check_provider_keys(config, inventory, "rolecall.yaml")
    assert info.value.path == "providers.p.api_key"
    assert "${P_KEY} is not set" in info.value.message
    assert "export P_KEY" in info.value.message


@pytest.mark.parametrize(
    "data",
    [
        _inventory({**LOCAL, "api_key": "${P_KEY}"}),  # a local server needs no key
        _inventory({**REMOTE, "local": True, "api_key": "${P_KEY}"}),  # declared local
        {  # a disabled endpoint sends nothing
            "providers": {"p": {**REMOTE, "api_key": "${P_KEY}"}},
            "endpoints": [{"provider": "p", "model": "m", "enabled": False}],
        },
    ],
)
def test_unset_key_elsewhere_is_a_warning(data: dict[str, Any]) -> None:
    config = parse_inventory(data, environ={})
    inventory = configured_inventory(config)
    check_provider_keys(config, inventory, "rolecall.yaml")
    assert any(
        p.startswith("providers.p.api_key: ${P_KEY} is not set (requests go without a key)")
        for p in inventory.problems
    ), inventory.problems


def test_references_in_a_file_need_no_quoting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "rolecall.yaml"
    path.write_text(
        "providers:\n"
        "  gpu:\n"
        "    kind: openai_compatible\n"
        "    base_url: http://${GPU_HOST}:${GPU_PORT:-8000}/v1\n"
        "    api_key: ${GPU_KEY}\n"
        "endpoints:\n"
        "  - provider: gpu\n"
        "    model: ${GPU_MODEL:-qwen}\n"
    )
    monkeypatch.setenv("GPU_HOST", "gpu-box")
    monkeypatch.setenv("GPU_KEY", "sk-gpu")
    config = load_inventory_file(path)
    assert config.providers["gpu"].base_url == "http://gpu-box:8000/v1"
    assert config.endpoints[0].model == "qwen"
    assert config.unset_variables == ()
