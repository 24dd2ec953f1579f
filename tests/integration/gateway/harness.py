"""A real rolecall gateway on loopback for tests: uvicorn in a background thread, real storage."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import yaml

from rolecall.bootstrap import build_app, build_services
from rolecall.gateway.auth import KeyChecker, create_api_key
from rolecall.gateway.server import build_server
from rolecall.services import Services
from rolecall.settings import Settings

ADMIN_TOKEN = "rca-test-admin-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def refusing_port() -> Iterator[int]:
    """A loopback port that refuses connections for as long as the block runs.

    The socket stays bound but never listens, so connects get RST and no other test
    (another xdist worker) can start a server on it meanwhile; a port that is merely
    free can be taken by one and answer.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield int(s.getsockname()[1])


class Gateway:
    def __init__(
        self,
        inventory: dict[str, Any],
        db_url: str,
        tmp_path: Path,
        *,
        extra_inventory: dict[str, Any] | None = None,
        **settings: Any,
    ) -> None:
        config = tmp_path / "rolecall.yaml"
        config.write_text(yaml.safe_dump(inventory))
        self.port = free_port()
        self.settings = Settings(
            config=config,
            data_dir=tmp_path / "data",
            database_url=db_url,
            port=self.port,
            admin_token=ADMIN_TOKEN,
            **{"cooldown_scale": 0.0005, **settings},
        )
        self.services: Services = build_services(self.settings, extra_inventory=extra_inventory)
        _, self.api_key = create_api_key(self.services.storage.keys, "tests")
        self.app = build_app(self.services)
        # the server `rolecall serve` runs, on this test's port
        self._server, self.edge = build_server(self.app, self.settings)
        self._clients: list[openai.OpenAI] = []
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def keys(self) -> KeyChecker:
        """The app's key checker (its cache of recently checked keys)."""
        return self.app.keys

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> Gateway:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("gateway did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        # close the clients handed out, so no keep-alive socket is left for the garbage
        # collector to report in whatever test happens to run then
        for client in self._clients:
            client.close()
        self._server.should_exit = True
        self._thread.join(timeout=15)

    def client(self, **kwargs: Any) -> openai.OpenAI:
        options = {"api_key": self.api_key, "max_retries": 0, **kwargs}
        client = openai.OpenAI(base_url=self.base_url, **options)
        self._clients.append(client)
        return client

    def async_client(self, **kwargs: Any) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(
            base_url=self.base_url, api_key=self.api_key, max_retries=0, **kwargs
        )

    def admin(self, path: str, method: str = "GET") -> tuple[int, Any]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            method=method,
            headers={"authorization": f"Bearer {ADMIN_TOKEN}"},
        )
        return _send(request)

    def raw(
        self, path: str, body: bytes | None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=body,
            method="POST" if body is not None else "GET",
            headers={"content-type": "application/json", **(headers or {})},
        )
        return _send(request)


def _send(request: urllib.request.Request) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        with exc:  # the error holds the response and its socket
            raw = exc.read()
        try:
            return exc.code, json.loads(raw)
        except json.JSONDecodeError:
            return exc.code, raw.decode(errors="replace")


def openai_provider(base_url: str, **extra: Any) -> dict[str, Any]:
    return {"kind": "openai_compatible", "base_url": base_url, **extra}
