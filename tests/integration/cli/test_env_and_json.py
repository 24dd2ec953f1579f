"""``.env`` in the working directory feeds the settings and the inventory's ``${VAR}`` references
(the environment wins), and every listing command speaks JSON with ``--json``. Real `rolecall`
processes."""

from __future__ import annotations

import json
from pathlib import Path

from rolecall.providers.scripted import ScriptedUpstream
from tests.integration.cli.cli_process import environment, rolecall

REMOTE_INVENTORY = """\
providers:
  remote:
    kind: openai_compatible
    base_url: ${REMOTE_URL:-https://api.example.com/v1}
    api_key: ${ROLECALL_TEST_REMOTE_KEY}
endpoints:
  - provider: remote
    model: ${ROLECALL_TEST_MODEL:-gpt-4o-mini}
"""


def _listed(tmp_path: Path, env: dict[str, str]) -> dict[str, object]:
    result = rolecall(tmp_path, "endpoints", "list", "--json", env=env)
    assert result.returncode == 0, result.stderr
    listed: dict[str, object] = json.loads(result.stdout)
    return listed


def test_dotenv_feeds_inventory_references_and_the_environment_wins(tmp_path: Path) -> None:
    (tmp_path / "rolecall.yaml").write_text(REMOTE_INVENTORY)
    env = environment(tmp_path)
    before = _listed(tmp_path, env)
    assert before["problems"] == [
        "providers.remote.api_key: ${ROLECALL_TEST_REMOTE_KEY} is not set (requests go without "
        "a key); export ROLECALL_TEST_REMOTE_KEY or add it to .env"
    ]
    (tmp_path / ".env").write_text(
        "ROLECALL_TEST_REMOTE_KEY=sk-from-dotenv\nROLECALL_TEST_MODEL=from-dotenv\n"
    )
    after = _listed(tmp_path, env)
    assert after["problems"] == []
    assert [e["model"] for e in after["endpoints"]] == ["from-dotenv"]  # type: ignore[attr-defined]
    explicit = _listed(tmp_path, {**env, "ROLECALL_TEST_MODEL": "from-environment"})
    assert [e["model"] for e in explicit["endpoints"]] == ["from-environment"]  # type: ignore[attr-defined]


def test_dotenv_feeds_settings_and_the_environment_wins(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("ROLECALL_DATA_DIR=from-dotenv\n")
    env = environment(tmp_path)
    del env["ROLECALL_DATA_DIR"]
    created = rolecall(tmp_path, "keys", "create", "a", env=env)
    assert created.returncode == 0, created.stderr
    assert (tmp_path / "from-dotenv" / "rolecall.db").exists()
    env["ROLECALL_DATA_DIR"] = str(tmp_path / "from-environment")
    created = rolecall(tmp_path, "keys", "create", "b", env=env)
    assert created.returncode == 0, created.stderr
    assert (tmp_path / "from-environment" / "rolecall.db").exists()
    # a bad value in .env is reported like one from the environment
    (tmp_path / ".env").write_text("ROLECALL_PORT=abc\n")
    result = rolecall(tmp_path, "keys", "list", env=env)
    assert result.returncode == 2
    assert "ROLECALL_PORT='abc'" in result.stderr


def test_keys_list_and_usage_as_json(tmp_path: Path) -> None:
    created = rolecall(tmp_path, "keys", "create", "ci", "--team", "eng", "--rpm", "60")
    assert created.returncode == 0, created.stderr
    key_id = created.stderr.split()[1]
    listed = rolecall(tmp_path, "keys", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    (key,) = json.loads(listed.stdout)["keys"]
    assert (key["key_id"], key["name"], key["team"], key["state"]) == (
        key_id,
        "ci",
        "eng",
        "active",
    )
    assert key["limits"] == {"rpm": 60}
    assert created.stdout.strip().startswith(key["prefix"])
    usage = rolecall(tmp_path, "keys", "usage", "--json")
    assert usage.returncode == 0, usage.stderr
    assert json.loads(usage.stdout)["keys"] == []  # no requests yet


def test_lab_routers_and_endpoints_discover_as_json(tmp_path: Path) -> None:
    routers = rolecall(tmp_path, "lab", "routers", "--json")
    assert routers.returncode == 0, routers.stderr
    rows = json.loads(routers.stdout)["routers"]
    plain = rolecall(tmp_path, "lab", "routers").stdout
    assert [r["router"] for r in rows] == [line.split()[0] for line in plain.splitlines()]
    assert any(r["deployable"] for r in rows)
    script = {"models": {"alpha": {"answer": "a"}, "beta": {"answer": "b"}}}
    with ScriptedUpstream.start_in_thread(script) as upstream:
        found = rolecall(tmp_path, "endpoints", "discover", upstream.base_url, "--add", "--json")
    assert found.returncode == 0, found.stderr
    result = json.loads(found.stdout)
    assert result["models"] == ["alpha", "beta"]
    assert result["added"] == {
        "provider": "openai-compat",
        "endpoints": 2,
        "config": "rolecall.yaml",
    }
    listed = _listed(tmp_path, environment(tmp_path))
    assert [e["endpoint_id"] for e in listed["endpoints"]] == [  # type: ignore[attr-defined]
        "openai-compat.alpha",
        "openai-compat.beta",
    ]
