"""How a command that fails says so: known exception types as one ``error:`` line and an exit
status, instead of a traceback.

`rolecall.cli.main` is the one place that applies it, so a command only raises. Status 2 means
the input is wrong (a setting, a file, an option), status 1 that something the command needs did
not work (a port, a database, a server). An exception not known here is a bug and keeps its
traceback; ``--debug`` (or ``ROLECALL_DEBUG=1``) shows the traceback of every failure.
"""

from __future__ import annotations

import errno
import os
import sys
from typing import Final

from pydantic import ValidationError

from rolecall.errors import ConfigError, RolecallError, SettingError
from rolecall.settings import setting_error

__all__ = ["EXIT_FAILED", "EXIT_INPUT", "debug_enabled", "describe"]

EXIT_INPUT: Final = 2
EXIT_FAILED: Final = 1
# optional dependencies a command may reach for, and the extra that installs each
EXTRAS: Final = {"psycopg": "postgres", "redis": "redis", "llama_cpp": "local"}


def debug_enabled() -> bool:
    """``--debug`` was given (it sets ``ROLECALL_DEBUG``) or ``ROLECALL_DEBUG`` is on."""
    return os.environ.get("ROLECALL_DEBUG", "").strip().lower() in ("1", "true", "yes", "on")


def describe(exc: BaseException) -> tuple[int, str] | None:
    """The exit status and one-line message of a known failure; None for anything else."""
    if isinstance(exc, ConfigError | SettingError):
        return EXIT_INPUT, str(exc)
    if isinstance(exc, RolecallError):
        return EXIT_FAILED, str(exc)
    if isinstance(exc, ValidationError) and exc.title == "Settings":
        return EXIT_INPUT, str(setting_error(exc))
    if isinstance(exc, ModuleNotFoundError) and exc.name in EXTRAS:
        return EXIT_FAILED, (
            f"the {exc.name!r} package is not installed: pip install 'rolecall[{EXTRAS[exc.name]}]'"
        )
    database = _database_failure(exc)
    if database is not None:
        return EXIT_FAILED, database
    if isinstance(exc, OSError) and exc.filename:
        return EXIT_FAILED, f"{exc.filename}: {exc.strerror or exc}"
    if isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE:  # a server of our own
        return (
            EXIT_FAILED,
            f"{exc.strerror or exc}; stop what listens there or choose another --port",
        )
    return None


def _database_failure(exc: BaseException) -> str | None:
    """A database that cannot be reached or opened (only when SQLAlchemy is loaded at all)."""
    errors = sys.modules.get("sqlalchemy.exc")
    if errors is None or not isinstance(exc, errors.SQLAlchemyError):
        return None
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    return (
        f"cannot open the database ({reason}); check ROLECALL_DATABASE_URL and that its server "
        "is running and reachable"
    )
