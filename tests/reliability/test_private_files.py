"""What rolecall keeps on disk is readable by its own user only, whatever the umask: the data
directory 0700; the SQLite database (and its log), the admin token, the default key and the
operator's overrides 0600."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from rolecall.bootstrap import build_services
from rolecall.files import private_dir, private_file, write_private
from rolecall.gateway.auth import ensure_default_key
from rolecall.settings import Settings

INVENTORY = {
    "providers": {"up": {"kind": "openai_compatible", "base_url": "http://127.0.0.1:9/v1"}},
    "endpoints": [{"provider": "up", "model": "m", "id": "ep"}],
}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    previous = os.umask(0o022)  # the usual default: files 0644, directories 0755
    yield
    os.umask(previous)


@pytest.mark.usefixtures("open_umask")
def test_the_data_directory_and_its_files_are_private(tmp_path: Path) -> None:
    config = tmp_path / "rolecall.yaml"
    config.write_text(yaml.safe_dump(INVENTORY))
    data = tmp_path / "data"
    services = build_services(Settings(config=config, data_dir=data, record_process=False))
    try:
        key = ensure_default_key(services.storage.keys, data)
        assert key.startswith("rc-")
        services.operator.set_posture({"strategy": "cost"})
        services.storage.samples.delete()  # a write: the log exists now
    finally:
        services.writer.close()
        services.storage.close()
    assert mode(data) == 0o700
    for name in ("rolecall.db", "admin_token", "api_key"):  # the overrides are in the database
        assert mode(data / name) == 0o600, name
    for log in data.glob("rolecall.db-*"):
        assert mode(log) == 0o600, log.name


@pytest.mark.usefixtures("open_umask")
def test_the_helpers_tighten_what_exists(tmp_path: Path) -> None:
    loose_dir = tmp_path / "loose"
    loose_dir.mkdir(mode=0o755)
    loose_file = loose_dir / "f"
    loose_file.write_text("x")
    os.chmod(loose_file, 0o644)
    assert mode(private_dir(loose_dir)) == 0o700
    assert mode(private_file(loose_file)) == 0o600
    assert loose_file.read_text() == "x"  # made private, not emptied
    target = loose_dir / "g.json"
    write_private(target, "{}")
    assert (mode(target), target.read_text()) == (0o600, "{}")
    assert sorted(p.name for p in loose_dir.iterdir()) == ["f", "g.json"]  # no temporary left
