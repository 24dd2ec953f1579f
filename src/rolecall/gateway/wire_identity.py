"""Who a chat request says it is for: OpenAI's ``user`` and ``metadata``, and the tags listed in
``metadata.tags`` (the convention: `rolecall.observe.identity`).

Checked by hand like the rest of `rolecall.gateway.wire` (which turns an `IdentityError` into
the 400 naming the field). ``metadata`` follows OpenAI's limits: at most 16 pairs of strings,
keys up to 64 characters, values up to 512. A request lists at most 16 tags of at most 64
characters.
"""

from __future__ import annotations

from typing import Any, Final

from rolecall.observe.identity import TAGS_KEY, RequestIdentity, split_tags

__all__ = [
    "MAX_METADATA_KEY_CHARS",
    "MAX_METADATA_PAIRS",
    "MAX_METADATA_VALUE_CHARS",
    "MAX_TAGS",
    "MAX_TAG_CHARS",
    "MAX_USER_CHARS",
    "NO_IDENTITY",
    "TAGS_KEY",
    "IdentityError",
    "parse_identity",
    "split_tags",
]

MAX_METADATA_PAIRS: Final = 16
MAX_METADATA_KEY_CHARS: Final = 64
MAX_METADATA_VALUE_CHARS: Final = 512
MAX_USER_CHARS: Final = 256  # OpenAI documents no limit; this keeps a usage group's name short
MAX_TAGS: Final = 16
MAX_TAG_CHARS: Final = 64


class IdentityError(ValueError):
    """A ``user`` or ``metadata`` value the gateway refuses; ``param`` names the field."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param
        self.message = message


NO_IDENTITY: Final = RequestIdentity()


def parse_identity(user: Any, metadata: Any) -> RequestIdentity:
    """The request's ``user`` and ``metadata`` checked (None: absent), and its tags."""
    if user is None and metadata is None:
        return NO_IDENTITY
    if user is not None and (not isinstance(user, str) or len(user) > MAX_USER_CHARS):
        raise IdentityError(
            "user", f"'user' must be a string of at most {MAX_USER_CHARS} characters"
        )
    if metadata is None:
        return RequestIdentity(user=user)
    _check_metadata(metadata)
    tags = split_tags(metadata[TAGS_KEY]) if TAGS_KEY in metadata else ()
    if len(tags) > MAX_TAGS or any(len(tag) > MAX_TAG_CHARS for tag in tags):
        raise IdentityError(
            "metadata.tags",
            f"'metadata.tags' must list at most {MAX_TAGS} comma-separated tags of at most "
            f"{MAX_TAG_CHARS} characters each",
        )
    return RequestIdentity(user=user, metadata=metadata, tags=tags)


def _check_metadata(metadata: Any) -> None:
    if not isinstance(metadata, dict) or len(metadata) > MAX_METADATA_PAIRS:
        raise IdentityError(
            "metadata", f"'metadata' must be an object of at most {MAX_METADATA_PAIRS} string pairs"
        )
    for key, value in metadata.items():
        if not key or len(key) > MAX_METADATA_KEY_CHARS:
            raise IdentityError(
                "metadata",
                f"each 'metadata' key must have 1 to {MAX_METADATA_KEY_CHARS} characters "
                f"(one has {len(key)})",
            )
        if not isinstance(value, str) or len(value) > MAX_METADATA_VALUE_CHARS:
            where = f"metadata.{key}"
            raise IdentityError(
                where,
                f"'{where}' must be a string of at most {MAX_METADATA_VALUE_CHARS} characters",
            )
