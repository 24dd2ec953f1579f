"""A minimal, fast OpenAI-compatible chat-completions responder for gateway benchmarks.

Answers ``POST /v1/chat/completions`` with a fixed "ok" completion, as JSON or as an SSE stream
(``"stream": true``), and ``GET /v1/models``. Responses are pre-encoded per model so the upstream
costs as little as possible next to the gateway being measured. Listens on 127.0.0.1 only.

Run: python bench/gateway/fast_upstream.py --port 8089
"""

from __future__ import annotations

import argparse
import asyncio
import time

import orjson
from aiohttp import web

ANSWER = "ok"
CREATED = int(time.time())
_JSON: dict[str, bytes] = {}
_SSE: dict[tuple[str, bool], bytes] = {}


def _usage() -> dict[str, int]:
    return {"prompt_tokens": 8, "completion_tokens": 1, "total_tokens": 9}


def completion_bytes(model: str) -> bytes:
    if model not in _JSON:
        body = {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": CREATED,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": ANSWER},
                    "finish_reason": "stop",
                }
            ],
            "usage": _usage(),
        }
        _JSON[model] = orjson.dumps(body)
    return _JSON[model]


def _chunk(model: str, delta: dict[str, str], finish: str | None) -> dict[str, object]:
    return {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def stream_bytes(model: str, include_usage: bool) -> bytes:
    key = (model, include_usage)
    if key not in _SSE:
        events: list[dict[str, object]] = [
            _chunk(model, {"role": "assistant", "content": ""}, None),
            _chunk(model, {"content": ANSWER}, None),
            _chunk(model, {}, "stop"),
        ]
        if include_usage:
            events.append({**_chunk(model, {}, None), "choices": [], "usage": _usage()})
        parts = [b"data: " + orjson.dumps(e) + b"\n\n" for e in events]
        _SSE[key] = b"".join(parts) + b"data: [DONE]\n\n"
    return _SSE[key]


async def chat(request: web.Request) -> web.StreamResponse:
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        return web.Response(status=400, body=b'{"error":{"message":"bad json"}}')
    model = str(body.get("model") or "fake-model")
    if not body.get("stream"):
        return web.Response(body=completion_bytes(model), content_type="application/json")
    options = body.get("stream_options") or {}
    payload = stream_bytes(model, bool(options.get("include_usage")))
    response = web.StreamResponse(headers={"content-type": "text/event-stream"})
    await response.prepare(request)
    await response.write(payload)
    await response.write_eof()
    return response


async def models(request: web.Request) -> web.Response:
    body = {
        "object": "list",
        "data": [{"id": "fake-model", "object": "model", "owned_by": "bench"}],
    }
    return web.Response(body=orjson.dumps(body), content_type="application/json")


def build_app() -> web.Application:
    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_get("/v1/models", models)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:  # plain asyncio still works, just slower
        pass
    web.run_app(build_app(), host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
