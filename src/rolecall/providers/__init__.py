"""Outbound adapters: upstream LLM APIs, local model servers, and a scripted upstream for tests."""
