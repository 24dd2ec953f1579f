"""Starlette responses of the admin, console and discovery routes (JSON bodies encoded by orjson)."""

from __future__ import annotations

from starlette.responses import Response


def json_response(
    body: bytes, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(body, status_code=status, media_type="application/json", headers=headers)
