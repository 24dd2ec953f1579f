"""Integration-test plumbing: real databases.

The `db_url` fixture (and `storage`, built on it) is parametrized over ``sqlite`` (a file in the
test's tmp_path) and ``postgresql``. PostgreSQL comes from ``ROLECALL_TEST_PG_URL`` or, by default,
``postgresql+psycopg://postgres@127.0.0.1:5432/test`` (then the same as user ``root``); the session
creates a database ``rolecall_test_<hex>`` there and drops it at the end, and each test gets a
fresh schema in it. When PostgreSQL cannot be reached the PostgreSQL cases are skipped, except
under CI (``CI`` set), where they fail: CI must run every query on both databases.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import URL, create_engine, make_url, text
from sqlalchemy.exc import SQLAlchemyError

from rolecall.storage import SqlStorage, open_storage

PG_URL_ENV = "ROLECALL_TEST_PG_URL"
PG_DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _pg_candidates() -> list[URL]:
    configured = os.environ.get(PG_URL_ENV)
    if configured:
        return [make_url(configured)]
    default = make_url(PG_DEFAULT_URL)
    return [default, default.set(username="root")]


def _first_reachable(candidates: list[URL]) -> tuple[URL | None, list[str]]:
    errors: list[str] = []
    for url in candidates:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return url, errors
        except SQLAlchemyError as exc:
            errors.append(f"{url.render_as_string()}: {type(exc).__name__}")
        finally:
            engine.dispose()
    return None, errors


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[URL]:
    """A PostgreSQL database created for this test session (dropped at the end)."""
    server, errors = _first_reachable(_pg_candidates())
    if server is None:
        where = "; ".join(errors)
        if _in_ci():
            pytest.fail(f"PostgreSQL not reachable at {where}: CI must not skip PostgreSQL")
        pytest.skip(f"PostgreSQL not reachable at {where}: skipped PG")
    name = f"rolecall_test_{secrets.token_hex(6)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def _fresh_schema(database_url: URL) -> Iterator[str]:
    """A URL whose connections work in a fresh, empty schema of ``database_url``."""
    schema = f"t_{secrets.token_hex(6)}"
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    scoped = database_url.update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield scoped.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def pg_url(pg_database_url: URL) -> Iterator[str]:
    """A URL whose connections work in a fresh, empty schema of the session database."""
    with _fresh_schema(pg_database_url) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'rolecall.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_db_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """`db_url` shared by a module's tests (a migrated database costs seconds): for servers
    those tests share because none of them changes what another one checks."""
    if request.param == "sqlite":
        folder = request.getfixturevalue("tmp_path_factory").mktemp("module-db")
        yield f"sqlite:///{folder / 'data' / 'rolecall.db'}"
        return
    url: str = request.getfixturevalue("module_pg_url")
    yield url


@pytest.fixture(scope="module")
def module_pg_url(pg_database_url: URL) -> Iterator[str]:
    """`pg_url` shared by a module's tests: a fresh schema for the module."""
    with _fresh_schema(pg_database_url) as url:
        yield url


@pytest.fixture
def storage(db_url: str) -> Iterator[SqlStorage]:
    """A migrated `SqlStorage` on each backend."""
    opened = open_storage(db_url)
    try:
        yield opened
    finally:
        opened.close()
