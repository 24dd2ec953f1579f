"""The floor for a Python gateway on this machine: uvicorn + one pooled aiohttp client, nothing else.

A raw ASGI app that relays ``POST /v1/chat/completions`` bodies to the upstream unchanged (SSE
streams chunk by chunk) — no parsing, routing, auth or records. It is the "lean pass-through" of
shared/spec/gateway-anchor.md, measured in the same run as rolecall so rolecall's added latency can
be read against what any Python gateway on the same server stack costs here.

Run: python bench/gateway/lean_passthrough.py --port 8090 --upstream http://127.0.0.1:8089
"""

from __future__ import annotations

import argparse
from typing import Any

import aiohttp
import uvicorn

Scope = dict[str, Any]


class Passthrough:
    def __init__(self, upstream: str) -> None:
        self.url = upstream.rstrip("/") + "/v1/chat/completions"
        self.session: aiohttp.ClientSession | None = None

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._relay(receive, send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.session = aiohttp.ClientSession()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.session is not None:
                    await self.session.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _relay(self, receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        assert self.session is not None
        headers = {"content-type": "application/json"}
        async with self.session.post(self.url, data=body, headers=headers) as upstream:
            kind = upstream.headers.get("content-type", "application/json").encode()
            if kind.startswith(b"text/event-stream"):
                await send(
                    {
                        "type": "http.response.start",
                        "status": upstream.status,
                        "headers": [(b"content-type", kind)],
                    }
                )
                async for chunk in upstream.content.iter_any():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b""})
                return
            data = await upstream.read()
        start_headers = [(b"content-type", kind), (b"content-length", str(len(data)).encode())]
        await send(
            {"type": "http.response.start", "status": upstream.status, "headers": start_headers}
        )
        await send({"type": "http.response.body", "body": data})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="base URL of the upstream")
    args = parser.parse_args()
    uvicorn.run(
        Passthrough(args.upstream),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        server_header=False,
    )


if __name__ == "__main__":
    main()
