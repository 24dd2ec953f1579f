"""Observation: traces, usage events, live samples, and the analytics built on them."""
