"""The difficulty rubric: request signals, the versioned point table, agreement with the
benchmark's labelled buckets, and malformed input."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from rolecall.benchmark.cases import builtin_suites
from rolecall.routing.difficulty import (
    DIFFICULTIES,
    RUBRICS,
    Classification,
    RequestSignals,
    classify,
    signals_of,
)
from rolecall.routing.signals import SCAN_LIMIT

MIN_AGREEMENT = 0.70
MIN_BUCKET_AGREEMENT = 0.5


def _confusion(as_chat: bool) -> Counter[tuple[str, str]]:
    """(labelled bucket, classified difficulty) over every built-in benchmark case, with the
    case's task or (``as_chat``) as the gateway sees most requests: plain chat."""
    counts: Counter[tuple[str, str]] = Counter()
    for suite in builtin_suites():
        for case in suite.cases:
            signals = signals_of(
                [m.model_dump() for m in case.messages],
                tools=len(case.tools or []),
                role=None if as_chat else case.effective_role,
                task="text.chat" if as_chat else case.task,
            )
            counts[(case.bucket, classify(signals).difficulty)] += 1
    return counts


def _table(counts: Counter[tuple[str, str]]) -> str:
    header = "labelled \\ classified " + " ".join(f"{d:>7}" for d in DIFFICULTIES)
    rows = [
        f"{label:>21} " + " ".join(f"{counts[(label, d)]:>7}" for d in DIFFICULTIES)
        for label in DIFFICULTIES
    ]
    return "\n".join([header, *rows])


@pytest.mark.parametrize("as_chat", [False, True], ids=["with-task", "as-plain-chat"])
def test_rubric_agrees_with_the_benchmark_buckets(as_chat: bool) -> None:
    counts = _confusion(as_chat)
    total = sum(counts.values())
    agreed = sum(counts[(d, d)] for d in DIFFICULTIES)
    per_bucket = {
        label: counts[(label, label)] / max(1, sum(counts[(label, d)] for d in DIFFICULTIES))
        for label in DIFFICULTIES
    }
    report = (
        f"agreement {agreed}/{total} = {agreed / total:.3f}; per bucket "
        + ", ".join(f"{k} {v:.2f}" for k, v in per_bucket.items())
        + "\n"
        + _table(counts)
    )
    assert total >= 60, report
    assert agreed / total >= MIN_AGREEMENT, report
    assert min(per_bucket.values()) >= MIN_BUCKET_AGREEMENT, report


def _user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def test_a_short_label_task_is_easy() -> None:
    signals = signals_of(
        _user("Classify the sentiment as positive or negative.\n\nReview: great food"),
        task="text.classification",
    )
    result = classify(signals)
    assert result.difficulty == "easy"
    assert (result.source, result.version) == ("rubric", "rubric-v2")


def test_a_knowledge_question_is_medium() -> None:
    result = classify(signals_of(_user("Who wrote the opera Peter Grimes?")))
    assert result.difficulty == "medium"
    assert result.contributions == {"task": 2}


def test_a_debugging_session_with_tools_is_hard() -> None:
    trace = (
        "Traceback (most recent call last):\n"
        '  File "app.py", line 3, in <module>\n'
        "    main()\n"
        "KeyError: 'user'\n"
    )
    messages = [
        {"role": "system", "content": "You are a careful engineer."},
        {"role": "user", "content": "My service crashes."},
        {"role": "assistant", "content": "Can you show the trace?"},
        {"role": "user", "content": [{"type": "text", "text": trace}]},
        {"role": "assistant", "content": "Which line reads the user?"},
        {
            "role": "user",
            "content": "```python\ndef main():\n    user = cfg['user']\n    return user\n```\n"
            "First find the cause, then fix it and also add a test. Do not change the API.",
        },
    ]
    result = classify(signals_of(messages, tools=3, task="code.edit"))
    assert result.difficulty == "hard"
    assert result.signals["history_turns"] == 4
    assert {"code_markers", "decomposition_markers", "tool_count", "burdens"} <= set(
        result.contributions
    )


def test_arithmetic_word_problem_with_steps_is_hard() -> None:
    text = (
        "A shop sells 12 pens at $3 each and 5 notebooks at $4.50 each. It gives a 10% "
        "discount on the total. How much does a customer pay? Think step by step."
    )
    result = classify(signals_of(_user(text), task="reasoning.multi_step"))
    assert result.difficulty == "hard"
    assert result.contributions["math_markers"] >= 1


def test_long_context_and_reasoning_effort_add_points() -> None:
    short = classify(signals_of(_user("Summarise the report."), task="text.summarize"))
    long = classify(
        signals_of(_user("Summarise the report.\n" + "word " * 16_000), reasoning="high")
    )
    assert short.difficulty == "easy"
    assert long.difficulty == "hard"
    assert long.contributions["prompt_tokens"] == 5  # 20,000 tokens
    assert long.contributions["reasoning"] == 2


def test_structured_output_and_many_options_count() -> None:
    options = "\n".join(f"{letter}. option {letter}" for letter in "ABCDEFGH")
    plain = classify(signals_of(_user(f"Which is right?\n\n{options}")))
    assert plain.signals["choice_options"] == 8
    assert plain.contributions["choice_options"] == 3
    structured = classify(signals_of(_user("Give me a name."), structured=True))
    assert structured.contributions["structured"] == 1


def test_signals_measure_the_conversation() -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "abcd" * 10},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": [{"type": "text", "text": "x" * 8}, {"type": "image_url"}]},
    ]
    s = signals_of(messages, tools=2, reasoning="medium", role="general.chat")
    assert (s.prompt_chars, s.prompt_tokens) == (9 + 40 + 2 + 8, 15)
    assert (s.last_user_chars, s.last_user_tokens) == (8, 2)
    assert s.history_turns == 2
    assert (s.tool_count, s.reasoning, s.role, s.task) == (2, "medium", "general.chat", "text.chat")


@pytest.mark.parametrize(
    "messages",
    [
        None,
        "hello",
        42,
        [],
        [None, 3, "x"],
        [{"role": "user"}],
        [{"role": "user", "content": None}],
        [{"role": "user", "content": [None, {"type": "text", "text": 5}, "raw"]}],
        [{"content": "no role at all"}],
        [{"role": ["weird"], "content": {"nested": True}}],
    ],
)
def test_malformed_messages_never_raise(messages: Any) -> None:
    result = classify(signals_of(messages, tools="3", reasoning="extreme", role=7, task=None))  # type: ignore[arg-type]
    assert result.difficulty in DIFFICULTIES
    assert result.signals["tool_count"] == 0
    assert result.signals["reasoning"] is None
    assert result.signals["task"] == "text.chat"


def test_a_huge_message_is_measured_whole_and_scanned_in_part() -> None:
    signals = signals_of(_user("x = 1;\n" * 20_000))
    assert signals.prompt_chars == 140_000
    # the code lines within the first SCAN_LIMIT characters
    assert signals.code_markers == -(-SCAN_LIMIT // 7)


def test_negative_tool_count_is_zero() -> None:
    assert signals_of(_user("hi"), tools=-4).tool_count == 0


def test_unknown_version_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown difficulty rubric 'rubric-v9'.*rubric-v1"):
        classify(RequestSignals(), version="rubric-v9")


def test_classification_is_explainable_json() -> None:
    result = classify(signals_of(_user("Compute 17 * 23 and 4 + 5, then explain each step.")))
    data = json.loads(json.dumps(result.to_json()))
    assert data["difficulty"] == result.difficulty
    assert set(data) == {
        "difficulty",
        "source",
        "score",
        "signals",
        "contributions",
        "version",
        "confidence",
    }
    assert all(points != 0 for points in data["contributions"].values())
    assert data["score"] == sum(data["contributions"].values())
    assert 0 <= data["confidence"] <= 1


def test_confidence_grows_with_distance_from_a_threshold() -> None:
    rubric = RUBRICS["rubric-v1"]
    near = Classification("medium", "rubric", float(rubric.medium_at))
    assert near.confidence == 0.0  # a hand-built one keeps its given confidence
    at_edge = classify(signals_of(_user("Who wrote the opera Peter Grimes?")))
    far = classify(RequestSignals(task="text.classification"))
    assert at_edge.score == rubric.medium_at
    assert at_edge.confidence < far.confidence == 0.75


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Fix this:\n```python\ndef f(x):\n    return x +\n```", "code"),
        ("Reply with a JSON object holding name and age for: Ada, 36.", "json"),
        ("Which is a mammal?\nA) trout\nB) whale\nC) newt\nD) crow", "reasoning"),
        ("Tom has 12 apples, gives away 5 and buys 7 more. How many now?", "reasoning"),
        ("Classify the sentiment of: 'what a lovely day'.", "text.classification"),
        ("Which language is this: 'goedemorgen allemaal'?", "text.classification"),
        ("Why is the sky blue?", "text.chat"),
    ],
)
def test_plain_chat_is_scored_by_the_kind_of_work_its_words_show(text: str, kind: str) -> None:
    signals = signals_of(_user(text))
    assert (signals.task, signals.kind) == ("text.chat", kind)
    named = signals_of(_user(text), task="code.edit")
    assert named.kind == "code.edit"  # a named task is kept
    assert RequestSignals(task="code.edit").kind is None  # built by hand: scored by its task
    assert classify(signals, "rubric-v1").contributions.get("task") == 2  # v1 reads the task


def test_a_short_closed_question_sent_as_chat_is_easy() -> None:
    question = "Classify the sentiment of this review as positive or negative: 'I loved it.'"
    assert classify(signals_of(_user(question))).difficulty == "easy"
    assert classify(signals_of(_user(question)), "rubric-v1").difficulty == "medium"
