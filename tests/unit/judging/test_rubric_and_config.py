"""The shadow judge's rubric (its parsing, which requests it picks) and its configuration checks."""

from __future__ import annotations

import copy

import pytest

from rolecall.errors import ConfigError
from rolecall.inventory.config import parse_inventory
from rolecall.judging.rubric import judge_messages, parse_grade, sampled
from rolecall.judging.shadow import answer_text
from tests.unit.inventory.test_config import GOOD


@pytest.mark.parametrize(
    ("text", "grade"),
    [
        ('{"score": 10, "reason": "x"}', 1.0),
        ('{"score": 1, "reason": "x"}', 0.0),
        ('```json\n{"score": 4, "reason": "x"}\n```', 1 / 3),
        ('{"score": 11, "reason": "x"}', None),
        ('{"score": true, "reason": "x"}', None),
        ('{"score": "9"}', None),
        ("[9]", None),
        ("nine out of ten", None),
    ],
)
def test_grades_parse_to_0_1_or_nothing(text: str, grade: float | None) -> None:
    parsed = parse_grade(text)
    assert parsed == (None if grade is None else pytest.approx(grade))


def test_sampling_takes_about_its_share_and_the_same_ids_every_time() -> None:
    ids = [f"req_{i}" for i in range(20_000)]
    picked = [i for i in ids if sampled(i, 0.1)]
    assert 0.09 < len(picked) / len(ids) < 0.11
    assert picked == [i for i in ids if sampled(i, 0.1)]
    assert not any(sampled(i, 0.0) for i in ids[:100])
    assert all(sampled(i, 1.0) for i in ids[:100])


def test_the_judge_sees_the_request_and_the_answer_cut_to_their_limits() -> None:
    conversation = [{"role": "user", "content": "What is 2 + 2? " + "x" * 5000}]
    system, user = judge_messages(conversation, "4" * 9000, prompt_chars=500, answer_chars=300)
    assert system["role"] == "system"
    assert "no reference answer" in system["content"]
    assert "What is 2 + 2?" in user["content"]
    assert len(user["content"]) < 1000


def test_answer_text_is_the_first_choice_or_nothing() -> None:
    assert answer_text({"choices": [{"message": {"content": "hi"}}]}) == "hi"
    assert answer_text({"choices": [{"message": {"content": None, "tool_calls": []}}]}) == ""
    assert answer_text({"choices": []}) == ""
    assert answer_text({}) == ""


def _with_shadow(**shadow: object) -> dict[str, object]:
    data = copy.deepcopy(GOOD)
    data.setdefault("routing", {})["shadow_judging"] = shadow  # type: ignore[index]
    return data


def test_a_share_without_a_judge_or_with_an_unknown_one_names_the_key() -> None:
    path = "routing.shadow_judging.judge_endpoint_id"
    with pytest.raises(ConfigError) as missing:
        parse_inventory(_with_shadow(share=0.1))
    assert (missing.value.path, "add 'judge_endpoint_id" in missing.value.message) == (path, True)
    with pytest.raises(ConfigError) as unknown:
        parse_inventory(_with_shadow(share=0.1, judge_endpoint_id="nope"))
    assert unknown.value.path == path
    assert "unknown endpoint 'nope'" in unknown.value.message
    with pytest.raises(ConfigError) as share:
        parse_inventory(_with_shadow(share=1.5))
    assert share.value.path == "routing.shadow_judging.share"
