"""Benchmark services built in-process (no gateway, no separate record writer) from an inventory."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from rolecall.bootstrap import build_services
from rolecall.services import Services
from rolecall.settings import Settings


@contextmanager
def services_for(inventory: dict[str, Any], tmp_path: Path) -> Iterator[Services]:
    """The services of ``inventory`` (written to ``tmp_path``), stopped afterwards."""
    config = tmp_path / "rolecall.yaml"
    config.write_text(yaml.safe_dump(inventory))
    built = build_services(
        Settings(config=config, data_dir=tmp_path / "data", record_process=False)
    )
    try:
        yield built
    finally:
        asyncio.run(built.stop())
