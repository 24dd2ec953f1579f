"""Helpers for bench/gateway_overhead.py: a fast fake upstream, load generators, process handling."""
