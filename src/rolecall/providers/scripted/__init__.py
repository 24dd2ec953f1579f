"""A scripted upstream: a real HTTP server speaking the OpenAI chat-completions and Anthropic
Messages formats, whose answers, latency, token rate and failures follow a `Script`.

Used by the gateway's fault-injection tests and load benchmarks (fakes over mocks, real HTTP)::

    handle = ScriptedUpstream.start_in_thread({"models": {"m": {"answer": "hi", "latency_ms": 5}}})
    client = openai.OpenAI(base_url=handle.base_url, api_key="x")
    ...
    handle.stop()
"""

from __future__ import annotations

from .runner import ScriptedUpstream, UpstreamHandle
from .script import Failure, ModelScript, Rule, Script, ScriptError, load_script
from .server import build_app

__all__ = [
    "Failure",
    "ModelScript",
    "Rule",
    "Script",
    "ScriptError",
    "ScriptedUpstream",
    "UpstreamHandle",
    "build_app",
    "load_script",
]
