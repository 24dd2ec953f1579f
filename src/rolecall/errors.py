"""One exception tree for rolecall.

Every error names what was wrong (a field, a JSON path, a key) and, where it can, how to fix it, so
that CLI and HTTP handlers can show the message as it is.
"""

from __future__ import annotations


class RolecallError(Exception):
    """Base class of every error rolecall raises on purpose."""


class ProtocolValidationError(RolecallError):
    """An artifact does not conform to its role-model schema.

    ``path`` is the JSON path of the offending value (``$`` for the document itself), ``artifact``
    the artifact kind (for example ``router-decision``).
    """

    def __init__(self, artifact: str, path: str, message: str) -> None:
        self.artifact = artifact
        self.path = path
        self.message = message
        super().__init__(f"{artifact}: {path}: {message}")


class ConfigError(RolecallError):
    """A configuration or input file is malformed; the message names the key path and the fix
    (no path: the file as a whole)."""

    def __init__(self, source: str, path: str, message: str) -> None:
        self.source = source
        self.path = path
        self.message = message
        super().__init__(f"{source}: {path}: {message}" if path else f"{source}: {message}")


class SettingError(RolecallError):
    """A process setting (``ROLECALL_*``) has a value it cannot take; the message names the
    variable, the value given and what it accepts."""

    def __init__(self, problems: list[tuple[str, object, str]]) -> None:
        # (variable, value given, what it accepts) for each bad setting
        self.problems = problems
        super().__init__(
            "; ".join(
                f"{name}={value!r}: expected {expected}" for name, value, expected in problems
            )
            + " (docs/configuration.md)"
        )


class MissingDependencyError(RolecallError):
    """A feature needs an optional dependency that is not installed; the message names the
    extra that installs it."""

    def __init__(self, feature: str, module: str, extra: str) -> None:
        self.module = module
        self.extra = extra
        super().__init__(
            f"{feature} needs the {module!r} package, which is not installed: "
            f"pip install 'rolecall[{extra}]'"
        )


class ServiceUnreachableError(RolecallError):
    """A server the command talks to (a gateway, a database) does not answer; the message names
    where it was looked for and how to fix it."""
