"""Who a request was for: `RequestIdentity` (its key's team, the client's ``x-request-id``, the
request's ``user`` and ``metadata``) and the tag convention, `split_tags`.

Tags are the items of ``metadata.tags``, one comma-separated string (OpenAI's metadata values are
strings; LiteLLM's ``metadata.tags`` is the same idea as a list): each trimmed, empty ones dropped,
each once. Only listed tags are tags, not every metadata pair: values such as trace or session
ids would make one usage group per request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["TAGS_KEY", "RequestIdentity", "split_tags"]

TAGS_KEY: Final = "tags"


@dataclass(frozen=True, slots=True)
class RequestIdentity:
    team: str | None = None
    client_request_id: str | None = None
    user: str | None = None
    metadata: dict[str, str] | None = None
    tags: tuple[str, ...] = ()


def split_tags(text: str) -> tuple[str, ...]:
    """The tags a ``metadata.tags`` value lists, each once, in the order given."""
    return tuple(dict.fromkeys(tag for part in text.split(",") if (tag := part.strip())))
