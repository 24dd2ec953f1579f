"""rolecall: a self-hosted LLM routing runtime implementing the role-model protocol."""

from rolecall.errors import ConfigError, ProtocolValidationError, RolecallError

__version__ = "0.1.0"

__all__ = ["ConfigError", "ProtocolValidationError", "RolecallError", "__version__"]
