"""Prompt capture's pure parts: the conversation as one text (the text a benchmark case's record
holds), cut to its limit without reading past it, cleaned of what a database refuses; which
requests the setting picks; and the setting's checks, naming the key."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from rolecall.errors import ConfigError
from rolecall.inventory.config import parse_inventory
from rolecall.inventory.live_quality import PromptCaptureConfig, sampled
from rolecall.learned.store_records import case_prompt
from rolecall.observe.prompt_capture import (
    PROMPT_ROW_KEYS,
    captured_prompt,
    clean_text,
    conversation_text,
)
from tests.unit.inventory.test_config import GOOD

CONVERSATION = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": [{"type": "text", "text": "What is in"}, {"type": "image_url"}]},
    {"role": "assistant", "content": None, "tool_calls": [{"id": "t1"}]},
    {"role": "tool", "content": "a cat"},
    {"role": "user", "content": [{"type": "text", "text": "and now?"}]},
]


def test_the_text_is_every_turn_that_has_some_in_order() -> None:
    text, truncated = conversation_text(CONVERSATION)
    assert text == "Be brief.\n\nWhat is in\n\na cat\n\nand now?"
    assert truncated is False
    assert conversation_text([]) == ("", False)
    assert conversation_text(["not a message", 3]) == ("", False)


def test_a_captured_prompt_reads_like_a_benchmark_case() -> None:
    case = {"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "Q?"}]}
    assert conversation_text(case["messages"])[0] == case_prompt(case) == "S\n\nQ?"


class _Untouchable(Mapping[str, Any]):
    """A message that fails the test if it is read."""

    def __getitem__(self, key: str) -> Any:
        raise AssertionError("a turn past the limit was read")

    def __iter__(self) -> Iterator[str]:
        raise AssertionError("a turn past the limit was read")

    def __len__(self) -> int:
        return 1


def test_the_text_is_cut_at_its_limit_and_nothing_past_it_is_read() -> None:
    messages: list[Any] = [{"role": "user", "content": "x" * 50}, {"role": "user", "content": "y"}]
    text, truncated = conversation_text([*messages, _Untouchable()], 40)
    assert (text, truncated) == ("x" * 40, True)
    text, truncated = conversation_text(messages, 52)  # 50 + the separator's 2
    assert (text, truncated) == ("x" * 50 + "\n\n", True)
    assert conversation_text(messages, 53) == ("x" * 50 + "\n\ny", False)


def test_what_a_database_refuses_is_replaced() -> None:
    assert clean_text("a\x00b") == "a\ufffdb"
    assert clean_text("lone \ud800 surrogate") == "lone \ufffd surrogate"
    assert clean_text("fine: é 漢 🎉") == "fine: é 漢 🎉"
    assert clean_text("a\x00b").encode("utf-8")  # encodable


def test_the_row_is_bounded_clean_and_only_for_a_conversation_with_text() -> None:
    huge = [{"role": "user", "content": "\x00" + "z" * 1_000_000}] * 1000
    row = captured_prompt("req-1", huge, 100, 123)
    assert row is not None
    assert row.keys() == PROMPT_ROW_KEYS
    assert (len(row["prompt"]), row["truncated"], row["created_ms"]) == (100, True, 123)
    assert row["prompt"].startswith("\ufffdz")
    assert captured_prompt("req-2", "not a list", 100, 1) is None
    assert captured_prompt("req-3", [{"role": "assistant", "content": None}], 100, 1) is None


def test_the_setting_picks_like_shadow_judging_and_nothing_when_off() -> None:
    ids = [f"req_{i}" for i in range(2000)]
    assert all(PromptCaptureConfig().chars_for(i) == 0 for i in ids)  # off by default
    on = PromptCaptureConfig(enabled=True, share=0.3, max_chars=500)
    picked = [i for i in ids if on.chars_for(i)]
    assert picked == [i for i in ids if sampled(i, 0.3)]  # the judge's picks at the same share
    assert {on.chars_for(i) for i in picked} == {500}
    assert all(PromptCaptureConfig(enabled=True).chars_for(i) == 8000 for i in ids[:50])


def _with_capture(**capture: object) -> dict[str, object]:
    data = copy.deepcopy(GOOD)
    data.setdefault("routing", {})["prompt_capture"] = capture  # type: ignore[index]
    return data


@pytest.mark.parametrize(
    ("capture", "key"),
    [
        ({"enabled": "sometimes"}, "enabled"),
        ({"share": 1.5}, "share"),
        ({"max_chars": 10}, "max_chars"),
        ({"keep_days": 0}, "keep_days"),
        ({"keep": 3}, "keep"),
    ],
)
def test_a_bad_value_names_its_key(capture: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_inventory(_with_capture(**capture))
    assert raised.value.path == f"routing.prompt_capture.{key}"


def test_the_setting_is_read_from_the_file() -> None:
    config = parse_inventory(_with_capture(enabled=True, share=0.5, max_chars=2000, keep_days=7))
    assert config.routing.prompt_capture == PromptCaptureConfig(
        enabled=True, share=0.5, max_chars=2000, keep_days=7
    )
    assert parse_inventory(copy.deepcopy(GOOD)).routing.prompt_capture.enabled is False
