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
    """A configuration or input file is malformed; the message names the key path and the fix."""

    def __init__(self, source: str, path: str, message: str) -> None:
        self.source = source
        self.path = path
        self.message = message
        super().__init__(f"{source}: {path}: {message}")
