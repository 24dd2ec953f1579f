"""``user``, ``metadata`` and the tags of a chat request: checked, kept, not forwarded."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from rolecall.gateway.wire import WireError, parse_chat_request
from rolecall.gateway.wire_identity import split_tags

BASE: dict[str, Any] = {"model": "default", "messages": [{"role": "user", "content": "hi"}]}


def _parse(**fields: Any) -> Any:
    return parse_chat_request(orjson.dumps({**BASE, **fields}), {})


def test_user_and_metadata_are_kept_and_metadata_is_not_forwarded() -> None:
    chat = _parse(user="alice", metadata={"feature": "search", "tags": "prod, beta ,,prod"})
    assert chat.identity.user == "alice"
    assert chat.identity.metadata == {"feature": "search", "tags": "prod, beta ,,prod"}
    assert chat.identity.tags == ("prod", "beta")
    assert chat.body["user"] == "alice"  # OpenAI's own field: forwarded
    assert "metadata" not in chat.body


def test_without_either_the_identity_is_empty() -> None:
    chat = _parse(metadata=None)
    assert (chat.identity.user, chat.identity.metadata, chat.identity.tags) == (None, None, ())


def test_split_tags_trims_drops_empty_and_repeats() -> None:
    assert split_tags(" a ,b,, a,c ") == ("a", "b", "c")
    assert split_tags("") == ()


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"user": 7}, "user"),
        ({"user": "u" * 257}, "user"),
        ({"metadata": ["a"]}, "metadata"),
        ({"metadata": "a=b"}, "metadata"),
        ({"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata"),
        ({"metadata": {"": "v"}}, "metadata"),
        ({"metadata": {"k" * 65: "v"}}, "metadata"),
        ({"metadata": {"team": 3}}, "metadata.team"),
        ({"metadata": {"team": None}}, "metadata.team"),
        ({"metadata": {"note": "x" * 513}}, "metadata.note"),
        ({"metadata": {"tags": ",".join(f"t{i}" for i in range(17))}}, "metadata.tags"),
        ({"metadata": {"tags": "a," + "t" * 65}}, "metadata.tags"),
    ],
)
def test_bad_identity_fields_are_400s_naming_the_field(fields: dict[str, Any], param: str) -> None:
    with pytest.raises(WireError) as caught:
        _parse(**fields)
    assert caught.value.status == 400
    assert caught.value.param == param
    assert param.split(".")[0] in caught.value.message


def test_the_limits_themselves_are_accepted() -> None:
    metadata = {f"k{i:02d}" + "k" * 61: "v" * 512 for i in range(15)}
    metadata["tags"] = ",".join(f"t{i:02d}" + "t" * 28 for i in range(16))  # 511 characters
    chat = _parse(user="u" * 256, metadata=metadata)
    assert len(chat.identity.tags) == 16
    assert _parse(metadata={"tags": "t" * 64}).identity.tags == ("t" * 64,)
