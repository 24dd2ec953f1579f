"""Adding endpoints at run time (`rolecall.operator.endpoints`) against a scripted upstream on
loopback: discovery, the inventory file, and the routing view the next request takes."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from rolecall.errors import ConfigError
from rolecall.execution.cooldown import CooldownBook
from rolecall.execution.state import RoutingState
from rolecall.inventory.config import load_inventory_file
from rolecall.inventory.load import configured_inventory
from rolecall.operator.endpoints import add_endpoints, check_provider_name, check_url
from rolecall.operator.posture import Posture, current_posture, with_posture
from rolecall.providers.scripted import ScriptedUpstream, UpstreamHandle

EXISTING: dict[str, Any] = {
    "providers": {
        "cloud": {"kind": "openai_compatible", "base_url": "http://127.0.0.1:9/v1", "local": False}
    },
    "endpoints": [{"provider": "cloud", "model": "large", "id": "cloud-large"}],
}


@pytest.fixture
def upstream() -> Iterator[UpstreamHandle]:
    handle = ScriptedUpstream.start_in_thread({"models": {"m1": {}, "m2": {}}})
    yield handle
    handle.stop()


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    path = tmp_path / "rolecall.yaml"
    path.write_text(yaml.safe_dump(EXISTING))
    return path


@pytest.fixture
def routing(config_path: Path) -> RoutingState:
    return RoutingState(configured_inventory(load_inventory_file(config_path)), CooldownBook())


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port  # nothing listens there once the socket is closed


@pytest.mark.parametrize("name", ["", "has space", "dots.too", "slash/", None, 7, ["lab"]])
def test_a_bad_provider_name_names_the_field(name: object) -> None:
    with pytest.raises(ConfigError) as info:
        check_provider_name(name)
    assert (info.value.source, info.value.path) == ("endpoints", "provider")


@pytest.mark.parametrize("name", ["lab", "Lab_2", "my-box"])
def test_a_good_provider_name_is_returned(name: str) -> None:
    assert check_provider_name(name) == name


@pytest.mark.parametrize("url", ["", None, 8080, {"url": "x"}])
def test_a_missing_url_names_the_field(url: object) -> None:
    with pytest.raises(ConfigError) as info:
        check_url(url)
    assert (info.value.source, info.value.path) == ("endpoints", "url")
    assert "http://127.0.0.1:8080" in info.value.message


def test_discovered_models_reach_the_file_and_a_new_routing_view(
    upstream: UpstreamHandle, config_path: Path, routing: RoutingState
) -> None:
    before = routing.view
    added = add_endpoints(routing, config_path, upstream.root_url, "lab")
    assert added.added == 2
    assert added.endpoints == ["lab.m1", "lab.m2"]
    # the file: the provider with the discovered /v1 base and its endpoints, the rest kept
    data = yaml.safe_load(config_path.read_text())
    assert data["providers"]["lab"] == {
        "kind": "openai_compatible",
        "base_url": upstream.base_url,
        "local": True,
    }
    assert data["providers"]["cloud"] == EXISTING["providers"]["cloud"]
    assert data["endpoints"][1:] == [
        {"provider": "lab", "model": "m1"},
        {"provider": "lab", "model": "m2"},
    ]
    # the routing view: published once, the old one left as it was
    view = routing.view
    assert view.version == before.version + 1
    assert set(before.inventory.endpoints) == {"cloud-large"}
    assert set(view.inventory.endpoints) == {"cloud-large", "lab.m1", "lab.m2"}
    assert view.inventory.endpoints["lab.m1"].is_local
    assert {c.endpoint_id for c in routing.candidates(0)} == {"cloud-large", "lab.m1", "lab.m2"}


def test_adding_the_same_server_again_adds_nothing(
    upstream: UpstreamHandle, config_path: Path, routing: RoutingState
) -> None:
    add_endpoints(routing, config_path, upstream.base_url, "lab")
    text = config_path.read_text()
    endpoints = dict(routing.inventory.endpoints)
    again = add_endpoints(routing, config_path, upstream.base_url, "lab")
    assert again.added == 0
    assert again.endpoints == []
    assert config_path.read_text() == text
    assert dict(routing.inventory.endpoints) == endpoints


def test_an_operator_posture_survives_adding_endpoints(
    upstream: UpstreamHandle, config_path: Path, routing: RoutingState
) -> None:
    posture = Posture("cost", "local_only", "local")
    routing.update(lambda inv: with_posture(inv, inv.policy, posture))
    add_endpoints(routing, config_path, upstream.root_url, "lab")
    assert current_posture(routing.inventory) == posture
    assert "lab.m1" in routing.inventory.endpoints


def test_an_unreachable_url_raises_and_changes_nothing(
    config_path: Path, routing: RoutingState
) -> None:
    before = routing.view
    text = config_path.read_text()
    url = f"http://127.0.0.1:{closed_port()}"
    with pytest.raises(ConfigError) as info:
        add_endpoints(routing, config_path, url, "lab")
    assert info.value.source == "discover"
    assert info.value.path == url
    assert "no OpenAI-compatible or Ollama server answered" in info.value.message
    assert routing.view is before
    assert config_path.read_text() == text


@pytest.mark.parametrize(
    ("url", "provider", "path"),
    [
        ("ftp://127.0.0.1:21", "lab", "ftp://127.0.0.1:21"),
        ("", "lab", "url"),
        ("http://127.0.0.1:9", "bad name", "provider"),
    ],
)
def test_bad_input_raises_before_anything_changes(
    config_path: Path, routing: RoutingState, url: str, provider: str, path: str
) -> None:
    before = routing.view
    text = config_path.read_text()
    with pytest.raises(ConfigError) as info:
        add_endpoints(routing, config_path, url, provider)
    assert info.value.path == path
    assert routing.view is before
    assert config_path.read_text() == text


def test_a_provider_name_taken_by_another_server_is_refused(
    upstream: UpstreamHandle, config_path: Path, routing: RoutingState
) -> None:
    before = routing.view
    with pytest.raises(ConfigError) as info:
        add_endpoints(routing, config_path, upstream.root_url, "cloud")
    assert info.value.path == "providers.cloud"
    assert "another base_url" in info.value.message
    assert routing.view is before
    assert yaml.safe_load(config_path.read_text()) == EXISTING
