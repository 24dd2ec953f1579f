"""Entry point behind ``rolecall upstream serve``: run a scripted upstream in the foreground."""

from __future__ import annotations

import socket
from pathlib import Path

from aiohttp import web

from .script import Script, load_script
from .server import build_app

DEFAULT_SCRIPT = Script.model_validate({"models": {"scripted": {"answer": "ok"}}})


def serve(script_path: Path | None, host: str, port: int) -> None:
    """Serve the script at ``script_path`` (default: one model ``scripted`` answering ``ok``) on
    ``host:port`` until interrupted. A malformed script raises `ScriptError` before binding."""
    script = DEFAULT_SCRIPT if script_path is None else load_script(Path(script_path))
    models = ", ".join(sorted(script.models))
    # bound before the banner: a port in use is the command's error, not a line after it
    sock = socket.create_server((host, port))
    port = sock.getsockname()[1]  # the one chosen, when asked for port 0
    print(
        f"scripted upstream on http://{host}:{port}/v1 (models: {models}); Ctrl-C to stop",
        flush=True,
    )
    web.run_app(build_app(script), sock=sock, access_log=None, print=None)
