"""SQLite specifics: connection settings, directory creation and concurrent writers."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import text

from rolecall.storage import open_storage
from tests.integration.storage.builders import NOW_MS, sample


def test_sqlite_connection_settings_and_parent_directory(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "rolecall.db"
    storage = open_storage(f"sqlite:///{path}")
    try:
        with storage.engine.connect() as connection:
            pragma = connection.exec_driver_sql
            assert pragma("PRAGMA journal_mode").scalar() == "wal"
            assert pragma("PRAGMA foreign_keys").scalar() == 1
            assert pragma("PRAGMA busy_timeout").scalar() == 5000
            assert connection.execute(text("SELECT 1")).scalar() == 1
        assert path.is_file()
    finally:
        storage.close()


def test_in_memory_database_is_shared_across_threads() -> None:
    storage = open_storage("sqlite://")
    try:
        worker = threading.Thread(target=storage.samples.add, args=([sample("e1")],))
        worker.start()
        worker.join()
        assert len(storage.samples.for_endpoint("e1")) == 1
    finally:
        storage.close()


def test_four_threads_write_samples_concurrently(tmp_path: Path) -> None:
    storage = open_storage(f"sqlite:///{tmp_path / 'rolecall.db'}")
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def write(thread: int) -> None:
        start.wait()
        try:
            for batch in range(25):
                at = NOW_MS + batch
                storage.samples.add([sample(f"e{thread}", at=at) for _ in range(20)])
        except BaseException as exc:  # collected and asserted on in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert [len(storage.samples.for_endpoint(f"e{n}")) for n in range(4)] == [500] * 4
    finally:
        storage.close()
