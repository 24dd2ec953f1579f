"""The benchmark's error: a request that cannot be served, with the HTTP status that fits."""

from __future__ import annotations

from rolecall.errors import RolecallError

__all__ = ["BenchError"]


class BenchError(RolecallError):
    """A benchmark request that cannot be served; ``status`` is the HTTP status that fits."""

    def __init__(
        self, message: str, *, status: int = 400, param: str | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.param = param
        self.code = code
