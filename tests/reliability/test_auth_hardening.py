"""Authentication under revocation by another process, a random-key flood and a database outage."""

from __future__ import annotations

import http.client
import json
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from rolecall.gateway.auth import create_api_key
from rolecall.providers.scripted import ScriptedUpstream
from rolecall.storage import open_storage
from tests.integration.gateway.harness import ADMIN_TOKEN, Gateway
from tests.reliability.conftest import single_endpoint
from tests.reliability.tcp_proxy import TcpProxy

CHAT = json.dumps({"model": "default", "messages": [{"role": "user", "content": "hi"}]})


def _chat(gw: Gateway, key: str, source: str = "127.0.0.1") -> tuple[int, dict[str, str]]:
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=10, source_address=(source, 0))
    try:
        headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}
        conn.request("POST", "/v1/chat/completions", CHAT, headers)
        response = conn.getresponse()
        response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}
    finally:
        conn.close()


def _seconds_until(condition: Callable[[], bool], limit_s: float = 5.0) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > limit_s:
            return float("inf")
        time.sleep(0.1)  # slowly enough that the polls' own 401s stay under the failure limit
    return time.monotonic() - started


def test_key_created_and_revoked_elsewhere_counts_within_a_second(
    gateway: Gateway, db_url: str
) -> None:
    other = open_storage(db_url)  # another process's connection to the same database
    try:
        record, key = create_api_key(other.keys, "made elsewhere")
        assert _seconds_until(lambda: _chat(gateway, key)[0] == 200) < 1.0
        other.keys.revoke(record.key_id)
        assert _seconds_until(lambda: _chat(gateway, key)[0] == 401) < 1.0
    finally:
        other.close()
    assert _chat(gateway, gateway.api_key)[0] == 200


def test_revoked_by_the_cli_is_refused_within_a_second(gateway: Gateway, db_url: str) -> None:
    record, key = create_api_key(gateway.services.storage.keys, "to revoke")
    gateway.keys.refresh()
    assert _chat(gateway, key)[0] == 200
    env = {**os.environ, "ROLECALL_DATABASE_URL": db_url}
    subprocess.run(
        [sys.executable, "-m", "rolecall", "keys", "revoke", record.key_id],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    assert _seconds_until(lambda: _chat(gateway, key)[0] == 401) < 1.0


def test_random_key_flood_is_limited_and_legit_traffic_served(gateway: Gateway) -> None:
    limit = gateway.settings.auth_failure_limit
    flood_statuses: list[int] = []
    retry_after: set[str] = set()

    def flood(part: int) -> None:
        conn = http.client.HTTPConnection(
            "127.0.0.1", gateway.port, source_address=("127.0.0.3", 0)
        )
        for _ in range(500):
            headers = {"authorization": f"Bearer rc-{secrets.token_urlsafe(32)}"}
            conn.request("POST", "/v1/chat/completions", CHAT, headers)
            response = conn.getresponse()
            response.read()
            flood_statuses.append(response.status)
            retry_after.add(response.getheader("retry-after") or "")
        conn.close()

    threads = [threading.Thread(target=flood, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    legit = [_chat(gateway, gateway.api_key)[0] for _ in range(40)]
    for thread in threads:
        thread.join()
    assert legit == [200] * 40
    assert len(flood_statuses) == 2000
    assert flood_statuses.count(401) >= limit  # a window may end during the flood: more 401s
    assert flood_statuses.count(429) >= 2000 - 3 * limit
    assert set(flood_statuses) == {401, 429}
    waits = retry_after - {""}
    assert waits
    assert all(int(s) >= 1 for s in waits)
    # the same address: a wrong admin token counts too, while a valid key is still accepted
    conn = http.client.HTTPConnection("127.0.0.1", gateway.port, source_address=("127.0.0.3", 0))
    conn.request("GET", "/api/endpoints", headers={"authorization": "Bearer rca-wrong"})
    response = conn.getresponse()
    assert response.status == 429
    assert json.loads(response.read())["error"]["code"] == "rate_limit_exceeded"
    conn.close()
    assert _chat(gateway, gateway.api_key, source="127.0.0.3")[0] == 200
    assert gateway.admin("/api/endpoints")[0] == 200  # another address is not limited


def test_admin_token_failures_are_rate_limited(gateway: Gateway) -> None:
    statuses = []
    for _ in range(gateway.settings.auth_failure_limit + 5):
        conn = http.client.HTTPConnection(
            "127.0.0.1", gateway.port, source_address=("127.0.0.4", 0)
        )
        conn.request("GET", "/api/endpoints", headers={"authorization": "Bearer rca-guess"})
        statuses.append(conn.getresponse().status)
        conn.close()
    assert statuses == [401] * gateway.settings.auth_failure_limit + [429] * 5
    conn = http.client.HTTPConnection("127.0.0.1", gateway.port, source_address=("127.0.0.4", 0))
    conn.request("GET", "/api/endpoints", headers={"authorization": f"Bearer {ADMIN_TOKEN}"})
    assert conn.getresponse().status == 200  # the right token is never refused
    conn.close()


def test_database_outage_keeps_valid_keys_working(pg_url: str, tmp_path: Path) -> None:
    upstream = ScriptedUpstream.start_in_thread({"models": {"m": {"answer": "ok"}}})
    proxy = TcpProxy().start()
    proxied = pg_url.replace(":5432/", f":{proxy.port}/")
    assert proxied != pg_url
    try:
        with Gateway(single_endpoint(upstream.base_url), proxied, tmp_path) as gw:
            assert _chat(gw, gw.api_key)[0] == 200
            proxy.cut()
            time.sleep(1.0)  # the key checker has tried (and failed) to read the keys
            unknown = f"rc-{secrets.token_urlsafe(32)}"
            for _ in range(5):
                assert _chat(gw, gw.api_key)[0] == 200
                assert _chat(gw, unknown)[0] == 401
            proxy.restore()
            direct = open_storage(pg_url)
            try:
                _, key = create_api_key(direct.keys, "after the outage")
            finally:
                direct.close()
            assert _seconds_until(lambda: _chat(gw, key)[0] == 200) < 3.0
    finally:
        proxy.stop()
        upstream.stop()
