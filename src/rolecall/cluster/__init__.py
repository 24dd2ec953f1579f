"""Shared live state between gateway processes: workers on one host and replicas on many.

The durable copy of every piece of shared state stays in the database; this package carries the
notices that tell other processes to re-read it (`changes`), elects the one process that runs
background work (`leader`), and opens the Redis connections both ride on (`redis`).
"""
