"""Inbound ASGI app: the OpenAI wire format, /v1 routes, streaming, admin API, auth."""
