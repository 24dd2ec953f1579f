"""Running the scripted upstream: `ScriptedUpstream` (async context manager on the caller's loop)
and `UpstreamHandle` (the server on its own event-loop thread, for synchronous tests and SDKs).

Both listen on 127.0.0.1, port 0 by default (a free port the OS picks), without an access log,
and stop quickly: requests still in flight (a scripted hang, say) get ``SHUTDOWN_TIMEOUT_S``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from aiohttp import web

from .script import Script, load_script
from .server import STATE, build_app

SHUTDOWN_TIMEOUT_S = 0.2
START_TIMEOUT_S = 10.0
ScriptSource = Script | Mapping[str, Any] | Path | str
T = TypeVar("T")


class ScriptedUpstream:
    """``async with ScriptedUpstream(script) as upstream:`` serves until the block ends."""

    def __init__(self, script: ScriptSource, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = build_app(load_script(script))
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    @property
    def root_url(self) -> str:
        """``http://host:port`` (control routes live here: ``/_script``, ``/_stats``, ``/health``)."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """``http://host:port/v1``: what an OpenAI or Anthropic client takes as its base URL."""
        return f"{self.root_url}/v1"

    async def start(self) -> None:
        runner = web.AppRunner(
            self.app, access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_TIMEOUT_S
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self._runner = runner
        self.port = int(runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> ScriptedUpstream:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    def set_script(self, script: ScriptSource) -> None:
        """Play ``script`` from now on (call on the server's loop; handles do that for you)."""
        self.app[STATE].replace(load_script(script))

    def stats(self) -> dict[str, Any]:
        return self.app[STATE].stats()

    def reset(self) -> None:
        self.app[STATE].reset()

    @classmethod
    def start_in_thread(
        cls, script: ScriptSource, host: str = "127.0.0.1", port: int = 0
    ) -> UpstreamHandle:
        """Start a server on its own event-loop thread; returns once it accepts connections."""
        return UpstreamHandle(cls(script, host, port))


class UpstreamHandle:
    """A `ScriptedUpstream` running on a daemon thread; every method is safe from any thread."""

    def __init__(self, upstream: ScriptedUpstream) -> None:
        self.upstream = upstream
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="scripted-upstream", daemon=True
        )
        self._thread.start()
        try:
            self._call(upstream.start())
        except BaseException:
            self._shutdown_loop()
            raise

    @property
    def base_url(self) -> str:
        return self.upstream.base_url

    @property
    def root_url(self) -> str:
        return self.upstream.root_url

    @property
    def port(self) -> int:
        return self.upstream.port

    def set_script(self, script: ScriptSource) -> None:
        """Validate ``script`` here (a `ScriptError` raises in the caller), then play it."""
        parsed = load_script(script)
        self._call(_run(lambda: self.upstream.set_script(parsed)))

    def stats(self) -> dict[str, Any]:
        return self._call(_run(self.upstream.stats))

    def reset(self) -> None:
        self._call(_run(self.upstream.reset))

    def stop(self) -> None:
        """Stop the server and its thread (idempotent)."""
        if not self._loop.is_closed():
            try:
                self._call(self.upstream.stop())
            finally:
                self._shutdown_loop()

    def __enter__(self) -> UpstreamHandle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(START_TIMEOUT_S)

    def _shutdown_loop(self) -> None:
        if self._thread.is_alive():
            self._call(_cancel_pending())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=START_TIMEOUT_S)
        self._loop.close()


async def _run(function: Callable[[], T]) -> T:
    """Run a plain callable on the server's loop (state is only touched from there)."""
    return function()


async def _cancel_pending() -> None:
    """Cancel what is left on the loop (handlers past the shutdown timeout) and let it unwind."""
    current = asyncio.current_task()
    tasks = [task for task in asyncio.all_tasks() if task is not current]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
